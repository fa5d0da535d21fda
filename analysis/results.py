"""marts → the analysis results dataset: every analysis of the plan, its result written as ARD rows.

Each ``<outcome>_rows(result)`` writes one analysis function's result (the dicts of ``analysis.survival``,
``analysis.continuous``, …) as rows of :mod:`analysis.ard`; each entry of :data:`ANALYSES` computes one outcome
from the marts it names and returns its rows (a Dagster asset each); :func:`analysis_results` does them all.
``analysis.outcomes`` reads ``outcomes.json`` back from these rows, so the row layout here and the readers there
go together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd

from analysis import ard
from analysis._common import ANALYSED_SOURCE_COLUMNS, analysed_values, percent
from analysis.adverse_events import adverse_events, serious_or_related
from analysis.cohort import cohort_flow
from analysis.continuous import haq_di_outcome, mrss_outcome
from analysis.hrct import hrct_ild
from analysis.lung_function import lung_function
from analysis.mixed_model import model_data, mrss_mixed_model
from analysis.pah import pah
from analysis.responders import mrss_responders
from analysis.settings import shown, value
from analysis.survival import at_risk_table, deaths, km_curve, overall_survival, risk_table_years
from analysis.table1 import table1
from analysis.vascular import vascular

SUMMARY = ("n", "mean", "sd", "median")
CHANGE = ("n_paired", "mean_change", "sd_change", "t_test_p", "wilcoxon_p")
MODEL = ("n_observations", "n_patients", "random_intercept_variance", "residual_variance", "converged")
EFFECT = ("estimate", "std_error", "ci_lower", "ci_upper")
EVENTS = ("n_events", "n_patients", "rate_per_100py")
HRCT_CATEGORIES = ("improved", "stable", "worsened", "uncategorised")
PAH_CATEGORIES = ("stable", "worsened", "not_evaluable")
RESPONSE = ("improved", "stable", "progressed")
PROGRESSION = ("progression", "no_progression", "indeterminate")
#: adverse event tables: (ARD parameter, key of analysis.adverse_events' result)
AE_TABLES = (("AESER", "by_seriousness"), ("AREL", "by_relatedness"), ("AETOXGR", "by_grade"),
             ("AERELN", "by_relation"), ("AEOUTN", "by_outcome"))


def year_timepoint(year: float) -> str:
    """The timepoint of a survival estimate: 5 → 'year_5', 2.5 → 'year_2.5'."""
    return f"year_{year:g}"


def summaries(rows: ard.Rows, parameter: str, by_timepoint: list[dict]) -> None:
    """n, mean, sd, median per timepoint (``analysis.continuous.summarise_by_timepoint``)."""
    for r in by_timepoint:
        rows.record(r, SUMMARY, parameter=parameter, timepoint=r["timepoint"], n=r["n"])


def changes(rows: ard.Rows, parameter: str, change_from_baseline: list[dict]) -> None:
    """Paired change from baseline per timepoint (``analysis.continuous.change_from_baseline``)."""
    for r in change_from_baseline:
        rows.record(r, CHANGE, parameter=parameter, timepoint=r["timepoint"], n=r["n_paired"])


# ------------------------------------------------------------------------------------------ one per result


def overall_survival_rows(result: dict) -> ard.Rows:
    """``analysis.survival.overall_survival``: n, deaths, n_excluded, median_years; survival, CI and at_risk at
    ``year_<t>``; the reason of each patient left out (group: record_id)."""
    rows, n = ard.Rows("overall_survival", "marts.adtte"), result["n"]
    rows.add("n", n, parameter="OS")
    rows.add("deaths", result["deaths"], parameter="OS", n=n)
    rows.add("n_excluded", result["n_excluded"], parameter="OS")
    rows.add("median_years", result["median_years"], parameter="OS", n=n)
    for e in result["estimates"]:
        tp = year_timepoint(e["year"])
        rows.record(e, ("survival", "ci_lower", "ci_upper"), parameter="OS", timepoint=tp, n=n)
        rows.add("at_risk", e["at_risk"], parameter="OS", timepoint=tp)
    for x in result["excluded"]:
        rows.add("reason", x["reason"], parameter="OS", group=x["record_id"])
    return rows


def survival_curve_rows(curve: pd.DataFrame, risk: pd.DataFrame) -> ard.Rows:
    """``analysis.survival.km_curve`` (one group per step, '0', '1', …: time_years, survival, CI, at_risk,
    n_censored) and ``at_risk_table`` (at_risk and cumulative deaths at ``year_<t>``), for the survival figure."""
    rows = ard.Rows("overall_survival_curve", "marts.adtte")
    for i, step in enumerate(curve.to_dict("records")):
        rows.record(step, ("time_years", "survival", "ci_lower", "ci_upper", "at_risk", "n_censored"),
                    parameter="OS", group=str(i))
    for r in risk.to_dict("records"):
        rows.record(r, ("at_risk", "deaths"), parameter="OS", timepoint=year_timepoint(r["year"]))
    return rows


def deaths_rows(listing: list[dict]) -> ard.Rows:
    """``analysis.survival.deaths``: placed, time_years, cause, treatment_related per record (group), in the order
    a reader wants them: the deaths placed in time by time from day 0, then record; then the others, by record."""
    rows = ard.Rows("deaths", "marts.adsl, marts.adtte")
    for d in sorted(listing, key=lambda d: (not d["placed"], d["time_years"] if d["placed"] else 0.0,
                                            d["record_id"])):
        rows.record(d, ("placed", "time_years", "cause", "treatment_related"), group=d["record_id"])
    return rows


def mrss_rows(result: dict) -> ard.Rows:
    """``analysis.continuous.mrss_outcome``: summaries and changes of mrss_total."""
    rows = ard.Rows("mrss", "marts.adbds")
    summaries(rows, "mrss_total", result["by_timepoint"])
    changes(rows, "mrss_total", result["change_from_baseline"])
    return rows


def haq_di_rows(result: dict) -> ard.Rows:
    """``analysis.continuous.haq_di_outcome``: summaries and changes of haq_di."""
    rows = ard.Rows("haq_di", "marts.adbds")
    summaries(rows, "haq_di", result["by_timepoint"])
    changes(rows, "haq_di", result["change_from_baseline"])
    return rows


def hrct_ild_rows(result: dict) -> ard.Rows:
    """``analysis.hrct.hrct_ild`` (parameter hrct_change): n (ILD population); n and pct of 'evaluable' and
    'not_evaluable' (no HRCT after day 0), of n; of each category and 'improved_or_stable', of the evaluable;
    the listing of the ILD patients."""
    rows, p = ard.Rows("hrct_ild", "marts.adsl, marts.adbds"), "hrct_change"
    rows.add("n", result["n_ild"], parameter=p)
    rows.counts({"evaluable": result["n_evaluable"], "not_evaluable": result["n_ild"] - result["n_evaluable"]},
                result["n_ild"], parameter=p)
    rows.counts({c: result[c] for c in HRCT_CATEGORIES}, result["n_evaluable"], parameter=p)
    rows.add("n", result["improved"] + result["stable"], parameter=p, group="improved_or_stable",
             n=result["n_evaluable"])
    rows.add("pct", result["improved_or_stable_pct"], parameter=p, group="improved_or_stable",
             n=result["n_evaluable"])
    for patient in result["patients"]:
        keys = {"parameter": p, "group": patient["record_id"]}
        rows.record(patient, ("evaluable", "category"), **keys)
        rows.add("category_source", patient["source"], **keys)
        rows.record(patient, ("latest_scan_day", "extent_change"), **keys)
    return rows


def pah_rows(result: dict) -> ard.Rows:
    """``analysis.pah.pah`` (parameter echo_pasp_mmhg): n (the PAH population); n and pct of the evaluable
    (stable + worsened) and of the not_evaluable, of n; n and pct of stable and worsened, of the evaluable (the
    denominator of "stable in k of n"); the listing."""
    rows, p = ard.Rows("pah", "marts.adsl, marts.adbds, marts.adtte"), "echo_pasp_mmhg"
    evaluable = result["stable"] + result["worsened"]
    rows.add("n", result["n"], parameter=p)
    rows.counts({"evaluable": evaluable, "not_evaluable": result["not_evaluable"]}, result["n"], parameter=p)
    rows.counts({c: result[c] for c in ("stable", "worsened")}, evaluable, parameter=p)
    for patient in result["patients"]:
        keys = {"parameter": p, "group": patient["record_id"]}
        rows.record(patient, ("category", "reason"), **keys)
        rows.add("baseline_value", patient["baseline_pasp"], **keys)
        rows.add("final_value", patient["final_pasp"], **keys)
        rows.add("rise", patient["rise"], **keys)
    return rows


def vascular_rows(result: dict) -> ard.Rows:
    """``analysis.vascular.vascular``: rcs summaries; per timepoint the patients assessed (n) and the n and pct
    with active ulcers (du_active_count, group 'active') and of each Medsger grade (medsger_pv, group the grade)."""
    rows = ard.Rows("vascular", "marts.adbds")
    summaries(rows, "rcs", result["rcs_by_timepoint"])
    for r in result["digital_ulcers_by_timepoint"]:
        rows.add("n", r["n"], parameter="du_active_count", timepoint=r["timepoint"])
        rows.counts({"active": r["patients_with_active_ulcers"]}, r["n"], parameter="du_active_count",
                    timepoint=r["timepoint"])
    for r in result["medsger_by_timepoint"]:
        rows.add("n", r["n"], parameter="medsger_pv", timepoint=r["timepoint"])
        rows.counts(r["counts"], r["n"], parameter="medsger_pv", timepoint=r["timepoint"])
    return rows


def adverse_events_rows(result: dict) -> ard.Rows:
    """``analysis.adverse_events.adverse_events``: n_events, n_patients, patient_years, rate_per_100py overall;
    events, patients and rate per category of adae AESER, AREL, AETOXGR, AERELN, AEOUTN (the parameter; the
    category as group); pct_patients: the patients as a share of the patients infused (its ``n``); infusions and
    patients, then those with a reaction and their shares (infusion_reaction)."""
    rows = ard.Rows("adverse_events", "marts.adae, marts.adex, marts.adtte")
    ir, p = result["infusion_reactions"], "infusion_reaction"
    infused = ir["n_patients_infused"]
    rows.record(result, ("n_events", "n_patients", "patient_years"))
    rows.add("pct_patients", percent(result["n_patients"], infused), n=infused)
    rows.add("rate_per_100py", result["events_per_100_patient_years"])
    for parameter, key in AE_TABLES:
        for group, tally in result[key].items():
            rows.record(tally, EVENTS, parameter=parameter, group=group)
            rows.add("pct_patients", percent(tally["n_patients"], infused), parameter=parameter, group=group,
                     n=infused)
    rows.add("n_infusions", ir["n_infusions"], parameter=p)
    rows.add("n_patients", ir["n_patients_infused"], parameter=p)
    rows.add("n_infusions", ir["n_reactions"], parameter=p, group="reaction", n=ir["n_infusions"])
    rows.add("pct_infusions", percent(ir["n_reactions"], ir["n_infusions"]), parameter=p, group="reaction",
             n=ir["n_infusions"])
    rows.add("n_patients", ir["n_patients"], parameter=p, group="reaction", n=ir["n_patients_infused"])
    rows.add("pct_patients", percent(ir["n_patients"], ir["n_patients_infused"]), parameter=p, group="reaction",
             n=ir["n_patients_infused"])
    return rows


def listing_key(event: dict) -> str:
    """The group of an adverse event line, REDCap's key of a repeating instance: 'SSC-0003/month_12_arm_1/2'."""
    instance = "" if event["instance"] is None else int(event["instance"])
    return f"{event['record_id']}/{event['event_name']}/{instance}"


