"""The export writer lays out rows exactly as REDCap's raw flat export (the contract)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from study.cohort import CohortGenerator
from study.definition import DEFINITION_DIR, KEY_COLUMNS, load_study
from study.export import PatientRecord, cohort_rows, write_drop

STUDY = load_study()
EXPORT_DT = dt.datetime(2026, 11, 24, 2, 0)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, r)) for r in reader]


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    rows = cohort_rows(CohortGenerator(3, EXPORT_DT.date()).cohort(120), STUDY)
    records = write_drop(rows, out, "2026-11-24T0200", EXPORT_DT)
    header, data = read_rows(records)
    return {"records": records, "header": header, "rows": data}


def test_drop_layout(drop):
    folder = drop["records"].parent
    assert folder.name == "2026-11-24T0200"
    assert drop["records"].name == "SSC_DATA_2026-11-24_0200.csv"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["SSC_DATA_2026-11-24_0200.csv", "SSC_DataDictionary_2026-11-24.csv", "events.csv",
                            "form_event_mapping.csv", "repeating.csv"])
    assert (folder / "SSC_DataDictionary_2026-11-24.csv").read_bytes() == (DEFINITION_DIR / "dictionary.csv").read_bytes()
    for name in ("events.csv", "form_event_mapping.csv", "repeating.csv"):
        assert (folder / name).read_bytes() == (DEFINITION_DIR / name).read_bytes()


def test_header_is_redcaps_column_order(drop):
    header = drop["header"]
    assert tuple(header) == STUDY.export_columns
    assert tuple(header[:4]) == KEY_COLUMNS
    # checkbox: one column per choice, in choice order, where the field sits
    i = header.index("autoantibodies___1")
    assert header[i:i + 5] == [f"autoantibodies___{k}" for k in range(1, 6)]
    assert header[header.index("acr_eular_2013_score") + 1] == "autoantibodies___1"
    # <form>_complete right after each form's last column
    for form in STUDY.forms:
        last = STUDY.data_columns_of(form)[-1]
        assert header[header.index(last) + 1] == f"{form}_complete"
    assert header[-1] == "vital_status_complete"
    assert "record_id" not in header[4:]


def test_no_bom_by_default_and_bom_option(drop, tmp_path):
    assert not drop["records"].read_bytes().startswith(b"\xef\xbb\xbf")
    rows = cohort_rows(CohortGenerator(3, EXPORT_DT.date()).cohort(2), STUDY)
    with_bom = write_drop(rows, tmp_path, "x", EXPORT_DT, bom=True)
    raw = with_bom.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfrecord_id,redcap_event_name,")
    assert raw.count(b"\xef\xbb\xbf") == 1
    assert b"\r" not in raw


def test_repeating_instrument_rows_hold_only_their_instrument(drop):
    for row in drop["rows"]:
        instrument = row["redcap_repeat_instrument"]
        if not instrument:
            continue
        assert instrument in STUDY.repeating_instruments
        assert row["redcap_repeat_instance"].isdigit() and int(row["redcap_repeat_instance"]) >= 1
        own = set(STUDY.data_columns_of(instrument)) | {f"{instrument}_complete"}
        filled = {c for c, v in row.items() if v != "" and c not in KEY_COLUMNS}
        assert filled <= own, (instrument, filled - own)
        assert row[f"{instrument}_complete"] in ("0", "1", "2")


def test_instances_numbered_per_record_event_instrument(drop):
    seen: dict[tuple, list[int]] = {}
    for row in drop["rows"]:
        if row["redcap_repeat_instrument"]:
            key = (row["record_id"], row["redcap_event_name"], row["redcap_repeat_instrument"])
            seen.setdefault(key, []).append(int(row["redcap_repeat_instance"]))
    assert seen
    for key, instances in seen.items():
        assert instances == list(range(1, len(instances) + 1)), key
    infusions = [k for k in seen if k[2] == "infusion"]
    assert all(k[1] == "baseline_arm_1" for k in infusions)
    assert any(len(seen[k]) > 1 for k in infusions)


def test_repeating_event_rows(drop):
    unscheduled = [r for r in drop["rows"] if r["redcap_event_name"] == "unscheduled_arm_1"]
    assert unscheduled
    for row in unscheduled:
        assert row["redcap_repeat_instrument"] == ""
        assert row["redcap_repeat_instance"].isdigit()
    non_repeating = [r for r in drop["rows"] if r["redcap_event_name"] != "unscheduled_arm_1"
                     and not r["redcap_repeat_instrument"]]
    assert all(r["redcap_repeat_instance"] == "" for r in non_repeating)


def test_one_event_row_per_record_and_event(drop):
    keys = [(r["record_id"], r["redcap_event_name"], r["redcap_repeat_instance"]) for r in drop["rows"]
            if not r["redcap_repeat_instrument"]]
    assert len(keys) == len(set(keys))
    assert {r["redcap_event_name"] for r in drop["rows"]} <= set(STUDY.event_names)


def test_designated_forms_never_filled_show_zero(drop):
    designated = {ev: [f for f in STUDY.forms_of_event(ev) if f not in STUDY.repeating_instruments
                       or ev in STUDY.repeating_events] for ev in STUDY.event_names}
    empty_seen = 0
    for row in (r for r in drop["rows"] if not r["redcap_repeat_instrument"]):
        ev = row["redcap_event_name"]
        for form in STUDY.forms:
            status = row[f"{form}_complete"]
            cols = STUDY.data_columns_of(form)
            checkbox = [c for c in cols if "___" in c]
            data = [row[c] for c in cols if c not in checkbox]
            if form not in designated[ev]:
                assert status == "" and all(row[c] == "" for c in cols), (ev, form)
                continue
            assert all(row[c] in ("0", "1") for c in checkbox)
            if any(data):
                assert status in ("1", "2")
            else:
                assert status == "0" and all(row[c] == "0" for c in checkbox)
                empty_seen += 1
    assert empty_seen > 0


def test_rows_sorted_record_then_event(drop):
    order = {e: i for i, e in enumerate(STUDY.event_names)}
    keys = [(r["record_id"], order[r["redcap_event_name"]]) for r in drop["rows"]]
    assert keys == sorted(keys)


def test_dates_are_iso_and_before_the_export(drop):
    date_cols = [c for c in STUDY.export_columns if c in STUDY.by_name and STUDY.by_name[c].is_date]
    for row in drop["rows"]:
        for c in date_cols:
            if row[c]:
                assert len(row[c]) == 10
                assert dt.date.fromisoformat(row[c]) < EXPORT_DT.date(), (c, row[c])


def test_a_record_written_by_hand(tmp_path):
    p = PatientRecord("X-1")
    p.add_form("baseline_arm_1", "skin_score", {"mrss_date": "2020-01-01", "mrss_total": "12"})
    p.add_repeat("baseline_arm_1", "adverse_event", {"ae_term": "Headache", "ae_onset_date": "2020-01-02"})
    p.unscheduled.append({"labs": {"lab_date": "2020-03-01", "crp_mg_l": "4.5"}})
    rows = cohort_rows([p], STUDY)
    assert [(r["redcap_event_name"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) for r in rows] == [
        ("baseline_arm_1", "", ""), ("baseline_arm_1", "adverse_event", "1"), ("unscheduled_arm_1", "", "1")]
    assert rows[0]["skin_score_complete"] == "2" and rows[0]["enrollment_complete"] == "0"
    assert rows[0]["autoantibodies___1"] == "0" and rows[0]["adverse_event_complete"] == ""
    assert rows[2]["labs_complete"] == "2" and rows[2]["skin_score_complete"] == "0"
