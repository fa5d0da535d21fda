"""The study report: one self-contained HTML page for clinicians (figures inline SVG, CSS inline, no script,
no network address of any kind). It renders; it computes no statistic.

``render_study_report(results, adbds, quality, provenance, verdict=None, changes=None) -> str``

- ``results``: the analysis results dataset (``analysis.ard``; the DataFrame ``analysis.results`` builds). Every
  figure printed, and the survival curve, comes from it; an analysis missing from it shows as "not available in
  this export".
- ``adbds``: the mart (columns as in docs/architecture.md), read only for the patients' own lines in the
  trajectory figures (the analysed rows of :data:`TRAJECTORY_PARAMETERS`); None or empty: the figures show the
  means alone.
- ``quality``: {findings: DataFrame | list[dict], reconciliation: DataFrame | list[dict]}, both optional.
- ``provenance``: {drop_id, records_file, records_sha256, run_id, code_version, generated_at, ...}. The page shows
  exactly what it is given (no clock is read: same input, same bytes).
- ``changes`` (optional): :class:`analysis.history.Changes`, what changed since the previous published drop
  (patients, deaths and assessments added, the headline figures then and now); shown as the section "Since the
  previous drop" (on the first drop, saying there is none); None: no such section.

Numbers are printed by ``analysis.formatting``, the one rounding rule (``analysis.formatting.rule()`` says it on the
page). Every proportion shows its denominator ("7/25 (28.0%)": of the evaluable), the not evaluable listed apart
with the population; every derived category is defined under its table with the numbers of the study's settings
(``analysis.settings``, listed whole in the Methods section).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from analysis import formatting as num
from analysis._common import analysed_values
from analysis.ard import Results
from analysis.history import Change, Changes
from analysis.settings import documented
from analysis.settings import shown as setting_text
from analysis.settings import value as setting
from analysis.table1 import shown as table1_value
from report import figures
from report import formatting as fmt
from report._common import (ACTION_WORDS, DATA_DOCS_LINK, STEWARD_LINK, css_string, environment, provenance_items,
                            reconciliation_block, records, table)
from report.worklist import instrument_label
from study.windows import load_windows
from report.status import drop_meta, status_html

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
#: the adbds parameters (PARAMCD) of the trajectory figures: the only rows of adbds the report reads
TRAJECTORY_PARAMETERS = ("mrss_total", "haq_di", "rcs", "fvc_pct_pred", "dlco_pct_pred")
#: provenance fields of the header line and of the footer of every printed page (labels: report._common)
HEADER_FIELDS = ("drop_id", "export_datetime", "run_id", "code_version", "generated_at")
FOOTER_FIELDS = ("drop_id", "run_id", "code_version")


def _setting(name: str) -> str:
    """A study setting as printed (analysis.settings: 5.0 → '5')."""
    return setting_text(setting(name))


def definition(category: str) -> str:
    """The one-line definition printed under the table of a derived category ('responders', 'hrct', 'pah',
    'ild_progression'), its numbers read from the study's settings (analysis.settings), never re-typed."""
    if category == "responders":
        share = setting_text(100 * setting("responders.min_fraction"))
        return (f"Improved: mRSS fell by more than {_setting('responders.min_points')} points and by at least "
                f"{share}% of the baseline mRSS; progressed: rose by as much; otherwise stable. Evaluable: an "
                "analysed mRSS at baseline and at the timepoint.")
    if category == "hrct":
        change = _setting("hrct.extent_change")
        return (f"Category of the latest HRCT on study days {_setting('hrct.first_day')}–"
                f"{_setting('hrct.last_day')}: the change recorded on the HRCT form (improved, stable, worsened), "
                f"else from the extent of ILD against the baseline scan: +{change} points or more worsened, "
                f"−{change} or less improved, otherwise stable. Evaluable: at least one HRCT on those days.")
    if category == "pah":
        rise = _setting("pah.pasp_rise")
        return (f"Worsened: died within {_setting('pah.death_horizon')} years of day 0, or PASP rose by {rise} "
                f"mmHg or more from the baseline echo to the {fmt.timepoint_label(setting('pah.final_timepoint'))} "
                f"echo; stable: PASP rose by less than {rise} mmHg (or fell). Not evaluable: alive without both "
                "echoes, or a death that cannot be placed in time.")
    if category == "ild_progression":
        major, minor = _setting("lung_function.fvc_major"), _setting("lung_function.fvc_minor")
        return (f"Progression: FVC (% predicted) fell by {major}% or more of its baseline value, or by {minor} to "
                f"<{major}% with DLCO falling by {_setting('lung_function.dlco_decline')}% or more; "
                f"indeterminate: FVC fell by {minor} to <{major}% and DLCO is missing; otherwise no progression. "
                "Evaluable: ILD at baseline, with an analysed FVC at baseline and at the timepoint.")
    raise KeyError(category)


