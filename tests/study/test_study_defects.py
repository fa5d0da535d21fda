"""Defect mode: every listed defect is really at its source_row and field of the final records file."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from study.defects import DEFECT_COLUMNS, KINDS, REDACTED
from study.definition import load_study
from study.generate import generate

STUDY = load_study()
IDENTIFIERS = set(STUDY.identifiers)


def read_file(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.fixture(scope="module", params=[1, 2, 3])
def defective(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"defects{request.param}")
    result = generate(150, request.param, out, defects=True, defect_rate=0.03, canaries=True,
                      bom=request.param == 2)
    clean = generate(150, request.param, tmp_path_factory.mktemp("clean"), canaries=True)
    header, rows = read_file(result["records"])
    _, clean_rows = read_file(clean["records"])
    with open(result["defects_file"], encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == DEFECT_COLUMNS
        defects = list(reader)
    return {"result": result, "header": header, "rows": rows, "clean": clean_rows, "defects": defects}


def test_defects_file_beside_not_inside_the_drop(defective):
    path = defective["result"]["defects_file"]
    drop = defective["result"]["records"].parent
    assert path.parent == drop.parent and path.name == f"{drop.name}.injected_defects.csv"
    assert not list(drop.glob("*defect*"))


def test_every_kind_is_injected(defective):
    kinds = {d["defect"] for d in defective["defects"]}
    assert kinds == set(KINDS)
    assert any(d["field"] == "dob" for d in defective["defects"])
    n_rows = len(defective["rows"])
    assert len(defective["defects"]) >= 0.02 * n_rows


def test_each_listed_defect_is_where_it_says(defective):
    header, rows = defective["header"], defective["rows"]
    col = {c: i for i, c in enumerate(header)}
    for d in defective["defects"]:
        row = rows[int(d["source_row"]) - 2]
        assert len(row) == len(header)
        # keys are those of the row as it is in the file
        assert row[col["record_id"]] == d["record_id"], d
        assert row[col["redcap_event_name"]] == d["event"], d
        assert row[col["redcap_repeat_instance"]] == d["instance"], d
        kind, field = d["defect"], d["field"]
        if kind == "duplicate_row":
            assert row in rows[: int(d["source_row"]) - 2] + rows[int(d["source_row"]) - 1:]
        elif kind == "missing_enrollment":
            assert all(row[col[c]] in ("", "0") for c in STUDY.data_columns_of("enrollment"))
            assert row[col["enrollment_complete"]] == "0"
        elif field == "dob":
            assert d["original_value"] == d["injected_value"] == REDACTED
            value = row[col["dob"]]
            with pytest.raises(ValueError):
                if len(value) != 10:
                    raise ValueError
                dt.date.fromisoformat(value)
        else:
            assert row[col[field]] == d["injected_value"], d
            assert d["injected_value"] != d["original_value"]
            if field not in ("record_id", "redcap_event_name"):
                assert STUDY.column_owner[field].form == d["instrument"] or d["instrument"] == ""


def test_defect_values_break_the_rules(defective):
    for d in defective["defects"]:
        kind, value = d["defect"], d["injected_value"]
        if kind == "out_of_range":
            f = STUDY.column_owner[d["field"]]
            assert not float(f.minimum) <= float(value) <= float(f.maximum)
        elif kind == "non_choice_code":
            f = STUDY.column_owner[d["field"]]
            allowed = ("0", "1") if f.is_checkbox else f.choice_codes
            assert value not in allowed
        elif kind in ("malformed_date", "impossible_date") and d["field"] != "dob":
            with pytest.raises(ValueError):
                if len(value) != 10:
                    raise ValueError
                dt.date.fromisoformat(value)
        elif kind == "comma_decimal":
            assert "," in value and float(value.replace(",", ".")) >= 0
        elif kind == "unknown_event":
            assert value not in STUDY.event_names
        elif kind == "missing_record_id":
            assert value == "" and d["original_value"]


def test_dates_after_death(defective):
    header, rows = defective["header"], defective["rows"]
    col = {c: i for i, c in enumerate(header)}
    deaths = {r[col["record_id"]]: r[col["death_date"]] for r in rows if r[col["death_date"]]}
    for d in (d for d in defective["defects"] if d["defect"] == "date_after_death"):
        assert d["injected_value"] > deaths[d["record_id"]] > d["original_value"] or \
            d["injected_value"] > deaths[d["record_id"]]
        assert d["injected_value"] < "2026-11-24"


def test_only_listed_cells_differ_from_the_clean_export(defective):
    """Same seed without defects: every difference is accounted for by the list (no silent damage)."""
    header, rows, clean = defective["header"], defective["rows"], defective["clean"]
    defects = defective["defects"]
    duplicates = {int(d["source_row"]) for d in defects if d["defect"] == "duplicate_row"}
    kept = [r for i, r in enumerate(rows, start=2) if i not in duplicates]
    source = [i for i in range(2, len(rows) + 2) if i not in duplicates]
    assert len(kept) == len(clean)
    listed = {(int(d["source_row"]), d["field"]) for d in defects}
    emptied = {int(d["source_row"]) for d in defects if d["defect"] == "missing_enrollment"}
    enrol_cols = set(STUDY.data_columns_of("enrollment")) | {"enrollment_complete"}
    for src, row, ref in zip(source, kept, clean):
        for c, a, b in zip(header, row, ref):
            if a != b:
                assert (src, c) in listed or (src in emptied and c in enrol_cols), (src, c, b, a)


def test_no_identifier_value_in_the_list(defective):
    text = defective["result"]["defects_file"].read_text()
    assert "CANARY" not in text.upper()
    for d in defective["defects"]:
        if d["field"] in IDENTIFIERS:
            assert d["original_value"] == d["injected_value"] == REDACTED
            assert d["field"] == "dob"
