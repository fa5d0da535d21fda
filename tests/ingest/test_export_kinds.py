"""REDCap exports as they really arrive, at the ingest: each kind of fault read back to exactly what the clean
export gives (where that needs no guessing), or refused naming the file, the lines or the field.

The clean reference is the demo drop read as it is: a normalised drop must give the same raw.records frame,
cell for cell, so every figure downstream is the same. Property-style tests vary each kind (other fields, other
codes, other encodings and delimiters, other stray folders) with hypothesis.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from field_cases import (
    DEMO_DROP, STUDY, as_labels, column, concatenated, date_columns, dates_reordered, dead_records, decimal_commas,
    demo_rows, mac_litter, set_cells, stray_quote, trailing_zeros_dropped, with_time_part, write_drop,
)
from ingest.deidentify import PseudonymKey
from ingest.drops import DropError, newest_drop, open_drop, scan_inbox
from ingest.land import land_drop, read_drop
from ingest.normalise import REDCAP_MISSING_DATA_CODES, parse_missing_data_codes
from ingest.reader import UnreadableFileError

KEY = PseudonymKey(b"test-key", "environment")
HEADER, ROWS = demo_rows()
CLEAN, _ = read_drop(open_drop(DEMO_DROP), STUDY, KEY)
QUICK = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CHOICE_FIELDS = sorted({f.name for f in STUDY.fields if not f.identifier and (f.is_checkbox or (
    f.choices and f.field_type in ("radio", "dropdown", "yesno")))})
ACCENTED = "Érythème « cutané » – grade 2 ’léger’"
DATE_FIELDS = sorted({HEADER[i] for i in date_columns(HEADER, identifiers=False)})


def read(folder: Path, codes=None):
    return read_drop(open_drop(folder), STUDY, KEY, codes)


def rules(result) -> list[str]:
    return [f.rule for f in result.findings]


def assert_same_as_clean(frame) -> None:
    assert list(frame.columns) == list(CLEAN.columns)
    assert frame.reset_index(drop=True).equals(CLEAN.reset_index(drop=True))


# ---- re-saved by a spreadsheet program -------------------------------------------------------------------------


@QUICK
@given(encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
       delimiter=st.sampled_from([",", ";", "\t"]), newline=st.sampled_from(["\n", "\r\n"]))
def test_a_resaved_file_that_can_be_read_without_guessing_gives_the_clean_figures(encoding, delimiter, newline):
    rows = set_cells(HEADER, trailing_zeros_dropped(HEADER, ROWS), {("SSC-0002", "ae_term"): ACCENTED})
    if delimiter != ",":
        rows = decimal_commas(HEADER, rows)
    with tempfile.TemporaryDirectory() as tmp:
        frame, result = read(write_drop(Path(tmp), HEADER, rows, encoding=encoding, delimiter=delimiter,
                                        newline=newline))
    normalised = CLEAN.copy()
    first_term = normalised.index[(normalised["record_id"] == "SSC-0002") & normalised["ae_term"].notna()][0]
    normalised.loc[first_term, "ae_term"] = ACCENTED
    for c in normalised.columns:  # a spreadsheet drops trailing zeros: same number, other text
        f = STUDY.column_owner.get(c)
        if f is not None and f.is_number:
            normalised[c] = normalised[c].map(lambda v: v if v is None or "." not in v else v.rstrip("0").rstrip("."))
    assert frame.reset_index(drop=True).equals(normalised.reset_index(drop=True))
    assert not result.stops
    resaved = [f for f in result.findings if f.rule == "export_resaved"]
    if encoding in ("cp1252", "utf-16") or delimiter != ",":
        assert resaved and resaved[0].field is None and resaved[0].source_row is None  # once, for the file
        assert len(resaved) <= 2  # the format, and decimal commas read as points
    assert "number_format" not in rules(result)


def test_accented_text_in_windows_1252_is_read_correctly():
    rows = set_cells(HEADER, ROWS, {("SSC-0002", "ae_term"): ACCENTED})
    with tempfile.TemporaryDirectory() as tmp:
        frame, result = read(write_drop(Path(tmp), HEADER, rows, encoding="cp1252", newline="\r\n"))
    assert ACCENTED in set(frame["ae_term"].dropna())
    assert rules(result) == ["export_resaved"] and "Windows-1252" in result.findings[0].message


@pytest.mark.parametrize("order,separator", [("mdy", "/"), ("dmy", "/"), ("dmy", ".")])
def test_day_or_month_first_dates_stop_the_drop_once_naming_file_and_fix(tmp_path, order, separator):
    rows = dates_reordered(HEADER, trailing_zeros_dropped(HEADER, ROWS), order, separator)
    folder = write_drop(tmp_path / "inbox", HEADER, rows, encoding="cp1252", newline="\r\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = land_drop(conn, open_drop(folder), STUDY, KEY)
        tables = conn.execute("select count(*) from information_schema.tables where table_schema = 'raw'").fetchall()
    assert [f.rule for f in result.stops] == ["export_dates_not_iso"]
    assert tables == [(0,)]  # nothing loaded
    assert all(f.source_row is None for f in result.findings)  # no per-cell flood
    message = result.stops[0].message
    assert "SSC_DATA_2026-11-24_0200.csv" in message and "export the records again from REDCap" in message
    assert "\n" not in message and "record_id,redcap_event_name" not in message


@pytest.mark.parametrize("separator", ["/", "."])
def test_year_first_dates_with_another_separator_read_as_iso(tmp_path, separator):
    rows = [list(r) for r in ROWS]
    for row in rows:
        for i in date_columns(HEADER):
            row[i] = row[i].replace("-", separator)
    frame, result = read(write_drop(tmp_path, HEADER, rows))
    assert_same_as_clean(frame)
    (said,) = [f for f in result.findings if f.rule == "export_resaved"]  # once, for the file
    n_fields = sum(1 for i in date_columns(HEADER) if any(r[i] for r in ROWS))
    assert f"in {n_fields} fields" in said.message and "dob" not in said.message  # never a birth date


def test_a_few_malformed_dates_stay_cell_findings(tmp_path):
    rows = set_cells(HEADER, ROWS, {("SSC-0003", "mrss_date"): "3/14/2019", ("SSC-0007", "pft_date"): "14.3.2019"})
    frame, result = read(write_drop(tmp_path, HEADER, rows))
    assert not result.stops and set(frame["mrss_date"].dropna()) >= {"3/14/2019"}


def test_decimal_commas_in_a_comma_delimited_file_are_not_guessed(tmp_path):
    rows = set_cells(HEADER, ROWS, {("SSC-0003", "fvc_pct_pred"): "77,5"})
    frame, result = read(write_drop(tmp_path, HEADER, rows))
    assert "77,5" in set(frame["fvc_pct_pred"].dropna()) and "export_resaved" not in rules(result)


@pytest.mark.parametrize("encoding,delimiter", [("cp1252", ";"), ("utf-16", "\t"), ("utf-8", ",")])
def test_a_resaved_data_dictionary_reads_as_the_study_and_is_said_once(tmp_path, encoding, delimiter):
    folder = write_drop(tmp_path, HEADER, ROWS)
    dictionary = folder / "SSC_DataDictionary_2026-11-24.csv"
    with open(dictionary, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    with open(dictionary, "w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    frame, result = read(folder)
    assert_same_as_clean(frame)
    said = [f.message for f in result.findings if f.rule == "export_resaved"]
    assert not {"dictionary_unreadable", "dictionary_field_retyped", "dictionary_field_missing"} & set(rules(result))
    assert len(said) == (0 if encoding == "utf-8" else 1)


# ---- labels instead of codes -----------------------------------------------------------------------------------


@QUICK
@given(fields=st.lists(st.sampled_from(CHOICE_FIELDS), min_size=1, max_size=8, unique=True))
def test_choice_fields_exported_as_labels_map_back_to_the_raw_codes(fields):
    with tempfile.TemporaryDirectory() as tmp:
        frame, result = read(write_drop(Path(tmp), HEADER, as_labels(HEADER, ROWS, fields)))
    assert_same_as_clean(frame)
    labelled = [f for f in result.findings if f.rule == "export_labels"]
    assert len(labelled) == 1 and labelled[0].severity == "warning"


def test_a_whole_labels_export_keys_included_maps_back(tmp_path):
    rows = as_labels(HEADER, ROWS)
    event, instrument = column(HEADER, "redcap_event_name"), column(HEADER, "redcap_repeat_instrument")
    labels = {e.unique_name: e.label for e in STUDY.events}
    for row in rows:
        row[event] = f"{labels[row[event]]} (Arm 1: Arm 1)"
        row[instrument] = row[instrument].replace("_", " ").title()
    frame, result = read(write_drop(tmp_path, HEADER, rows))
    assert_same_as_clean(frame)
    assert rules(result) == ["export_labels"]


@pytest.mark.parametrize("column", ["redcap_event_name", "redcap_repeat_instrument"])
def test_a_key_column_mixing_names_and_labels_stops_naming_it(tmp_path, column):
    rows = [list(r) for r in ROWS]
    i = HEADER.index(column)
    labels = {e.unique_name: f"{e.label} (Arm 1: Arm 1)" for e in STUDY.events}
    record = next(r[0] for r in rows if r[i] and r[0] != rows[0][0])
    for row in rows:
        if row[0] == record and row[i]:
            row[i] = labels[row[i]] if column == "redcap_event_name" else row[i].replace("_", " ").title()
    folder = write_drop(tmp_path / "inbox", HEADER, rows)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = land_drop(conn, open_drop(folder), STUDY, KEY)
    (stop,) = result.stops
    assert stop.rule == "export_labels_mixed" and stop.field == column


def test_a_records_file_with_only_its_header_is_refused_saying_so(tmp_path):
    with pytest.raises(UnreadableFileError, match="holds the header line and no records"):
        read(write_drop(tmp_path, HEADER, []))


def test_a_field_mixing_codes_and_labels_stops_naming_it(tmp_path):
    rows = as_labels(HEADER, ROWS, ["ae_relation"])
    i = column(HEADER, "ae_relation")
    next(r for r in rows if r[i])[i] = "1"  # one raw code among labels
    folder = write_drop(tmp_path / "inbox", HEADER, rows)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = land_drop(conn, open_drop(folder), STUDY, KEY)
    (stop,) = result.stops
    assert stop.rule == "export_labels_mixed" and stop.field == "ae_relation" and "ae_relation" in stop.message


def test_a_header_of_field_labels_is_refused_saying_so(tmp_path):
    header = ["Record ID", "Event Name"] + HEADER[2:]
    with pytest.raises(UnreadableFileError, match=r"line 1: the first column is 'Record ID'.*field labels instead of "
                                                  r"variable names"):
        read(write_drop(tmp_path, header, ROWS))


# ---- REDCap missing-data codes --------------------------------------------------------------------------------


@QUICK
@given(code=st.sampled_from(sorted(REDCAP_MISSING_DATA_CODES)),
       fields=st.lists(st.sampled_from(DATE_FIELDS + ["rcs", "echo_pasp_mmhg", "haq_dressing", "ild_baseline",
                                                      "ae_grade", "ae_term"]), min_size=1, max_size=4, unique=True),
       records=st.lists(st.sampled_from(["SSC-0004", "SSC-0010", "SSC-0021", "SSC-0033"]), min_size=1, max_size=3,
                        unique=True))
def test_missing_data_codes_are_missing_with_a_reason_reported_once_per_field_and_code(code, fields, records):
    changes, expected = {}, CLEAN.copy()
    for record in records:
        for name in fields:
            i = column(HEADER, name)
            if any(r[0] == record and r[i] for r in ROWS):
                changes[(record, name)] = code
    rows = set_cells(HEADER, ROWS, changes)
    with tempfile.TemporaryDirectory() as tmp:
        frame, result = read(write_drop(Path(tmp), HEADER, rows))
    coded = [f for f in result.findings if f.rule == "missing_data_code"]
    assert sorted(f.field for f in coded) == sorted({name for _, name in changes})
    assert all(f.value == code and f.severity == "warning" for f in coded)
    for (record, name) in changes:
        assert not (frame.loc[frame["record_id"] == record, name] == code).any()
    assert not {"date_format", "number_format"} & set(rules(result))


def test_site_codes_are_a_setting(tmp_path):
    rows = set_cells(HEADER, ROWS, {("SSC-0010", "rcs"): "-99"})
    folder = write_drop(tmp_path, HEADER, rows)
    frame, _ = read(folder)
    assert "-99" in set(frame["rcs"].dropna())  # not a code of REDCap's list: conformance judges it
    frame, result = read(folder, parse_missing_data_codes("UNK, Unknown | -99, Not recorded"))
    assert "-99" not in set(frame["rcs"].dropna())
    (coded,) = [f for f in result.findings if f.rule == "missing_data_code"]
    assert coded.field == "rcs" and "Not recorded" in coded.message and "SSC-0010" in coded.message
    assert parse_missing_data_codes("UNK | -99") == {"UNK": "Unknown", "-99": "missing-data code"}
    assert parse_missing_data_codes(None) == REDCAP_MISSING_DATA_CODES



def test_a_code_in_the_mrss_total_stays_for_conformance_and_a_code_in_a_site_is_missing(tmp_path):
    """The analysis plan: a filled but unusable mRSS total is never replaced by its sites' sum; a missing-data
    code there is such a value (conformance reports it and leaves the assessment out), not a blank."""
    record = next(r[0] for r in ROWS if r[column(HEADER, "mrss_total")] and r[column(HEADER, "mrss_face")])
    rows = set_cells(HEADER, ROWS, {(record, "mrss_total"): "NI", (record, "mrss_face"): "NI"})
    frame, result = read(write_drop(tmp_path, HEADER, rows))
    coded = [f for f in result.findings if f.rule == "missing_data_code"]
    assert [f.field for f in coded] == ["mrss_face"]
    assert "NI" in set(frame.loc[frame["record_id"] == record, "mrss_total"])
    assert "NI" not in set(frame.loc[frame["record_id"] == record, "mrss_face"].dropna())

def test_a_death_date_given_as_a_code_is_a_missing_death_date(tmp_path):
    record, _ = dead_records(HEADER, ROWS)[0]
    frame, _ = read(write_drop(tmp_path, HEADER, set_cells(HEADER, ROWS, {(record, "death_date"): "UNK"})))
    vital = frame[(frame["record_id"] == record) & frame["vital_status"].notna()]
    assert vital["death_date"].isna().all() and (vital["vital_status"] == "2").all()


# ---- dates with a time part ----------------------------------------------------------------------------------


@QUICK
@given(field=st.sampled_from(DATE_FIELDS), seconds=st.booleans())
def test_a_date_column_with_a_midnight_time_part_reads_as_its_dates(field, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        frame, result = read(write_drop(Path(tmp), HEADER, with_time_part(HEADER, ROWS, field,
                                                                           "00:00:00" if seconds else "00:00")))
    assert_same_as_clean(frame)
    (found,) = [f for f in result.findings if f.rule == "date_time_part"]
    assert found.field == field


def test_a_time_of_day_is_not_dropped(tmp_path):
    frame, result = read(write_drop(tmp_path, HEADER, with_time_part(HEADER, ROWS, "mrss_date", "14:30")))
    assert frame["mrss_date"].dropna().str.endswith("14:30").all() and "date_time_part" not in rules(result)


# ---- rows: concatenated batches, stray quotes --------------------------------------------------------------------


@QUICK
@given(split=st.integers(50, 440), overlap=st.integers(0, 20), bom=st.booleans())
def test_concatenated_batch_exports_skip_the_repeated_header(split, overlap, bom):
    lines = concatenated(HEADER, ROWS, split, overlap)
    if bom:  # each batch file began with its own BOM, and they were joined byte for byte
        lines[split + overlap + 1] = "\ufeff" + lines[split + overlap + 1]
    with tempfile.TemporaryDirectory() as tmp:
        frame, result = read(write_drop(Path(tmp), HEADER, ROWS, raw_lines=lines))
    assert result.export_rows == len(ROWS) + overlap  # rows REDCap wrote, the header line not among them
    assert "record_id" not in set(frame["record_id"])
    (repeated,) = [f for f in result.findings if f.rule == "repeated_header"]
    assert f"line {split + overlap + 2}" in repeated.message


@QUICK
@given(index=st.integers(0, 10 ** 6))
def test_a_stray_quote_that_swallows_rows_stops_naming_the_lines(index):
    i = column(HEADER, "ae_term")
    records = sorted({r[0] for r in ROWS if r[i]})
    record = records[index % len(records)]
    with tempfile.TemporaryDirectory() as tmp:
        _, result = read(write_drop(Path(tmp), HEADER, ROWS, raw_lines=stray_quote(HEADER, ROWS, record)))
    (stop,) = result.stops
    assert stop.rule == "rows_swallowed_by_quote" and stop.record_id == record and "lines " in stop.message
    assert result.export_rows == len(ROWS) == result.readable_rows + result.unreadable_rows
    assert result.unreadable_rows >= 2  # the swallowing row and what it swallowed


# ---- the inbox and the drop folder -------------------------------------------------------------------------------


@QUICK
@given(stray=st.lists(st.sampled_from(["archive", "__MACOSX", "old", ".hidden", "2026-11-30 export", "zzz",
                                       "2026-12-01T0200-copy", "9999-99-99T9999"]), min_size=1, max_size=4,
                      unique=True), apple=st.booleans())
def test_stray_folders_and_mac_files_never_hide_the_drop(stray, apple):
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        drop = write_drop(inbox, HEADER, ROWS[:20])
        for name in stray:
            shutil.copytree(drop, inbox / name)
        if apple:
            mac_litter(inbox, drop)
        scanned = scan_inbox(inbox)
        assert newest_drop(scanned).drop_id == "2026-11-24T0200"
        assert set(scanned.ignored) >= {f"{n}/" for n in stray if not n.startswith(".")}
        assert "\\d" not in (scanned.describe_ignored() or "")


def test_an_older_drop_than_the_last_loaded_is_refused(tmp_path):
    newer = write_drop(tmp_path / "inbox", HEADER, ROWS[:20], name="2026-11-25T0200")
    older = write_drop(tmp_path / "inbox", HEADER, ROWS[:20], name="2026-11-20T0200")
    (older / "SSC_DATA_2026-11-24_0200.csv").rename(older / "SSC_DATA_2026-11-20_0200.csv")
    (newer / "SSC_DATA_2026-11-24_0200.csv").rename(newer / "SSC_DATA_2026-11-25_0200.csv")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        land_drop(conn, open_drop(newer), STUDY, KEY)
        with pytest.raises(DropError, match=r"2026-11-20T0200 was exported 2026-11-20 02:00, before drop "
                                            r"2026-11-25T0200"):
            land_drop(conn, open_drop(older), STUDY, KEY)


@pytest.mark.parametrize("second_header", ["reordered", "other fields"])
def test_batch_exports_with_different_columns_joined_into_one_file_are_refused_naming_the_line(tmp_path,
                                                                                               second_header):
    """The second batch's header is not line 1's: reading its rows by line 1's columns would put values in the
    wrong fields (a tester's drop did: two patients' rows shifted, figures published)."""
    lines = concatenated(HEADER, ROWS, 200, 0)
    other = HEADER[:1] + HEADER[1:][::-1] if second_header == "reordered" else HEADER[:-1]
    lines[201] = ",".join(other)
    with pytest.raises(UnreadableFileError, match=r"line 202: a second header line whose columns are not those of "
                                                  r"line 1 .*two exports with different columns were joined"):
        read(write_drop(tmp_path, HEADER, ROWS, raw_lines=lines))


def test_a_row_with_a_cell_too_many_is_set_aside_naming_its_record_and_event(tmp_path):
    """A free-text edit such as ``Rash "patchy, on arms"`` outside quotes splits one cell in two: the row cannot be
    aligned with its columns, and its finding names the record and event read from its first cells."""
    i = column(HEADER, "ae_term")
    index = next(n for n, r in enumerate(ROWS) if r[i])
    lines = concatenated(HEADER, ROWS, len(ROWS), 0)[:len(ROWS) + 1]  # the header and the rows, once
    split = list(ROWS[index])
    split[i:i + 1] = ['Rash "patchy', ' on arms"']
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(split)
    lines[index + 1] = buffer.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        _, result = read(write_drop(Path(tmp), HEADER, ROWS, raw_lines=lines))
    (found,) = [f for f in result.findings if f.rule == "unreadable_row"]
    assert (found.record_id, found.event, found.source_row) == (ROWS[index][0], ROWS[index][1], index + 2)
    assert f"(record {ROWS[index][0]}, event {ROWS[index][1]})" in found.message
