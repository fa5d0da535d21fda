"""The study report: one self-contained HTML page for clinicians (figures inline SVG, CSS inline, no script,
no network address of any kind). It renders; it computes no statistic.

``render_study_report(results, adbds, quality, provenance) -> str``

- ``results``: the analysis results dataset (``analysis.ard``; the DataFrame ``analysis.results`` builds). Every
  figure printed, and the survival curve, comes from it; an analysis missing from it shows as "not available in
  this export".
- ``adbds``: the mart (columns as in docs/architecture.md), read only for the patients' own lines in the
  trajectory figures; None or empty: the figures show the means alone.
- ``quality``: {findings: DataFrame | list[dict], reconciliation: DataFrame | list[dict]}, both optional.
- ``provenance``: {drop_id, records_file, records_sha256, run_id, code_version, generated_at, ...}. The page shows
  exactly what it is given (no clock is read: same input, same bytes).

Numbers are printed by ``analysis.formatting`` (the one rounding rule: counts whole, percentages 1 decimal,
p-values 3 decimals or "<0.001", everything else 2 decimals, ties half up).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from analysis import formatting as num
from analysis._common import analysed_values
from analysis.ard import Results
from analysis.table1 import shown as table1_value
from report import figures
from report import formatting as fmt
from report._common import (ACTION_WORDS, DATA_DOCS_LINK, STEWARD_LINK, environment, provenance_get, provenance_items,
                            reconciliation_block, records, table)

GRADE = {"1": "1 – Mild", "2": "2 – Moderate", "3": "3 – Severe", "4": "4 – Life-threatening",
         "5": "5 – Death"}
RELATION = {"1": "Not related", "2": "Unlikely", "3": "Possible", "4": "Probable", "5": "Definite"}
AE_OUTCOME = {"1": "Recovered", "2": "Recovering", "3": "Not recovered", "4": "Recovered with sequelae",
              "5": "Fatal", "6": "Unknown"}
SERIOUSNESS = {"serious": "Serious", "not_serious": "Not serious"}
MEDSGER = {"0": "0 – No Raynaud's", "1": "1 – Raynaud's requiring vasodilators", "2": "2 – Digital pitting scars",
           "3": "3 – Digital tip ulcerations", "4": "4 – Digital gangrene"}
NOT_RECORDED = "not_recorded"
TERM_LABELS = {"intercept": "Intercept (mean mRSS at day 0)", "time_years": "Change per year"}
LISTING_MAX = 100


# ------------------------------------------------------------------------------------------ small helpers


def _figure(svg: str | None, caption: str) -> dict:
    if not svg:
        return {"kind": "na", "text": f"{caption}: figure not available in this export."}
    return {"kind": "figure", "svg": Markup(svg), "caption": caption}


def _na(what: str) -> dict:
    return {"kind": "na", "text": f"{what}: not available in this export."}


def _text(text: str) -> dict:
    return {"kind": "text", "text": text}


def _n_pct(r: Results, analysis: str, **keys) -> str:
    """'18 (72.0%)' of one category row (statistics n and pct)."""
    return num.n_pct(r.get(analysis, "n", **keys), r.get(analysis, "pct", **keys))


def summary_rows(r: Results, analysis: str, parameter: str) -> list[dict]:
    """[{timepoint, n, mean, sd, median}] of one parameter, window order."""
    return [{"timepoint": tp, **{s: r.get(analysis, s, parameter=parameter, timepoint=tp)
                                 for s in ("n", "mean", "sd", "median")}}
            for tp in fmt.sort_timepoints(r.timepoints(analysis, "mean", parameter=parameter))]


def _summary_table(r: Results, analysis: str, parameter: str, caption: str) -> dict:
    rows = summary_rows(r, analysis, parameter)
    if not rows:
        return _na(caption)
    return table(["Timepoint", "n", "Mean (SD)", "Median"],
                 [[fmt.timepoint_label(x["timepoint"]), num.count(x["n"]), num.mean_sd(x["mean"], x["sd"]),
                   num.fixed(x["median"])] for x in rows], caption=caption)


def _change_table(r: Results, analysis: str, parameter: str, caption: str) -> dict:
    tps = fmt.sort_timepoints(r.timepoints(analysis, "mean_change", parameter=parameter))
    if not tps:
        return _na(caption)

    def cell(statistic: str, tp: str) -> Any:
        return r.get(analysis, statistic, parameter=parameter, timepoint=tp)

    return table(["Timepoint", "n paired", "Mean change (SD)", "Paired t-test p", "Wilcoxon p"],
                 [[fmt.timepoint_label(tp), num.count(cell("n_paired", tp)),
                   num.mean_sd(cell("mean_change", tp), cell("sd_change", tp)), num.p_value(cell("t_test_p", tp)),
                   num.p_value(cell("wilcoxon_p", tp))] for tp in tps], caption=caption)


def _trajectory(r: Results, adbds: pd.DataFrame | None, analysis: str, parameter: str, *, name: str, ylabel: str,
                title: str, caption: str) -> dict:
    values = analysed_values(adbds, parameter) if adbds is not None and not adbds.empty else None
    return _figure(figures.trajectory_figure(values, summary_rows(r, analysis, parameter), name=name, ylabel=ylabel,
                                             title=title), caption)


def survival_figure(r: Results) -> str | None:
    """The Kaplan–Meier figure from the ARD's overall_survival_curve rows, the 5-year estimate marked."""
    a = "overall_survival_curve"
    steps = pd.DataFrame([r.record(a, ("time_years", "survival", "ci_lower", "ci_upper", "n_censored"),
                                   parameter="OS", group=g)
                          for g in r.groups(a, "time_years", parameter="OS")])
    at_risk = [(int(float(tp.removeprefix("year_"))), r.value(a, "at_risk", parameter="OS", timepoint=tp))
               for tp in r.timepoints(a, "at_risk", parameter="OS") if tp is not None]
    five = r.get("overall_survival", "survival", parameter="OS", timepoint="year_5")
    return figures.km_figure(steps, at_risk, mark=None if five is None else (5.0, five))


