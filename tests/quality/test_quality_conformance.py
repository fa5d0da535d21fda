"""Conformance & completeness on raw.records, placement (quarantine) and the duplicate-key gate."""

from __future__ import annotations

import pandas as pd
import pytest

import quality_synth as qs
from quality.conformance import (
    duplicate_key_findings,
    duplicate_keys,
    excluded_assessments,
    nulled_cells,
    run_conformance,
)
from quality.findings import FINDING_COLUMNS
from quality.suites import build_suites

STUDY = qs.STUDY


@pytest.fixture(scope="module")
def clean():
    return qs.cohort(3)


def _run(df):
    return run_conformance(df, STUDY)


def _row(df, record_id, event, repeat=None):
    m = (df["record_id"] == record_id) & (df["redcap_event_name"] == event)
    m &= df["redcap_repeat_instrument"].isna() if repeat is None else df["redcap_repeat_instrument"] == repeat
    idx = df.index[m]
    assert len(idx) >= 1
    return idx[0]


def test_clean_cohort_has_no_findings(clean):
    res = _run(clean)
    assert res.findings.empty, res.findings[["rule", "field", "value", "message"]]
    assert res.quarantine.empty
    assert len(res.kept) == len(clean)
    assert list(res.findings.columns) == list(FINDING_COLUMNS)
    assert set(res.summaries) == {"raw_placement", *(f"raw_{f}" for f in STUDY.forms)}


# (event, repeat instrument, column, bad value, rule, severity, action, good value)
VALUE_CASES = [
    ("baseline_arm_1", None, "mrss_date", "2021-02-30", "date_format", "error", "nulled", "2021-02-28"),
    ("baseline_arm_1", None, "mrss_date", "2021-2-3", "date_format", "error", "nulled", "2021-02-03"),
    ("baseline_arm_1", None, "echo_pasp_mmhg", "45,5", "number_format", "error", "nulled", "45.5"),
    ("baseline_arm_1", None, "du_active_count", "2.5", "integer_format", "error", "nulled", "2"),
    ("baseline_arm_1", None, "sex", "3", "choice_code_invalid", "error", "nulled", "2"),
    ("baseline_arm_1", None, "pitting_scars", "yes", "choice_code_invalid", "error", "nulled", "1"),
    ("baseline_arm_1", None, "autoantibodies___2", "2", "checkbox_value_invalid", "error", "nulled", "1"),
    ("baseline_arm_1", None, "echo_lvef_pct", "95", "value_out_of_range", "error", "nulled", "85"),
    ("baseline_arm_1", None, "acr_eular_2013_score", "29", "value_out_of_range", "error", "nulled", "28"),
    ("baseline_arm_1", None, "mrss_total", "52", "value_out_of_range", "error", "excluded", None),
    ("baseline_arm_1", None, "ssc_subtype", None, "required_missing", "warning", "none", "2"),
    ("month_1_arm_1", "adverse_event", "ae_grade", None, "required_missing", "warning", "none", "2"),
    ("baseline_arm_1", None, "hrct_date", None, "assessment_date_missing", "error", "excluded", "2020-01-01"),
    ("end_of_follow_up_arm_1", None, "last_contact_date", None, "anchor_date_missing", "error", "none",
     "2021-01-01"),
    ("baseline_arm_1", "infusion", "cell_dose_per_kg", "0.05", "value_out_of_range", "error", "nulled", "0.1"),
]


def _rid(k: int) -> str:
    return f"{k + 1:04d}"


@pytest.fixture(scope="module")
def value_runs():
    """Every case corrupted on its own patient, validated once; then every case corrected, validated once."""
    df = qs.cohort(len(VALUE_CASES), seed=11)
    rows = []
    for k, (event, repeat, column, bad, *_rest) in enumerate(VALUE_CASES):
        i = _row(df, _rid(k), event, repeat)
        df.loc[i, column] = bad
        rows.append(i)
    bad_res = _run(df)
    good = df.copy()
    for k, (event, repeat, column, bad, rule_id, severity, action, value) in enumerate(VALUE_CASES):
        good.loc[rows[k], column] = value
    return df, rows, bad_res, _run(good)


