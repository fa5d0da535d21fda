"""The steward worklist over three real nights in one SSC_HOME, as a steward lives them (issue 11's done-when):
night 1 is the session's demo run; the steward acknowledges a warning with the real command; night 2 fixes one
finding in REDCap and brings a new one; night 3 changes the acknowledged value. Two pipeline runs (~35 s each on a
quiet machine); the unit-level cases are in tests/report/test_worklist_history.py."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from field_cases import column, demo_rows, write_drop
from test_nightly import REPO, query, run_nightly

pytestmark = [pytest.mark.slow, pytest.mark.long]

FIRST, SECOND, THIRD = "2026-11-24T0200", "2026-11-25T0200", "2026-11-26T0200"
ACKED = ("SSC-0033", "clinical_outlier", "echo_trv_ms")  # TRV 1.32 m/s at month 6: checked, correct
FIXED = ("SSC-0038", "clinical_outlier", "esr_mm_h")     # ESR 128 at month 48: a typo for 28


def worklist(home: Path) -> list[dict]:
    with open(home / "reports" / "steward_worklist.csv", encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def row_of(rows: list[dict], record: str, rule: str, field: str) -> dict | None:
    return next((r for r in rows if (r["record_id"], r["rule"], r["fields"]) == (record, rule, field)), None)


def set_cell(header, rows, record: str, field: str, old: str, new: str) -> None:
    at, col = [i for i, r in enumerate(rows) if r[0] == record and r[column(header, field)] == old], column(header, field)
    assert len(at) == 1, (record, field, old)
    rows[at[0]][col] = new


@pytest.fixture(scope="module")
def nights(demo_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("three_nights")
    home = root / "home"
    shutil.copytree(demo_run[0], home, ignore=shutil.ignore_patterns("*.lock", "logs", "data_docs"))
    first = worklist(home)
    acked = row_of(first, *ACKED)
    said = subprocess.run([sys.executable, "-m", "quality.acknowledgements", "add", acked["finding_id"],
                           "--decision", "verified_correct", "--reason", "echo report checked", "--by", "A.B."],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, "SSC_HOME": str(home)})
    assert said.returncode == 0, said.stderr
    header, rows = demo_rows()
    set_cell(header, rows, FIXED[0], FIXED[2], "128", "28")
    new_at = next(i for i, r in enumerate(rows) if r[0] == "SSC-0012" and r[column(header, "esr_mm_h")])
    rows[new_at][column(header, "esr_mm_h")] = "140"  # a new outlier tonight
    write_drop(root / "inbox", header, rows, name=SECOND)
    second = run_nightly(home, root / "inbox")
    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    second_rows, second_page = worklist(home), (home / "reports" / "steward.html").read_text(encoding="utf-8")
    set_cell(header, rows, ACKED[0], ACKED[2], "1.32", "1.30")  # the acknowledged value changed in REDCap
    write_drop(root / "inbox", header, rows, name=THIRD)
    third = run_nightly(home, root / "inbox")
    assert third.returncode == 0, (third.stdout + third.stderr)[-3000:]
    return home, first, acked, (second_rows, second_page), worklist(home)


def test_the_second_night_shows_new_open_resolved_and_acknowledged(nights):
    home, first, acked, (rows, page), _ = nights
    assert {r["status"] for r in first} == {"new"} and {r["first_seen"] for r in first} == {FIRST}
    new = [r for r in rows if r["status"] == "new"]
    assert [(r["record_id"], r["rule"], r["fields"], r["values"]) for r in new] == [
        ("SSC-0012", "clinical_outlier", "esr_mm_h", "140")]
    assert row_of(rows, *FIXED) is None and row_of(rows, *ACKED) is None  # fixed; acknowledged
    still = [r for r in rows if r["status"] == "open"]
    assert len(still) == len(first) - 2 and {r["first_seen"] for r in still} == {FIRST}
    assert "Resolved since the last drop (1)" in page and "Acknowledged (1)" in page
    assert acked["finding_id"] in page and "echo report checked" in page
    assert f"still open since {FIRST} (2 nights)" in page


def test_the_third_night_brings_back_an_acknowledgement_whose_value_changed(nights):
    home, first, acked, _, rows = nights
    back = row_of(rows, *ACKED)
    assert back is not None and float(back["values"]) == 1.30 and back["status"] == "open"
    assert back["acknowledgement"] == "lapsed: the value changed"  # the CSV says it too
    page = (home / "reports" / "steward.html").read_text(encoding="utf-8")
    assert "acknowledgement lapsed: value changed" in page
    trend = query(home, "select drop_id, open_errors, open_warnings from quality.findings_trend order by drop_id")
    assert [t[0] for t in trend] == [FIRST, SECOND, THIRD]
    assert [t[2] for t in trend] == [len(first), len(first) - 1, len(rows)]