# --------------------------------------------------------------------------------------------- headline


def _headline(r: Results) -> list[dict]:
    items = []
    a = "overall_survival"
    five = r.get(a, "survival", parameter="OS", timepoint="year_5")
    if five is not None:
        ci = num.pct_interval(r.get(a, "ci_lower", parameter="OS", timepoint="year_5"),
                              r.get(a, "ci_upper", parameter="OS", timepoint="year_5"))
        items.append({"label": "5-year overall survival", "value": num.pct(five),
                      "detail": f"95% CI {ci}; {num.count(r.get(a, 'deaths', parameter='OS'))} deaths among "
                                f"{num.count(r.get(a, 'n', parameter='OS'))} patients"})
    else:
        items.append({"label": "5-year overall survival", "value": None, "detail": ""})

    label = "mRSS, baseline → 5 years"
    base, end = ({s: r.get("mrss", s, parameter="mrss_total", timepoint=tp) for s in ("n", "mean", "sd")}
                 for tp in ("baseline", "month_60"))
    if base["mean"] is not None and end["mean"] is not None:
        detail = f"mean (SD); n = {num.count(base['n'])} → {num.count(end['n'])}"
        p = r.get("mrss", "t_test_p", parameter="mrss_total", timepoint="month_60")
        if p is not None:
            detail += f"; paired t-test p = {num.p_value(p)}".replace("= <", "< ")
        items.append({"label": label, "value": f"{num.mean_sd(base['mean'], base['sd'])} → "
                                               f"{num.mean_sd(end['mean'], end['sd'])}", "detail": detail})
    else:
        items.append({"label": label, "value": None, "detail": ""})

    a, p = "hrct_ild", "hrct_change"
    share = r.get(a, "pct", parameter=p, group="improved_or_stable")
    if share is not None:
        k, n = (r.get(a, "n", parameter=p, group=g) for g in ("improved_or_stable", "evaluable"))
        items.append({"label": "HRCT improved or stable (ILD)",
                      "value": f"{num.pct_value(share)} ({num.fraction(k, n)})",
                      "detail": f"of evaluable patients; {num.count(r.get(a, 'n', parameter=p))} with ILD at baseline"})
    else:
        items.append({"label": "HRCT improved or stable (ILD)", "value": None, "detail": ""})

    a, p = "pah", "echo_pasp_mmhg"
    stable, evaluable = (r.get(a, "n", parameter=p, group=g) for g in ("stable", "evaluable"))
    if stable is not None and evaluable is not None:  # of the evaluable; the not evaluable are listed apart
        items.append({"label": "PAH stable at 5 years", "value": num.fraction(stable, evaluable),
                      "detail": f"of evaluable patients; worsened "
                                f"{num.count(r.get(a, 'n', parameter=p, group='worsened'))}; not evaluable "
                                f"{num.count(r.get(a, 'n', parameter=p, group='not_evaluable'))} of "
                                f"{num.count(r.get(a, 'n', parameter=p))} with PAH at baseline"})
    else:
        items.append({"label": "PAH stable at 5 years", "value": None, "detail": ""})

    a = "adverse_events"
    related = r.get(a, "n_events", parameter="AREL", group="related")
    if related is not None:
        items.append({"label": "UC-MSC-related adverse events", "value": num.count(related),
                      "detail": f"of {num.count(r.get(a, 'n_events'))} adverse events in "
                                f"{num.count(r.get(a, 'n_patients'))} patients; "
                                f"{num.count(r.get(a, 'n_events', parameter='AESER', group='serious'))} serious"})
    else:
        items.append({"label": "UC-MSC-related adverse events", "value": None, "detail": ""})
    return items