# ------------------------------------------------------------------------------------------ small helpers


def _figure(svg: str | None, caption: str) -> dict:
    if not svg:
        return {"kind": "na", "text": f"{caption}: figure not available in this export."}
    return {"kind": "figure", "svg": Markup(svg), "caption": caption}


def _na(what: str) -> dict:
    return {"kind": "na", "text": f"{what}: not available in this export."}


def _text(text: str) -> dict:
    return {"kind": "text", "text": text}


def _n_of(r: Results, analysis: str, **keys) -> str:
    """'7/25 (28.0%)' of one category row: its n, the denominator the ARD gives it, its pct."""
    rows = r.rows(analysis, "n", **{k: keys.get(k) for k in ("parameter", "timepoint", "group")})
    return num.n_of(r.get(analysis, "n", **keys), rows[0]["n"] if rows else None, r.get(analysis, "pct", **keys))


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
                 [[fmt.timepoint_label(x["timepoint"]), num.count(x["n"]), num.mean_sd(x["mean"], x["sd"], parameter),
                   num.median(x["median"], parameter)] for x in rows], caption=caption)


def _change_table(r: Results, analysis: str, parameter: str, caption: str) -> dict:
    tps = fmt.sort_timepoints(r.timepoints(analysis, "mean_change", parameter=parameter))
    if not tps:
        return _na(caption)

    def cell(statistic: str, tp: str) -> Any:
        return r.get(analysis, statistic, parameter=parameter, timepoint=tp)

    return table(["Timepoint", "n paired", "Mean change (SD)", "Paired t-test p", "Wilcoxon p"],
                 [[fmt.timepoint_label(tp), num.count(cell("n_paired", tp)),
                   num.mean_sd(cell("mean_change", tp), cell("sd_change", tp), parameter),
                   num.p_value(cell("t_test_p", tp)),
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
        change = r.get("mrss", "mean_change", parameter="mrss_total", timepoint="month_60")
        paired = r.get("mrss", "n_paired", parameter="mrss_total", timepoint="month_60")
        if change is not None and paired is not None:  # the two means are of different patients: say the paired one
            detail += f"; mean change {num.value(change, 'mrss_total')} in the {num.count(paired)} with both"
        if p is not None:
            detail += f" (paired t-test p = {num.p_value(p)})".replace("= <", "< ")
        items.append({"label": label, "value": f"{num.mean_sd(base['mean'], base['sd'], 'mrss_total')} → "
                                               f"{num.mean_sd(end['mean'], end['sd'], 'mrss_total')}",
                      "detail": detail})
    else:
        items.append({"label": label, "value": None, "detail": ""})

    a, p = "hrct_ild", "hrct_change"
    share = r.get(a, "pct", parameter=p, group="improved_or_stable")
    if share is not None:
        k, n = (r.get(a, "n", parameter=p, group=g) for g in ("improved_or_stable", "evaluable"))
        items.append({"label": "HRCT improved or stable (ILD)",
                      "value": f"{num.pct_value(share)} ({num.fraction(k, n)})",
                      "detail": f"of evaluable patients; not evaluable "
                                f"{num.count(r.get(a, 'n', parameter=p, group='not_evaluable'))} of "
                                f"{num.count(r.get(a, 'n', parameter=p))} with ILD at baseline"})
    else:
        items.append({"label": "HRCT improved or stable (ILD)", "value": None, "detail": ""})

    a, p = "pah", "echo_pasp_mmhg"
    stable, evaluable = (r.get(a, "n", parameter=p, group=g) for g in ("stable", "evaluable"))
    if stable is not None and evaluable is not None:  # of the evaluable; the not evaluable are listed apart
        items.append({"label": f"PAH stable at {_setting('pah.death_horizon')} years",
                      "value": num.fraction(stable, evaluable),
                      "detail": f"of evaluable patients; worsened "
                                f"{num.count(r.get(a, 'n', parameter=p, group='worsened'))}; not evaluable "
                                f"{num.count(r.get(a, 'n', parameter=p, group='not_evaluable'))} of "
                                f"{num.count(r.get(a, 'n', parameter=p))} with PAH at baseline"})
    else:
        items.append({"label": f"PAH stable at {_setting('pah.death_horizon')} years", "value": None,
                      "detail": ""})

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


# ------------------------------------------------------------------------------- since the previous drop


def _shown(x: float | None, kind: str) -> str:
    """A figure of the history as printed: a count, a proportion (0–1) or percent as a percentage, else a value
    of the parameter ``kind``."""
    if kind == "count":
        return num.count(x)
    if kind == "proportion":
        return num.pct(x)
    if kind == "percent":
        return num.pct_value(x)
    return num.value(x, kind)


def _difference(c: Change) -> str:
    """now − then as printed: '+3', '-1.20', '+2.4 points' (percentages), 'no change'; '–' when one is missing."""
    d = c.difference
    if d is None:
        return num.MISSING
    if d == 0:
        return "no change"
    if c.kind == "count":
        text = num.count(d)
    elif c.kind in ("proportion", "percent"):
        text = num.fixed(100 * d if c.kind == "proportion" else d, num.PCT_DECIMALS) + " points"
    else:
        text = num.value(d, c.kind)
    return text if text.startswith("-") else "+" + text


def _drop_named(snapshot) -> str:
    return f"drop {snapshot.drop_id}" + (f" (exported {snapshot.export_datetime[:16]})"
                                         if snapshot.export_datetime else "")


def _since_previous(changes: Changes | None) -> dict | None:
    """The section "Since the previous drop" (None without ``changes``): which drops are compared, what this one
    added (patients, deaths, assessments by instrument) and each headline figure then and now."""
    if changes is None:
        return None
    section = {"id": "since-previous", "title": "Since the previous drop"}
    if changes.previous is None:
        return section | {"blocks": [_text(
            f"There is no previous drop: {_drop_named(changes.current)} is the first published in this warehouse. "
            "From the next drop on, this section shows what each drop adds and how the headline figures move.")]}
    then, now = f"Drop {changes.previous.drop_id}", f"Drop {changes.current.drop_id}"
    added = [[f"Assessments: {instrument_label(c.label)}" if c.key.startswith("assessments.") else c.label,
              _shown(c.then, c.kind), _shown(c.now, c.kind), _difference(c)] for c in changes.added]
    headline = [[c.label, _shown(c.then, c.kind), _shown(c.now, c.kind), _difference(c)] for c in changes.headline]
    return section | {"blocks": [
        _text(f"This report is of {_drop_named(changes.current)}; the previous published drop is "
              f"{_drop_named(changes.previous)}."),
        table(["", then, now, "Added"], added, caption="What the drop added",
              note="Assessments: export rows holding an assessment of the instrument, loaded (quarantined rows "
                   "not counted). Deaths: deaths placed in time."),
        table(["Headline figure", then, now, "Change"], headline, caption="Headline figures, then and now",
              note="Percentages change in percentage points; the figures as each drop's report printed them.")]}


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
    patients = num.count(r.get(a, "count"))
    return {"id": "table1", "title": title,
            "blocks": [table(["Characteristic", "Value", f"Recorded (of {patients})"], rows,
                             caption="Baseline characteristics",
                             note=f"Recorded: patients with the item recorded, of the {patients} analysed; "
                                  "percentages are of those recorded. Mean (SD) unless a median (interquartile "
                                  "range) is shown.")]}


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
                            caption="Deaths, by time from first infusion", numeric=(1,),
                            note="Deaths recorded on the vital-status form and placed in time."))
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
    def share(group: str, label: str) -> list:
        return [label, _n_of(r, a, parameter=p, group=group)]

    n = num.count(r.get(a, "n", parameter=p))
    rows = [["Patients with ILD at baseline", n], share("evaluable", "Evaluable: an HRCT after day 0"),
            share("not_evaluable", "Not evaluable: no HRCT after day 0"), share("improved", "Improved"),
            share("stable", "Stable"), share("worsened", "Worsened")]
    if r.get(a, "n", parameter=p, group="uncategorised"):
        rows.append(share("uncategorised", "Evaluable, category not known (no recorded change, no extent to compare)"))
    rows.append(share("improved_or_stable", "Improved or stable"))
    return {"id": "hrct", "title": title,
            "blocks": [table(["Patients", "n/N (%)"], rows, caption="Latest HRCT compared with the baseline scan",
                             note=[f"Evaluable and not evaluable: of the {n} patients with ILD at baseline; the "
                                   "categories: of the evaluable.", definition("hrct")])]}


def _pah(r: Results) -> dict:
    a, p = "pah", "echo_pasp_mmhg"
    title = "Pulmonary arterial hypertension (echocardiography)"
    if not r.has(a):
        return {"id": "pah", "title": title, "blocks": [_na("PAH")]}
    n, years = num.count(r.get(a, "n", parameter=p)), _setting("pah.death_horizon")
    rows = [["Patients with PAH at baseline", n],
            ["Evaluable: stable or worsened", _n_of(r, a, parameter=p, group="evaluable")],
            ["Not evaluable", _n_of(r, a, parameter=p, group="not_evaluable")],
            [f"Stable at {years} years", _n_of(r, a, parameter=p, group="stable")],
            [f"Worsened (or died) by {years} years", _n_of(r, a, parameter=p, group="worsened")]]
    return {"id": "pah", "title": title,
            "blocks": [table(["Patients", "n/N (%)"], rows, caption="PAH on echocardiography",
                             note=[f"Evaluable and not evaluable: of the {n} patients with PAH at baseline; stable "
                                   "and worsened: of the evaluable.", definition("pah")])]}


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
                              num.n_of(u["count"], u["denominator"], u["pct"])] for u in ulcers],
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


