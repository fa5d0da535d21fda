"""A link leading out of the inbox is refused and never read (issue 11, security of what is written)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.drops import DropError, newest_drop

DEMO_DROP = Path(__file__).resolve().parents[2] / "demo" / "inbox" / "2026-11-24T0200"
SECRET = "first line of a file that must never reach a page"


def inbox_with(tmp_path: Path) -> tuple[Path, Path]:
    inbox = tmp_path / "inbox"
    drop = inbox / "2026-11-25T0200"
    shutil.copytree(DEMO_DROP, drop)
    return inbox, drop


def test_a_records_file_linked_from_outside_is_refused_without_reading_it(tmp_path):
    inbox, drop = inbox_with(tmp_path)
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(SECRET + "\n")
    records = next(drop.glob("SSC_DATA_*.csv"))
    records.unlink()
    records.symlink_to(outside)
    with pytest.raises(DropError, match=r"drop 2026-11-25T0200: the file SSC_DATA_.*\.csv is a link leading out of "
                                        r"the inbox") as refused:
        newest_drop(inbox)
    assert SECRET not in str(refused.value)


def test_a_drop_folder_linked_from_outside_is_refused(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "outside" / "2026-11-25T0200"
    shutil.copytree(DEMO_DROP, outside)
    (inbox / "2026-11-25T0200").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DropError, match="the drop folder 2026-11-25T0200 is a link leading out of the inbox"):
        newest_drop(inbox)


def test_a_link_that_stays_inside_the_inbox_is_read(tmp_path):
    inbox, drop = inbox_with(tmp_path)
    kept = inbox / "kept"
    kept.mkdir()
    records = next(drop.glob("SSC_DATA_*.csv"))
    shutil.move(records, kept / records.name)
    records.symlink_to(kept / records.name)
    assert newest_drop(inbox).records_file == records
