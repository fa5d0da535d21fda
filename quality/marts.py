"""Critical expectations on the marts: blocking asset checks (every expectation is severity error).

``validate_marts(adsl=..., adtte=..., adbds=..., adae=..., runner=...)`` returns ``{mart: SuiteRun}``;
``orchestration.checks.suite_check_result`` makes each a blocking check and
``quality.gx_findings.findings_from_run`` gives its findings (action ``blocked``).

Each rule on a mart has one home. A structural invariant of a model is a dbt test
(``dbt_project/models/marts/_marts.yml``, ``models/intermediate/_intermediate.yml``): keys unique and not null
(adsl, adtte), day 0 present, sex a label of the dictionary, adtte's record in adsl, its event 0/1 and time not
negative, one analysed row per window (adbds), the mRSS and HAQ-DI ranges (on the models that score them).
What is checked here are the rules dbt does not test: age at day 0 18–100 (adsl), one adtte row per adsl patient
and a time for every analysed row (adtte), an analysed row's study day inside its window (adbds), AE grade and
relation 1–5 (adae).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from quality.gx_findings import rule_meta
from quality.gx_runner import GXRunner, SuiteRun
from study.windows import Window, load_windows


def _meta(rule_id, field, message, **kw):
    return rule_meta(rule_id, field=field, message=message, **kw)


def adsl_suite() -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adsl", meta={"finding_columns": {"record_id": "record_id"},
                                                     "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="age_years", min_value=18, max_value=100,
        meta=_meta("mart_value_invalid", "age_years", "record {record_id}: age {value} outside 18–100")))
    return s


def adtte_frame(adtte: pd.DataFrame) -> pd.DataFrame:
    """adtte with ``analysed__has_time``: whether an analysed row has ``time_days`` (null on the rows left out of
    the survival analysis, which have no time by design; a frame without ``analysed`` is analysed throughout)."""
    t = adtte.reset_index(drop=True).copy()
    t["time_days"] = pd.to_numeric(t["time_days"], errors="coerce")
    analysed = t["analysed"].fillna(False).astype(bool) if "analysed" in t.columns else pd.Series(True, index=t.index)
    t["analysed__has_time"] = t["time_days"].notna().astype(object).where(analysed, None)
    return t


def adtte_suite(adsl: pd.DataFrame | None) -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adtte", meta={"finding_columns": {"record_id": "record_id"},
                                                      "stage": "marts"})
    if adsl is not None:
        s.add_expectation(gxe.ExpectTableRowCountToEqual(
            value=int(adsl["record_id"].nunique()),
            meta=_meta("mart_relational", None, "adtte must have one row per adsl patient")))
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__has_time", value_set=[True],
        meta=_meta("mart_value_missing", "time_days", "record {record_id}: analysed but no time_days",
                   value_column="time_days")))
    return s


def adbds_frame(adbds: pd.DataFrame, windows: tuple[Window, ...]) -> pd.DataFrame:
    """adbds with ``analysed__study_day_in_window``: whether an analysed row's study day lies in its timepoint's
    window (null on the rows not analysed)."""
    b = adbds.reset_index(drop=True).copy()
    analysed = b["analysed"].fillna(False).astype(bool)
    lo = {w.timepoint: w.min_day for w in windows}
    hi = {w.timepoint: w.max_day for w in windows}
    day = pd.to_numeric(b["study_day"], errors="coerce")
    in_window = (day >= b["timepoint"].map(lo)) & (day <= b["timepoint"].map(hi))
    b["analysed__study_day_in_window"] = in_window.astype(object).where(analysed, None)
    return b


def adbds_suite() -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adbds", meta={"finding_columns": {
        "record_id": "record_id", "event": "event_name", "instrument": "instrument", "source_row": "source_row",
        "instance": "repeat_instance"}, "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__study_day_in_window", value_set=[True],
        meta=_meta("mart_window", "study_day", "analysed row of record {record_id} on study day {value} is "
                   "outside the {timepoint} window", value_column="study_day", message_columns=["timepoint"])))
    return s


def adae_frame(adae: pd.DataFrame) -> pd.DataFrame:
    a = adae.reset_index(drop=True).copy()
    for c in ("ae_grade", "ae_relation"):
        a[c] = pd.to_numeric(a[c], errors="coerce")
    return a


def adae_suite() -> gx.ExpectationSuite:
    s = gx.ExpectationSuite(name="marts_adae", meta={"finding_columns": {
        "record_id": "record_id", "event": "event_name", "source_row": "source_row", "instance": "repeat_instance",
        "instrument": "=adverse_event"}, "stage": "marts"})
    for c in ("ae_grade", "ae_relation"):
        s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column=c, value_set=[1, 2, 3, 4, 5],
            meta=_meta("mart_value_invalid", c, f"{c} = {{value}} is not 1–5")))
    return s


def validate_marts(*, adsl: pd.DataFrame | None = None, adtte: pd.DataFrame | None = None,
                   adbds: pd.DataFrame | None = None, adae: pd.DataFrame | None = None,
                   runner: GXRunner | None = None, windows: tuple[Window, ...] | None = None,
                   build_docs: bool = True) -> dict[str, SuiteRun]:
    """Validate the marts given; ``{"adsl": SuiteRun, ...}`` for blocking asset checks."""
    runner = runner or GXRunner()
    windows = windows or load_windows()
    out: dict[str, SuiteRun] = {}
    if adsl is not None:
        out["adsl"] = runner.validate(adsl_suite(), adsl, index_columns=("record_id",))
    if adtte is not None:
        out["adtte"] = runner.validate(adtte_suite(adsl), adtte_frame(adtte), index_columns=("record_id",))
    if adbds is not None:
        out["adbds"] = runner.validate(adbds_suite(), adbds_frame(adbds, windows),
                                       index_columns=("record_id", "source_row", "param"))
    if adae is not None:
        out["adae"] = runner.validate(adae_suite(), adae_frame(adae), index_columns=("record_id", "source_row"))
    if build_docs:
        runner.build_docs()
    return out
