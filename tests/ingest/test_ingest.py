"""Ingestion: reading exports as text, structural checks, de-identification and landing in DuckDB."""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime

import duckdb
import pytest

from ingest.deidentify import DEMO_KEY, PseudonymKey, age_in_years, key_from_environment, pseudonym
from ingest.drops import DropError, newest_drop, open_drop
from ingest.land import land_drop, landed_columns, read_drop
from ingest.reader import UnreadableFileError, parse_records
from ingest.structure import compare_dictionary, compare_header
from study.definition import DEFINITION_DIR, load_study, parse_dictionary

STUDY = load_study()
KEY = PseudonymKey(b"test-key", "environment")


def write_drop(folder, rows, header=None, dictionary_text=None, bom=False, name="SSC_DATA_2026-11-24_0200.csv"):
    """A drop folder with a records file of ``rows`` (dicts of column -> text) and the study's dictionary."""
    folder.mkdir(parents=True, exist_ok=True)
    header = list(header or STUDY.export_columns)
    with open(folder / name, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    dictionary = folder / "SSC_DataDictionary_2026-11-24.csv"
    if dictionary_text is None:
        shutil.copy(DEFINITION_DIR / "dictionary.csv", dictionary)
    else:
        dictionary.write_text(dictionary_text, encoding="utf-8")
    return folder


PATIENT = [
    {"record_id": "7", "redcap_event_name": "baseline_arm_1", "mrn": "CANARYMRN7", "patient_name": "Canaryname Zq7",
     "phone": "+99 CANARY 7", "dob": "1970-06-15", "sex": "1", "enrollment_date": "2020-01-01",
     "ssc_subtype": "1", "ild_baseline": "1", "pah_baseline": "0", "enrollment_complete": "2"},
    {"record_id": "7", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "infusion",
     "redcap_repeat_instance": "1", "infusion_date": "2020-06-15", "infusion_complete": "2"},
    {"record_id": "7", "redcap_event_name": "month_12_arm_1", "mrss_date": "2021-06-14", "mrss_total": "12",
     "skin_score_complete": "2"},
]


def test_newest_drop_sorts_by_name_and_reads_export_time(tmp_path):
    write_drop(tmp_path / "2026-11-23T0200", PATIENT)
    write_drop(tmp_path / "2026-11-24T0200", PATIENT)
    drop = newest_drop(tmp_path)
    assert drop.drop_id == "2026-11-24T0200"
    assert drop.export_datetime.date() == date(2026, 11, 24)


def test_plain_file_names_are_accepted(tmp_path):
    folder = write_drop(tmp_path / "d", PATIENT, name="records.csv")
    (folder / "SSC_DataDictionary_2026-11-24.csv").rename(folder / "dictionary.csv")
    assert open_drop(folder).records_file.name == "records.csv"


def test_a_drop_without_records_names_the_folder(tmp_path):
    (tmp_path / "2026-11-24T0200").mkdir()
    with pytest.raises(DropError, match="2026-11-24T0200.*no records file"):
        newest_drop(tmp_path)
    with pytest.raises(DropError, match="holds no drop"):
        newest_drop(tmp_path / "2026-11-24T0200")


def test_bom_ragged_rows_and_bad_bytes_do_not_crash(tmp_path):
    folder = write_drop(tmp_path / "d", PATIENT + [["8", "baseline_arm_1", "only three"]], bom=True)
    path = folder / "SSC_DATA_2026-11-24_0200.csv"
    path.write_bytes(path.read_bytes().replace(b"CANARYMRN7", b"CANARYMRN7\xff"))
    parsed = parse_records(path)
    assert parsed.header[0] == "record_id"
    assert parsed.export_rows == 4 and len(parsed.source_rows) == 3
    assert parsed.ragged == [(5, 3, "8", "baseline_arm_1")]  # row, cells, and the record and event it gives
    assert parsed.replaced_rows == [2]


def test_a_file_that_is_not_an_export_names_file_and_line(tmp_path):
    path = tmp_path / "SSC_DATA_2026-11-24_0200.csv"
    path.write_text("name,value\nx,1\n")
    with pytest.raises(UnreadableFileError, match=r"SSC_DATA_2026-11-24_0200.csv, line 1: .*record_id"):
        parse_records(path)


def test_dictionary_missing_and_retyped_fields_are_structural_errors():
    fields = list(STUDY.fields)
    fields = [f for f in fields if f.name != "mrss_total"]
    retyped = [f for f in fields if f.name == "fvc_pct_pred"][0]
    fields[fields.index(retyped)] = type(retyped)(**{**retyped.__dict__, "validation": "integer"})
    findings = compare_dictionary(STUDY, tuple(fields), "dict.csv")
    by_rule = {f.rule: f for f in findings}
    assert by_rule["dictionary_field_missing"].field == "mrss_total"
    assert by_rule["dictionary_field_missing"].action == "blocked"
    assert "fvc_pct_pred" in by_rule["dictionary_field_retyped"].message
    assert compare_dictionary(STUDY, STUDY.fields, "dict.csv") == []


def test_header_missing_columns_are_named():
    header = [c for c in STUDY.export_columns if c != "echo_pasp_mmhg"] + ["extra_field"]
    findings = compare_header(STUDY, header, "records.csv")
    assert [(f.rule, f.field) for f in findings] == [
        ("records_column_missing", "echo_pasp_mmhg"), ("records_column_unexpected", "extra_field")]
    assert findings[0].message.endswith("; export the records again with every instrument and field (REDCap Data "
                                        "Exports, all data, CSV raw data)")


def test_a_missing_column_names_the_unknown_column_that_looks_like_it_renamed():
    header = [c if c != "mrss_total" else "mrss_total_score" for c in STUDY.export_columns]
    missing, unexpected = compare_header(STUDY, header, "records.csv")
    assert (missing.rule, unexpected.rule) == ("records_column_missing", "records_column_unexpected")
    assert "column mrss_total is missing from the records export (the export has mrss_total_score, which the " \
           "study does not know: if the field was renamed in REDCap, the study definition must be changed with " \
           "it)" in missing.message


def test_unnamed_header_columns_are_refused_saying_so(tmp_path):
    folder = write_drop(tmp_path / "d", PATIENT)
    path = folder / "SSC_DATA_2026-11-24_0200.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line + ",," for line in lines) + "\n")  # a spreadsheet's two empty columns
    width = len(lines[0].split(","))
    with pytest.raises(UnreadableFileError, match=rf"line 1: 2 column\(s\) of the header have no name \(column "
                                                  rf"{width + 1}, {width + 2}\): a spreadsheet program"):
        parse_records(path)


def test_pseudonym_is_keyed_and_stable():
    assert pseudonym(" ab123 ", KEY) == pseudonym("AB123", KEY)
    assert pseudonym("AB123", KEY) != pseudonym("AB123", PseudonymKey(DEMO_KEY.encode(), "demo"))
    assert len(pseudonym("AB123", KEY)) == 64 and pseudonym("", KEY) is None
    assert key_from_environment({}).is_demo
    assert key_from_environment({"SSC_PSEUDONYM_KEY": "s3cret"}).label == "environment"


def test_age_counts_completed_years():
    assert age_in_years(date(1970, 6, 15), date(2020, 6, 14)) == 49
    assert age_in_years(date(1970, 6, 15), date(2020, 6, 15)) == 50


def test_landing_removes_identifiers_and_keeps_provenance(tmp_path):
    drop = open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT))
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as conn:
        result = land_drop(conn, drop, STUDY, KEY)
        frame = conn.execute("select * from raw.records order by _source_row").df()
        drops = conn.execute("select * from raw.drops").df()
    assert result.export_rows == 3 and not result.findings
    assert list(frame.columns) == ["_drop_id", "_source_row"] + landed_columns(STUDY)
    assert frame["_source_row"].tolist() == [2, 3, 4]
    assert frame.loc[0, "age_at_day0"] == 50  # born 1970-06-15, first infusion 2020-06-15
    assert frame.loc[0, "mrn_pseudonym"] == pseudonym("CANARYMRN7", KEY)
    assert not {"mrn", "patient_name", "phone", "dob"} & set(frame.columns)
    assert drops.loc[0, "records_sha256"] == result.records_sha256
    content = db.read_bytes()
    for canary in (b"CANARYMRN7", b"Canaryname", b"CANARY 7", b"1970-06-15"):
        assert canary not in content


