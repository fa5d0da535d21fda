"""Critical expectations on the marts: blocking asset checks (every expectation is severity error).

``validate_marts(adsl=..., adtte=..., adbds=..., adae=..., runner=...)`` returns ``{mart: SuiteRun}``; wrap
each in ``quality.gx_glue.to_asset_check_result(run, asset_key=..., check_name=...)`` for a blocking check,
and ``quality.gx_glue.findings_from_run(run)`` gives findings (action ``blocked``).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from study.windows import Window, load_windows
from quality.gx_glue import GXRunner, SuiteRun, rule_meta

ADBDS_RANGES = {"mrss_total": (0, 51), "haq_di": (0, 3)}
ADBDS_KEY = ("record_id", "instrument", "timepoint", "param")


def _meta(rule_id, field, message, **kw):
    return rule_meta(rule_id, field=field, message=message, **kw)


def adsl_suite() -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adsl", meta={"finding_columns": {"record_id": "record_id"},
                                                     "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
        column="record_id", meta=_meta("mart_value_missing", "record_id", "adsl row without record_id")))
    s.add_expectation(gxe.ExpectColumnValuesToBeUnique(
        column="record_id", meta=_meta("mart_key_unique", "record_id", "record {value} is on more than one adsl row")))
    s.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
        column="day0_date", meta=_meta("mart_value_missing", "day0_date", "record {record_id} has no day 0")))
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="sex", value_set=["Female", "Male"],
        meta=_meta("mart_value_invalid", "sex", "record {record_id}: sex '{value}' is not Female/Male")))
    s.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="age_years", min_value=18, max_value=100,
        meta=_meta("mart_value_invalid", "age_years", "record {record_id}: age {value} outside 18–100")))
    return s


def adtte_frame(adtte: pd.DataFrame, adsl: pd.DataFrame | None) -> pd.DataFrame:
    t = adtte.reset_index(drop=True).copy()
    for c in ("time_days", "event"):
        if c in t.columns:
            t[c] = pd.to_numeric(t[c], errors="coerce")
    if adsl is not None:
        ids = set(adsl["record_id"].dropna())
        t["record_id__in_adsl"] = t["record_id"].isin(ids)
    # a row left out of the survival analysis (analysed false) has no time, by design; a frame without the
    # column is analysed throughout
    analysed = t["analysed"].fillna(False).astype(bool) if "analysed" in t.columns else pd.Series(True, index=t.index)
    t["analysed__has_time"] = t["time_days"].notna().astype(object).where(analysed, None)
    return t


def adtte_suite(adsl: pd.DataFrame | None) -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adtte", meta={"finding_columns": {"record_id": "record_id"},
                                                      "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
        column="record_id", meta=_meta("mart_value_missing", "record_id", "adtte row without record_id")))
    s.add_expectation(gxe.ExpectColumnValuesToBeUnique(
        column="record_id", meta=_meta("mart_key_unique", "record_id", "record {value} has more than one adtte row")))
    if adsl is not None:
        s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column="record_id__in_adsl", value_set=[True],
            meta=_meta("mart_relational", "record_id", "adtte record {record_id} is not in adsl",
                       value_column="record_id")))
        s.add_expectation(gxe.ExpectTableRowCountToEqual(
            value=int(adsl["record_id"].nunique()),
            meta=_meta("mart_relational", None, "adtte must have one row per adsl patient")))
    s.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="time_days", min_value=0,
        meta=_meta("mart_value_invalid", "time_days", "record {record_id}: time_days {value} < 0")))
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__has_time", value_set=[True],
        meta=_meta("mart_value_missing", "time_days", "record {record_id}: analysed but no time_days",
                   value_column="time_days")))
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="event", value_set=[0, 1],
        meta=_meta("mart_value_invalid", "event", "record {record_id}: event {value} is not 0/1")))
    return s


def adbds_frame(adbds: pd.DataFrame, windows: tuple[Window, ...]) -> pd.DataFrame:
    b = adbds.reset_index(drop=True).copy()
    analysed = b["analysed"].fillna(False).astype(bool) if "analysed" in b.columns else pd.Series(False, index=b.index)
    b["value"] = pd.to_numeric(b["value"], errors="coerce") if "value" in b.columns else np.nan
    keys = [k for k in ADBDS_KEY if k in b.columns]
    dup = b.loc[analysed].duplicated(subset=keys, keep=False) if keys else pd.Series(False, index=b.index)
    b["analysed__duplicate_key"] = pd.Series(None, index=b.index, dtype=object)
    b.loc[analysed, "analysed__duplicate_key"] = dup.reindex(b.index[analysed]).astype(object).to_numpy()
    lo = {w.timepoint: w.min_day for w in windows}
    hi = {w.timepoint: w.max_day for w in windows}
    day = pd.to_numeric(b.get("study_day"), errors="coerce")
    tp = b.get("timepoint")
    in_window = (day >= tp.map(lo)) & (day <= tp.map(hi)) if tp is not None else pd.Series(False, index=b.index)
    b["analysed__study_day_in_window"] = in_window.astype(object).where(analysed, None)
    for param in ADBDS_RANGES:
        b[f"value__{param}"] = b["value"].where(b.get("param") == param)
    return b


def adbds_suite() -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adbds", meta={"finding_columns": {
        "record_id": "record_id", "event": "event_name", "instrument": "instrument", "source_row": "source_row",
        "instance": "repeat_instance"}, "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__duplicate_key", value_set=[False],
        meta=_meta("mart_key_unique", "param", "more than one analysed row for record {record_id}, {instrument}, "
                   "{timepoint}, {param}", value_column="param", message_columns=["timepoint", "param"])))
    for param, (lo, hi) in ADBDS_RANGES.items():
        s.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column=f"value__{param}", min_value=lo, max_value=hi,
            meta=_meta("mart_value_invalid", param, f"{param} = {{value}} outside {lo}..{hi}")))
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__study_day_in_window", value_set=[True],
        meta=_meta("mart_window", "study_day", "analysed row of record {record_id} on study day {value} is "
                   "outside the {timepoint} window", value_column="study_day", message_columns=["timepoint"])))
    return s


def adae_suite() -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adae", meta={"finding_columns": {
        "record_id": "record_id", "event": "event_name", "source_row": "source_row", "instance": "repeat_instance",
        "instrument": "=adverse_event"}, "stage": "marts"})
    for c in ("ae_grade", "ae_relation"):
        s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column=c, value_set=[1, 2, 3, 4, 5],
            meta=_meta("mart_value_invalid", c, f"{c} = {{value}} is not 1–5")))
    return s


def adae_frame(adae: pd.DataFrame) -> pd.DataFrame:
    a = adae.reset_index(drop=True).copy()
    for c in ("ae_grade", "ae_relation"):
        if c in a.columns:
            a[c] = pd.to_numeric(a[c], errors="coerce")
    return a


def validate_marts(*, adsl: pd.DataFrame | None = None, adtte: pd.DataFrame | None = None,
                   adbds: pd.DataFrame | None = None, adae: pd.DataFrame | None = None,
                   runner: GXRunner | None = None, windows: tuple[Window, ...] | None = None,
                   build_docs: bool = True) -> dict[str, SuiteRun]:
    """Validate the marts given; ``{"adsl": SuiteRun, ...}`` for blocking asset checks."""
    runner = runner or GXRunner()
    windows = windows or load_windows()
    out: dict[str, SuiteRun] = {}
    if adsl is not None:
        out["adsl"] = runner.validate(adsl_suite(), adsl, index_columns=("record_id",), stage="marts")
    if adtte is not None:
        out["adtte"] = runner.validate(adtte_suite(adsl), adtte_frame(adtte, adsl), index_columns=("record_id",),
                                       stage="marts")
    if adbds is not None:
        out["adbds"] = runner.validate(adbds_suite(), adbds_frame(adbds, windows),
                                       index_columns=("record_id", "source_row", "param"), stage="marts")
    if adae is not None:
        out["adae"] = runner.validate(adae_suite(), adae_frame(adae), index_columns=("record_id", "source_row"),
                                      stage="marts")
    if build_docs:
        runner.build_docs()
    return out