@pytest.mark.parametrize("k", range(len(VALUE_CASES)), ids=[f"{c[4]}:{c[2]}={c[3]}" for c in VALUE_CASES])
def test_value_rules_fail_and_pass(value_runs, k):
    event, repeat, column, bad, rule_id, severity, action, good = VALUE_CASES[k]
    df, rows, res, ok = value_runs
    i = rows[k]
    mine = res.findings[res.findings["record_id"] == _rid(k)]
    hit = mine[(mine["rule"] == rule_id) & (mine["field"] == column)]
    assert len(hit) == 1, mine[["rule", "field", "value", "message"]]
    assert len(mine) == 1, mine[["rule", "field", "value", "message"]]  # nothing else on this patient
    f = hit.iloc[0]
    assert (f.severity, f.action) == (severity, action)
    assert f.event == event
    assert f.source_row == df.loc[i, "_source_row"]
    assert f.instrument == STUDY.column_owner[column].form
    assert f.value == (bad if bad is not None else None)
    assert f.message and f.hint
    if rule_id == "number_format":
        assert f.hint == "use a decimal point: 45.5"
    if repeat:
        assert f.instance == int(df.loc[i, "redcap_repeat_instance"])
    if action == "nulled":
        cells = set(nulled_cells(res.findings).itertuples(index=False, name=None))
        assert (int(df.loc[i, "_source_row"]), column) in cells
    # passing case: the corrected value (or a blank, for an optional field) raises nothing
    assert ok.findings[ok.findings["record_id"] == _rid(k)].empty, ok.findings[["rule", "field", "value"]]


# ---- one frame, one run, many cases (GX costs ~10 ms per expectation per run, so the tests batch) ----------


@pytest.fixture(scope="module")
def batch():
    df = qs.cohort(20, seed=5)
    extra = []
    case = {}

    def at(k, event, repeat=None):
        return _row(df, _rid(k), event, repeat)

    # calc: total disagrees with the 17 sites (p1); total blank (p2); a site blank and the total odd (p3)
    i = at(0, "month_3_arm_1")
    total = int(df.loc[i, "mrss_total"])
    df.loc[i, "mrss_total"] = str(total + 2 if total < 49 else total - 2)
    case["calc"] = (i, total)
    df.loc[at(1, "month_3_arm_1"), "mrss_total"] = None
    i = at(2, "month_3_arm_1")
    df.loc[i, "mrss_face"] = None
    df.loc[i, "mrss_total"] = "51"
    # a form at an undesignated event (vascular at month 24) (p4)
    extra.append({"record_id": _rid(3), "redcap_event_name": "month_24_arm_1", "_source_row": 901,
                  "vasc_date": "2022-03-01", "rcs": "2", "vascular_complete": "2"})
    # a designated form never filled: checkboxes 0, _complete 0 (p5)
    extra.append({"record_id": _rid(4), "redcap_event_name": "month_24_arm_1", "_source_row": 902,
                  **{c: "0" for c in STUDY.by_name["haq_aids"].export_columns}, "haq_complete": "0",
                  "skin_score_complete": "0"})
    # a stray skin-score value on an infusion row (p6)
    df.loc[at(5, "baseline_arm_1", "infusion"), "mrss_face"] = "9"
    # row placement rules (p7..p11)
    for k, (column, value) in enumerate([("record_id", None), ("redcap_event_name", "month_99_arm_1"),
                                         ("redcap_event_name", None), ("redcap_repeat_instrument", "skin_score"),
                                         ("redcap_repeat_instance", "0")], start=6):
        i = at(k, "month_6_arm_1")
        df.loc[i, column] = value
        case[f"row:{column}={value}"] = i
    # exact duplicate (p12)
    i = at(11, "month_3_arm_1")
    copy = df.loc[i].to_dict()
    copy["_source_row"] = 903
    extra.append(copy)
    case["duplicate"] = i
    # record without enrollment (p13)
    i = at(12, "baseline_arm_1")
    for c in df.columns:
        owner = STUDY.column_owner.get(c)
        if (owner is not None and owner.form == "enrollment" and owner.name != "record_id") or c in (
                "mrn_pseudonym", "age_at_day0"):
            df.loc[i, c] = None
    # record without a valid infusion date (p14); one valid infusion date is enough (p15)
    m = (df["record_id"] == _rid(13)) & (df["redcap_repeat_instrument"] == "infusion")
    df.loc[m, "infusion_date"] = "2020-13-01"
    df.loc[at(14, "baseline_arm_1", "infusion"), "infusion_date"] = "2020-12-32"
    # duplicate key, different content (p16)
    i = at(15, "month_1_arm_1")
    other = df.loc[i].to_dict()
    other["_source_row"] = 904
    other["rcs"] = "9"
    extra.append(other)
    case["dupkey"] = i
    full = pd.concat([df, qs.frame(extra)], ignore_index=True)
    return full, case, _run(full)


def _mine(res, k):
    return res.findings[res.findings["record_id"] == _rid(k)]


def test_mrss_total_disagreeing_with_sites_excludes_the_assessment(batch):
    df, case, res = batch
    i, total = case["calc"]
    hit = res.findings[res.findings["rule"] == "calc_mismatch"]
    assert len(hit) == 1
    f = hit.iloc[0]
    assert (f.record_id, f.severity, f.action, f.field, f.instrument) == (
        _rid(0), "error", "excluded", "mrss_total", "skin_score")
    assert f.source_row == df.loc[i, "_source_row"]
    assert f"sum to {total}" in f.message
    assert (f.source_row, "skin_score") in set(excluded_assessments(res.findings).itertuples(index=False, name=None))