def _events_table(r: Results, parameter: str, labels: dict, first: str, caption: str,
                  note: str | None = None) -> dict:
    """Events, patients and rate per category of one adverse event table; 'Not recorded' only when there are."""
    a = "adverse_events"
    groups = [g for g in r.groups(a, "n_events", parameter=parameter)
              if g != NOT_RECORDED or r.get(a, "n_events", parameter=parameter, group=g)]
    if not groups:
        return _na(caption)
    infused = num.count(r.get(a, "n_patients", parameter="infusion_reaction"))
    return table([first, "Events", f"Patients (% of {infused} infused)", "Events per 100 patient-years"],
                 [[labels.get(g, "Not recorded" if g == NOT_RECORDED else g),
                   num.count(r.get(a, "n_events", parameter=parameter, group=g)),
                   num.n_pct(r.get(a, "n_patients", parameter=parameter, group=g),
                             r.get(a, "pct_patients", parameter=parameter, group=g)),
                   num.fixed(r.get(a, "rate_per_100py", parameter=parameter, group=g))] for g in groups],
                 caption=caption, note=note)


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
                  caption="Listing of serious or UC-MSC-related adverse events", numeric=(2,),
                  note=f"First {LISTING_MAX} of {len(lines)} shown." if len(lines) > LISTING_MAX else None)]


