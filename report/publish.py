"""Atomic publishing of reports: a failed run never leaves a half-written file behind.

The text is written to a temporary file in the target's own directory (so the final rename never crosses a
file system), flushed and fsynced, then moved over the target with ``os.replace`` (atomic on POSIX and
Windows); the directory is fsynced too where the platform allows. Readers see the old file or the new one,
never a mix. Files published together (``publish_files``) are all written before any of them replaces its
target. JSON is serialised completely before anything touches the disk, with ``allow_nan=False`` (NaN / ±inf
are a bug upstream, not something to publish), sorted keys and an indent of 2.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` to ``path`` (parent directories are created). Returns the path."""
    return publish_files({path: text}, encoding=encoding)[0]


def publish_files(texts: dict[str | os.PathLike, str], *, encoding: str = "utf-8") -> list[Path]:
    """Publish several files together: every text is encoded and written to its temporary file first, and only
    when all are written does each replace its target (a failure before that leaves every target as it was)."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = text.encode(encoding)  # encode first: an encoding error must not leave a temp file behind
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
            staged.append((tmp_name, target))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp creates 0600; a report is an ordinary file
        for tmp_name, target in staged:
            os.replace(tmp_name, target)
    except BaseException:
        for tmp_name, _ in staged:
            try:
                os.unlink(tmp_name)
            except FileNotFoundError:
                pass
        raise
    for directory in {target.parent for _, target in staged}:
        _fsync_dir(directory)
    return [target for _, target in staged]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(str(directory), os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _plain(obj: Any) -> Any:
    """json default: numpy scalars / arrays and pandas timestamps as plain values; anything else is an error."""
    item = getattr(obj, "item", None)
    if callable(item) and getattr(obj, "shape", None) == ():
        return obj.item()
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    isoformat = getattr(obj, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable: {obj!r}")


def dumps_json(obj: Any) -> str:
    """The published JSON text: sorted keys, indent 2, no NaN/inf (ValueError), trailing newline."""
    return json.dumps(obj, allow_nan=False, sort_keys=True, indent=2, ensure_ascii=False, default=_plain) + "\n"


def publish_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as JSON to ``path`` (see :func:`dumps_json`)."""
    return publish_text(path, dumps_json(obj))