def test_mrss_total_not_compared_unless_all_filled(batch):
    _, _, res = batch
    assert _mine(res, 1).empty and _mine(res, 2).empty


def test_form_at_undesignated_event_is_a_warning(batch):
    _, _, res = batch
    mine = _mine(res, 3)
    assert list(mine["rule"]) == ["form_not_designated_for_event"]
    f = mine.iloc[0]
    assert (f.severity, f.action, f.instrument, f.event, f.source_row) == (
        "warning", "none", "vascular", "month_24_arm_1", 901)


def test_unfilled_designated_form_is_not_an_assessment(batch):
    """Checkboxes at 0 and `_complete` 0 do not make an assessment (so no missing date, no required)."""
    _, _, res = batch
    assert _mine(res, 4).empty


def test_repeating_row_belongs_only_to_its_instrument(batch):
    """An infusion row is not a skin-score assessment even when a stray skin-score column is filled."""
    _, _, res = batch
    assert _mine(res, 5).empty


@pytest.mark.parametrize("key,rule_id", [
    ("row:record_id=None", "record_id_missing"),
    ("row:redcap_event_name=month_99_arm_1", "event_unknown"),
    ("row:redcap_event_name=None", "event_unknown"),
    ("row:redcap_repeat_instrument=skin_score", "repeat_instrument_unknown"),
    ("row:redcap_repeat_instance=0", "repeat_instance_invalid"),
])
def test_row_placement_rules_quarantine_the_row(batch, key, rule_id):
    df, case, res = batch
    src = df.loc[case[key], "_source_row"]
    q = res.quarantine[res.quarantine["_source_row"] == src]
    assert list(q["rule"]) == [rule_id]
    f = res.findings[(res.findings["rule"] == rule_id) & (res.findings["source_row"] == src)]
    assert len(f) == 1 and f.iloc[0].action == "quarantined" and f.iloc[0].severity == "error"
    assert src not in set(res.kept["_source_row"])
    # the rest of that patient is kept
    rid = df.loc[case[key] - 1, "record_id"]
    assert (res.kept["record_id"] == rid).sum() >= 5


def test_exact_duplicate_keeps_the_first_copy(batch):
    df, case, res = batch
    q = res.quarantine[res.quarantine["rule"] == "duplicate_row"]
    assert list(q["_source_row"]) == [903]
    assert str(df.loc[case["duplicate"], "_source_row"]) in q.iloc[0]["message"]
    assert df.loc[case["duplicate"], "_source_row"] in set(res.kept["_source_row"])


def test_record_without_enrollment_is_quarantined_whole(batch):
    df, _, res = batch
    q = res.quarantine[res.quarantine["rule"] == "record_without_enrollment"]
    assert set(q["record_id"]) == {_rid(12)}
    assert len(q) == (df["record_id"] == _rid(12)).sum()
    assert res.kept["record_id"].ne(_rid(12)).all()


def test_record_without_valid_infusion_date_is_quarantined_whole(batch):
    df, _, res = batch
    q = res.quarantine[res.quarantine["rule"] == "record_without_infusion_date"]
    assert set(q["record_id"]) == {_rid(13)}
    assert len(q) == (df["record_id"] == _rid(13)).sum()
    # the steward also sees why: the invalid dates themselves
    mine = _mine(res, 13)
    assert len(mine[mine["rule"] == "date_format"]) == 2
    # passing case: one valid infusion date is enough (the other is only nulled)
    assert set(_mine(res, 14)["rule"]) == {"date_format"}
    assert (res.kept["record_id"] == _rid(14)).sum() == (df["record_id"] == _rid(14)).sum()


def test_kept_plus_quarantined_is_the_input(batch):
    df, _, res = batch
    assert len(res.kept) + len(res.quarantine) == len(df)
    assert set(res.kept["_source_row"]).isdisjoint(set(res.quarantine["_source_row"]))
    assert res.quarantine["_source_row"].is_unique


def test_duplicate_keys_gate(batch):
    df, case, res = batch
    dups = duplicate_keys(df, res.quarantine)
    assert sorted(dups["_source_row"]) == sorted([df.loc[case["dupkey"], "_source_row"], 904])
    assert set(dups["n"]) == {2}
    f = duplicate_key_findings(dups)
    assert set(f["action"]) == {"blocked"} and set(f["rule"]) == {"duplicate_key"}
    assert set(f["source_row"]) == set(dups["_source_row"])
    assert set(f["record_id"]) == {_rid(15)}
    # passing: quarantining one of them clears the gate
    q = pd.concat([res.quarantine, pd.DataFrame({"_source_row": [904]})], ignore_index=True)
    assert duplicate_keys(df, q).empty