# -------------------------------------------------------------------------------------------- sections


def _cohort_flow(r: Results) -> dict:
    a = "cohort_flow"
    if not r.has(a):
        return {"id": "cohort", "title": "Cohort flow", "blocks": [_na("Cohort flow")]}
    boxes = [("Enrolled", r.get(a, "enrolled")), ("Infused (analysed)", r.get(a, "infused")),
             ("Deaths", r.get(a, "deaths")), ("Lost to follow-up", r.get(a, "lost_to_follow_up"))]
    blocks: list[dict] = [{"kind": "flow", "boxes": [(label, num.count(v)) for label, v in boxes]}]
    tps = fmt.sort_timepoints(r.timepoints(a, "n", parameter=None))
    if tps:
        blocks.append(table(["Timepoint", "Patients assessed (any instrument)", "Patients with an analysed mRSS"],
                            [[fmt.timepoint_label(tp), num.count(r.get(a, "n", timepoint=tp)),
                              num.count(r.get(a, "n", parameter="mrss_total", timepoint=tp))] for tp in tps],
                            caption="Patients assessed in each analysis window"))
    follow_up = r.get(a, "median_follow_up_years", parameter="OS")
    observation = r.get(a, "median_observation_years", parameter="OS")
    parts = []
    if follow_up is not None:
        parts.append(f"median follow-up {num.fixed(follow_up)} years "
                     f"({r.get(a, 'method', parameter='OS') or 'reverse Kaplan–Meier'})")
    if observation is not None:
        parts.append(f"median observation time {num.fixed(observation)} years")
    if parts:
        blocks.append(_text("Follow-up: " + "; ".join(parts) + "."))
    return {"id": "cohort", "title": "Cohort flow", "blocks": blocks}


def _table1(r: Results) -> dict:
    a, title = "table1", "Table 1. Baseline characteristics"
    lines = r.rows(a, "label")
    if not lines:
        return {"id": "table1", "title": title, "blocks": [_na("Baseline characteristics")]}
    rows = []
    for line in lines:
        keys = {"parameter": line["parameter"], "group": line["group"]}
        raw = {x["statistic"]: r.value(a, x["statistic"], **keys) for x in r.rows(a, **keys)}
        rows.append([line["value_text"], table1_value(keys["parameter"], raw), num.count(line["n"])])
    return {"id": "table1", "title": title,
            "blocks": [table(["Characteristic", "Value", "n"], rows, caption="Baseline characteristics",
                             note="n = patients with the item recorded; percentages of those.")]}


def _left_out_of_survival(r: Results) -> str | None:
    """One sentence naming the patients left out of the survival analysis, or None.

    "1 patient recorded as dead was left out: SSC-0041, death date before day 0 — see the steward worklist." """
    n = r.get("overall_survival", "n_excluded", parameter="OS")
    if not n:
        return None
    excluded = [(g, r.get("overall_survival", "reason", parameter="OS", group=g))
                for g in r.groups("overall_survival", "reason", parameter="OS")]
    recorded_dead = set(r.groups("deaths", "placed"))
    dead = bool(excluded) and all(g in recorded_dead for g, _ in excluded)
    who = f"{n} patient{'s' if n != 1 else ''}{' recorded as dead' if dead else ''} {'was' if n == 1 else 'were'}"
    names = "; ".join(f"{g}, {reason or 'reason not given'}" for g, reason in excluded)
    return f"{who} left out" + (f": {names}" if names else "") + " — see the steward worklist."