def adverse_event_listing_rows(listing: list[dict]) -> ard.Rows:
    """``analysis.adverse_events.serious_or_related``, one group per event (:func:`listing_key`)."""
    rows = ard.Rows("adverse_event_listing", "marts.adae")
    for e in listing:
        rows.record(e, ("record_id", "term", "onset_study_day", "ae_grade", "serious", "ae_relation", "ae_outcome"),
                    group=listing_key(e))
    return rows


def table1_rows(result: dict) -> ard.Rows:
    """``analysis.table1.table1``: per row (parameter = adsl column, group = level) its label and raw numbers, the
    row's n (patients with data) in ``n``."""
    rows = ard.Rows("table1", "marts.adsl")
    for r in result["rows"]:
        keys = {"parameter": r["parameter"], "group": r["group"], "n": r["n"]}
        rows.add("label", r["characteristic"], **keys)
        rows.record(r["raw"], r["raw"], **keys)
    return rows


def _model(rows: ard.Rows, model: dict, parameter: str) -> None:
    rows.record(model, MODEL, parameter=parameter)
    for i, warning in enumerate(model["warnings"], start=1):
        rows.add("warning", warning, parameter=parameter, group=str(i))


def mrss_mixed_model_rows(result: dict, patients: dict) -> tuple[ard.Rows, ard.Rows]:
    """``analysis.mixed_model.mrss_mixed_model``: the linear model (fixed effects by term as group) and, as
    ``mrss_mixed_model_by_timepoint``, the model with time as categories (estimates by timepoint, with the
    patients whose observations they rest on, ``patients``: {timepoint: n}; a patient assessed twice in a
    window gives two observations there, as the model uses every assessment)."""
    linear = ard.Rows("mrss_mixed_model", "marts.adbds")
    _model(linear, result, "mrss_total")
    for effect in result["fixed_effects"]:
        linear.record(effect, EFFECT + ("p_value",), parameter="mrss_total", group=effect["term"],
                      n=result["n_observations"])
    categorical, by_tp = ard.Rows("mrss_mixed_model_by_timepoint", "marts.adbds"), result["by_timepoint"]
    _model(categorical, by_tp, "mrss_total")
    for e in by_tp["estimates"]:
        categorical.record(e, ("n_observations",) + EFFECT, parameter="mrss_total", timepoint=e["timepoint"])
        categorical.add("n_patients", patients.get(e["timepoint"], 0), parameter="mrss_total",
                        timepoint=e["timepoint"])
    return linear, categorical


