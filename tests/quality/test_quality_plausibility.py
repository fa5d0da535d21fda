"""Plausibility (temporal, atemporal) and completeness over time on hand-built staged frames."""

from __future__ import annotations

import pandas as pd
import pytest

import quality_synth as qs
from quality.plausibility import run_plausibility
from study.windows import load_windows, window_of

WINDOWS = load_windows()
EXPORT = pd.Timestamp("2022-06-01")
D0 = pd.Timestamp("2020-01-06")
EVENT_WINDOW = {"baseline_arm_1": "baseline", "month_1_arm_1": "month_1", "month_3_arm_1": "month_3",
                "month_6_arm_1": "month_6", "month_12_arm_1": "month_12", "month_24_arm_1": "month_24"}


def _anchor(rid, death=None, enrollment=D0 - pd.Timedelta(days=20)):
    return {"record_id": rid, "enrollment_date": enrollment, "day0_date": D0,
            "death_date": pd.Timestamp(death) if death else pd.NaT, "last_contact_date": EXPORT,
            "vital_status": 2 if death else 1, "export_date": EXPORT, "last_assessment_date": pd.NaT}


def _assessment(rid, instrument, date_field, event, day, src, anchor, instance=None):
    date = D0 + pd.Timedelta(days=day)
    return {"record_id": rid, "instrument": instrument, "source_row": src, "event_name": event,
            "repeat_instance": instance, "date_field": date_field, "assessment_date": date, "study_day": day,
            "window_by_date": window_of(day, WINDOWS), "window_by_event": EVENT_WINDOW.get(event),
            "enrollment_date": anchor["enrollment_date"], "day0_date": D0, "death_date": anchor["death_date"],
            "export_date": EXPORT}


def _patient(rid, src0, anchor, skip=(), extra=()):
    """A patient with every skin score due before the export date (day 0 .. month 24)."""
    rows = []
    for k, (ev, day) in enumerate([("baseline_arm_1", -5), ("month_1_arm_1", 30), ("month_3_arm_1", 91),
                                   ("month_6_arm_1", 182), ("month_12_arm_1", 365), ("month_24_arm_1", 730)]):
        if ev in skip:
            continue
        rows.append(_assessment(rid, "skin_score", "mrss_date", ev, day, src0 + k, anchor))
    rows.append(_assessment(rid, "enrollment", "enrollment_date", "baseline_arm_1", -20, src0 + 10, anchor))
    rows.extend(extra)
    return rows


@pytest.fixture(scope="module")
def result():
    anchors, timeline = [], []
    # P1: clean
    a = _anchor("P1")
    anchors.append(a)
    timeline += _patient("P1", 100, a)
    # P2: an assessment 200 days before enrollment, one in the future, one entered under the wrong event
    a = _anchor("P2")
    anchors.append(a)
    timeline += _patient("P2", 200, a, extra=[
        _assessment("P2", "labs", "lab_date", "baseline_arm_1", -230, 250, a),
        _assessment("P2", "haq", "haq_date", "month_24_arm_1", 1000, 251, a),
        _assessment("P2", "hrct", "hrct_date", "month_12_arm_1", 200, 252, a),
    ])
    # P3: dies on day 400; an assessment after death (month 24), so month 24 is not expected either;
    #     the vital status form is dated after death (exempt)
    a = _anchor("P3", death=D0 + pd.Timedelta(days=400))
    a["last_assessment_date"] = D0 + pd.Timedelta(days=730)
    anchors.append(a)
    timeline += _patient("P3", 300, a, extra=[
        _assessment("P3", "vital_status", "last_contact_date", "end_of_follow_up_arm_1", 420, 360, a)])
    # P4: misses month 6 (expected-visit warning)
    a = _anchor("P4")
    anchors.append(a)
    timeline += _patient("P4", 400, a, skip=("month_6_arm_1",))
    timeline = pd.DataFrame(timeline)
    anchors = pd.DataFrame(anchors)
    ae = pd.DataFrame([
        {"record_id": "P1", "source_row": 150, "repeat_instance": 1, "event_name": "month_1_arm_1",
         "ae_onset_date": "2020-02-01", "ae_end_date": "2020-02-05"},
        {"record_id": "P2", "source_row": 260, "repeat_instance": 2, "event_name": "month_1_arm_1",
         "ae_onset_date": "2020-02-10", "ae_end_date": "2020-02-01"},
        {"record_id": "P4", "source_row": 460, "repeat_instance": 1, "event_name": "month_1_arm_1",
         "ae_onset_date": "2020-02-10", "ae_end_date": None},
    ])
    echo = pd.DataFrame([
        {"record_id": "P1", "source_row": 101, "event_name": "baseline_arm_1", "echo_pasp_mmhg": 38.0,
         "echo_trv_ms": 2.8},  # 4*7.84 = 31.4 + 6.6 -> consistent
        {"record_id": "P2", "source_row": 201, "event_name": "baseline_arm_1", "echo_pasp_mmhg": 80.0,
         "echo_trv_ms": 2.5},  # 25 + 55 -> inconsistent
        {"record_id": "P4", "source_row": 401, "event_name": "baseline_arm_1", "echo_pasp_mmhg": 30.0,
         "echo_trv_ms": None},
    ])
    measures = pd.DataFrame([
        {"record_id": "P1", "instrument": "labs", "source_row": 102, "event_name": "baseline_arm_1",
         "field": "hemoglobin_g_l", "value": 128.0},
        {"record_id": "P1", "instrument": "labs", "source_row": 102, "event_name": "baseline_arm_1",
         "field": "creatinine_umol_l", "value": 71.0},
        {"record_id": "P2", "instrument": "labs", "source_row": 202, "event_name": "baseline_arm_1",
         "field": "creatinine_umol_l", "value": 900.0},
        {"record_id": "P2", "instrument": "pft", "source_row": 203, "event_name": "baseline_arm_1",
         "field": "fvc_pct_pred", "value": 12.0},
        {"record_id": "P2", "instrument": "pft", "source_row": 203, "event_name": "baseline_arm_1",
         "field": "not_in_the_soft_limits", "value": 1e9},
    ])
    return run_plausibility(timeline, anchors, ae, echo, measures, study=qs.STUDY)