def test_reloading_the_same_drop_writes_nothing(tmp_path):
    drop = open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT))
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as conn:
        first = land_drop(conn, drop, STUDY, KEY)
        loaded_at = conn.execute("select loaded_at from raw.drops").fetchall()
        second = land_drop(conn, drop, STUDY, KEY)
        assert conn.execute("select loaded_at from raw.drops").fetchall() == loaded_at
        assert conn.execute("select count(*) from raw.records").fetchall() == [(3,)]
    assert not first.already_loaded and second.already_loaded


def test_a_new_drop_keeps_the_old_snapshot(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-23T0200", PATIENT[:2])), STUDY, KEY)
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT)), STUDY, KEY)
        tables = conn.execute("select table_name from information_schema.tables where table_schema = 'raw_archive'").fetchall()
        assert len(tables) == 2
        assert conn.execute("select count(*) from raw.records").fetchall() == [(3,)]
        assert conn.execute("select drop_id from raw.current_drop").fetchall() == [("2026-11-24T0200",)]


def test_invalid_dob_is_reported_without_its_value(tmp_path):
    rows = [dict(PATIENT[0], dob="1970-02-30"), *PATIENT[1:]]
    _, result = read_drop(open_drop(write_drop(tmp_path / "d", rows)), STUDY, KEY)
    (finding,) = [f for f in result.findings if f.rule == "dob_invalid"]
    assert finding.source_row == 2 and "1970-02-30" not in repr(finding)


