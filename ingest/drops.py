"""Find export drops in the inbox and the files each one holds.

A drop is a folder whose name is the export timestamp ``YYYY-MM-DDTHHMM`` (the contract: the newest sorts
last). Anything else in the inbox (``archive``, ``__MACOSX``, ``old``, hidden folders, loose files) is not a
drop: it is ignored and listed once (:attr:`Inbox.ignored`). A drop holds REDCap's records export
(``<Project>_DATA_<date>_<time>.csv`` or ``records.csv``) and data dictionary
(``<Project>_DataDictionary_<date>.csv`` or ``dictionary.csv``); hidden files and macOS AppleDouble companions
(``._<name>``, ``.DS_Store``) inside a drop are ignored. A drop folder or file that is a symbolic link leading out
of the inbox is refused and never read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path


class DropError(RuntimeError):
    """The inbox or a drop cannot be used; the message names the folder or file and what to do."""


_RECORDS_NAME = re.compile(r"^(?P<project>.+)_DATA_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{4})\.csv$", re.I)
_DICTIONARY_NAME = re.compile(r"^(?P<project>.+)_DataDictionary_(?P<date>\d{4}-\d{2}-\d{2})\.csv$", re.I)
_DROP_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})T(?P<time>\d{4})$")
RECORDS_PATTERN = "<Project>_DATA_<YYYY-MM-DD>_<HHMM>.csv"
DICTIONARY_PATTERN = "<Project>_DataDictionary_<YYYY-MM-DD>.csv"
DROP_PATTERN = "YYYY-MM-DDTHHMM"


@dataclass(frozen=True)
class Drop:
    """A drop folder of the inbox: its name (the drop id), its two files and when the export was taken."""

    drop_id: str
    records_file: Path
    dictionary_file: Path
    export_datetime: datetime


@dataclass(frozen=True)
class Inbox:
    """The drop folders of an inbox, oldest first, and the entries that are not drops (names only)."""

    folder: Path
    drops: tuple[Path, ...]
    ignored: tuple[str, ...] = field(default=())

    def describe_ignored(self) -> str | None:
        """One log line naming what was ignored, or None."""
        if not self.ignored:
            return None
        return (f"inbox {self.folder}: ignored {len(self.ignored)} entr{'y' if len(self.ignored) == 1 else 'ies'} "
                f"that {'is' if len(self.ignored) == 1 else 'are'} not a drop folder named {DROP_PATTERN}: "
                + ", ".join(self.ignored))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_hidden(path: Path) -> bool:
    """Hidden files and folders, and macOS companions (``._x`` AppleDouble files, ``.DS_Store``, ``__MACOSX``)."""
    return path.name.startswith(".") or path.name == "__MACOSX"


def drop_time(name: str) -> datetime | None:
    """The export time a drop folder's name stands for, or None when the name is not ``YYYY-MM-DDTHHMM``."""
    match = _DROP_NAME.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(f"{match['date']} {match['time']}", "%Y-%m-%d %H%M")
    except ValueError:  # 2026-13-45T9999: the shape of a drop name, not a time
        return None


