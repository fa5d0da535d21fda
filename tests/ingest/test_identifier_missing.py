"""A blank MRN, a required identifier, is an error finding naming record, form and row, never a value."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from ingest.deidentify import key_from_environment
from ingest.drops import newest_drop
from ingest.land import land_drop
from study.definition import load_study

DEMO_DROP = Path(__file__).resolve().parents[2] / "demo" / "inbox" / "2026-11-24T0200"


def drop_without_mrn(tmp_path: Path, record: str) -> Path:
    inbox = tmp_path / "inbox"
    drop = inbox / DEMO_DROP.name
    shutil.copytree(DEMO_DROP, drop)
    records = next(drop.glob("SSC_DATA_*.csv"))
    with open(records, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    mrn, rid = rows[0].index("mrn"), rows[0].index("record_id")
    for row in rows[1:]:
        if row[rid] == record and row[mrn]:
            row[mrn] = "  "
    with open(records, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return inbox


def findings_of(inbox: Path, tmp_path: Path):
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        result = land_drop(conn, newest_drop(inbox), load_study(), key_from_environment({}))
    return [f for f in result.findings if f.rule == "identifier_missing"]


def test_a_blank_mrn_is_an_error_naming_record_form_and_row(tmp_path):
    (found,) = findings_of(drop_without_mrn(tmp_path, "SSC-0005"), tmp_path)
    assert (found.severity, found.record_id, found.instrument, found.field, found.value) == (
        "error", "SSC-0005", "enrollment", "mrn", None)
    assert found.source_row > 1 and "mrn (required) is empty on the enrollment form of record SSC-0005" in found.message


def test_the_demo_has_no_blank_mrn(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(DEMO_DROP, inbox / DEMO_DROP.name)
    assert findings_of(inbox, tmp_path) == []