def mrss_responders_rows(result: list[dict], n_baseline: int) -> ard.Rows:
    """``analysis.responders.mrss_responders``: per timepoint n_paired and the n and pct of each response (of
    n_paired); ``n_baseline`` (patients with an analysed baseline mRSS, the population) as ``n`` and the n and pct
    (of it) of the 'not_evaluable' (a baseline but no analysed mRSS at the timepoint)."""
    rows = ard.Rows("mrss_responders", "marts.adbds")
    for r in result:
        keys = {"parameter": "mrss_total", "timepoint": r["timepoint"]}
        rows.add("n_paired", r["n_paired"], **keys)
        rows.counts({c: r[c] for c in RESPONSE}, r["n_paired"], **keys)
        rows.add("n", n_baseline, **keys)
        rows.counts({"not_evaluable": n_baseline - r["n_paired"]}, n_baseline, **keys)
    return rows


def mrss_responders_results(adbds: pd.DataFrame) -> pd.DataFrame:
    values = analysed_values(adbds, "mrss_total")
    n_baseline = int(values.loc[values["timepoint"] == "baseline", "record_id"].nunique())
    return ard.frame(mrss_responders_rows(mrss_responders(adbds), n_baseline))


def _progression(rows: ard.Rows, counts: dict, timepoint: str, n_ild: int) -> None:
    rows.add("n", counts["n_evaluable"], parameter="ild_progression", timepoint=timepoint)
    rows.counts({c: counts[c] for c in PROGRESSION}, counts["n_evaluable"], parameter="ild_progression",
                timepoint=timepoint)
    rows.counts({"not_evaluable": n_ild - counts["n_evaluable"]}, n_ild, parameter="ild_progression",
                timepoint=timepoint)