def test_missing_column_lands_as_null_with_a_blocking_finding(tmp_path):
    header = [c for c in STUDY.export_columns if c != "mrss_total"]
    frame, result = read_drop(open_drop(write_drop(tmp_path / "d", PATIENT, header=header)), STUDY, KEY)
    assert frame["mrss_total"].isna().all()
    assert [f.field for f in result.blocked] == ["mrss_total"]


def test_dictionary_file_round_trips_through_the_parser():
    text = (DEFINITION_DIR / "dictionary.csv").read_text()
    assert parse_dictionary(text) == STUDY.fields


def test_an_export_time_that_cannot_be_trusted_refuses_the_drop(tmp_path):
    """Every date is checked against the export time (a death after it cannot have happened): a records file named
    for a later time than its folder, or an export after this machine's clock, is refused saying which."""
    folder = write_drop(tmp_path / "2026-11-24T0200", PATIENT)
    records = folder / "SSC_DATA_2026-11-24_0200.csv"
    records.rename(folder / "SSC_DATA_2036-11-24_0200.csv")
    with pytest.raises(DropError, match=r"says it was exported 2036-11-24 02:00, after the time the drop folder's "
                                        r"name gives \(2026-11-24 02:00\)"):
        open_drop(folder)
    later = folder.parent / "2036-11-24T0200"
    folder.rename(later)
    with pytest.raises(DropError, match=r"exported 2036-11-24 02:00 by its names, which is after this machine's clock"):
        open_drop(later)
    # an export older than its folder's name (a copy made later) is taken at its own, earlier time
    (later / "SSC_DATA_2036-11-24_0200.csv").rename(later / "SSC_DATA_2026-11-24_0300.csv")
    assert open_drop(later).export_datetime == datetime(2026, 11, 24, 3, 0)
