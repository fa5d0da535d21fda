"""Find export drops in the inbox and the files each one holds.

A drop is a folder named so that the newest sorts last (``2026-11-24T0200``); it holds REDCap's records
export (``<Project>_DATA_<date>_<time>.csv`` or ``records.csv``) and data dictionary
(``<Project>_DataDictionary_<date>.csv`` or ``dictionary.csv``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class DropError(RuntimeError):
    """The inbox or a drop cannot be used; the message names the folder or file."""


_RECORDS_NAME = re.compile(r"^(?P<project>.+)_DATA_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{4})\.csv$", re.I)
_DICTIONARY_NAME = re.compile(r"^(?P<project>.+)_DataDictionary_(?P<date>\d{4}-\d{2}-\d{2})\.csv$", re.I)
_DROP_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})(?:T(?P<time>\d{4}))?")


@dataclass(frozen=True)
class Drop:
    drop_id: str
    folder: Path
    records_file: Path
    dictionary_file: Path
    export_datetime: datetime

    @property
    def export_date(self):
        return self.export_datetime.date()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_drops(inbox: Path) -> list[Path]:
    """Drop folders in the inbox, oldest first (hidden folders are ignored)."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise DropError(f"the inbox {inbox} does not exist or is not a folder (set SSC_INBOX)")
    return sorted(p for p in inbox.iterdir() if p.is_dir() and not p.name.startswith("."))


def _one(folder: Path, pattern: re.Pattern, plain_name: str, what: str) -> Path:
    candidates = sorted(p for p in folder.iterdir() if p.is_file() and pattern.match(p.name))
    plain = folder / plain_name
    if plain.is_file():
        candidates.append(plain)
    if not candidates:
        raise DropError(
            f"drop {folder}: no {what} file (expected {pattern.pattern.replace('(?P<project>.+)', '<Project>')}"
            f" or {plain_name})"
        )
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise DropError(f"drop {folder}: more than one {what} file ({names}); a drop holds one export")
    return candidates[0]


def _export_datetime(records_file: Path, folder: Path) -> datetime:
    """When the export was taken: from REDCap's file name, else from the drop's name, else the file time."""
    match = _RECORDS_NAME.match(records_file.name)
    if match:
        return datetime.strptime(f"{match['date']} {match['time']}", "%Y-%m-%d %H%M")
    match = _DROP_NAME.match(folder.name)
    if match:
        return datetime.strptime(f"{match['date']} {match['time'] or '0000'}", "%Y-%m-%d %H%M")
    return datetime.fromtimestamp(records_file.stat().st_mtime).replace(microsecond=0)


def open_drop(folder: Path) -> Drop:
    folder = Path(folder)
    records = _one(folder, _RECORDS_NAME, "records.csv", "records")
    dictionary = _one(folder, _DICTIONARY_NAME, "dictionary.csv", "data dictionary")
    return Drop(
        drop_id=folder.name,
        folder=folder,
        records_file=records,
        dictionary_file=dictionary,
        export_datetime=_export_datetime(records, folder),
    )


def newest_drop(inbox: Path) -> Drop:
    drops = list_drops(inbox)
    if not drops:
        raise DropError(f"the inbox {inbox} holds no drop folder")
    return open_drop(drops[-1])
