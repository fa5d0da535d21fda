"""Anchor dates and the mRSS total through the real chain: GX conformance -> dbt staging and timeline -> GX
plausibility -> dbt analysis and marts, on a small hand-built drop in a real DuckDB file.

Each patient carries one contradiction that blanking or a typo creates; the test checks that the finding names
the record and field, that the marts do what the finding says (a death that cannot be placed is left out of
the survival analysis, never censored; a last contact before day 0 is not used; a filled but unusable mRSS
total is never replaced by the sites' sum), that no dbt test fails on the way, and that the dbt unit tests of
these rules ran and passed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import quality_synth as qs
from analysis.survival import overall_survival
from orchestration.assets.dbt import ANALYSIS_SELECT, TIMELINE_SELECT
from analysis.cohort import enrolled_patients
from quality.conformance import run_conformance
from quality.plausibility import plausibility_inputs, run_plausibility
from quality.store import combine_findings, write_findings, write_quarantine

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
STUDY = qs.STUDY
DAY0 = date(2020, 3, 2)
EXPORT = "2022-06-01 02:00:00"
OFFSETS = {e.unique_name: e.day_offset for e in STUDY.events}


def _d(days: int) -> str:
    return (DAY0 + timedelta(days=days)).isoformat()


def _patient(rid: str, visits=("month_1", "month_3", "month_6", "month_12"), enrollment: int | None = None,
             vital: dict | None = None, skin: dict | None = None, infusion_date: str | None = None) -> list[dict]:
    """One patient of quality_synth with day 0 on DAY0; overrides: enrollment day, vital status form, mRSS
    total at an event ({event: total}), the infusion dates."""
    rows = qs.patient_rows(rid, day0=DAY0, visits=visits)
    for row in rows:
        event, form = row["redcap_event_name"], row.get("redcap_repeat_instrument")
        if enrollment is not None and "enrollment_date" in row:
            row["enrollment_date"] = _d(enrollment)
        if vital is not None and event == "end_of_follow_up_arm_1":
            row.update(vital)
        if skin and event in skin and form is None and "mrss_total" in row:
            row["mrss_total"] = skin[event]
        if infusion_date is not None and form == "infusion":
            row["infusion_date"] = infusion_date
    return rows


PATIENTS = {
    "0001": {},                                                               # alive, clean
    "0002": {"vital": {"vital_status": "2", "death_date": _d(-400)}},         # death before day 0 (and enrollment)
    "0003": {"vital": {"vital_status": "2", "death_date": None}},             # dead, no death date
    "0004": {"enrollment": 20, "vital": {"vital_status": "2", "death_date": _d(10)}},  # death before enrollment
    "0005": {"vital": {"last_contact_date": _d(-10)}},                        # last contact before day 0
    "0006": {"enrollment": 200},                                              # day 0 > 90 days before enrollment
    "0007": {"skin": {"month_3_arm_1": "abc"}},                               # mRSS total not a number
    "0008": {"skin": {"month_6_arm_1": "60"}},                                # mRSS total outside 0-51
    "0009": {"infusion_date": "2020-02-30"},                                  # no valid infusion date
    "0010": {"visits": ("month_1", "month_3", "month_6"),                     # a death that is placed
             "vital": {"vital_status": "2", "death_date": _d(300), "last_contact_date": _d(300)}},
    "0011": {"vital": {"vital_status": "2", "death_date": _d(1000)}},        # death after the export date (821)
}


def _records() -> pd.DataFrame:
    rows = [row for rid, spec in PATIENTS.items() for row in _patient(rid, **spec)]
    # a second batch export pasted below the first repeats the header line: it is not a patient
    rows.append({c: c for c in qs.raw_columns(STUDY) if not c.startswith("_")})
    return qs.frame(rows)


def _dbt(select: str, tmp: Path, env: dict) -> list[dict]:
    """dbt build of a selection into the test warehouse; its results (models, data tests, unit tests)."""
    target = tmp / f"target-{len(list(tmp.glob('target-*')))}"
    proc = subprocess.run([str(DBT), "build", "--select", *select.split(), "--indirect-selection", "buildable",
                           "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
                           "--target-path", str(target), "--log-path", str(tmp / "logs")],
                          cwd=DBT_PROJECT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return json.loads((target / "run_results.json").read_text())["results"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("anchors")
    path = tmp / "warehouse.duckdb"
    env = {**os.environ, "SSC_WAREHOUSE": str(path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
           "DO_NOT_TRACK": "1"}
    records = _records()
    conformance = run_conformance(records, STUDY)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema raw; create schema quality")
        columns = ", ".join(f'"{c}" {"INTEGER" if c == "_source_row" else "VARCHAR"}' for c in records.columns)
        conn.execute(f"create table raw.records ({columns})")
        conn.register("landed", records.astype(object).where(records.notna(), None))
        conn.execute("insert into raw.records select * from landed")
        conn.execute(f"create table raw.current_drop as select timestamp '{EXPORT}' as export_datetime")
        write_findings(conn, "conformance", conformance.findings, "test-drop")
        write_quarantine(conn, conformance.quarantine)
    results = _dbt(TIMELINE_SELECT, tmp, env)
    with duckdb.connect(str(path)) as conn:
        plausibility = run_plausibility(**plausibility_inputs(conn), study=STUDY, build_docs=False)
        write_findings(conn, "plausibility", plausibility.findings, "test-drop")
        findings = combine_findings(conn)
    results += _dbt(ANALYSIS_SELECT, tmp, env)
    conn = duckdb.connect(str(path), read_only=True)
    yield {"conn": conn, "findings": findings, "results": results, "records": records}
    conn.close()


def _source_row(records: pd.DataFrame, rid: str, event: str, form: str | None = None, instance: str | None = None):
    rows = records[(records["record_id"] == rid) & (records["redcap_event_name"] == event)]
    rows = rows[rows["redcap_repeat_instrument"].isna()] if form is None else \
        rows[(rows["redcap_repeat_instrument"] == form) & (rows["redcap_repeat_instance"] == instance)]
    return int(rows["_source_row"].iloc[0])


def test_the_dbt_unit_tests_of_the_rules_ran_and_passed(warehouse):
    unit = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in warehouse["results"]
            if r["unique_id"].startswith("unit_test.")}
    assert {"int_patient_anchors_places_death_and_last_contact", "adtte_leaves_out_deaths_that_cannot_be_placed",
            "int_mrss_scored_a_filled_total_is_never_replaced", "adae_flags_seriousness_and_the_causality_rule",
            "adbds_flags_baseline_and_change_from_baseline"} <= set(unit)
    assert set(unit.values()) == {"pass"}
    failed = [r["unique_id"] for r in warehouse["results"] if r["status"] not in ("pass", "success")]
    assert failed == []


def test_each_anchor_conflict_is_an_error_naming_record_field_and_row(warehouse):
    f, records = warehouse["findings"], warehouse["records"]
    anchor_rules = ["death_date_missing", "death_before_day0", "death_before_enrollment", "death_in_future",
                    "day0_before_enrollment", "last_contact_before_day0"]
    got = f[f["rule"].isin(anchor_rules)]
    vital = {rid: _source_row(records, rid, "end_of_follow_up_arm_1")
             for rid in ("0002", "0003", "0004", "0005", "0011")}
    first_infusion = _source_row(records, "0006", "baseline_arm_1", "infusion", "1")
    assert sorted(zip(got["rule"], got["record_id"], got["instrument"], got["field"], got["source_row"],
                      got["severity"], got["action"], got["value"].fillna(""))) == sorted([
        ("death_before_day0", "0002", "vital_status", "death_date", vital["0002"], "error", "excluded", _d(-400)),
        ("death_date_missing", "0003", "vital_status", "death_date", vital["0003"], "error", "excluded", ""),
        ("death_before_enrollment", "0004", "vital_status", "death_date", vital["0004"], "error", "excluded",
         _d(10)),
        ("last_contact_before_day0", "0005", "vital_status", "last_contact_date", vital["0005"], "error", "nulled",
         _d(-10)),
        ("day0_before_enrollment", "0006", "infusion", "infusion_date", first_infusion, "error", "excluded",
         _d(0)),
        ("death_in_future", "0011", "vital_status", "death_date", vital["0011"], "error", "excluded", _d(1000)),
    ])
    assert set(got["event"]) == {"end_of_follow_up_arm_1", "baseline_arm_1"}
    assert all(rid in msg for rid, msg in zip(got["record_id"], got["message"]))


def test_a_death_that_cannot_be_placed_excludes_no_assessment_and_asks_no_visit_after_it(warehouse):
    f = warehouse["findings"]
    unplaced = {"0002", "0003", "0004", "0011"}
    assert f[(f["rule"] == "assessment_after_death") & f["record_id"].isin(unplaced)].empty
    assert f[(f["rule"] == "death_before_last_assessment") & f["record_id"].isin(unplaced)].empty
    # follow-up ends at the latest dated assessment (month 12): month 24 is asked of the living only
    missing = f[f["rule"] == "expected_visit_missing"]
    assert set(missing["record_id"]) & unplaced == set()
    assert {"0001", "0005"} <= set(missing["record_id"])


def test_adtte_keeps_one_row_per_patient_and_leaves_out_what_cannot_be_placed(warehouse):
    conn = warehouse["conn"]
    adtte = conn.execute("select * from marts.adtte order by USUBJID").df().set_index("USUBJID")
    assert list(adtte.index) == conn.execute("select USUBJID from marts.adsl order by USUBJID").df()[
        "USUBJID"].tolist()
    assert "0009" not in adtte.index
    excluded = adtte[adtte["ANL01FL"].isna()]
    assert excluded["exclusion_reason"].to_dict() == {
        "0002": "death date before day 0",
        "0003": "recorded as dead without a usable death date",
        "0004": "death date before enrollment",
        "0006": "first infusion (day 0) more than 90 days before enrollment",
        "0011": "death date after the export date",
    }
    assert excluded[["CNSR", "ADY", "AVAL", "ADT", "EVNTDESC", "SRCVAR"]].isna().all().all()
    analysed = adtte[adtte["ANL01FL"] == "Y"]
    assert analysed["exclusion_reason"].isna().all()
    assert analysed.loc["0010", ["CNSR", "ADY", "EVNTDESC", "SRCVAR"]].tolist() == [0, 300, "death", "DTHDT"]
    # 0005: the last contact before day 0 is not used; censored at the latest dated assessment (month 12)
    row = analysed.loc["0005"]
    assert (row["CNSR"], row["EVNTDESC"], row["ADY"]) == (1, "last assessment", OFFSETS["month_12_arm_1"])
    adsl = conn.execute("select * from marts.adsl").df().set_index("USUBJID")
    assert pd.isna(adsl.loc["0005", "last_contact_date"])
    assert pd.isna(adsl.loc["0002", "DTHDT"]) and str(adsl.loc["0002", "death_date_recorded"])[:10] == _d(-400)
    assert adsl.loc["0002", "DTHFL"] == "Y" and pd.isna(adsl.loc["0005", "DTHFL"])


def test_overall_survival_counts_the_excluded_and_never_censors_them(warehouse):
    adtte = warehouse["conn"].execute("select * from marts.adtte").df()
    os_ = overall_survival(adtte)
    assert (os_["n"], os_["deaths"], os_["n_excluded"]) == (5, 1, 5)
    assert [e["record_id"] for e in os_["excluded"]] == ["0002", "0003", "0004", "0006", "0011"]


def test_a_patient_whose_day0_is_in_doubt_is_in_no_analysis_window(warehouse):
    adbds = warehouse["conn"].execute("select * from marts.adbds where USUBJID = '0006'").df()
    assert len(adbds) and adbds["AVISIT"].isna().all() and adbds["ANL01FL"].isna().all()


@pytest.mark.parametrize("rid, event, value, rule", [("0007", "month_3_arm_1", "abc", "number_format"),
                                                     ("0008", "month_6_arm_1", "60", "value_out_of_range")])
def test_a_filled_but_unusable_mrss_total_is_reported_and_not_analysed(warehouse, rid, event, value, rule):
    conn, f = warehouse["conn"], warehouse["findings"]
    row = _source_row(warehouse["records"], rid, event)
    hit = f[(f["source_row"] == row) & (f["field"] == "mrss_total")]
    assert list(zip(hit["rule"], hit["action"], hit["value"], hit["instrument"])) == [
        (rule, "excluded", value, "skin_score")]
    scored = conn.execute("select mrss_sites_sum, mrss_total from intermediate.int_mrss_scored where source_row = ?",
                          [row]).fetchall()
    assert scored[0][0] is not None and scored[0][1] is None  # the sites' sum is there, and does not replace it
    assert conn.execute("select count(*) from marts.adbds where SRCSEQ = ? and SRCDOM = 'skin_score'",
                        [row]).fetchall()[0][0] == 0
    timepoint = event.removesuffix("_arm_1")
    assert conn.execute("select count(*) from marts.adbds where USUBJID = ? and AVISIT = ? and ANL01FL = 'Y' "
                        "and PARAMCD = 'mrss_total'", [rid, timepoint]).fetchall()[0][0] == 0


def test_enrolled_counts_placed_enrollments_and_records_without_infusion_not_header_lines(warehouse):
    conn = warehouse["conn"]
    quarantined = conn.execute("select distinct record_id, rule from quality.quarantine").fetchall()
    assert ("record_id", "event_unknown") in quarantined and ("0009", "record_without_infusion_date") in quarantined
    assert enrolled_patients(conn) == len(PATIENTS)
    assert conn.execute("select count(*) from marts.adsl").fetchall()[0][0] == len(PATIENTS) - 1


# ---- the same rules on hand-built anchors, at their boundaries (GX only, no dbt) ----------------------------


def _anchor(rid, enrollment=-30, death=None, contact=400, vital_status=1, last_assessment=365):
    day = lambda n: pd.Timestamp(_d(n)) if n is not None else pd.NaT  # noqa: E731
    return {"record_id": rid, "enrollment_date": day(enrollment), "day0_date": day(0), "day0_source_row": 10,
            "day0_event_name": "baseline_arm_1", "death_date": pd.NaT, "death_date_recorded": day(death),
            "death_source_row": 20, "death_event_name": "end_of_follow_up_arm_1", "vital_status_code": vital_status,
            "last_contact_date_recorded": day(contact), "vital_status_source_row": 20,
            "vital_status_event_name": "end_of_follow_up_arm_1", "export_date": pd.Timestamp(EXPORT[:10]),
            "last_assessment_date": day(last_assessment)}


def test_anchor_rules_at_their_boundaries():
    anchors = pd.DataFrame([
        _anchor("ON-DAY0", death=0, contact=0, vital_status=2),           # death and last contact on day 0: fine
        _anchor("DAY0-90", enrollment=90),                                # first infusion 90 days before: fine
        _anchor("DAY0-91", enrollment=91),                                # 91 days before: day 0 in doubt
        _anchor("DEAD-NO-DATE-NO-VISIT", vital_status=2, last_assessment=None),
        _anchor("DEAD-ON-EXPORT", death=821, contact=821, vital_status=2),  # on the export date (2022-06-01): fine
        _anchor("DEAD-AFTER-EXPORT", death=822, vital_status=2, last_assessment=None),  # the day after: left out
    ])
    for placed in (0, 4):  # int_patient_anchors places these deaths
        anchors.loc[placed, "death_date"] = anchors.loc[placed, "death_date_recorded"]
    timeline = pd.DataFrame(columns=["record_id", "instrument", "source_row", "event_name", "repeat_instance",
                                     "date_field", "assessment_date", "study_day", "window_by_date",
                                     "window_by_event", "enrollment_date", "day0_date", "death_date",
                                     "export_date"])
    f = run_plausibility(timeline, anchors, study=STUDY, build_docs=False).findings
    errors = f[f["severity"] == "error"]
    assert sorted(zip(errors["rule"], errors["record_id"])) == [
        ("day0_before_enrollment", "DAY0-91"), ("death_date_missing", "DEAD-NO-DATE-NO-VISIT"),
        ("death_in_future", "DEAD-AFTER-EXPORT")]
    # no skin score at all: every window up to the export (or a placed death) is due, none for the dead whose
    # death cannot be placed and who have no dated assessment, none after the death on day 0
    visits = f[f["rule"] == "expected_visit_missing"]
    assert set(visits["record_id"]) == {"DAY0-90", "DAY0-91", "DEAD-ON-EXPORT"}


def test_dbt_and_the_plausibility_suite_use_the_same_enrollment_lookback():
    """int_patient_anchors puts day 0 in doubt where the suite reports day0_before_enrollment."""
    from quality.plausibility import ENROLLMENT_LOOKBACK_DAYS

    sql = (DBT_PROJECT / "models" / "intermediate" / "timeline" / "int_patient_anchors.sql").read_text()
    assert f"var('enrollment_lookback_days', {ENROLLMENT_LOOKBACK_DAYS})" in sql


def test_the_adtte_critical_expectations_accept_a_row_left_out_but_not_an_analysed_row_without_time():
    from quality.gx_findings import findings_from_run
    from quality.marts import validate_marts

    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "TRTSDT": [pd.Timestamp(DAY0)] * 3,
                         "SEX": "F", "AGE": 50})
    adtte = pd.DataFrame({"USUBJID": ["A", "B", "C"], "PARAMCD": "OS", "ADY": [400, None, None],
                          "CNSR": [1, None, None], "ANL01FL": ["Y", None, "Y"],
                          "exclusion_reason": [None, "death date before day 0", None]})
    run = validate_marts(adsl=adsl, adtte=adtte, build_docs=False)["adtte"]
    found = [(f.rule, f.record_id, f.field) for f in findings_from_run(run)]
    assert found == [("mart_value_missing", "C", "ADY")]
