"""Critical expectations on the marts: blocking asset checks (every expectation is severity error).

``validate_marts(adsl=..., adtte=..., adbds=..., adae=..., runner=...)`` returns ``{mart: SuiteRun}``;
``orchestration.checks.suite_check_result`` makes each a blocking check and
``quality.gx_findings.findings_from_run`` gives its findings (action ``blocked``).

Each rule on a mart has one home. A structural invariant of a model is a dbt test
(``dbt_project/models/marts/_marts.yml``, ``models/intermediate/_intermediate.yml``): keys unique and not null
(adsl, adtte USUBJID), day 0 present (TRTSDT), SEX 'F'/'M' wherever the dictionary's label is, adtte's USUBJID in
adsl, its CNSR 0/1 and ADY not negative, one analysed row per window (adbds ANL01FL), AREL 'RELATED'/'NOT
RELATED', the mRSS and HAQ-DI ranges (on the models that score them). What is checked here are the rules dbt does
not test: AGE 18–100 (adsl), one adtte row per adsl patient and a time (ADY) for every analysed row (adtte), an
analysed row's ADY inside its window AVISIT (adbds), AE grade and relation codes (AETOXGR, AERELN) 1–5 (adae).
The marts' variables are CDISC ADaM names (docs/architecture.md); a finding names the REDCap field where there is
one (ae_grade), else the mart variable (AGE, ADY).
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from quality.gx_findings import rule_meta
from quality.gx_runner import GXRunner, SuiteDraft, SuiteRun
from study.windows import Window, load_windows


def _meta(rule_id, field, message, **kw):
    return rule_meta(rule_id, field=field, message=message, **kw)


def adsl_suite() -> gx.ExpectationSuite:
    s = SuiteDraft(name="marts_adsl", meta={"finding_columns": {"record_id": "USUBJID"},
                                                     "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="AGE", min_value=18, max_value=100,
        meta=_meta("mart_value_invalid", "AGE", "record {record_id}: age {value} outside 18–100")))
    return s.suite()


def adtte_frame(adtte: pd.DataFrame) -> pd.DataFrame:
    """adtte with ``analysed__has_time``: whether an analysed row (ANL01FL) has a time ADY (null on the rows left
    out of the survival analysis, which have no time by design)."""
    t = adtte.reset_index(drop=True)
    t["ADY"] = pd.to_numeric(t["ADY"], errors="coerce")
    analysed = t["ANL01FL"].eq("Y").fillna(False).astype(bool)
    t["analysed__has_time"] = t["ADY"].notna().astype(object).where(analysed, None)
    return t


def adtte_suite(adsl: pd.DataFrame | None) -> gx.ExpectationSuite:
    s = SuiteDraft(name="marts_adtte", meta={"finding_columns": {"record_id": "USUBJID"},
                                                      "stage": "marts"})
    if adsl is not None:
        s.add_expectation(gxe.ExpectTableRowCountToEqual(
            value=int(adsl["USUBJID"].nunique()),
            meta=_meta("mart_relational", None, "adtte must have one row per adsl patient")))
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__has_time", value_set=[True],
        meta=_meta("mart_value_missing", "ADY", "record {record_id}: analysed but no time to event (ADY)",
                   value_column="ADY")))
    return s.suite()


#: the columns of adbds its critical expectations read: adbds_frame's, and the suite's index, finding and message
#: columns; and the rows they judge: the analysed ones (on the others ``analysed__study_day_in_window`` is null,
#: which GX leaves out). ``quality.steps.check_marts`` reads only these (at 20,000 patients adbds holds 1,893,376
#: rows, 1,876,183 of them analysed), so the expectation's counts in Data Docs are of the analysed rows.
ADBDS_COLUMNS = ("USUBJID", "SRCSEQ", "PARAMCD", "VISIT", "SRCDOM", "repeat_instance", "ADY", "AVISIT", "ANL01FL")
ADBDS_ROWS = "ANL01FL = 'Y'"


def adbds_frame(adbds: pd.DataFrame, windows: tuple[Window, ...]) -> pd.DataFrame:
    """adbds with ``analysed__study_day_in_window``: whether an analysed row's (ANL01FL) study day ADY lies in its
    window AVISIT (null on the rows not analysed)."""
    b = adbds.reset_index(drop=True)
    analysed = b["ANL01FL"].eq("Y").fillna(False).astype(bool)
    lo = {w.timepoint: w.min_day for w in windows}
    hi = {w.timepoint: w.max_day for w in windows}
    day = pd.to_numeric(b["ADY"], errors="coerce")
    in_window = (day >= b["AVISIT"].map(lo)) & (day <= b["AVISIT"].map(hi))
    b["analysed__study_day_in_window"] = in_window.astype(object).where(analysed, None)
    return b


def adbds_suite() -> gx.ExpectationSuite:
    s = SuiteDraft(name="marts_adbds", meta={"finding_columns": {
        "record_id": "USUBJID", "event": "VISIT", "instrument": "SRCDOM", "source_row": "SRCSEQ",
        "instance": "repeat_instance"}, "stage": "marts"})
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="analysed__study_day_in_window", value_set=[True],
        meta=_meta("mart_window", "ADY", "analysed row of record {record_id} on study day {value} is "
                   "outside the {AVISIT} window", value_column="ADY", message_columns=["AVISIT"])))
    return s.suite()


#: adae's code variables checked 1–5, with the REDCap field each comes from
AE_CODES = (("AETOXGR", "ae_grade"), ("AERELN", "ae_relation"))


def adae_frame(adae: pd.DataFrame) -> pd.DataFrame:
    a = adae.reset_index(drop=True)
    for c, _ in AE_CODES:
        a[c] = pd.to_numeric(a[c], errors="coerce")
    return a


def adae_suite() -> gx.ExpectationSuite:
    s = SuiteDraft(name="marts_adae", meta={"finding_columns": {
        "record_id": "USUBJID", "event": "VISIT", "source_row": "SRCSEQ", "instance": "repeat_instance",
        "instrument": "SRCDOM"}, "stage": "marts"})
    for c, field in AE_CODES:
        s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
            column=c, value_set=[1, 2, 3, 4, 5],
            meta=_meta("mart_value_invalid", field, f"{field} = {{value}} is not 1–5", value_column=c)))
    return s.suite()


def validate_marts(*, adsl: pd.DataFrame | None = None, adtte: pd.DataFrame | None = None,
                   adbds: pd.DataFrame | None = None, adae: pd.DataFrame | None = None,
                   runner: GXRunner | None = None, windows: tuple[Window, ...] | None = None,
                   build_docs: bool = True) -> dict[str, SuiteRun]:
    """Validate the marts given; ``{"adsl": SuiteRun, ...}`` for blocking asset checks."""
    runner = runner or GXRunner()
    windows = windows or load_windows()
    out: dict[str, SuiteRun] = {}
    if adsl is not None:
        out["adsl"] = runner.validate(adsl_suite(), adsl, index_columns=("USUBJID",))
    if adtte is not None:
        out["adtte"] = runner.validate(adtte_suite(adsl), adtte_frame(adtte), index_columns=("USUBJID",))
    if adbds is not None:
        adbds = adbds_frame(adbds, windows)  # the mart as read is no longer held (unless the caller holds it)
        out["adbds"] = runner.validate(adbds_suite(), adbds, index_columns=("USUBJID", "SRCSEQ", "PARAMCD"))
        del adbds
    if adae is not None:
        out["adae"] = runner.validate(adae_suite(), adae_frame(adae), index_columns=("USUBJID", "SRCSEQ"))
    if build_docs:
        runner.build_docs()
    return out