def _survival(r: Results) -> dict:
    a = "overall_survival"
    blocks = [_figure(survival_figure(r),
                      "Figure 1. Overall survival (Kaplan–Meier) with 95% confidence band (log(−log)); "
                      "ticks mark censored patients; numbers at risk below the axis")]
    tps = r.timepoints(a, "survival", parameter="OS")
    if tps:
        median = r.get(a, "median_years", parameter="OS")
        blocks.append(table(["Year", "Overall survival", "95% CI", "At risk"],
                            [[tp.removeprefix("year_"), num.pct(r.get(a, "survival", parameter="OS", timepoint=tp)),
                              num.pct_interval(r.get(a, "ci_lower", parameter="OS", timepoint=tp),
                                               r.get(a, "ci_upper", parameter="OS", timepoint=tp)),
                              num.count(r.get(a, "at_risk", parameter="OS", timepoint=tp))] for tp in tps],
                            caption="Kaplan–Meier estimates",
                            note=f"n = {num.count(r.get(a, 'n', parameter='OS'))}; "
                                 f"deaths = {num.count(r.get(a, 'deaths', parameter='OS'))}; median survival = "
                                 + ("not reached" if median is None else f"{num.fixed(median)} years")))
    else:
        blocks.append(_na("Survival estimates"))
    left_out = _left_out_of_survival(r)
    if left_out:
        blocks.append(_text(left_out))
    placed = [g for g in r.groups("deaths", "placed") if r.get("deaths", "placed", group=g)]
    if placed:
        def yes_no(flag: bool | None) -> str:
            return num.MISSING if flag is None else ("Yes" if flag else "No")

        blocks.append(table(["Record", "Years from first infusion", "Cause", "Treatment-related"],
                            [[g, num.fixed(r.get("deaths", "time_years", group=g)),
                              r.get("deaths", "cause", group=g) or num.MISSING,
                              yes_no(r.get("deaths", "treatment_related", group=g))] for g in placed],
                            caption="Deaths", numeric_from=1))
    return {"id": "survival", "title": "Overall survival", "blocks": blocks}


def _mrss(r: Results, adbds: pd.DataFrame | None) -> dict:
    blocks = [_trajectory(r, adbds, "mrss", "mrss_total", name="mrss-trajectories", ylabel="mRSS (0–51)",
                          title="Modified Rodnan skin score by timepoint",
                          caption="Figure 2. Modified Rodnan skin score: individual patients (grey) and mean ± SD"),
              _summary_table(r, "mrss", "mrss_total", "mRSS by timepoint"),
              _change_table(r, "mrss", "mrss_total", "Change in mRSS from baseline (patients with both assessments)")]
    return {"id": "mrss", "title": "Skin: modified Rodnan skin score (mRSS)", "blocks": blocks}


def _hrct(r: Results) -> dict:
    a, p = "hrct_ild", "hrct_change"
    title = "Lung: HRCT in patients with ILD"
    if not r.has(a):
        return {"id": "hrct", "title": title, "blocks": [_na("HRCT in ILD")]}
    rows = [["Patients with ILD at baseline", num.count(r.get(a, "n", parameter=p))],
            ["Evaluable (HRCT after day 0)", _n_pct(r, a, parameter=p, group="evaluable")],
            ["Improved", _n_pct(r, a, parameter=p, group="improved")],
            ["Stable", _n_pct(r, a, parameter=p, group="stable")],
            ["Worsened", _n_pct(r, a, parameter=p, group="worsened")],
            ["Improved or stable, % of evaluable",
             num.pct_value(r.get(a, "pct", parameter=p, group="improved_or_stable"))]]
    return {"id": "hrct", "title": title,
            "blocks": [table(["", "n (%)"], rows, caption="Latest HRCT compared with the baseline scan",
                             note="Category of the latest scan (recorded change, else ±5 points of extent).")]}


