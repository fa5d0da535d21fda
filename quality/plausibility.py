"""Plausibility (temporal, atemporal) and completeness over time, after staging.

The lead passes DataFrames read from dbt (see the brief / docs):

- ``timeline``: one row per dated assessment (``record_id, instrument, source_row, event_name,
  repeat_instance, date_field, assessment_date, study_day, window_by_date, window_by_event, enrollment_date,
  day0_date, death_date, export_date``);
- ``anchors``: one row per placed patient (int_patient_anchors: ``record_id, enrollment_date, day0_date,
  day0_source_row, day0_event_name, death_date`` (placeable), ``death_date_recorded, death_source_row,
  death_event_name, vital_status_code, last_contact_date_recorded, vital_status_source_row,
  vital_status_event_name, export_date``, plus ``last_assessment_date``);
- ``adverse_events`` (``record_id, source_row, repeat_instance, event_name, ae_onset_date, ae_end_date``);
- ``echo`` (``record_id, source_row, event_name, echo_pasp_mmhg, echo_trv_ms``);
- ``measures``: long (``record_id, instrument, source_row, event_name, field, value``).

Each check is a GX expectation on a frame with derived columns (days between dates, PASP − 4·TRV²...), so the
checks show in Data Docs and the findings come from GX's unexpected rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from analysis.settings import value
from quality.findings import findings_frame
from quality.gx_findings import dedupe_findings, findings_from_run, rule_meta
from quality.gx_runner import GXRunner, SuiteDraft, SuiteRun
from quality.store import ordered_select, read_frame
from quality.rules import PASP_RAP_MAX, PASP_RAP_MIN, PASP_TOLERANCE, SOFT_LIMITS
from study.definition import Study, load_study
from study.windows import Window, load_windows

ENROLLMENT_LOOKBACK_DAYS = value("plausibility.enrollment_lookback")  # dbt: var enrollment_lookback_days
VITAL_STATUS_FORM = "vital_status"
DAY0_FORM, DAY0_DATE_FIELD = "infusion", "infusion_date"  # day 0 = the first infusion
VISIT_INSTRUMENT = "skin_score"  # expected visits are judged on the mRSS
VISIT_DATE_FIELD = "mrss_date"

TIMELINE_FINDINGS = {"record_id": "record_id", "event": "event_name", "instrument": "instrument",
                     "instance": "repeat_instance", "source_row": "source_row"}


@dataclass
class PlausibilityResult:
    findings: pd.DataFrame
    runs: list[SuiteRun] = field(default_factory=list)


#: the resolution of every date here: microseconds hold years 1 to 9999, as DuckDB's DATE does (nanoseconds stop at
#: 1677 and 2262, so a valid date with a mistyped year, 0202-05-01, would stop the night instead of being reported)
DATE_DTYPE = "datetime64[us]"


def _dt(series: pd.Series | None, index=None) -> pd.Series:
    if series is None:
        return pd.Series(pd.NaT, index=index, dtype=DATE_DTYPE)
    out = pd.to_datetime(series, errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    return out.astype(DATE_DTYPE)


def _date_text(dates: pd.Series) -> pd.Series:
    """``dates.dt.strftime("%Y-%m-%d")`` (NaN where a date is missing), each distinct date formatted once: an
    anchor date repeats on every assessment of its patient."""
    codes, distinct = pd.factorize(dates)
    text = np.append(distinct.strftime("%Y-%m-%d").to_numpy(dtype=object), np.nan)
    return pd.Series(text[codes], index=dates.index, dtype=object)


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
    t = timeline.reset_index(drop=True)
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
        t[c + "__text"] = _date_text(_dt(_col(t, c)))
    return t


def timeline_suite() -> gx.ExpectationSuite:
    suite = SuiteDraft(name="plausibility_timeline",
                                meta={"finding_columns": TIMELINE_FINDINGS, "stage": "plausibility"})
    common = {"field_column": "date_field", "value_column": "assessment_date"}
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="days_from_enrollment", min_value=-ENROLLMENT_LOOKBACK_DAYS,
        meta=rule_meta("assessment_before_enrollment", **common,
                       message_columns=["days_from_enrollment", "enrollment_date__text"],
                       message="{instrument} of record {record_id} dated {value}, {days_from_enrollment} days from "
                               f"enrollment ({{enrollment_date__text}}): more than {ENROLLMENT_LOOKBACK_DAYS} days "
                               "before it")))
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
    return suite.suite()


# ---- anchors, adverse events, echo, measures ---------------------------------------------------------------


DEAD_CODE = 2  # vital_status: 2 = Dead (the data dictionary's code)
ANCHOR_FINDINGS = {"record_id": "record_id", "event": "event_name", "instrument": "instrument",
                   "source_row": "source_row"}


def recorded_dead(anchors: pd.DataFrame) -> pd.Series:
    """True where the patient is recorded as dead: vital status Dead, or a date of death recorded (usable or not).

    Reads ``vital_status_code`` (int_patient_anchors) or ``vital_status``, and ``death_date_recorded`` (else
    ``death_date``)."""
    status = _col(anchors, "vital_status_code" if "vital_status_code" in anchors.columns else "vital_status")
    death = _dt(_col(anchors, "death_date_recorded" if "death_date_recorded" in anchors.columns else "death_date"))
    return (pd.to_numeric(status, errors="coerce") == DEAD_CODE) | death.notna()


def anchors_frame(anchors: pd.DataFrame) -> pd.DataFrame:
    """The anchor dates of each patient, long: one row per patient and anchor checked (``death``, ``day0``,
    ``last_contact``), named by the form and row it comes from, with the days between the anchors that the
    expectations check (a column is null on the rows it does not concern).

    ``anchors``: one row per patient (int_patient_anchors plus ``last_assessment_date``); ``death_date`` is the
    placeable death date, ``death_date_recorded`` / ``last_contact_date_recorded`` the staged values (older
    frames without them: the same as ``death_date`` / ``last_contact_date``)."""
    a = anchors.reset_index(drop=True)
    enrollment, day0 = _dt(_col(a, "enrollment_date")), _dt(_col(a, "day0_date"))
    death = _dt(_col(a, "death_date"))
    death_recorded = _dt(a["death_date_recorded"]) if "death_date_recorded" in a.columns else death
    contact = _dt(_col(a, "last_contact_date_recorded" if "last_contact_date_recorded" in a.columns
                       else "last_contact_date"))
    export = _dt(_col(a, "export_date"))
    dead = recorded_dead(a)
    text = {"enrollment_date__text": _date_text(enrollment), "day0_date__text": _date_text(day0),
            "export_date__text": _date_text(export)}
    from_day0 = _days(death_recorded, day0)
    deaths = pd.DataFrame({
        "record_id": a["record_id"], "anchor": "death", "instrument": VITAL_STATUS_FORM,
        "event_name": _col(a, "death_event_name"), "source_row": _col(a, "death_source_row"),
        "field": "death_date", "value": death_recorded,
        # dead without a usable date: True/False on the patients recorded as dead, null on the others
        "death_date__usable_if_dead": death_recorded.notna().astype(object).where(dead, None),
        "death_days_from_day0": from_day0,
        # before enrollment is only asked of a death on or after day 0 (one finding per death date)
        "death_days_from_enrollment": _days(death_recorded, enrollment).where(~(from_day0 < 0)),
        "death_days_after_export": _days(death_recorded, export),
        "death_date": death, "last_assessment_date": _dt(_col(a, "last_assessment_date")), **text,
    }).loc[dead]
    day0s = pd.DataFrame({
        "record_id": a["record_id"], "anchor": "day0", "instrument": DAY0_FORM,
        "event_name": _col(a, "day0_event_name"), "source_row": _col(a, "day0_source_row"),
        "field": DAY0_DATE_FIELD, "value": day0, "day0_days_from_enrollment": _days(day0, enrollment), **text,
    }).loc[day0.notna()]
    contacts = pd.DataFrame({
        "record_id": a["record_id"], "anchor": "last_contact", "instrument": VITAL_STATUS_FORM,
        "event_name": _col(a, "vital_status_event_name"), "source_row": _col(a, "vital_status_source_row"),
        "field": "last_contact_date", "value": contact, "last_contact_days_from_day0": _days(contact, day0), **text,
    }).loc[contact.notna()]
    frame = pd.concat([deaths, day0s, contacts], ignore_index=True)
    frame["source_row"] = pd.to_numeric(frame["source_row"], errors="coerce").astype("Int64")
    frame["last_assessment_date__text"] = _date_text(_dt(_col(frame, "last_assessment_date")))
    for c in ("death_date__usable_if_dead", "death_days_from_day0", "death_days_from_enrollment",
              "death_days_after_export", "day0_days_from_enrollment", "last_contact_days_from_day0", "death_date",
              "last_assessment_date"):
        if c not in frame.columns:
            frame[c] = None
    return frame


def anchors_suite() -> gx.ExpectationSuite:
    """Anchor dates against each other (death, day 0, enrollment, last contact) and death against the latest
    assessment. The errors are the steward's side of what dbt's int_patient_anchors applies on the same
    conditions: a death that cannot be placed or a day 0 in doubt leaves the patient out of the survival
    analysis (adtte.exclusion_reason); a last contact before day 0 is not used."""
    suite = SuiteDraft(name="plausibility_anchors",
                                meta={"finding_columns": ANCHOR_FINDINGS, "stage": "plausibility"})
    add = suite.add_expectation
    left_out = "the death cannot be placed in time: the patient is left out of the survival analysis"
    add(gxe.ExpectColumnValuesToBeInSet(
        column="death_date__usable_if_dead", value_set=[True],
        meta=rule_meta("death_date_missing", field="death_date", value_column="value",
                       message="record {record_id}: vital status is Dead but the death date is blank or unusable; "
                               f"{left_out} (not censored as alive)")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="death_days_from_day0", min_value=0,
        meta=rule_meta("death_before_day0", field="death_date", value_column="value",
                       message_columns=["day0_date__text"],
                       message="record {record_id}: death on {value} is before day 0 (first infusion "
                               f"{{day0_date__text}}); {left_out}")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="death_days_from_enrollment", min_value=0,
        meta=rule_meta("death_before_enrollment", field="death_date", value_column="value",
                       message_columns=["enrollment_date__text"],
                       message="record {record_id}: death on {value} is before enrollment "
                               f"({{enrollment_date__text}}); {left_out}")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="death_days_after_export", max_value=0,
        meta=rule_meta("death_in_future", field="death_date", value_column="value",
                       message_columns=["export_date__text"],
                       message="record {record_id}: death on {value} is after the export date "
                               f"({{export_date__text}}); {left_out}")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="day0_days_from_enrollment", min_value=-ENROLLMENT_LOOKBACK_DAYS,
        meta=rule_meta("day0_before_enrollment", field=DAY0_DATE_FIELD, value_column="value",
                       message_columns=["enrollment_date__text"],
                       message=f"record {{record_id}}: first infusion (day 0) on {{value}} is more than "
                               f"{ENROLLMENT_LOOKBACK_DAYS} days before enrollment ({{enrollment_date__text}}); "
                               "the patient is left out of the survival analysis and of every analysis window")))
    add(gxe.ExpectColumnValuesToBeBetween(
        column="last_contact_days_from_day0", min_value=0,
        meta=rule_meta("last_contact_before_day0", field="last_contact_date", value_column="value",
                       message_columns=["day0_date__text"],
                       message="record {record_id}: last contact on {value} is before day 0 (first infusion "
                               "{day0_date__text}); it is not used, censoring falls back to the latest assessment")))
    add(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="death_date", column_B="last_assessment_date", or_equal=True,
        ignore_row_if="either_value_is_missing",
        meta=rule_meta("death_before_last_assessment", field="death_date", value_column="death_date",
                       message_columns=["last_assessment_date__text"],
                       message="record {record_id}: death on {value} precedes the latest assessment "
                               "({last_assessment_date__text})")))
    return suite.suite()


def adverse_events_frame(adverse_events: pd.DataFrame) -> pd.DataFrame:
    ae = adverse_events.reset_index(drop=True)
    for c in ("ae_onset_date", "ae_end_date"):
        ae[c] = _dt(_col(ae, c))
    ae["ae_onset_date__text"] = _date_text(ae["ae_onset_date"])
    return ae


def adverse_events_suite() -> gx.ExpectationSuite:
    suite = SuiteDraft(name="plausibility_adverse_events", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "instance": "repeat_instance",
                            "source_row": "source_row", "instrument": "=adverse_event"},
        "stage": "plausibility"})
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="ae_end_date", column_B="ae_onset_date", or_equal=True, ignore_row_if="either_value_is_missing",
        meta=rule_meta("ae_end_before_onset", field="ae_end_date", message_columns=["ae_onset_date__text"],
                       message="adverse event of record {record_id} ends {value}, before its onset "
                               "({ae_onset_date__text})")))
    return suite.suite()


def echo_frame(echo: pd.DataFrame) -> pd.DataFrame:
    e = echo.reset_index(drop=True)
    pasp = pd.to_numeric(_col(e, "echo_pasp_mmhg"), errors="coerce")
    trv = pd.to_numeric(_col(e, "echo_trv_ms"), errors="coerce")
    e["echo_pasp_mmhg"] = pasp
    e["echo_trv_ms"] = trv
    e["pasp_minus_4trv2_mmhg"] = (pasp - 4 * trv ** 2).round(1)
    return e


def echo_suite() -> gx.ExpectationSuite:
    suite = SuiteDraft(name="plausibility_echo", meta={
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
    return suite.suite()


MEASURE_KEYS = ("record_id", "instrument", "source_row", "event_name")


def measures_frame(measures: pd.DataFrame) -> pd.DataFrame:
    """Long measures -> one row per assessment, one column per field."""
    if measures.empty:
        return pd.DataFrame(columns=list(MEASURE_KEYS))
    value = pd.to_numeric(measures["value"], errors="coerce")
    keys = [k for k in MEASURE_KEYS if k in measures.columns]
    # group + unstack keeps only the assessments that exist (pivot_table(dropna=False) would build the full
    # product of record x instrument x row x event: tens of GB at 2,000 patients)
    wide = value.groupby([measures[k] for k in keys + ["field"]], sort=False, dropna=False).first().unstack("field")
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def measures_suite(fields) -> gx.ExpectationSuite:
    suite = SuiteDraft(name="plausibility_clinical", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "source_row": "source_row",
                            "instrument": "instrument"}, "stage": "plausibility"})
    for name in sorted(f for f in fields if f in SOFT_LIMITS):
        lo, hi, why = SOFT_LIMITS[name]
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column=name, min_value=lo, max_value=hi,
            meta=rule_meta("clinical_outlier", field=name, soft_min=lo, soft_max=hi, rationale=why,
                           message=f"{name} = {{value}} is outside the clinical soft limits {lo:g}–{hi:g} "
                                   f"({why})")))
    return suite.suite()


# ---- completeness over time ----------------------------------------------------------------------------------


def expected_visits_frame(anchors: pd.DataFrame, timeline: pd.DataFrame, windows: tuple[Window, ...],
                          study: Study | None = None) -> pd.DataFrame:
    """One row per (patient, window) that is due: target date before the end of follow-up.

    The end is the export date, or an earlier death; a patient recorded as dead whose death cannot be placed
    (no usable date, or before day 0 / enrollment: ``death_date`` is null) is followed only up to their latest
    dated assessment (``last_assessment_date``), so no visit is asked for after a recorded death."""
    a = anchors.reset_index(drop=True)
    day0 = _dt(_col(a, "day0_date"))
    death = _dt(_col(a, "death_date"))
    export = _dt(_col(a, "export_date"))
    end = pd.concat([death, export], axis=1).min(axis=1)
    unplaced_death = recorded_dead(a) & death.isna()
    last_assessment = _dt(_col(a, "last_assessment_date"))
    end = end.where(~unplaced_death, pd.concat([last_assessment, export], axis=1).min(axis=1, skipna=False))
    t = timeline
    if len(t):
        skin = t.loc[(_col(t, "instrument") == VISIT_INSTRUMENT) & _dt(_col(t, "assessment_date")).notna()]
        counts = skin.groupby(["record_id", "window_by_date"]).size().to_dict()
    else:
        counts = {}
    events = set(study.event_names) if study is not None else set()
    columns = ["record_id", "timepoint", "event_name", "window", "target_date", "n_assessments"]
    # every (patient, window) pair of the patients with day 0 and an end, patient by patient, windows in order
    patients = np.flatnonzero((day0.notna() & end.notna()).to_numpy())
    patient = np.repeat(patients, len(windows))
    window = np.tile(np.arange(len(windows)), len(patients))
    target = (day0.to_numpy()[patient]
              + np.array([w.target_day for w in windows], dtype="timedelta64[D]")[window].astype("timedelta64[us]"))
    due = target < end.to_numpy()[patient]
    if not due.any():
        return pd.DataFrame([], columns=columns)
    patient, window, target = patient[due], window[due], target[due]
    record_ids = a["record_id"].to_numpy(dtype=object)[patient]
    timepoints = np.array([w.timepoint for w in windows], dtype=object)[window]
    event_names = np.array([f"{w.timepoint}_arm_1" if f"{w.timepoint}_arm_1" in events else None
                            for w in windows], dtype=object)[window]
    return pd.DataFrame({
        "record_id": record_ids, "timepoint": timepoints, "event_name": event_names,
        "window": np.array([f"{w.min_day}..{w.max_day}" for w in windows], dtype=object)[window],
        "target_date": _date_text(pd.Series(target)).to_numpy(dtype=object),
        "n_assessments": np.array([int(counts.get(key, 0)) for key in zip(record_ids, timepoints)], dtype="int64"),
    }, columns=columns)


def expected_visits_suite() -> gx.ExpectationSuite:
    suite = SuiteDraft(name="completeness_expected_visits", meta={
        "finding_columns": {"record_id": "record_id", "event": "event_name", "instrument": "=" + VISIT_INSTRUMENT},
        "stage": "plausibility"})
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="n_assessments", min_value=1,
        meta=rule_meta("expected_visit_missing", field=VISIT_DATE_FIELD, value_column="",
                       message_columns=["timepoint", "window", "target_date"],
                       message="record {record_id}: no skin score (mRSS) in window {timepoint} (study days "
                               "{window}, target {target_date})")))
    return suite.suite()


# ---- the run -----------------------------------------------------------------------------------------------


def run_plausibility(timeline: pd.DataFrame, anchors: pd.DataFrame, adverse_events: pd.DataFrame | None = None,
                     echo: pd.DataFrame | None = None, measures: pd.DataFrame | None = None, *,
                     study: Study | None = None, windows: tuple[Window, ...] | None = None,
                     runner: GXRunner | None = None, build_docs: bool = True) -> PlausibilityResult:
    """Validate the staged frames; findings (actions: ``excluded`` by (source_row, instrument) for the temporal
    errors on assessments and for anchor dates that cannot be placed, ``nulled`` for ``ae_end_date`` and a last
    contact before day 0, ``none`` for warnings).

    The timeline and the measures as given are let go as soon as their frames are made, so (when the caller holds
    no other reference, as :func:`quality.steps.check_plausibility`) they are not in memory while GX validates."""
    runner = runner or GXRunner()
    windows = windows or load_windows()
    study = study or load_study()
    expected_visits = expected_visits_frame(anchors, timeline, windows, study)
    timeline = timeline_frame(timeline, study)
    runs = [runner.validate(timeline_suite(), timeline, index_columns=("source_row", "record_id", "instrument"))]
    del timeline
    runs.append(runner.validate(anchors_suite(), anchors_frame(anchors), index_columns=("record_id",)))
    runs.append(runner.validate(expected_visits_suite(), expected_visits, index_columns=("record_id", "timepoint")))
    del expected_visits
    if adverse_events is not None:
        runs.append(runner.validate(adverse_events_suite(), adverse_events_frame(adverse_events),
                                    index_columns=("source_row", "record_id")))
    if echo is not None:
        runs.append(runner.validate(echo_suite(), echo_frame(echo), index_columns=("source_row", "record_id")))
    if measures is not None:
        mframe = measures_frame(measures)
        del measures
        suite = measures_suite([c for c in mframe.columns if c not in MEASURE_KEYS])
        runs.append(runner.validate(suite, mframe, index_columns=("source_row", "record_id")))
    if build_docs:
        runner.build_docs()
    findings = [f for run in runs for f in findings_from_run(run, study.identifiers)]
    return PlausibilityResult(findings=findings_frame(dedupe_findings(findings)), runs=runs)


def plausibility_inputs(conn) -> dict[str, pd.DataFrame]:
    """The frames :func:`run_plausibility` takes, read from the warehouse after the timeline models: timeline,
    anchors (with each patient's latest dated assessment), adverse_events, echo and measures, each in a fixed row
    order (``order by all``: a table's rows have none, and DuckDB's multi-threaded scans return them in a different
    order from one run to the next; the rows GX samples in Data Docs and the order of the findings follow it)."""
    return {
        "timeline": read_frame(conn, ordered_select("intermediate.int_assessment_timeline")),
        "anchors": read_frame(conn, """
            select anchors.*, last.last_assessment_date
            from intermediate.int_patient_anchors as anchors
            left join (select record_id, max(assessment_date) as last_assessment_date
                       from intermediate.int_assessment_timeline
                       where instrument <> 'vital_status' group by record_id) as last using (record_id)
            order by all
        """),
        "adverse_events": read_frame(conn, ordered_select("staging.stg_redcap__adverse_event")),
        "echo": read_frame(conn, ordered_select("staging.stg_redcap__echo")),
        "measures": clinical_measures(conn),
    }


def clinical_measures(conn) -> pd.DataFrame:
    """Numeric fields with clinical soft limits, long (record_id, instrument, source_row, event_name, field, value),
    read from the staging tables (their columns carry the dictionary's field names)."""
    keys = ["record_id", "source_row", "event_name"]
    parts = []
    for form in load_study().forms:
        table = f"staging.stg_redcap__{form}"
        columns = {c for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'staging' and table_name = ?",
            [f"stg_redcap__{form}"]).fetchall()}
        fields = sorted(columns & set(SOFT_LIMITS))
        if fields:
            frame = read_frame(conn, ordered_select(table, keys + fields))
            parts.append(frame.melt(id_vars=keys, value_vars=fields, var_name="field", value_name="value")
                         .dropna(subset=["value"]).assign(instrument=form))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=keys + ["field", "value"])
