"""Plausibility (temporal, atemporal) and completeness over time, after staging.

The lead passes DataFrames read from dbt (see the brief / docs):

- ``timeline``: one row per dated assessment (``record_id, instrument, source_row, event_name,
  repeat_instance, date_field, assessment_date, study_day, window_by_date, window_by_event, enrollment_date,
  day0_date, death_date, export_date``);
- ``anchors``: one row per placed patient (``record_id, enrollment_date, day0_date, death_date,
  last_contact_date, vital_status, export_date, last_assessment_date``);
- ``adverse_events`` (``record_id, source_row, repeat_instance, event_name, ae_onset_date, ae_end_date``);
- ``echo`` (``record_id, source_row, event_name, echo_pasp_mmhg, echo_trv_ms``);
- ``measures``: long (``record_id, instrument, source_row, event_name, field, value``).

Each check is a GX expectation on a frame with derived columns (days between dates, PASP − 4·TRV²...), so the
checks show in Data Docs and the findings come from GX's unexpected rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from quality.findings import findings_frame
from quality.gx_glue import GXRunner, SuiteRun, dedupe_findings, findings_from_run, rule_meta
from quality.rules import PASP_RAP_MAX, PASP_RAP_MIN, PASP_TOLERANCE, SOFT_LIMITS
from study.definition import Study
from study.windows import Window, load_windows

ENROLLMENT_LOOKBACK_DAYS = 90
VITAL_STATUS_FORM = "vital_status"
VISIT_INSTRUMENT = "skin_score"  # expected visits are judged on the mRSS
VISIT_DATE_FIELD = "mrss_date"

TIMELINE_FINDINGS = {"record_id": "record_id", "event": "event_name", "instrument": "instrument",
                     "instance": "repeat_instance", "source_row": "source_row"}


@dataclass
class PlausibilityResult:
    findings: pd.DataFrame
    summaries: dict[str, dict] = field(default_factory=dict)
    runs: list[SuiteRun] = field(default_factory=list)
    seconds: float = 0.0


def _dt(series: pd.Series | None, index=None) -> pd.Series:
    if series is None:
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    out = pd.to_datetime(series, errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def _days(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a - b).dt.days.astype("float64")


def _col(frame: pd.DataFrame, name: str):
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index, dtype=object)


def scheduled_instruments(study: Study | None) -> set[str] | None:
    """Instruments whose event label should match the window of their date: non-repeating forms collected at
    two or more events (not enrollment, vital status, infusion, adverse events)."""
    if study is None:
        return None
    counts: dict[str, int] = {}
    for ev, form in study.form_events:
        counts[form] = counts.get(form, 0) + 1
    return {f for f, n in counts.items() if n >= 2 and f not in study.repeating_instruments}


# ---- timeline: temporal -----------------------------------------------------------------------------------


def timeline_frame(timeline: pd.DataFrame, study: Study | None = None) -> pd.DataFrame:
    t = timeline.reset_index(drop=True).copy()
    date = _dt(_col(t, "assessment_date"))
    enrollment = _dt(_col(t, "enrollment_date"))
    death = _dt(_col(t, "death_date"))
    export = _dt(_col(t, "export_date"))
    t["assessment_date"] = date
    t["days_from_enrollment"] = _days(date, enrollment)
    exempt_death = _col(t, "instrument").astype("string") == VITAL_STATUS_FORM
    t["days_after_death"] = _days(date, death).where(~exempt_death.fillna(False).astype(bool))
    t["days_after_export"] = _days(date, export)
    scheduled = scheduled_instruments(study)
    by_date = _col(t, "window_by_date").astype(object)
    checked = date.notna() & _col(t, "study_day").notna()
    if scheduled is not None:
        checked &= _col(t, "instrument").isin(scheduled)
    t["window_by_date__checked"] = by_date.where(by_date.notna(), "outside every window").where(checked, None)
    t["window_by_event"] = _col(t, "window_by_event").astype(object)
    for c in ("enrollment_date", "death_date", "export_date"):
        t[c + "__text"] = _dt(_col(t, c)).dt.strftime("%Y-%m-%d")
    return t


def timeline_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="plausibility_timeline",
                                meta={"finding_columns": TIMELINE_FINDINGS, "stage": "plausibility"})
    common = {"field_column": "date_field", "value_column": "assessment_date"}
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="days_from_enrollment", min_value=-ENROLLMENT_LOOKBACK_DAYS,
        meta=rule_meta("assessment_before_enrollment", **common,
                       message_columns=["days_from_enrollment", "enrollment_date__text"],
                       message="{instrument} of record {record_id} dated {value}, {days_from_enrollment} days from "
                               "enrollment ({enrollment_date__text}): more than 90 days before it")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="days_after_death", max_value=0,
        meta=rule_meta("assessment_after_death", **common,
                       message_columns=["death_date__text"],
                       message="{instrument} of record {record_id} dated {value}, after death "
                               "({death_date__text})")))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="days_after_export", max_value=0,
        meta=rule_meta("assessment_in_future", **common,
                       message_columns=["export_date__text"],
                       message="{instrument} of record {record_id} dated {value}, after the export date "
                               "({export_date__text})")))
    suite.add_expectation(gxe.ExpectColumnPairValuesToBeEqual(
        column_A="window_by_date__checked", column_B="window_by_event", ignore_row_if="either_value_is_missing",
        meta=rule_meta("event_window_mismatch", **common,
                       message_columns=["window_by_date__checked", "window_by_event"],
                       message="{instrument} of record {record_id} dated {value} falls in {window_by_date__checked} "
                               "but was entered under the {window_by_event} event")))
    return suite


# ---- anchors, adverse events, echo, measures ---------------------------------------------------------------


def anchors_frame(anchors: pd.DataFrame) -> pd.DataFrame:
    a = anchors.reset_index(drop=True).copy()
    for c in ("death_date", "last_assessment_date"):
        a[c] = _dt(_col(a, c))
    a["last_assessment_date__text"] = a["last_assessment_date"].dt.strftime("%Y-%m-%d")
    return a[[c for c in a.columns if c in ("record_id", "death_date", "last_assessment_date",
                                              "last_assessment_date__text")]]


def anchors_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="plausibility_anchors", meta={
        "finding_columns": {"record_id": "record_id", "instrument": "=" + VITAL_STATUS_FORM},
        "stage": "plausibility"})
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="death_date", column_B="last_assessment_date", or_equal=True,
        ignore_row_if="either_value_is_missing",
        meta=rule_meta("death_before_last_assessment", field="death_date", value_column="death_date",
                       message_columns=["last_assessment_date__text"],
                       message="record {record_id}: death on {value} precedes the latest assessment "
                               "({last_assessment_date__text})")))
    return suite


def adverse_events_frame(adverse_events: pd.DataFrame) -> pd.DataFrame:
    ae = adverse_events.reset_index(drop=True).copy()
    for c in ("ae_onset_date", "ae_end_date"):
        ae[c] = _dt(_col(ae, c))
    ae["ae_onset_date__text"] = ae["ae_onset_date"].dt.strftime("%Y-%m-%d")
    return ae


def adverse_events_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="plausibility_adverse_events", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "instance": "repeat_instance",
                            "source_row": "source_row", "instrument": "=adverse_event"},
        "stage": "plausibility"})
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="ae_end_date", column_B="ae_onset_date", or_equal=True, ignore_row_if="either_value_is_missing",
        meta=rule_meta("ae_end_before_onset", field="ae_end_date", message_columns=["ae_onset_date__text"],
                       message="adverse event of record {record_id} ends {value}, before its onset "
                               "({ae_onset_date__text})")))
    return suite


def echo_frame(echo: pd.DataFrame) -> pd.DataFrame:
    e = echo.reset_index(drop=True).copy()
    pasp = pd.to_numeric(_col(e, "echo_pasp_mmhg"), errors="coerce")
    trv = pd.to_numeric(_col(e, "echo_trv_ms"), errors="coerce")
    e["echo_pasp_mmhg"] = pasp
    e["echo_trv_ms"] = trv
    e["pasp_minus_4trv2_mmhg"] = (pasp - 4 * trv ** 2).round(1)
    return e


def echo_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="plausibility_echo", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "source_row": "source_row",
                            "instrument": "=echo"}, "stage": "plausibility"})
    lo, hi = PASP_RAP_MIN - PASP_TOLERANCE, PASP_RAP_MAX + PASP_TOLERANCE
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="pasp_minus_4trv2_mmhg", min_value=lo, max_value=hi,
        meta=rule_meta("pasp_trv_inconsistent", field="echo_pasp_mmhg", value_column="echo_pasp_mmhg",
                       message_columns=["echo_trv_ms", "pasp_minus_4trv2_mmhg"],
                       message=f"PASP {{value}} mmHg with TRV {{echo_trv_ms}} m/s implies a right atrial pressure "
                               f"of {{pasp_minus_4trv2_mmhg}} mmHg (expected {PASP_RAP_MIN:g}–{PASP_RAP_MAX:g}, "
                               f"± {PASP_TOLERANCE:g})")))
    return suite


MEASURE_KEYS = ("record_id", "instrument", "source_row", "event_name")


def measures_frame(measures: pd.DataFrame) -> pd.DataFrame:
    """Long measures -> one row per assessment, one column per field."""
    m = measures.reset_index(drop=True).copy()
    if m.empty:
        return pd.DataFrame(columns=list(MEASURE_KEYS))
    m["value"] = pd.to_numeric(m["value"], errors="coerce")
    keys = [k for k in MEASURE_KEYS if k in m.columns]
    # group + unstack keeps only the assessments that exist (pivot_table(dropna=False) would build the full
    # product of record x instrument x row x event: tens of GB at 2,000 patients)
    wide = m.groupby(keys + ["field"], sort=False, dropna=False)["value"].first().unstack("field")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def measures_suite(fields) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="plausibility_clinical", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "source_row": "source_row",
                            "instrument": "instrument"}, "stage": "plausibility"})
    for name in sorted(f for f in fields if f in SOFT_LIMITS):
        lo, hi, why = SOFT_LIMITS[name]
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column=name, min_value=lo, max_value=hi,
            meta=rule_meta("clinical_outlier", field=name, soft_min=lo, soft_max=hi, rationale=why,
                           message=f"{name} = {{value}} is outside the clinical soft limits {lo:g}–{hi:g} "
                                   f"({why})")))
    return suite


# ---- completeness over time ----------------------------------------------------------------------------------


def expected_visits_frame(anchors: pd.DataFrame, timeline: pd.DataFrame, windows: tuple[Window, ...],
                          study: Study | None = None) -> pd.DataFrame:
    """One row per (patient, window) that is due: target date before min(death, export date)."""
    a = anchors.reset_index(drop=True)
    day0 = _dt(_col(a, "day0_date"))
    death = _dt(_col(a, "death_date"))
    export = _dt(_col(a, "export_date"))
    end = pd.concat([death, export], axis=1).min(axis=1)
    t = timeline
    if len(t):
        skin = t.loc[(_col(t, "instrument") == VISIT_INSTRUMENT) & _dt(_col(t, "assessment_date")).notna()]
        counts = skin.groupby(["record_id", "window_by_date"]).size().to_dict()
    else:
        counts = {}
    events = set(study.event_names) if study is not None else set()
    rows = []
    for i in range(len(a)):
        if pd.isna(day0.iat[i]) or pd.isna(end.iat[i]):
            continue
        rid = a["record_id"].iat[i]
        for w in windows:
            target = day0.iat[i] + pd.Timedelta(days=w.target_day)
            if target >= end.iat[i]:
                continue
            event = f"{w.timepoint}_arm_1"
            rows.append({"record_id": rid, "timepoint": w.timepoint, "event_name": event if event in events else None,
                         "window": f"{w.min_day}..{w.max_day}", "target_date": target.strftime("%Y-%m-%d"),
                         "n_assessments": int(counts.get((rid, w.timepoint), 0))})
    return pd.DataFrame(rows, columns=["record_id", "timepoint", "event_name", "window", "target_date",
                                       "n_assessments"])


def expected_visits_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="completeness_expected_visits", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "instrument": "=" + VISIT_INSTRUMENT},
        "stage": "plausibility"})
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="n_assessments", min_value=1,
        meta=rule_meta("expected_visit_missing", field=VISIT_DATE_FIELD, value_column="",
                       message_columns=["timepoint", "window", "target_date"],
                       message="record {record_id}: no skin score (mRSS) in window {timepoint} (study days "
                               "{window}, target {target_date})")))
    return suite


# ---- the run -----------------------------------------------------------------------------------------------


def run_plausibility(timeline: pd.DataFrame, anchors: pd.DataFrame, adverse_events: pd.DataFrame | None = None,
                     echo: pd.DataFrame | None = None, measures: pd.DataFrame | None = None, *,
                     study: Study | None = None, windows: tuple[Window, ...] | None = None,
                     runner: GXRunner | None = None, build_docs: bool = True) -> PlausibilityResult:
    """Validate the staged frames; findings (actions: ``excluded`` by (source_row, instrument) for the temporal
    errors on assessments, ``nulled`` for ``ae_end_date``, ``none`` for warnings)."""
    started = time.perf_counter()
    runner = runner or GXRunner()
    windows = windows or load_windows()
    if study is None:
        from study.definition import load_study

        study = load_study()
    identifiers = study.identifiers if study is not None else ()
    runs = [
        runner.validate(timeline_suite(), timeline_frame(timeline, study),
                        index_columns=("source_row", "record_id", "instrument"), stage="plausibility"),
        runner.validate(anchors_suite(), anchors_frame(anchors), index_columns=("record_id",),
                        stage="plausibility"),
        runner.validate(expected_visits_suite(), expected_visits_frame(anchors, timeline, windows, study),
                        index_columns=("record_id", "timepoint"), stage="plausibility"),
    ]
    if adverse_events is not None:
        runs.append(runner.validate(adverse_events_suite(), adverse_events_frame(adverse_events),
                                    index_columns=("source_row", "record_id"), stage="plausibility"))
    if echo is not None:
        runs.append(runner.validate(echo_suite(), echo_frame(echo), index_columns=("source_row", "record_id"),
                                    stage="plausibility"))
    if measures is not None:
        mframe = measures_frame(measures)
        suite = measures_suite([c for c in mframe.columns if c not in MEASURE_KEYS])
        runs.append(runner.validate(suite, mframe, index_columns=("source_row", "record_id"),
                                    stage="plausibility"))
    if build_docs:
        runner.build_docs()
    findings = []
    for run in runs:
        findings.extend(findings_from_run(run, identifiers))
    return PlausibilityResult(findings=findings_frame(dedupe_findings(findings)),
                              summaries={r.suite_name: r.summary() for r in runs}, runs=runs,
                              seconds=time.perf_counter() - started)