def _pah(r: Results) -> dict:
    a, p = "pah", "echo_pasp_mmhg"
    title = "Pulmonary arterial hypertension (echocardiography)"
    if not r.has(a):
        return {"id": "pah", "title": title, "blocks": [_na("PAH")]}
    rows = [["Patients with PAH at baseline", num.count(r.get(a, "n", parameter=p))],
            ["Evaluable at 5 years (stable or worsened)", _n_pct(r, a, parameter=p, group="evaluable")],
            ["Stable at 5 years", _n_pct(r, a, parameter=p, group="stable")],
            ["Worsened (or died) by 5 years", _n_pct(r, a, parameter=p, group="worsened")],
            ["Not evaluable", _n_pct(r, a, parameter=p, group="not_evaluable")]]
    return {"id": "pah", "title": title,
            "blocks": [table(["", "n (%)"], rows, caption="PAH on echocardiography",
                             note="Stable: PASP rose by less than 10 mmHg from baseline to month 60; "
                                  "death within 5 years counts as worsened.")]}


def _haq(r: Results, adbds: pd.DataFrame | None) -> dict:
    blocks = [_trajectory(r, adbds, "haq_di", "haq_di", name="haq-di", ylabel="HAQ-DI (0–3)",
                          title="HAQ disability index by timepoint",
                          caption="Figure 3. HAQ disability index: individual patients (grey) and mean ± SD"),
              _summary_table(r, "haq_di", "haq_di", "HAQ-DI by timepoint")]
    return {"id": "haq", "title": "Function: HAQ disability index", "blocks": blocks}


def _vascular(r: Results, adbds: pd.DataFrame | None) -> dict:
    a = "vascular"
    blocks = [_trajectory(r, adbds, a, "rcs", name="rcs", ylabel="RCS (0–10)",
                          title="Raynaud's condition score by timepoint",
                          caption="Figure 4. Raynaud's condition score: individual patients (grey) and mean ± SD"),
              _summary_table(r, a, "rcs", "Raynaud's condition score by timepoint")]
    du = "du_active_count"
    ulcers = [{"timepoint": tp, "denominator": r.get(a, "n", parameter=du, timepoint=tp),
               "count": r.get(a, "n", parameter=du, timepoint=tp, group="active"),
               "pct": r.get(a, "pct", parameter=du, timepoint=tp, group="active")}
              for tp in fmt.sort_timepoints(r.timepoints(a, "n", parameter=du, group=None))]
    blocks.append(_figure(figures.bar_by_timepoint(ulcers, name="digital-ulcers",
                                                   ylabel="Patients with active ulcers (%)",
                                                   title="Patients with active digital ulcers by timepoint"),
                          "Figure 5. Patients with active digital ulcers"))
    if ulcers:
        blocks.append(table(["Timepoint", "Patients assessed", "With active digital ulcers"],
                            [[fmt.timepoint_label(u["timepoint"]), num.count(u["denominator"]),
                              num.n_pct(u["count"], u["pct"])] for u in ulcers],
                            caption="Digital ulcers by timepoint"))
    else:
        blocks.append(_na("Digital ulcers by timepoint"))
    med = "medsger_pv"
    tps = fmt.sort_timepoints(r.timepoints(a, "n", parameter=med, group=None))
    if tps:
        grades = r.groups(a, "n", parameter=med)
        blocks.append(table(["Timepoint", "n"] + [MEDSGER.get(g, g) for g in grades],
                            [[fmt.timepoint_label(tp), num.count(r.get(a, "n", parameter=med, timepoint=tp))]
                             + [_n_pct(r, a, parameter=med, timepoint=tp, group=g) for g in grades] for tp in tps],
                            caption="Medsger peripheral vascular severity by timepoint", css="wide"))
    else:
        blocks.append(_na("Medsger peripheral vascular severity"))
    return {"id": "vascular", "title": "Vascular: Raynaud's, digital ulcers, Medsger severity", "blocks": blocks}


def _events_table(r: Results, parameter: str, labels: dict, first: str, caption: str) -> dict:
    """Events, patients and rate per category of one adverse event table; 'Not recorded' only when there are."""
    a = "adverse_events"
    groups = [g for g in r.groups(a, "n_events", parameter=parameter)
              if g != NOT_RECORDED or r.get(a, "n_events", parameter=parameter, group=g)]
    if not groups:
        return _na(caption)
    return table([first, "Events", "Patients", "Events per 100 patient-years"],
                 [[labels.get(g, "Not recorded" if g == NOT_RECORDED else g),
                   num.count(r.get(a, "n_events", parameter=parameter, group=g)),
                   num.count(r.get(a, "n_patients", parameter=parameter, group=g)),
                   num.fixed(r.get(a, "rate_per_100py", parameter=parameter, group=g))] for g in groups],
                 caption=caption)


