"""The reconciliation and the field profile counted in DuckDB (quality.gates.reconciliation_in, field_profile_in) on
a real DuckDB file holding raw.records and quality.quarantine, against counts made by hand: cells of Unicode spaces
only, a checkbox " 0 ", repeat instruments, quarantined and rejected rows. A cell is filled in DuckDB exactly where
quality.suites.has_text (the conformance step's judgement) says so, and a frame counted through an in-memory
warehouse (reconciliation, field_profile) gives the same frames."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from quality.gates import _has_text_sql, field_profile, field_profile_in, reconciliation, reconciliation_in
from quality.suites import has_text
from quality.rules import RULES
from quality_synth import STUDY, frame

QUARANTINED = [5]
DROP = {"drop_id": "2026-11-24T0200", "export_rows": 11, "unreadable_rows": 1}


def records() -> pd.DataFrame:
    """raw.records rows: skin scores with blank-looking dates, an AE row of a repeat instrument, checkboxes."""
    base = {"record_id": "SSC-0001", "redcap_event_name": "baseline_arm_1"}
    return frame([
        {**base, "mrss_date": "2020-01-01", "mrss_total": "20"},                       # row 2
        {**base, "mrss_date": "\u3000\u00a0", "mrss_total": "21"},                     # 3: ideographic + nbsp
        {**base, "mrss_date": " \x1c\u2028 ", "mrss_total": None},                       # 4: only spaces: no assessment
        {**base, "mrss_date": "2020-13-01", "mrss_total": "22"},                       # 5: quarantined
        {**base, "mrss_date": "\u200b", "mrss_total": ""},                             # 6: zero-width is not a space
        {**base, "autoantibodies___1": " 0 ", "autoantibodies___2": "0"},              # 7: unticked: no assessment
        {**base, "enrollment_date": "2019-01-01", "autoantibodies___1": " 0 "},        # 8: an enrollment
        {**base, "autoantibodies___1": "\u00a01\u00a0", "prior_therapy___3": "0"},     # 9
        {**base, "redcap_repeat_instrument": "adverse_event", "redcap_repeat_instance": "1",
         "ae_onset_date": "2020-02-01", "mrss_date": "2020-02-01"},                    # 10: AE row, not a skin score
        {**base, "redcap_repeat_instrument": "adverse_event", "redcap_repeat_instance": "2",
         "ae_onset_date": "not a date"},                                               # 11
    ])


def rejected(rows_fields: list[tuple[int, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"stage": "conformance", "rule": rule, "action": RULES[rule].action,
                          "severity": RULES[rule].severity, "field": field, "value": "v", "source_row": row,
                          "record_id": "SSC-0001", "message": "m"} for row, field, rule in rows_fields])


@pytest.fixture
def warehouse(tmp_path):
    frame_ = records()
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute("create schema raw; create schema quality")
    columns = ", ".join(f'"{c}" {"INTEGER" if c == "_source_row" else "VARCHAR"}' for c in frame_.columns)
    conn.execute(f"create table raw.records ({columns})")
    conn.register("frame", frame_.astype(object).where(frame_.notna(), None))
    conn.execute("insert into raw.records select * from frame")
    conn.unregister("frame")
    conn.execute("create table quality.quarantine (source_row INTEGER, record_id VARCHAR)")
    conn.executemany("insert into quality.quarantine values (?, 'SSC-0001')", [[r] for r in QUARANTINED])
    yield conn, conn.execute("select * from raw.records").df()
    conn.close()


def test_the_reconciliation_counts_the_rows_by_hand(warehouse):
    conn, loaded = warehouse
    expected = reconciliation(loaded, set(QUARANTINED), DROP, STUDY)
    got = reconciliation_in(conn, DROP, STUDY)
    pd.testing.assert_frame_equal(got, expected)
    skin = got.set_index("instrument").loc["skin_score"]
    # rows 2, 3, 5, 6 are skin scores (4 holds spaces only, 10 belongs to its repeat instrument); 5 is quarantined
    assert (skin["export_rows"], skin["loaded_rows"], skin["quarantined_rows"]) == (4, 3, 1)
    assert got.iloc[0]["quarantined_rows"] == 2  # row 5 and the unreadable one


def test_the_field_profile_counts_the_cells_by_hand(warehouse):
    conn, loaded = warehouse
    findings = rejected([(5, "mrss_date", "date_format"), (3, "mrss_date", "date_format"),
                         (6, "mrss_date", "date_format"), (11, "ae_onset_date", "date_format")])
    expected = field_profile(loaded, findings, STUDY, QUARANTINED, drop_id=DROP["drop_id"])
    got = field_profile_in(conn, findings, STUDY, DROP["drop_id"])
    pd.testing.assert_frame_equal(got, expected)
    by_field = got.set_index("field")
    # mrss_date filled on loaded skin scores: row 2 and row 6 (zero-width space); row 3 is blank; 6 rejected
    assert by_field.loc["mrss_date", ["filled", "rejected"]].tolist() == [2, 1]
    assert by_field.loc["ae_onset_date", ["filled", "rejected"]].tolist() == [2, 1]
    # an unticked checkbox " 0 " makes no assessment (row 7) but is a filled cell of one (row 8), as is "\u00a01"
    assert by_field.loc["autoantibodies___1", "filled"] == 2
    assert by_field.loc["autoantibodies___2", "filled"] == 0


def test_an_empty_drop_counts_nothing(tmp_path):
    conn = duckdb.connect(str(tmp_path / "empty.duckdb"))
    columns = ", ".join(f'"{c}" {"INTEGER" if c == "_source_row" else "VARCHAR"}' for c in records().columns)
    conn.execute(f"create schema raw; create schema quality; create table raw.records ({columns}); "
                 "create table quality.quarantine (source_row INTEGER)")
    loaded = conn.execute("select * from raw.records").df()
    pd.testing.assert_frame_equal(reconciliation_in(conn, {"drop_id": "d"}, STUDY),
                                  reconciliation(loaded, set(), {"drop_id": "d"}, STUDY))
    pd.testing.assert_frame_equal(field_profile_in(conn, pd.DataFrame(), STUDY, "d"),
                                  field_profile(loaded, pd.DataFrame(), STUDY, [], drop_id="d"))
    conn.close()


@pytest.mark.parametrize("zero_is_empty", [False, True])
def test_a_cell_is_filled_in_duckdb_exactly_where_has_text_says(zero_is_empty):
    import sys
    values = [None, "", " ", "0", " 0 ", "\u00a00", "00", "x", "\u3000", "\u200b", "\x1c\x1d\x1e\x1f", "\u2028\u2029",
              "\x85", "\t\n\x0b\x0c\r", "\u180e", "\ufeff", "a b", *(chr(c) for c in range(sys.maxunicode + 1)
                                                                      if chr(c).isspace())]
    conn = duckdb.connect()
    conn.execute("create table cells (i integer, v varchar)")
    conn.executemany("insert into cells values (?, ?)", list(enumerate(values)))
    in_duckdb = [bool(b) for (b,) in conn.execute(
        f"select {_has_text_sql('v', zero_is_empty)} from cells order by i").fetchall()]
    assert in_duckdb == has_text(pd.Series(values, dtype=object), zero_is_empty=zero_is_empty).tolist()