def lung_function_rows(result: dict) -> ard.Rows:
    """``analysis.lung_function.lung_function``: FVC and DLCO summaries and changes; ILD progression (parameter
    ild_progression): n (ILD population), evaluable n and categories by timepoint and at 'latest' and the n and
    pct of the ILD population 'not_evaluable' there (no analysed baseline and timepoint FVC), the listing
    (group record_id, timepoint of the patient's latest assessment)."""
    rows = ard.Rows("lung_function", "marts.adsl, marts.adbds")
    for which, parameter in (("fvc", "fvc_pct_pred"), ("dlco", "dlco_pct_pred")):
        summaries(rows, parameter, result[f"{which}_by_timepoint"])
        changes(rows, parameter, result[f"{which}_change_from_baseline"])
    ild = result["ild_progression"]
    rows.add("n", ild["n_ild"], parameter="ild_progression")
    for r in ild["by_timepoint"]:
        _progression(rows, r, r["timepoint"], ild["n_ild"])
    _progression(rows, ild["latest"], "latest", ild["n_ild"])
    for patient in ild["patients"]:
        rows.record(patient, ("study_day", "fvc_decline_pct", "dlco_decline_pct", "category"),
                    parameter="ild_progression", group=patient["record_id"], timepoint=patient["timepoint"])
    return rows