def scan_inbox(inbox: Path) -> Inbox:
    """Drop folders in the inbox (named ``YYYY-MM-DDTHHMM``), oldest first, and the ignored entries."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise DropError(f"the inbox {inbox} does not exist or is not a folder (set SSC_INBOX)")
    drops, ignored = [], []
    for entry in sorted(inbox.iterdir()):
        if entry.is_dir() and drop_time(entry.name) is not None:
            drops.append(entry)
        elif not (entry.is_file() and is_hidden(entry)):  # a stray .DS_Store is not worth a word
            ignored.append(entry.name + ("/" if entry.is_dir() else ""))
    return Inbox(folder=inbox, drops=tuple(drops), ignored=tuple(ignored))


def _one(folder: Path, pattern: re.Pattern, plain_name: str, shown: str, what: str) -> Path:
    files = [p for p in folder.iterdir() if p.is_file() and not is_hidden(p)]
    candidates = sorted(p for p in files if pattern.match(p.name))
    plain = folder / plain_name
    if plain.is_file():
        candidates.append(plain)
    if not candidates:
        raise DropError(f"drop {folder.name}: no {what} file ({shown} or {plain_name}) in {folder}; "
                        "export it from REDCap into the drop folder")
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise DropError(f"drop {folder.name}: more than one {what} file ({names}); a drop holds one export: "
                        "move the others out")
    return candidates[0]


#: how far the export time in the records file's name may be after the drop folder's name, and how far ahead of
#: this machine's clock an export may be (time zones)
EXPORT_TIME_TOLERANCE = timedelta(days=1)


def _export_datetime(records_file: Path, folder: Path) -> datetime:
    """When the export was taken: from REDCap's file name, else from the drop's name, else the file time.

    Every date of the study is checked against it (a death or a visit after the export cannot have happened yet),
    so it must not be too late: DropError when the file name gives a time later than the folder name's by more than
    :data:`EXPORT_TIME_TOLERANCE`, or when it is later than this machine's clock by more than that. (An export
    file older than its folder's name, a copy made later, is taken at its own, earlier time.)"""
    match = _RECORDS_NAME.match(records_file.name)
    from_name = drop_time(folder.name)
    if match:
        exported = datetime.strptime(f"{match['date']} {match['time']}", "%Y-%m-%d %H%M")
        if from_name is not None and exported - from_name > EXPORT_TIME_TOLERANCE:
            raise DropError(
                f"drop {folder.name}: the records file {records_file.name} says it was exported "
                f"{exported:%Y-%m-%d %H:%M}, after the time the drop folder's name gives ({from_name:%Y-%m-%d %H:%M}); "
                "which is right cannot be told, and every date is checked against it: name the folder by the "
                "export's date and time (YYYY-MM-DDTHHMM) and keep REDCap's file name")
    elif from_name is not None:
        exported = from_name
    else:
        exported = datetime.fromtimestamp(records_file.stat().st_mtime).replace(microsecond=0)
    now = datetime.now()
    if exported - now > EXPORT_TIME_TOLERANCE:
        raise DropError(
            f"drop {folder.name}: exported {exported:%Y-%m-%d %H:%M} by its names, which is after this machine's "
            f"clock ({now:%Y-%m-%d %H:%M}): check the drop folder's name and the records file's name "
            "(often a typo in the year), or the machine's clock")
    return exported


def _inside_inbox(path: Path, inbox: Path, drop_id: str) -> None:
    """Refuse, before anything is read, a drop folder or file that is a link leading out of the inbox: the
    pipeline reads only what was exported into the inbox (a link could make it read, and show, any file)."""
    if not path.resolve().is_relative_to(inbox.resolve()):
        what = "drop folder" if path.is_dir() else "file"
        raise DropError(f"drop {drop_id}: the {what} {path.name} is a link leading out of the inbox, which is never "
                        "read; copy the export into the drop folder instead")


def open_drop(folder: Path) -> Drop:
    """The drop in ``folder`` (a folder of the inbox); DropError when a file is missing or ambiguous, or the
    folder or one of its files is a link leading out of the inbox."""
    folder = Path(folder)
    _inside_inbox(folder, folder.parent, folder.name)
    records = _one(folder, _RECORDS_NAME, "records.csv", RECORDS_PATTERN, "records")
    dictionary = _one(folder, _DICTIONARY_NAME, "dictionary.csv", DICTIONARY_PATTERN, "data dictionary")
    for path in (records, dictionary):
        _inside_inbox(path, folder.parent, folder.name)
    return Drop(
        drop_id=folder.name,
        records_file=records,
        dictionary_file=dictionary,
        export_datetime=_export_datetime(records, folder),
    )


def newest_drop(inbox: Path | Inbox) -> Drop:
    scanned = inbox if isinstance(inbox, Inbox) else scan_inbox(inbox)
    if not scanned.drops:
        extra = f" ({len(scanned.ignored)} other entries ignored: {', '.join(scanned.ignored)})" if scanned.ignored else ""
        raise DropError(f"the inbox {scanned.folder} holds no drop folder named {DROP_PATTERN}{extra}")
    return open_drop(scanned.drops[-1])


def check_not_older(drop: Drop, last_loaded: tuple[str, datetime] | None) -> None:
    """Refuse a drop exported before the last drop loaded (``(drop_id, export_datetime)``): a full snapshot
    older than the warehouse's would silently roll the study back."""
    if last_loaded is None:
        return
    last_id, last_time = last_loaded
    if drop.export_datetime < last_time:
        raise DropError(
            f"drop {drop.drop_id} was exported {drop.export_datetime:%Y-%m-%d %H:%M}, before drop {last_id} "
            f"(exported {last_time:%Y-%m-%d %H:%M}) that is already loaded; an older snapshot is not loaded: "
            "put the newest export in the inbox")