def _adverse_events(r: Results) -> dict:
    a = "adverse_events"
    title = "Safety: adverse events and infusion reactions"
    if not r.has(a):
        return {"id": "safety", "title": title, "blocks": [_na("Adverse events")]}
    years = r.get(a, "patient_years")
    infused = r.get(a, "n_patients", parameter="infusion_reaction")

    def line(label: str, parameter: str | None = None, group: str | None = None, patients: bool = False) -> list:
        if patients:
            return [label, num.n_of(r.get(a, "n_patients", parameter=parameter, group=group), infused,
                                    r.get(a, "pct_patients", parameter=parameter, group=group)), num.MISSING]
        return [label, num.count(r.get(a, "n_events", parameter=parameter, group=group)),
                num.fixed(r.get(a, "rate_per_100py", parameter=parameter, group=group))]

    recorded_dead = len(r.groups("deaths", "placed"))
    grade5 = r.get(a, "n_events", parameter="AETOXGR", group="5")
    deaths_note = (f"Grade 5 – Death counts the adverse events recorded with grade 5 on the adverse-event form "
                   f"({num.count(grade5)}). Deaths are recorded on the vital-status form: {recorded_dead} "
                   f"patient{'' if recorded_dead == 1 else 's'} recorded as dead (Overall survival: deaths, with "
                   "cause and relation to treatment); a death is counted here only if it was also entered as an "
                   "adverse event of grade 5.") if r.has("deaths") else None
    blocks = [table(["", "n", "Per 100 patient-years"],
                    [line("Adverse events"), line("Patients with at least one adverse event", patients=True),
                     line("Serious adverse events", "AESER", "serious"),
                     line("UC-MSC-related (possible, probable, definite)", "AREL", "related"),
                     line("Patients with a UC-MSC-related adverse event", "AREL", "related", patients=True)],
                    caption="Adverse events: summary",
                    note=[f"Patients: of the {num.count(infused)} patients infused.",
                          f"Follow-up: {num.fixed(years)} patient-years (sum of survival follow-up)." if years
                          else "Follow-up time not available: rates not computed."]),
              _events_table(r, "AETOXGR", GRADE, "CTCAE grade", "Adverse events by CTCAE grade", deaths_note),
              _events_table(r, "AERELN", RELATION, "Relation",
                            "Adverse events by relation to UC-MSC transplantation"),
              _events_table(r, "AESER", SERIOUSNESS, "Seriousness", "Adverse events by seriousness"),
              _events_table(r, "AEOUTN", AE_OUTCOME, "Outcome", "Adverse events by outcome")]
    blocks += _ae_listing(r)
    p = "infusion_reaction"
    if r.get(a, "n_infusions", parameter=p):
        given = r.get(a, "n_infusions", parameter=p)
        blocks.append(table(["", "n/N (%)"],
                            [["Infusions given", num.count(given)],
                             ["Infusions with an infusion reaction",
                              num.n_of(r.get(a, "n_infusions", parameter=p, group="reaction"), given,
                                       r.get(a, "pct_infusions", parameter=p, group="reaction"))],
                             ["Patients with an infusion reaction",
                              num.n_of(r.get(a, "n_patients", parameter=p, group="reaction"), infused,
                                       r.get(a, "pct_patients", parameter=p, group="reaction"))]],
                            caption="Infusion reactions",
                            note=f"Of the {num.count(given)} infusions given and the {num.count(infused)} patients "
                                 "infused."))
    else:
        blocks.append(_na("Infusion reactions"))
    return {"id": "safety", "title": title, "blocks": blocks}