def cohort_flow_rows(result: dict) -> ard.Rows:
    """``analysis.cohort.cohort_flow``: enrolled, infused, deaths, lost_to_follow_up; patients assessed per
    timepoint (n; parameter mrss_total: with an analysed mRSS); median follow-up (parameter OS) and its method."""
    rows = ard.Rows("cohort_flow", "marts.adsl, marts.adbds, marts.adtte, staging.stg_redcap__enrollment")
    rows.record(result, ("enrolled", "infused", "deaths", "lost_to_follow_up"))
    for r in result["assessed_by_timepoint"]:
        rows.add("n", r["n_any"], timepoint=r["timepoint"])
        rows.add("n", r["n_mrss"], parameter="mrss_total", timepoint=r["timepoint"])
    rows.record(result, ("median_follow_up_years", "median_observation_years"), parameter="OS")
    rows.add("method", result["median_follow_up_method"], parameter="OS")
    return rows


# ------------------------------------------------------------------------------------------ from the marts


def overall_survival_results(adsl: pd.DataFrame, adtte: pd.DataFrame) -> pd.DataFrame:
    return ard.frame(overall_survival_rows(overall_survival(adtte)),
                     survival_curve_rows(km_curve(adtte), at_risk_table(adtte, risk_table_years(adtte))),
                     deaths_rows(deaths(adsl, adtte)))


def mixed_model_results(adbds: pd.DataFrame) -> pd.DataFrame:
    data = model_data(adbds)
    patients = data[data["timepoint"].notna()].groupby("timepoint")["record_id"].nunique().to_dict()
    return ard.frame(*mrss_mixed_model_rows(mrss_mixed_model(adbds), {str(k): int(v) for k, v in patients.items()}))


def adverse_events_results(adae: pd.DataFrame, adex: pd.DataFrame, adtte: pd.DataFrame) -> pd.DataFrame:
    return ard.frame(adverse_events_rows(adverse_events(adae, adex, adtte)),
                     adverse_event_listing_rows(serious_or_related(adae)))


def _one(function: Callable, to_rows: Callable[[dict], ard.Rows]) -> Callable[..., pd.DataFrame]:
    def results(*marts: pd.DataFrame) -> pd.DataFrame:
        return ard.frame(to_rows(function(*marts)))
    return results


def cohort_flow_results(adsl: pd.DataFrame, adbds: pd.DataFrame, adtte: pd.DataFrame,
                        enrolled: int | None) -> pd.DataFrame:
    return ard.frame(cohort_flow_rows(cohort_flow(adsl, adbds, adtte, enrolled)))


@dataclass(frozen=True)
class Analysis:
    """One outcome: its ARD rows computed from the marts named, passed in this order.

    ``adbds_instruments``: the REDCap instruments (adbds ``SRCDOM``) whose rows of ``adbds`` the analysis reads;
    empty: every row. The outcome assets read only those rows (at 20,000 patients adbds holds 1.9 million rows,
    which took 3.3 s and about 1.5 GB to read into pandas for each analysis); the results are the same as on the
    whole of adbds (tests/pipeline/test_adbds_instruments.py checks each analysis on the demo).

    ``adbds_columns``: the columns of those rows it reads (empty: all 19); :data:`ANALYSED_SOURCE_COLUMNS` for an
    analysis that reads adbds only through :func:`analysis._common.analysed_values`. Fewer columns read also order
    the rows otherwise (``order by all``): the mixed model, whose sums depend on the row order in the last bit,
    reads them all."""

    name: str
    marts: tuple[str, ...]
    results: Callable[..., pd.DataFrame]
    description: str
    adbds_instruments: tuple[str, ...] = ()
    adbds_columns: tuple[str, ...] = ()