def _f(res, rule_id):
    return res.findings[res.findings["rule"] == rule_id]


def test_clean_patient_has_no_findings(result):
    assert result.findings[result.findings["record_id"] == "P1"].empty, result.findings


def test_assessment_before_enrollment(result):
    f = _f(result, "assessment_before_enrollment")
    assert list(zip(f["record_id"], f["source_row"], f["field"], f["instrument"], f["action"], f["severity"])) == [
        ("P2", 250, "lab_date", "labs", "excluded", "error")]
    assert f.iloc[0]["value"] == (D0 + pd.Timedelta(days=-230)).date().isoformat()


def test_assessment_in_future(result):
    f = _f(result, "assessment_in_future")
    assert list(zip(f["record_id"], f["source_row"], f["field"], f["action"])) == [
        ("P2", 251, "haq_date", "excluded")]


def test_assessment_after_death_exempts_vital_status(result):
    f = _f(result, "assessment_after_death")
    assert list(zip(f["record_id"], f["source_row"], f["field"], f["action"], f["event"])) == [
        ("P3", 305, "mrss_date", "excluded", "month_24_arm_1")]


def test_death_before_last_assessment_one_per_patient(result):
    f = _f(result, "death_before_last_assessment")
    assert list(zip(f["record_id"], f["field"], f["severity"])) == [("P3", "death_date", "warning")]


def test_event_window_mismatch(result):
    f = _f(result, "event_window_mismatch")
    got = set(zip(f["record_id"], f["source_row"]))
    # hrct dated day 200 (month 6) under month 12; haq dated day 1000 (month 36) under month 24;
    # labs dated day -230 (outside every window) under baseline;
    # the P3 month-24 skin score after death is still dated in month 24 -> no mismatch
    assert got == {("P2", 252), ("P2", 251), ("P2", 250)}
    assert set(f["severity"]) == {"warning"}


def test_ae_end_before_onset(result):
    f = _f(result, "ae_end_before_onset")
    assert list(zip(f["record_id"], f["source_row"], f["field"], f["action"], f["instance"])) == [
        ("P2", 260, "ae_end_date", "nulled", 2)]


def test_pasp_trv(result):
    f = _f(result, "pasp_trv_inconsistent")
    assert list(zip(f["record_id"], f["source_row"], f["field"], f["severity"])) == [
        ("P2", 201, "echo_pasp_mmhg", "warning")]
    assert "55" in f.iloc[0]["message"]


def test_clinical_outliers(result):
    f = _f(result, "clinical_outlier")
    assert set(zip(f["record_id"], f["field"], f["instrument"])) == {
        ("P2", "creatinine_umol_l", "labs"), ("P2", "fvc_pct_pred", "pft")}


def test_expected_visits(result):
    f = _f(result, "expected_visit_missing")
    assert list(zip(f["record_id"], f["field"], f["instrument"], f["severity"])) == [
        ("P4", "mrss_date", "skin_score", "warning")]
    assert "month_6" in f.iloc[0]["message"] and "P4" in f.iloc[0]["message"]
    assert f.iloc[0]["event"] == "month_6_arm_1"


def test_findings_schema_and_checks(result):
    assert result.findings["message"].notna().all() and result.findings["hint"].notna().all()
    assert {run.suite_name for run in result.runs} == {"plausibility_timeline", "plausibility_anchors",
                                                    "completeness_expected_visits", "plausibility_adverse_events",
                                                    "plausibility_echo", "plausibility_clinical"}


def test_a_valid_date_with_a_mistyped_year_is_reported_not_a_crash():
    """0202-05-01 is a valid ISO date (conformance accepts it) outside what pandas holds in nanoseconds (1677-2262);
    read from DuckDB (DATE -> datetime64[us]) it must be judged like any date: before enrollment, excluded."""
    import duckdb

    a = _anchor("P9")
    rows = _patient("P9", 900, a, extra=[_assessment("P9", "labs", "lab_date", "baseline_arm_1", 0, 950, a)])
    timeline = pd.DataFrame(rows)
    timeline = duckdb.sql("select * replace (case when source_row = 950 then DATE '0202-05-01' "
                          "else assessment_date::date end as assessment_date) from timeline").df()
    assert str(timeline["assessment_date"].dtype) == "datetime64[us]"
    res = run_plausibility(timeline, pd.DataFrame([a]), study=qs.STUDY)
    f = _f(res, "assessment_before_enrollment")
    assert list(zip(f["source_row"], f["value"], f["action"])) == [(950, "0202-05-01", "excluded")]