def _mixed_model(r: Results) -> list[dict]:
    a, c, p = "mrss_mixed_model", "mrss_mixed_model_by_timepoint", "mrss_total"
    if not r.has(a):
        return [_na("Mixed model of mRSS")]
    blocks: list[dict] = []
    digits = num.decimals(p)
    first_day = f"study day {_setting('mixed_model.min_study_day')}"
    terms = r.groups(a, "estimate", parameter=p)
    if terms:
        note = (f"{num.count(r.get(a, 'n_observations', parameter=p))} observations from "
                f"{num.count(r.get(a, 'n_patients', parameter=p))} patients: every mRSS assessment from {first_day} "
                "on, analysed or not; random intercept per patient (REML).")
        blocks.append(table(["Term", "Estimate", "SE", "95% CI", "p"],
                            [[TERM_LABELS.get(g, g), num.value(r.get(a, "estimate", parameter=p, group=g), p),
                              num.value(r.get(a, "std_error", parameter=p, group=g), p),
                              num.interval(r.get(a, "ci_lower", parameter=p, group=g),
                                           r.get(a, "ci_upper", parameter=p, group=g), digits=digits),
                              num.p_value(r.get(a, "p_value", parameter=p, group=g))] for g in terms],
                            caption="Linear mixed model of mRSS on years since first infusion: fixed effects",
                            note=note))
    else:
        blocks.append(_na("Mixed-model fixed effects"))
    warnings = [r.get(a, "warning", parameter=p, group=g) for g in r.groups(a, "warning", parameter=p)]
    converged = ("The fit converged." if r.get(a, "converged", parameter=p)
                 else "The fit did NOT converge: read the estimates with caution.")
    blocks.append(table(["", ""],
                        [["Random intercept variance", num.fixed(r.get(a, "random_intercept_variance", parameter=p))],
                         ["Residual variance", num.fixed(r.get(a, "residual_variance", parameter=p))]],
                        caption="Model details",
                        note=[converged] + ([f"Warnings: {'; '.join(warnings)}"] if warnings else [])))
    tps = fmt.sort_timepoints(r.timepoints(c, "estimate", parameter=p))
    if tps:
        counts = [(tp, r.get(c, "n_observations", parameter=p, timepoint=tp),
                   r.get(c, "n_patients", parameter=p, timepoint=tp)) for tp in tps]
        repeated = [f"{fmt.timepoint_label(tp)} {num.count(obs)} observations from {num.count(pts)} patients"
                    for tp, obs, pts in counts if obs is not None and pts is not None and obs != pts]
        note = ("Observations: every mRSS assessment in the window, not only the one analysed (closest to the "
                "target day) that the tables of the mRSS section use, so a patient assessed twice in a window "
                "counts twice there" + (f": {'; '.join(repeated)}." if repeated else "."))
        blocks.append(table(["Timepoint", "Observations", "Patients", "Model-estimated mean", "SE", "95% CI"],
                            [[fmt.timepoint_label(tp), num.count(obs), num.count(pts),
                              num.value(r.get(c, "estimate", parameter=p, timepoint=tp), p),
                              num.value(r.get(c, "std_error", parameter=p, timepoint=tp), p),
                              num.interval(r.get(c, "ci_lower", parameter=p, timepoint=tp),
                                           r.get(c, "ci_upper", parameter=p, timepoint=tp), digits=digits)]
                             for tp, obs, pts in counts],
                            caption="Mixed model with time as categories: estimated mean mRSS by timepoint",
                            note=note))
    return blocks