#: the adbds columns of analysis.hrct.hrct_ild (its scans: every HRCT row, analysed or not)
HRCT_COLUMNS = ("USUBJID", "PARAMCD", "SRCDOM", "SRCSEQ", "ADY", "AVAL", "ABLFL")


ANALYSES = (
    Analysis("overall_survival", ("adsl", "adtte"), overall_survival_results,
             "Kaplan–Meier overall survival from day 0, 95% CI by log(−log), S(t) at 1, 3 and 5 years; the curve "
             "and numbers at risk for the figure; the deaths listing."),
    Analysis("mrss", ("adbds",), _one(mrss_outcome, mrss_rows),
             "mRSS by timepoint and change from baseline (paired t-test and Wilcoxon signed-rank).", ("skin_score",),
             ANALYSED_SOURCE_COLUMNS),
    Analysis("hrct_ild", ("adsl", "adbds"), _one(hrct_ild, hrct_ild_rows),
             "HRCT in ILD: category of the latest follow-up scan (recorded, or derived from extent change).",
             ("hrct",), HRCT_COLUMNS),
    Analysis("pah", ("adsl", "adbds", "adtte"), _one(pah, pah_rows),
             f"PAH on echo at 5 years: stable, worsened (PASP rise ≥ {shown(value('pah.pasp_rise'))} mmHg or death "
             f"≤ {shown(value('pah.death_horizon'))} y), not evaluable.", ("echo",), ANALYSED_SOURCE_COLUMNS),
    Analysis("haq_di", ("adbds",), _one(haq_di_outcome, haq_di_rows), "HAQ-DI by timepoint.", ("haq",),
             ANALYSED_SOURCE_COLUMNS),
    Analysis("vascular", ("adbds",), _one(vascular, vascular_rows),
             "Raynaud's Condition Score, active digital ulcers and Medsger peripheral vascular severity.",
             ("vascular",), ANALYSED_SOURCE_COLUMNS),
    Analysis("adverse_events", ("adae", "adex", "adtte"), adverse_events_results,
             "Adverse events by seriousness, relatedness, grade, relation and outcome (events, patients, events "
             "per 100 patient-years); infusion reactions; the listing of serious or related events."),
    Analysis("table1", ("adsl",), _one(table1, table1_rows), "Baseline characteristics (Table 1)."),
    Analysis("mrss_mixed_model", ("adbds",), mixed_model_results,
             "Linear mixed model of mRSS over time (random intercept per patient), every assessment.", ("skin_score",)),
    Analysis("mrss_responders", ("adbds",), mrss_responders_results,
             f"mRSS responders at 1, 3 and 5 years (fall > {shown(value('responders.min_points'))} points and ≥ "
             f"{shown(100 * value('responders.min_fraction'))}%; progression the mirror).", ("skin_score",),
             ANALYSED_SOURCE_COLUMNS),
    Analysis("lung_function", ("adsl", "adbds"), _one(lung_function, lung_function_rows),
             f"FVC and DLCO trajectories and ILD progression (relative FVC decline ≥ "
             f"{shown(value('lung_function.fvc_major'))}%, or ≥ {shown(value('lung_function.fvc_minor'))}% with "
             f"DLCO decline ≥ {shown(value('lung_function.dlco_decline'))}%).", ("pft",),
             ANALYSED_SOURCE_COLUMNS),
)


def analysis_results(marts: Mapping[str, pd.DataFrame], enrolled: int | None = None) -> pd.DataFrame:
    """The whole ARD from the marts (adsl, adbds, adtte, adae, adex): every entry of :data:`ANALYSES`, then the
    cohort flow (``enrolled``: see ``analysis.cohort.enrolled_patients``; None if unknown)."""
    parts = [a.results(*(marts[m] for m in a.marts)) for a in ANALYSES]
    parts.append(cohort_flow_results(marts["adsl"], marts["adbds"], marts["adtte"], enrolled))
    return ard.concat(parts)