def _ae_listing(r: Results) -> list[dict]:
    a = "adverse_event_listing"
    lines = r.groups(a, "record_id")
    if not lines:
        return []

    def code(g: str, statistic: str, labels: dict) -> str:
        value = r.get(a, statistic, group=g)
        return num.MISSING if value is None else labels.get(str(value), str(value))

    serious = {True: "Yes", False: "No", None: num.MISSING}
    rows = [[r.get(a, "record_id", group=g), r.get(a, "term", group=g) or num.MISSING,
             num.count(r.get(a, "onset_study_day", group=g)), code(g, "ae_grade", GRADE),
             serious[r.get(a, "serious", group=g)], code(g, "ae_relation", RELATION),
             code(g, "ae_outcome", AE_OUTCOME)] for g in lines[:LISTING_MAX]]
    return [table(["Record", "Event", "Onset (study day)", "Grade", "Serious", "Relation", "Outcome"], rows,
                  caption="Listing of serious or UC-MSC-related adverse events", numeric_from=99,
                  note=f"First {LISTING_MAX} of {len(lines)} shown." if len(lines) > LISTING_MAX else None)]


def _adverse_events(r: Results) -> dict:
    a = "adverse_events"
    title = "Safety: adverse events and infusion reactions"
    if not r.has(a):
        return {"id": "safety", "title": title, "blocks": [_na("Adverse events")]}
    years = r.get(a, "patient_years")

    def line(label: str, parameter: str | None = None, group: str | None = None, patients: bool = False) -> list:
        statistic = "n_patients" if patients else "n_events"
        return [label, num.count(r.get(a, statistic, parameter=parameter, group=group)),
                num.MISSING if patients else num.fixed(r.get(a, "rate_per_100py", parameter=parameter, group=group))]

    blocks = [table(["", "n", "per 100 patient-years"],
                    [line("Adverse events"), line("Patients with at least one adverse event", patients=True),
                     line("Serious adverse events", "AESER", "serious"),
                     line("UC-MSC-related (possible, probable, definite)", "AREL", "related"),
                     line("Patients with a UC-MSC-related adverse event", "AREL", "related", patients=True)],
                    caption="Adverse events: summary",
                    note=f"Follow-up: {num.fixed(years)} patient-years (sum of survival follow-up)." if years
                    else "Follow-up time not available: rates not computed."),
              _events_table(r, "AETOXGR", GRADE, "CTCAE grade", "Adverse events by CTCAE grade"),
              _events_table(r, "AERELN", RELATION, "Relation",
                            "Adverse events by relation to UC-MSC transplantation"),
              _events_table(r, "AESER", SERIOUSNESS, "Seriousness", "Adverse events by seriousness"),
              _events_table(r, "AEOUTN", AE_OUTCOME, "Outcome", "Adverse events by outcome")]
    blocks += _ae_listing(r)
    p = "infusion_reaction"
    if r.get(a, "n_infusions", parameter=p):
        blocks.append(table(["", "n"],
                            [["Infusions given", num.count(r.get(a, "n_infusions", parameter=p))],
                             ["Infusions with an infusion reaction",
                              num.n_pct(r.get(a, "n_infusions", parameter=p, group="reaction"),
                                        r.get(a, "pct_infusions", parameter=p, group="reaction"))],
                             ["Patients with an infusion reaction",
                              num.n_pct(r.get(a, "n_patients", parameter=p, group="reaction"),
                                        r.get(a, "pct_patients", parameter=p, group="reaction"))]],
                            caption="Infusion reactions"))
    else:
        blocks.append(_na("Infusion reactions"))
    return {"id": "safety", "title": title, "blocks": blocks}