def test_no_identifier_values_anywhere(clean):
    df = clean.copy()
    df["mrn_pseudonym"] = "deadbeef" * 8
    df.loc[df["age_at_day0"].notna(), "age_at_day0"] = "987"
    i = _row(df, "0001", "baseline_arm_1")
    df.loc[i, "sex"] = "9"  # one finding on the enrollment row
    res = _run(df)
    assert len(res.findings) == 1
    text = res.findings.astype(str).to_csv() + res.quarantine.astype(str).to_csv()
    assert "deadbeef" not in text and "987" not in text
    assert not set(res.findings["field"].dropna()) & set(STUDY.identifiers)
    for run in res.runs:  # identifier columns never reach GX
        assert not set(run.frame.columns) & {"mrn_pseudonym", "age_at_day0", *STUDY.identifiers}


def test_suites_follow_the_dictionary():
    """A new field in the dictionary is checked with no new code."""
    from dataclasses import replace

    from study.definition import Field

    extra = Field(name="bnp_pg_ml", form="labs", field_type="text", label="BNP", validation="number",
                  minimum="0", maximum="5000", required=True)
    study = replace(STUDY, fields=STUDY.fields + (extra,))
    suites = build_suites(study)
    cols = {e.column for e in suites["raw_labs"].expectations if hasattr(e, "column")}
    assert {"bnp_pg_ml", "bnp_pg_ml__num"} <= cols
    row = {"record_id": "0001", "redcap_event_name": "month_3_arm_1", "lab_date": "2020-06-01",
           "bnp_pg_ml": "12,5"}
    df = qs.frame([row], study)
    df = df.assign(**{"bnp_pg_ml": ["12,5"]})
    res = run_conformance(df, study)
    f = res.findings[res.findings["field"] == "bnp_pg_ml"]
    assert list(f["rule"]) == ["number_format"]


def test_cell_judgements_once_per_distinct_value_match_cell_by_cell():
    """has_text, valid_dates and parse_numbers judge each distinct value once and spread it back: the result is
    the cell-by-cell one, on the frame's own index, nulls included (hand-computed)."""
    from quality.suites import has_text, parse_numbers, valid_dates

    cells = pd.Series(["1", None, " ", "", "0", " 0 ", float("nan"), "1", "x"], index=range(10, 19), dtype=object)
    assert has_text(cells).tolist() == [True, False, False, False, True, True, False, True, True]
    assert has_text(cells, zero_is_empty=True).tolist() == [True, False, False, False, False, False, False, True,
                                                            True]
    dates = pd.Series(["2024-02-29", "2023-02-29", None, "2024-02-29", "24-01-01"], index=[5, 3, 9, 1, 7])
    got = valid_dates(dates)
    assert got.index.tolist() == [5, 3, 9, 1, 7] and got.tolist() == [True, False, False, True, False]
    numbers = parse_numbers(pd.Series([" 12 ", "1.5", None, "1e3", "12", "-3"], index=list("abcdef")), integer=True)
    assert numbers.index.tolist() == list("abcdef")
    assert numbers.dtype == "float64"
    assert numbers.fillna(-999).tolist() == [12.0, -999, -999, -999, 12.0, -3.0]
    assert parse_numbers(pd.Series([], dtype=object)).empty


def test_raw_records_read_a_part_at_a_time_from_duckdb_give_the_same_results(batch, tmp_path):
    """WarehouseRecords (the nightly step's reader: keys, repeated rows by hash in DuckDB, each instrument's rows
    and columns) against the frame read whole, on the batch of cases above: identical findings, quarantine and
    kept rows."""
    import duckdb

    from quality.conformance import WarehouseRecords

    df, _, whole = batch
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    conn.execute("create schema raw")
    conn.register("frame", df)
    cells = ", ".join(f'cast("{c}" as {"integer" if c == "_source_row" else "varchar"}) as "{c}"'
                      for c in df.columns)
    conn.execute(f"create table raw.records as select {cells} from frame")
    parts = run_conformance(WarehouseRecords(conn), STUDY)
    pd.testing.assert_frame_equal(parts.findings, whole.findings)
    pd.testing.assert_frame_equal(parts.quarantine, whole.quarantine)
    pd.testing.assert_frame_equal(parts.kept.reset_index(drop=True),
                                  whole.kept.reset_index(drop=True).astype({"_source_row": "int32"}))
    assert set(whole.quarantine["rule"]) >= {"duplicate_row", "record_id_missing", "record_without_enrollment"}
