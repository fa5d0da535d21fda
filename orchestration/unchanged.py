"""An unchanged drop is not run again (issue 10): same files, same code, same settings as the last published run.

The *stamp* of a night is the SHA-256 of what its outputs depend on:

- every file of the inbox's newest drop folder (name and SHA-256 of its bytes; hidden files such as ``.ready`` are
  not read by ingest and are left out);
- the code: ``git describe --always --dirty`` of the checkout and, in a tree with uncommitted changes, the
  SHA-256 of ``git diff HEAD`` (so two different edits never share a stamp); without git there is no stamp and
  every night runs;
- every ``SSC_*`` environment variable (names and values hashed together, never stored: the pseudonym key is one
  of them, so a new key runs again).

After a published run (``published`` or ``published with N errors``; orchestration/run_end.finish) the stamp is
written to ``SSC_HOME/last_published.json`` with the drop id, its export time and the run id. ``make run`` computes
tonight's stamp before it loads the code location (a second or two); when it equals the last published one and the
published ``outcomes.json`` is still there, it says ``no new drop since <export time>`` and records that it looked
(``SSC_HOME/last_looked.json``: when, the drop, the run it matched), and exits 0 without a run. ``make run
FORCE=1`` runs anyway; a blocked or failed night always runs again.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from ingest.drops import DropError, is_hidden, newest_drop, sha256_of
from orchestration.version import code_version
from report.publish import publish_json

LAST_PUBLISHED = "last_published.json"
LAST_LOOKED = "last_looked.json"
REPO_ROOT = Path(__file__).resolve().parent.parent


def code_stamp(repo: Path = REPO_ROOT) -> str | None:
    """:func:`orchestration.version.code_version` and, when it ends ``-dirty``, the SHA-256 of ``git diff HEAD``;
    None without git."""
    version = code_version()
    if version == "unknown":
        return None
    if version.endswith("-dirty"):
        try:
            diff = subprocess.run(["git", "-C", str(repo), "diff", "HEAD", "--binary"], capture_output=True,
                                  timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        if diff.returncode != 0:
            return None
        version += ":" + hashlib.sha256(diff.stdout).hexdigest()
    return version


def drop_stamp(folder: Path, environ: Mapping[str, str], code: str | None) -> str | None:
    """The stamp of drop ``folder`` run by code ``code`` (:func:`code_stamp`) with ``environ``: a SHA-256 hex
    string, or None when there is none (no code stamp)."""
    if code is None:
        return None
    digest = hashlib.sha256(f"code {code}\n".encode())
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file() and not is_hidden(p)):
        digest.update(f"file {path.name} {sha256_of(path)}\n".encode())
    for name in sorted(n for n in environ if n.startswith("SSC_")):
        digest.update(f"env {name}={environ[name]}\n".encode())
    return digest.hexdigest()


def tonight(inbox: Path, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(drop id, stamp) of the inbox's newest drop, or None (no usable drop: the run says why; no code stamp)."""
    try:
        drop = newest_drop(Path(inbox))
    except (DropError, OSError):
        return None
    stamp = drop_stamp(drop.records_file.parent, environ, code_stamp())
    return (drop.drop_id, stamp) if stamp else None


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def unchanged_since(home: Path, inbox: Path, environ: Mapping[str, str],
                    now: datetime | None = None) -> str | None:
    """The line ``make run`` says when tonight's drop is the last published one, unchanged ("no new drop since
    <export time>: drop <id> was published by run <run id>; nothing to do (make run FORCE=1 runs it again)"), after
    recording the look in ``home/last_looked.json``; None when there is something to run."""
    last = _read(Path(home) / LAST_PUBLISHED)
    if not last or not (Path(home) / "reports" / "outcomes.json").exists():
        return None
    found = tonight(inbox, environ)
    if found is None or (found[0], found[1]) != (last.get("drop_id"), last.get("stamp")):
        return None
    looked = {"looked_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
              "drop_id": found[0], "unchanged_since_run": last.get("run_id")}
    publish_json(Path(home) / LAST_LOOKED, looked)
    return (f"no new drop since {last.get('export_datetime')}: drop {found[0]} was published by run "
            f"{last.get('run_id')} with the same files, code and settings; nothing to do "
            "(make run FORCE=1 runs it again)")


def record_published(home: Path, inbox: Path, environ: Mapping[str, str], drop_id: str | None,
                     export_datetime: str | None, run_id: str) -> None:
    """After a published run of ``drop_id``: its stamp in ``home/last_published.json`` (nothing when the inbox's
    newest drop is no longer that drop or there is no stamp: the next night then simply runs)."""
    found = tonight(inbox, environ)
    path = Path(home) / LAST_PUBLISHED
    if found is None or found[0] != drop_id:
        path.unlink(missing_ok=True)
        return
    publish_json(path, {"drop_id": drop_id, "export_datetime": _minutes(export_datetime), "run_id": run_id,
                  "stamp": found[1]})


def _minutes(text: str | None) -> str | None:
    """``YYYY-MM-DD HH:MM``, as the pages show an export time."""
    try:
        return datetime.fromisoformat(str(text)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def forget_published(home: Path) -> None:
    """A night that was not published: the next ``make run`` runs whatever the inbox holds."""
    (Path(home) / LAST_PUBLISHED).unlink(missing_ok=True)