def _mixed_model(r: Results) -> list[dict]:
    a, c, p = "mrss_mixed_model", "mrss_mixed_model_by_timepoint", "mrss_total"
    if not r.has(a):
        return [_na("Mixed model of mRSS")]
    blocks: list[dict] = []
    terms = r.groups(a, "estimate", parameter=p)
    if terms:
        note = (f"{num.count(r.get(a, 'n_observations', parameter=p))} observations from "
                f"{num.count(r.get(a, 'n_patients', parameter=p))} patients; random intercept per patient (REML).")
        blocks.append(table(["Term", "Estimate", "SE", "95% CI", "p"],
                            [[TERM_LABELS.get(g, g), num.fixed(r.get(a, "estimate", parameter=p, group=g)),
                              num.fixed(r.get(a, "std_error", parameter=p, group=g)),
                              num.interval(r.get(a, "ci_lower", parameter=p, group=g),
                                           r.get(a, "ci_upper", parameter=p, group=g)),
                              num.p_value(r.get(a, "p_value", parameter=p, group=g))] for g in terms],
                            caption="Linear mixed model of mRSS on years since first infusion: fixed effects",
                            note=note))
    else:
        blocks.append(_na("Mixed-model fixed effects"))
    warnings = [r.get(a, "warning", parameter=p, group=g) for g in r.groups(a, "warning", parameter=p)]
    details = [["Random intercept variance", num.fixed(r.get(a, "random_intercept_variance", parameter=p))],
               ["Residual variance", num.fixed(r.get(a, "residual_variance", parameter=p))],
               ["Converged", "Yes" if r.get(a, "converged", parameter=p) else "No"]]
    if warnings:
        details.append(["Warnings", "; ".join(warnings)])
    blocks.append(table(["", ""], details, caption="Model details"))
    tps = fmt.sort_timepoints(r.timepoints(c, "estimate", parameter=p))
    if tps:
        blocks.append(table(["Timepoint", "Observations", "Model-estimated mean", "SE", "95% CI"],
                            [[fmt.timepoint_label(tp), num.count(r.get(c, "n_observations", parameter=p, timepoint=tp)),
                              num.fixed(r.get(c, "estimate", parameter=p, timepoint=tp)),
                              num.fixed(r.get(c, "std_error", parameter=p, timepoint=tp)),
                              num.interval(r.get(c, "ci_lower", parameter=p, timepoint=tp),
                                           r.get(c, "ci_upper", parameter=p, timepoint=tp))] for tp in tps],
                            caption="Mixed model with time as categories: estimated mean mRSS by timepoint"))
    return blocks


def _responders(r: Results) -> list[dict]:
    a, p = "mrss_responders", "mrss_total"
    tps = fmt.sort_timepoints(r.timepoints(a, "n_paired", parameter=p))
    if not tps:
        return [_na("mRSS responders")]
    return [table(["Timepoint", "n paired", "Improved", "Stable", "Progressed"],
                  [[fmt.timepoint_label(tp), num.count(r.get(a, "n_paired", parameter=p, timepoint=tp))]
                   + [_n_pct(r, a, parameter=p, timepoint=tp, group=g) for g in ("improved", "stable", "progressed")]
                   for tp in tps], caption="mRSS responders compared with baseline")]


def _ild_progression(r: Results) -> list[dict]:
    a, p = "lung_function", "ild_progression"
    caption = "ILD progression (relative FVC decline ≥ 10%, or 5–<10% with DLCO decline ≥ 15%, from baseline)"
    tps = [tp for tp in fmt.sort_timepoints(r.timepoints(a, "n", parameter=p, group=None)) if tp != "latest"]
    if r.get(a, "n", parameter=p, timepoint="latest") is not None:
        tps.append("latest")
    if not tps:
        return [_na("ILD progression")]
    rows = [["Latest assessment" if tp == "latest" else fmt.timepoint_label(tp),
             num.count(r.get(a, "n", parameter=p, timepoint=tp))]
            + [_n_pct(r, a, parameter=p, timepoint=tp, group=g) for g in ("progression", "no_progression",
                                                                          "indeterminate")] for tp in tps]
    return [table(["Timepoint", "Evaluable", "Progression", "No progression", "Indeterminate"], rows,
                  caption=caption,
                  note=f"Population: {num.count(r.get(a, 'n', parameter=p))} patients with ILD at baseline.")]