def _responders(r: Results) -> list[dict]:
    a, p = "mrss_responders", "mrss_total"
    tps = fmt.sort_timepoints(r.timepoints(a, "n_paired", parameter=p))
    if not tps:
        return [_na("mRSS responders")]
    rows = []
    for tp in tps:
        paired = r.get(a, "n_paired", parameter=p, timepoint=tp)
        rows.append([fmt.timepoint_label(tp), num.fraction(paired, r.get(a, "n", parameter=p, timepoint=tp))]
                    + [_n_of(r, a, parameter=p, timepoint=tp, group=g) for g in ("improved", "stable", "progressed",
                                                                               "not_evaluable")])
    return [table(["Timepoint", "Evaluable", "Improved", "Stable", "Progressed", "Not evaluable"], rows,
                  caption="mRSS responders compared with baseline",
                  note=["Evaluable and not evaluable: of the patients with an analysed baseline mRSS; improved, "
                        "stable and progressed: of the evaluable.", definition("responders")])]


def _ild_progression(r: Results) -> list[dict]:
    a, p = "lung_function", "ild_progression"
    caption = "ILD progression compared with baseline"
    tps = [tp for tp in fmt.sort_timepoints(r.timepoints(a, "n", parameter=p, group=None)) if tp != "latest"]
    if r.get(a, "n", parameter=p, timepoint="latest") is not None:
        tps.append("latest")
    if not tps:
        return [_na("ILD progression")]
    population = r.get(a, "n", parameter=p)
    rows = [["Latest assessment" if tp == "latest" else fmt.timepoint_label(tp),
             num.fraction(r.get(a, "n", parameter=p, timepoint=tp), population)]
            + [_n_of(r, a, parameter=p, timepoint=tp, group=g) for g in ("progression", "no_progression",
                                                                         "indeterminate", "not_evaluable")]
            for tp in tps]
    return [table(["Timepoint", "Evaluable", "Progression", "No progression", "Indeterminate", "Not evaluable"], rows,
                  caption=caption,
                  note=[f"Population: {num.count(population)} patients with ILD at baseline; evaluable and not "
                        "evaluable: of them; the categories: of the evaluable. Latest assessment: each patient's "
                        "last timepoint with an analysed FVC.", definition("ild_progression")])]


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


def _methods() -> dict:
    """The study's settings (analysis.settings: every threshold the analysis and the quality checks apply, with
    unit, use and source), the analysis windows (the dbt seed) and the rounding rule."""
    windows = sorted(load_windows(), key=lambda w: w.order)
    return {"id": "methods", "title": "Methods: thresholds and definitions",
            "blocks": [table(["Timepoint", "Study days", "Target day"],
                             [[fmt.timepoint_label(w.timepoint), f"{w.min_day} to {w.max_day}", str(w.target_day)]
                              for w in windows], caption="Analysis windows",
                             note="Day 0 is the first UC-MSC infusion. Each assessment is placed in the analysis "
                                  "window of its date, whatever REDCap event it was entered under; per patient, "
                                  "instrument and window the one closest to the target day is analysed (a tie: the "
                                  "later one)."),
                       table(["Setting", "Value", "Used for", "Source"],
                             [[s["name"], f"{setting_text(s['value'])} {s['unit']}", s["used_for"], s["source"]]
                              for s in documented()], numeric=(), css="wide settings",
                             caption="Thresholds of the analysis and of the data-quality checks",
                             note="From the study's settings file, study/analysis_settings.toml, as this run used it."),
                       _text(f"Rounding: {num.rule()}")]}


def links_note(drop_id: str | None) -> str:
    """What to do when the report travels alone: where the steward page and the Data Docs are published."""
    return (f"{STEWARD_LINK} and the Data Docs are published with this report: SSC_HOME/reports/{STEWARD_LINK} "
            "and SSC_HOME/data_docs/index.html, where the links work. If you received this file on its own, ask "
            f"the data team for the steward worklist and the Data Docs of drop {drop_id or 'named above'}.")


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
                  provenance: dict | None, verdict: dict | None = None, changes: Changes | None = None) -> dict:
    r = Results(results)
    prov = dict(provenance or {})
    shown = {"drop_id": prov.get("drop_id") or "", "export": prov.get("export_datetime") or "",
             "run_id": prov.get("run_id") or ""}
    verdict = verdict or {"outcome": "published", "text": "published"}
    sections = [_cohort_flow(r), _table1(r), _survival(r), _mrss(r, adbds), _hrct(r), _pah(r), _haq(r, adbds),
                _vascular(r, adbds), _adverse_events(r)]
    return {
        "title": "UC-MSC transplantation in systemic sclerosis: follow-up outcomes",
        "headline": _headline(r),
        "since_previous": _since_previous(changes),
        "sections": sections,
        "beyond": _beyond(r, adbds),
        "quality": _quality(quality),
        "methods": _methods(),
        "provenance": provenance_items(prov),
        "header": provenance_items(prov, HEADER_FIELDS),
        "footer": Markup(css_string(" · ".join(f"{label}: {text}"
                                               for label, text in provenance_items(prov, FOOTER_FIELDS)))),
        "links_note": links_note(prov.get("drop_id")),
        "demo_key": bool(prov.get("pseudonym_key_is_demo")),
        "drop_meta": Markup(drop_meta(shown)),
        "status_slot": Markup(status_html(verdict, shown)),
        "steward_link": STEWARD_LINK,
        "data_docs_link": DATA_DOCS_LINK,
    }


def render_study_report(results: pd.DataFrame | None, adbds: pd.DataFrame | None, quality: dict | None,
                        provenance: dict | None, verdict: dict | None = None, changes: Changes | None = None) -> str:
    """The study report as one self-contained HTML string (see the module docstring for the inputs); ``verdict``
    the run's status for the line at the top (report/status.py; default: published, no errors); ``changes`` since
    the previous drop (default: no such section)."""
    context = build_context(results, adbds, quality, provenance, verdict, changes)
    return environment().get_template("study_report.html.j2").render(**context)