def _lung_function(r: Results, adbds: pd.DataFrame | None) -> list[dict]:
    blocks: list[dict] = []
    for parameter, label, long, number in (("fvc_pct_pred", "FVC", "Forced vital capacity", 6),
                                           ("dlco_pct_pred", "DLCO", "Diffusing capacity (DLCO)", 7)):
        blocks.append(_trajectory(r, adbds, "lung_function", parameter, name=label.lower(),
                                  ylabel=f"{label} (% predicted)", title=f"{long} by timepoint",
                                  caption=f"Figure {number}. {long}, % predicted: individual patients (grey) and "
                                          "mean ± SD"))
        blocks.append(_summary_table(r, "lung_function", parameter, f"{label}, % predicted, by timepoint"))
        blocks.append(_change_table(r, "lung_function", parameter,
                                    f"Change in {label} (% predicted points) from baseline"))
    return blocks + _ild_progression(r)


def _beyond(r: Results, adbds: pd.DataFrame | None) -> list[dict]:
    return [{"id": "mixed-model", "title": "mRSS over time: linear mixed model", "blocks": _mixed_model(r)},
            {"id": "responders", "title": "mRSS responders", "blocks": _responders(r)},
            {"id": "lung-function", "title": "Lung function (FVC, DLCO) and ILD progression",
             "blocks": _lung_function(r, adbds)}]


def _quality(quality: dict | None) -> dict:
    """Findings by category and severity and by action, and the reconciliation (counts of quality.findings)."""
    quality = quality or {}
    findings = quality.get("findings")
    frame = findings if isinstance(findings, pd.DataFrame) else pd.DataFrame(records(findings))
    recon_block, totals = reconciliation_block(quality.get("reconciliation"))
    blocks: list[dict] = []
    n_findings = errors = warnings = None
    if findings is not None:
        n_findings = len(frame)
        severity = frame["severity"] if "severity" in frame else pd.Series(dtype=object)
        errors, warnings = int((severity == "error").sum()), int((severity == "warning").sum())
        if n_findings and {"severity", "category"} <= set(frame.columns):
            category = frame["category"].fillna("unspecified")
            rows = [[fmt.humanize(cat)] + [str(int(((category == cat) & (severity == s)).sum()))
                                           for s in ("error", "warning")] + [str(int((category == cat).sum()))]
                    for cat in sorted(category.unique())]
            rows.append(["All categories", str(errors), str(warnings), str(n_findings)])
            blocks.append(table(["Category", "Errors", "Warnings", "All"], rows,
                                caption="Findings by category and severity"))
        if n_findings and "action" in frame.columns:
            actions = frame["action"].fillna("unspecified").value_counts()
            blocks.append(table(["What the pipeline did", "Findings"],
                                [[ACTION_WORDS.get(k, k), str(int(v))] for k, v in sorted(actions.items())],
                                caption="Findings by action"))
    if recon_block is not None:
        blocks.append(recon_block)
    if n_findings is None and recon_block is None:
        blocks.append(_na("Data-quality summary"))
    return {"id": "quality", "title": "Data quality", "blocks": blocks,
            "summary": {"n_findings": n_findings, "errors": errors, "warnings": warnings,
                        "quarantined": totals["quarantined"], "balanced": totals["balanced"]}}


# ------------------------------------------------------------------------------------------------ render


def build_context(results: pd.DataFrame | None, adbds: pd.DataFrame | None, quality: dict | None,
                  provenance: dict | None) -> dict:
    r = Results(results)
    prov = dict(provenance or {})
    sections = [_cohort_flow(r), _table1(r), _survival(r), _mrss(r, adbds), _hrct(r), _pah(r), _haq(r, adbds),
                _vascular(r, adbds), _adverse_events(r)]
    return {
        "title": "UC-MSC transplantation in systemic sclerosis: follow-up outcomes",
        "headline": _headline(r),
        "sections": sections,
        "beyond": _beyond(r, adbds),
        "quality": _quality(quality),
        "provenance": provenance_items(prov),
        "prov": {k: provenance_get(prov, k) for k in ("drop_id", "records_file", "run_id", "code_version",
                                                       "generated_at", "records_sha256")},
        "demo_key": bool(prov.get("pseudonym_key_is_demo")),
        "steward_link": STEWARD_LINK,
        "data_docs_link": DATA_DOCS_LINK,
    }


def render_study_report(results: pd.DataFrame | None, adbds: pd.DataFrame | None, quality: dict | None,
                        provenance: dict | None) -> str:
    """The study report as one self-contained HTML string (see the module docstring for the inputs)."""
    context = build_context(results, adbds, quality, provenance)
    return environment().get_template("study_report.html.j2").render(**context)
