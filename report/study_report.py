"""The study report: one self-contained HTML page for clinicians (figures inline SVG, CSS inline, no script,
no network address of any kind).

``render_study_report(outcomes, marts, quality, provenance) -> str``

- ``outcomes``: the dict of ``outcomes.json``. The contract keys (overall_survival, mrss, hrct_ild, pah, haq_di,
  vascular, adverse_events) are read in the contract's shapes; the extras (table1, cohort_flow,
  mrss_mixed_model, mrss_responders, lung_function, ild_progression) are optional. Any key may be missing,
  ``None`` or empty: its section then says "not available in this export".
- ``marts``: DataFrames by name (adsl, adbds, adtte, adae, adex; columns as in docs/architecture.md). Figures are
  drawn from the marts (the KM curve from adtte, trajectories from adbds), so they do not depend on extras.
- ``quality``: {findings: DataFrame | list[dict], reconciliation: DataFrame | list[dict],
  gate_results: list[{gate, passed, message}]} — or precomputed {by_severity: {...}, by_category: {...},
  rows_quarantined: n}. All optional.
- ``provenance``: {drop_id, records_file, records_sha256, run_id, code_version, generated_at, ...}; falls back to
  ``outcomes["provenance"]``. The page shows exactly what it is given (no clock is read: same input, same bytes).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from report import figures
from report import formatting as fmt
from report._common import (ACTION_WORDS, DATA_DOCS_LINK, STEWARD_LINK, environment, provenance_get, provenance_items,
                            reconciliation_block, records, table)

NA = "Not available in this export."

GRADE = {1: "1 – Mild", 2: "2 – Moderate", 3: "3 – Severe", 4: "4 – Life-threatening", 5: "5 – Death"}
RELATION = {1: "Not related", 2: "Unlikely", 3: "Possible", 4: "Probable", 5: "Definite"}
AE_OUTCOME = {1: "Recovered", 2: "Recovering", 3: "Not recovered", 4: "Recovered with sequelae", 5: "Fatal",
              6: "Unknown"}
MEDSGER = {0: "0 – No Raynaud's", 1: "1 – Raynaud's requiring vasodilators", 2: "2 – Digital pitting scars",
           3: "3 – Digital tip ulcerations", 4: "4 – Digital gangrene"}


# ------------------------------------------------------------------------------------------ small helpers


def _get(outcomes: dict | None, key: str) -> Any:
    value = (outcomes or {}).get(key)
    if value is None or (hasattr(value, "__len__") and not isinstance(value, str) and len(value) == 0):
        return None
    return value


def _mart(marts: dict | None, name: str) -> pd.DataFrame | None:
    frame = (marts or {}).get(name)
    if frame is None or not isinstance(frame, pd.DataFrame) or frame.empty:
        return None
    return frame


def _truthy(series: pd.Series) -> pd.Series:
    def one(v):
        if fmt.is_missing(v):
            return False
        if isinstance(v, str):
            return v.strip().lower() in ("1", "true", "t", "yes", "y")
        return bool(v)
    return series.map(one).astype(bool)


def _analysed(adbds: pd.DataFrame | None, param: str) -> pd.DataFrame | None:
    """Analysed non-null values of one parameter with a timepoint: record_id, timepoint, value."""
    if adbds is None or not {"param", "timepoint", "value", "record_id"} <= set(adbds.columns):
        return None
    rows = adbds[adbds["param"] == param]
    if "analysed" in rows.columns:
        rows = rows[_truthy(rows["analysed"])]
    rows = rows[rows["timepoint"].notna()].copy()
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows[rows["value"].notna()]
    if rows.empty:
        return None
    rows = rows.drop_duplicates(["record_id", "timepoint"], keep="last")
    return rows[["record_id", "timepoint", "value"]].reset_index(drop=True)


def _by_tp_rows(rows: Any) -> list[dict]:
    rows = [r for r in records(rows) if not fmt.is_missing(r.get("timepoint"))]
    return sorted(rows, key=lambda r: fmt.timepoint_rank(r.get("timepoint")))


def _summary_table(rows: list[dict], caption: str, digits: int = 2) -> dict:
    return table(["Timepoint", "n", "Mean (SD)", "Median"],
                 [[fmt.timepoint_label(r.get("timepoint")), fmt.count(r.get("n")),
                   fmt.mean_sd(r.get("mean"), r.get("sd"), digits), fmt.num(r.get("median"), digits)]
                  for r in rows], caption=caption)


def _figure(svg: str | None, caption: str) -> dict:
    if not svg:
        return {"kind": "na", "text": f"{caption}: figure not available in this export."}
    return {"kind": "figure", "svg": Markup(svg), "caption": caption}


def _na(what: str = "") -> dict:
    return {"kind": "na", "text": f"{what}: not available in this export." if what else NA}


def _text(text: str) -> dict:
    return {"kind": "text", "text": text}


def _generic_blocks(obj: Any, title: str = "", depth: int = 0) -> list[dict]:
    """Blocks for an extra of unknown shape: lists of dicts become tables, scalars a key/value table."""
    blocks: list[dict] = []
    if isinstance(obj, list):
        rows = [r for r in obj if isinstance(r, dict)]
        if not rows:
            return blocks
        if all({"timepoint", "mean", "sd"} <= set(r) for r in rows):
            return [_summary_table(_by_tp_rows(rows), title or "By timepoint")]
        cols: list[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols and not isinstance(r[k], (dict, list))]
        if "timepoint" in cols:
            rows = sorted(rows, key=lambda r: fmt.timepoint_rank(r.get("timepoint")))
            cols.remove("timepoint")
            cols.insert(0, "timepoint")
        blocks.append(table([fmt.humanize(c) for c in cols], [[fmt.auto(r.get(c), c) for c in cols] for r in rows],
                            caption=title or None))
    elif isinstance(obj, dict) and depth < 3:
        scalars = [(k, v) for k, v in obj.items() if not isinstance(v, (dict, list))]
        if scalars:
            blocks.append(table(["Item", "Value"], [[fmt.humanize(k), fmt.auto(v, k)] for k, v in scalars],
                                caption=title or None))
        for key, value in obj.items():
            if isinstance(value, (dict, list)) and value and key != "patients":
                sub = f"{title} — {fmt.humanize(key)}" if title else fmt.humanize(key)
                blocks += _generic_blocks(value, sub, depth + 1)
    return blocks


def _rate(events: float, person_years: float | None) -> str:
    if not person_years:
        return fmt.MISSING
    return f"{100.0 * events / person_years:.1f}"


# --------------------------------------------------------------------------------------------- headline


def _headline(outcomes: dict) -> list[dict]:
    items = []
    os_ = _get(outcomes, "overall_survival") or {}
    est5 = next((e for e in records(os_.get("estimates")) if fmt.to_float(e.get("year")) == 5), None)
    if est5 and fmt.to_float(est5.get("survival")) is not None:
        detail = f"95% CI {fmt.ci(est5.get('ci_lower'), est5.get('ci_upper'), proportion=True)}"
        if os_.get("deaths") is not None and os_.get("n") is not None:
            detail += f"; {fmt.count(os_.get('deaths'))} deaths among {fmt.count(os_.get('n'))} patients"
        items.append({"label": "5-year overall survival", "value": fmt.prop_pct(est5["survival"]),
                      "detail": detail})
    else:
        items.append({"label": "5-year overall survival", "value": None, "detail": ""})

    mrss = _get(outcomes, "mrss") or {}
    by_tp = {str(r.get("timepoint")): r for r in _by_tp_rows(mrss.get("by_timepoint"))}
    base = by_tp.get("baseline")
    end_tp = "month_60" if "month_60" in by_tp else None
    label = "mRSS, baseline → 5 years"
    if base and end_tp:
        end = by_tp[end_tp]
        chg = next((c for c in records(mrss.get("change_from_baseline")) if c.get("timepoint") == end_tp), {})
        detail = f"mean (SD); n = {fmt.count(base.get('n'))} → {fmt.count(end.get('n'))}"
        if chg.get("t_test_p") is not None:
            detail += f"; paired t-test p = {fmt.pvalue(chg.get('t_test_p'))}".replace("= <", "< ")
        items.append({"label": label,
                      "value": f"{fmt.mean_sd(base.get('mean'), base.get('sd'))} → "
                               f"{fmt.mean_sd(end.get('mean'), end.get('sd'))}",
                      "detail": detail})
    else:
        items.append({"label": label, "value": None, "detail": ""})

    hrct = _get(outcomes, "hrct_ild") or {}
    if fmt.to_float(hrct.get("improved_or_stable_pct")) is not None:
        k = (fmt.to_float(hrct.get("improved")) or 0) + (fmt.to_float(hrct.get("stable")) or 0)
        items.append({"label": "HRCT improved or stable (ILD)",
                      "value": f"{fmt.pct(hrct['improved_or_stable_pct'])} ({int(k)}/{fmt.count(hrct.get('n_evaluable'))})",
                      "detail": f"of evaluable patients; {fmt.count(hrct.get('n_ild'))} with ILD at baseline"})
    else:
        items.append({"label": "HRCT improved or stable (ILD)", "value": None, "detail": ""})

    pah = _get(outcomes, "pah") or {}
    if fmt.to_float(pah.get("stable")) is not None and fmt.to_float(pah.get("n")) is not None:
        items.append({"label": "PAH stable at 5 years", "value": f"{fmt.count(pah['stable'])}/{fmt.count(pah['n'])}",
                      "detail": f"worsened {fmt.count(pah.get('worsened'))}; "
                                f"not evaluable {fmt.count(pah.get('not_evaluable'))}"})
    else:
        items.append({"label": "PAH stable at 5 years", "value": None, "detail": ""})

    ae = _get(outcomes, "adverse_events") or {}
    if fmt.to_float(ae.get("related")) is not None:
        items.append({"label": "UC-MSC-related adverse events", "value": fmt.count(ae["related"]),
                      "detail": f"of {fmt.count(ae.get('n_events'))} adverse events in "
                                f"{fmt.count(ae.get('n_patients'))} patients; {fmt.count(ae.get('serious'))} serious"})
    else:
        items.append({"label": "UC-MSC-related adverse events", "value": None, "detail": ""})
    return items


# -------------------------------------------------------------------------------------------- sections


def _cohort_flow(outcomes: dict, marts: dict) -> dict:
    flow = _get(outcomes, "cohort_flow")
    adsl, adtte, adbds = _mart(marts, "adsl"), _mart(marts, "adtte"), _mart(marts, "adbds")
    source = "outcomes"
    if not isinstance(flow, dict):
        flow, source = {}, "marts"
        if adsl is not None:
            flow["infused"] = len(adsl)
            if "lost_to_follow_up" in adsl.columns:
                flow["lost_to_follow_up"] = int(_truthy(adsl["lost_to_follow_up"]).sum())
        if adtte is not None and "event" in adtte.columns:
            flow["deaths"] = int(pd.to_numeric(adtte["event"], errors="coerce").fillna(0).sum())
        if adbds is not None and {"timepoint", "record_id"} <= set(adbds.columns):
            dated = adbds[adbds["timepoint"].notna() & pd.to_numeric(adbds["value"], errors="coerce").notna()]
            if "analysed" in dated.columns:
                dated = dated[_truthy(dated["analysed"])]
            mrss = _analysed(adbds, "mrss_total")
            flow["assessed_by_timepoint"] = [
                {"timepoint": tp, "n_any": int(dated.loc[dated["timepoint"] == tp, "record_id"].nunique()),
                 "n_mrss": int((mrss["timepoint"] == tp).sum()) if mrss is not None else None}
                for tp in fmt.sort_timepoints(dated["timepoint"])]
    boxes = [("Enrolled", flow.get("enrolled")), ("Infused (analysed)", flow.get("infused")),
             ("Deaths", flow.get("deaths")), ("Lost to follow-up", flow.get("lost_to_follow_up"))]
    blocks: list[dict] = []
    if all(fmt.is_missing(v) for _, v in boxes) and not flow.get("assessed_by_timepoint"):
        return {"id": "cohort", "title": "Cohort flow", "blocks": [_na("Cohort flow")]}
    blocks.append({"kind": "flow", "boxes": [(label, fmt.count(v)) for label, v in boxes]})
    rows = _by_tp_rows(flow.get("assessed_by_timepoint"))
    if rows:
        blocks.append(table(["Timepoint", "Patients assessed (any instrument)", "Patients with an analysed mRSS"],
                            [[fmt.timepoint_label(r["timepoint"]), fmt.count(r.get("n_any")),
                              fmt.count(r.get("n_mrss"))] for r in rows],
                            caption="Patients assessed in each analysis window"))
    fu, obs = fmt.to_float(flow.get("median_follow_up_years")), fmt.to_float(flow.get("median_observation_years"))
    if fu is not None or obs is not None:
        parts = []
        if fu is not None:
            parts.append(f"median follow-up {fu:.1f} years ({flow.get('median_follow_up_method') or 'reverse Kaplan–Meier'})")
        if obs is not None:
            parts.append(f"median observation time {obs:.1f} years")
        blocks.append(_text("Follow-up: " + "; ".join(parts) + "."))
    if source == "marts":
        blocks.append(_text("Cohort flow derived by the report from the marts (the cohort_flow outcome is not in "
                            "this export); the number enrolled is only known to the analysis."))
    return {"id": "cohort", "title": "Cohort flow", "blocks": blocks}


def _table1_from_adsl(adsl: pd.DataFrame) -> list[list[str]]:
    n_all = len(adsl)
    rows: list[list[str]] = [["Patients", str(n_all), str(n_all)]]

    def cont(col, label, digits=1):
        if col in adsl.columns:
            v = pd.to_numeric(adsl[col], errors="coerce").dropna()
            if len(v):
                rows.append([label, fmt.mean_sd(v.mean(), v.std(ddof=1) if len(v) > 1 else None, digits),
                             str(len(v))])

    def flag(col, label):
        if col in adsl.columns:
            known = adsl[col].map(lambda x: not fmt.is_missing(x))
            if known.any():
                rows.append([label, fmt.n_pct(int(_truthy(adsl.loc[known, col]).sum()), int(known.sum())),
                             str(int(known.sum()))])

    def cat(col, label):
        if col in adsl.columns:
            known = adsl[col].dropna()
            for value, k in sorted(known.value_counts().items(), key=lambda kv: (-kv[1], str(kv[0]))):
                rows.append([f"{label}: {value}", fmt.n_pct(k, len(known)), str(len(known))])

    cat("sex", "Sex")
    cont("age_years", "Age, years, mean (SD)")
    cat("ssc_subtype", "Subtype")
    cont("disease_duration_years", "Disease duration, years, mean (SD)")
    cont("raynaud_duration_years", "Raynaud duration, years, mean (SD)")
    cont("acr_eular_2013_score", "ACR/EULAR 2013 score, mean (SD)")
    for col, label in (("ab_scl70", "Anti-Scl-70"), ("ab_centromere", "Anti-centromere"),
                       ("ab_rnapol3", "Anti-RNA polymerase III"), ("ab_u1rnp", "Anti-U1-RNP"), ("ab_ana", "ANA")):
        flag(col, label)
    for col, label in (("ild_baseline", "ILD at baseline"), ("pah_baseline", "PAH at baseline"),
                       ("digital_ulcers_baseline", "Digital ulcers at baseline"),
                       ("prior_cyclophosphamide", "Prior cyclophosphamide"), ("prior_mmf", "Prior mycophenolate"),
                       ("prior_methotrexate", "Prior methotrexate"),
                       ("prior_glucocorticoids", "Prior glucocorticoids"), ("prior_other", "Prior other therapy")):
        flag(col, label)
    cont("baseline_mrss", "Baseline mRSS, mean (SD)", 2)
    cont("baseline_fvc", "Baseline FVC, % predicted, mean (SD)")
    cont("baseline_dlco", "Baseline DLCO, % predicted, mean (SD)")
    cont("baseline_pasp", "Baseline PASP, mmHg, mean (SD)")
    cont("baseline_haq_di", "Baseline HAQ-DI, mean (SD)", 2)
    return rows


def _table1(outcomes: dict, marts: dict) -> dict:
    t1 = _get(outcomes, "table1")
    rows = records(t1.get("rows") if isinstance(t1, dict) else t1)
    blocks: list[dict]
    if rows:
        blocks = [table(["Characteristic", "Value", "n"],
                        [[str(r.get("characteristic", "")),
                          r["value"] if isinstance(r.get("value"), str) else fmt.auto(r.get("value"), ""),
                          fmt.count(r.get("n"))] for r in rows], caption="Baseline characteristics")]
    elif _mart(marts, "adsl") is not None:
        blocks = [table(["Characteristic", "Value", "n"], _table1_from_adsl(marts["adsl"]),
                        caption="Baseline characteristics",
                        note="Computed by the report from adsl (the table1 outcome is not in this export). "
                             "n = patients with the item recorded; percentages of those.")]
    else:
        blocks = [_na("Baseline characteristics")]
    return {"id": "table1", "title": "Table 1. Baseline characteristics", "blocks": blocks}


def _left_out_of_survival(os_: dict, adsl: pd.DataFrame | None) -> str | None:
    """One sentence naming the patients left out of the survival analysis (overall_survival.excluded), or None.

    "1 patient recorded as dead was left out: SSC-0041, death date before day 0 — see the steward worklist." """
    n = fmt.to_float(os_.get("n_excluded"))
    if not n:
        return None
    n = int(n)
    excluded = records(os_.get("excluded"))
    dead = False
    if excluded and adsl is not None and "record_id" in adsl.columns:
        died = pd.Series(False, index=adsl.index)
        if "vital_status" in adsl.columns:
            died |= adsl["vital_status"] == "Dead"
        if "death_date_recorded" in adsl.columns:
            died |= adsl["death_date_recorded"].notna()
        dead_ids = set(adsl.loc[died, "record_id"].astype(str))
        dead = all(str(e.get("record_id")) in dead_ids for e in excluded)
    who = f"{n} patient{'s' if n != 1 else ''}{' recorded as dead' if dead else ''} {'was' if n == 1 else 'were'}"
    names = "; ".join(f"{e.get('record_id')}, {e.get('reason') or 'reason not given'}" for e in excluded)
    return f"{who} left out" + (f": {names}" if names else "") + " — see the steward worklist."


def _survival(outcomes: dict, marts: dict) -> dict:
    os_ = _get(outcomes, "overall_survival") or {}
    blocks = [_figure(figures.km_figure(_mart(marts, "adtte")),
                      "Figure 1. Overall survival (Kaplan–Meier) with 95% confidence band (log(−log)); "
                      "ticks mark censored patients; numbers at risk below the axis")]
    ests = sorted(records(os_.get("estimates")), key=lambda e: fmt.to_float(e.get("year")) or 0)
    if ests:
        blocks.append(table(["Year", "Overall survival", "95% CI", "At risk"],
                            [[fmt.count(e.get("year")), fmt.prop_pct(e.get("survival")),
                              fmt.ci(e.get("ci_lower"), e.get("ci_upper"), proportion=True),
                              fmt.count(e.get("at_risk"))] for e in ests],
                            caption="Kaplan–Meier estimates",
                            note=f"n = {fmt.count(os_.get('n'))}; deaths = {fmt.count(os_.get('deaths'))}; "
                                 "median survival = " + ("not reached" if fmt.is_missing(os_.get("median_years"))
                                                         else f"{fmt.num(os_.get('median_years'))} years")))
    else:
        blocks.append(_na("Survival estimates"))
    adsl = _mart(marts, "adsl")
    left_out = _left_out_of_survival(os_, adsl)
    if left_out:
        blocks.append(_text(left_out))
    if adsl is not None and "death_date" in adsl.columns:
        dead = adsl[adsl["death_date"].notna()]
        if len(dead):
            adtte = _mart(marts, "adtte")
            times = {}
            if adtte is not None and {"record_id", "time_years"} <= set(adtte.columns):
                times = dict(zip(adtte["record_id"].astype(str), adtte["time_years"]))
            rows = [[str(r["record_id"]), fmt.num(times.get(str(r["record_id"]))),
                     r.get("death_cause") if not fmt.is_missing(r.get("death_cause")) else fmt.MISSING,
                     fmt.auto(r.get("death_treatment_related"), "") if "death_treatment_related" in dead else fmt.MISSING]
                    for _, r in dead.sort_values("death_date").iterrows()]
            blocks.append(table(["Record", "Years from first infusion", "Cause", "Treatment-related"], rows,
                                caption="Deaths", numeric_from=1))
    return {"id": "survival", "title": "Overall survival", "blocks": blocks}


def _mrss(outcomes: dict, marts: dict) -> dict:
    mrss = _get(outcomes, "mrss") or {}
    rows = _by_tp_rows(mrss.get("by_timepoint"))
    blocks = [_figure(figures.trajectory_figure(_analysed(_mart(marts, "adbds"), "mrss_total"), rows,
                                                name="mrss-trajectories", ylabel="mRSS (0–51)",
                                                title="Modified Rodnan skin score by timepoint"),
                      "Figure 2. Modified Rodnan skin score: individual patients (grey) and mean ± SD")]
    blocks.append(_summary_table(rows, "mRSS by timepoint") if rows else _na("mRSS by timepoint"))
    changes = _by_tp_rows(mrss.get("change_from_baseline"))
    if changes:
        blocks.append(_change_table(changes, "Change in mRSS from baseline (patients with both assessments)"))
    else:
        blocks.append(_na("Change from baseline"))
    return {"id": "mrss", "title": "Skin: modified Rodnan skin score (mRSS)", "blocks": blocks}


def _hrct(outcomes: dict) -> dict:
    h = _get(outcomes, "hrct_ild")
    if not isinstance(h, dict):
        return {"id": "hrct", "title": "Lung: HRCT in patients with ILD", "blocks": [_na("HRCT in ILD")]}
    ev = h.get("n_evaluable")
    rows = [["Patients with ILD at baseline", fmt.count(h.get("n_ild"))],
            ["Evaluable (HRCT after day 0)", fmt.n_pct(ev, h.get("n_ild"))],
            ["Improved", fmt.n_pct(h.get("improved"), ev)],
            ["Stable", fmt.n_pct(h.get("stable"), ev)],
            ["Worsened", fmt.n_pct(h.get("worsened"), ev)],
            ["Improved or stable, % of evaluable", fmt.pct(h.get("improved_or_stable_pct"))]]
    return {"id": "hrct", "title": "Lung: HRCT in patients with ILD",
            "blocks": [table(["", "n (%)"], rows, caption="Latest HRCT compared with the baseline scan",
                             note="Category of the latest scan (recorded change, else ±5 points of extent).")]}


def _pah(outcomes: dict) -> dict:
    p = _get(outcomes, "pah")
    if not isinstance(p, dict):
        return {"id": "pah", "title": "Pulmonary arterial hypertension (echocardiography)", "blocks": [_na("PAH")]}
    n = p.get("n")
    rows = [["Patients with PAH at baseline", fmt.count(n)], ["Stable at 5 years", fmt.n_pct(p.get("stable"), n)],
            ["Worsened (or died) by 5 years", fmt.n_pct(p.get("worsened"), n)],
            ["Not evaluable", fmt.n_pct(p.get("not_evaluable"), n)]]
    return {"id": "pah", "title": "Pulmonary arterial hypertension (echocardiography)",
            "blocks": [table(["", "n (%)"], rows, caption="PAH on echocardiography",
                             note="Stable: PASP rose by less than 10 mmHg from baseline to month 60; "
                                  "death within 5 years counts as worsened.")]}


def _haq(outcomes: dict, marts: dict) -> dict:
    rows = _by_tp_rows((_get(outcomes, "haq_di") or {}).get("by_timepoint"))
    blocks = [_figure(figures.trajectory_figure(_analysed(_mart(marts, "adbds"), "haq_di"), rows, name="haq-di",
                                                ylabel="HAQ-DI (0–3)", title="HAQ disability index by timepoint"),
                      "Figure 3. HAQ disability index: individual patients (grey) and mean ± SD"),
              _summary_table(rows, "HAQ-DI by timepoint") if rows else _na("HAQ-DI by timepoint")]
    return {"id": "haq", "title": "Function: HAQ disability index", "blocks": blocks}


def _vascular(outcomes: dict, marts: dict) -> dict:
    v = _get(outcomes, "vascular") or {}
    adbds = _mart(marts, "adbds")
    rcs = _by_tp_rows(v.get("rcs_by_timepoint"))
    du = _by_tp_rows(v.get("digital_ulcers_by_timepoint"))
    blocks = [_figure(figures.trajectory_figure(_analysed(adbds, "rcs"), rcs, name="rcs", ylabel="RCS (0–10)",
                                                title="Raynaud's condition score by timepoint"),
                      "Figure 4. Raynaud's condition score: individual patients (grey) and mean ± SD"),
              _summary_table(rcs, "Raynaud's condition score by timepoint") if rcs else _na("Raynaud's condition score")]
    blocks.append(_figure(figures.bar_by_timepoint(du, name="digital-ulcers", numerator="patients_with_active_ulcers",
                                                   denominator="n", ylabel="Patients with active ulcers (%)",
                                                   title="Patients with active digital ulcers by timepoint"),
                          "Figure 5. Patients with active digital ulcers"))
    if du:
        blocks.append(table(["Timepoint", "Patients assessed", "With active digital ulcers"],
                            [[fmt.timepoint_label(r["timepoint"]), fmt.count(r.get("n")),
                              fmt.n_pct(r.get("patients_with_active_ulcers"), r.get("n"))] for r in du],
                            caption="Digital ulcers by timepoint"))
    else:
        blocks.append(_na("Digital ulcers by timepoint"))
    med = _analysed(adbds, "medsger_pv")
    if med is not None:
        tps = fmt.sort_timepoints(med["timepoint"])
        grades = sorted({int(g) for g in med["value"]})
        rows = []
        for tp in tps:
            at = med[med["timepoint"] == tp]["value"].astype(int)
            rows.append([fmt.timepoint_label(tp), str(len(at))] + [fmt.n_pct(int((at == g).sum()), len(at)) for g in grades])
        blocks.append(table(["Timepoint", "n"] + [MEDSGER.get(g, str(g)) for g in grades], rows,
                            caption="Medsger peripheral vascular severity by timepoint", css="wide"))
    else:
        blocks.append(_na("Medsger peripheral vascular severity"))
    return {"id": "vascular", "title": "Vascular: Raynaud's, digital ulcers, Medsger severity", "blocks": blocks}


def _change_table(rows: list[dict], caption: str) -> dict:
    return table(["Timepoint", "n paired", "Mean change (SD)", "Paired t-test p", "Wilcoxon p"],
                 [[fmt.timepoint_label(c["timepoint"]), fmt.count(c.get("n_paired")),
                   fmt.mean_sd(c.get("mean_change"), c.get("sd_change")), fmt.pvalue(c.get("t_test_p")),
                   fmt.pvalue(c.get("wilcoxon_p"))] for c in rows], caption=caption)


def _adverse_events(outcomes: dict, marts: dict) -> dict:
    ae = _get(outcomes, "adverse_events")
    ae = ae if isinstance(ae, dict) else None
    adae, adex, adtte = _mart(marts, "adae"), _mart(marts, "adex"), _mart(marts, "adtte")
    blocks: list[dict] = []
    py = fmt.to_float((ae or {}).get("patient_years"))
    if py is None and adtte is not None and "time_years" in adtte.columns:
        py = float(pd.to_numeric(adtte["time_years"], errors="coerce").fillna(0).sum()) or None

    def rate_of(v: Any) -> str:
        f = fmt.to_float(v)
        return fmt.MISSING if f is None else _rate(f, py)

    if ae is not None:
        rows = [["Adverse events", fmt.count(ae.get("n_events")), rate_of(ae.get("n_events"))],
                ["Patients with at least one adverse event", fmt.count(ae.get("n_patients")), fmt.MISSING],
                ["Serious adverse events", fmt.count(ae.get("serious")), rate_of(ae.get("serious"))],
                ["UC-MSC-related (possible, probable, definite)", fmt.count(ae.get("related")),
                 rate_of(ae.get("related"))]]
        if ae.get("related_patients") is not None:
            rows.append(["Patients with a UC-MSC-related adverse event", fmt.count(ae.get("related_patients")),
                         fmt.MISSING])
        blocks.append(table(["", "n", "per 100 patient-years"], rows, caption="Adverse events: summary",
                            note=f"Follow-up: {fmt.num(py, 1)} patient-years (sum of survival follow-up)."
                            if py else "Follow-up time not available: rates not computed."))
    else:
        blocks.append(_na("Adverse event summary"))

    def code_counts(key: str) -> dict[int, float]:
        out: dict[int, float] = {}
        raw = (ae or {}).get(key)
        if isinstance(raw, dict):
            for k, v in raw.items():
                code = fmt.to_float(k)
                if code is not None:
                    out[int(code)] = fmt.to_float(v) or 0.0
        return out

    def mart_counts(col: str) -> tuple[dict[int, float], dict[int, int], int, int]:
        events: dict[int, float] = {}
        patients: dict[int, int] = {}
        if adae is None or col not in adae.columns:
            return events, patients, 0, 0
        code = pd.to_numeric(adae[col], errors="coerce")
        for c, grp in adae.assign(_c=code).dropna(subset=["_c"]).groupby("_c"):
            events[int(c)] = float(len(grp))
            patients[int(c)] = int(grp["record_id"].nunique())
        miss = adae[code.isna()]
        return events, patients, len(miss), int(miss["record_id"].nunique())

    for key, col, labels, caption, first in (
            ("by_grade", "ae_grade", GRADE, "Adverse events by CTCAE grade", "CTCAE grade"),
            ("by_relation", "ae_relation", RELATION, "Adverse events by relation to UC-MSC transplantation",
             "Relation")):
        events = code_counts(key)
        m_events, m_patients, m_missing, m_missing_pat = mart_counts(col)
        if not events:
            events = m_events
        if not events and not m_patients:
            blocks.append(_na(caption))
            continue
        codes = sorted(set(events) | set(m_patients) | set(labels))
        rows = [[labels.get(c, str(c)), fmt.count(events.get(c, 0)),
                 fmt.count(m_patients.get(c, 0)) if adae is not None else fmt.MISSING, _rate(events.get(c, 0), py)]
                for c in codes]
        missing = (ae or {}).get(key.replace("by_", "") + "_missing")
        missing = m_missing if missing is None else missing
        if fmt.to_float(missing):
            rows.append(["Not recorded", fmt.count(missing), fmt.count(m_missing_pat) if adae is not None
                         else fmt.MISSING, _rate(fmt.to_float(missing) or 0, py)])
        blocks.append(table([first, "Events", "Patients", "Events per 100 patient-years"], rows, caption=caption))

    if adae is not None:
        if "ae_serious" in adae.columns:
            flag = _truthy(adae["ae_serious"])
            known = adae["ae_serious"].map(lambda x: not fmt.is_missing(x))
            rows = [[label, str(len(grp)), str(grp["record_id"].nunique()), _rate(len(grp), py)]
                    for label, grp in (("Serious", adae[flag]), ("Not serious", adae[known & ~flag]),
                                       ("Not recorded", adae[~known])) if len(grp) or label != "Not recorded"]
            blocks.append(table(["Seriousness", "Events", "Patients", "Events per 100 patient-years"], rows,
                                caption="Adverse events by seriousness"))
        if "ae_outcome" in adae.columns:
            o_events, o_patients, o_missing, o_missing_pat = mart_counts("ae_outcome")
            rows = [[AE_OUTCOME.get(c, str(c)), fmt.count(o_events[c]), fmt.count(o_patients[c])]
                    for c in sorted(o_events)]
            if o_missing:
                rows.append(["Not recorded", str(o_missing), str(o_missing_pat)])
            blocks.append(table(["Outcome", "Events", "Patients"], rows, caption="Adverse events by outcome"))
        mask = pd.Series(False, index=adae.index)
        for col in ("ae_serious", "related"):
            if col in adae.columns:
                mask |= _truthy(adae[col])
        listing = adae[mask]
        if len(listing):
            def code(r, col, labels):
                c = fmt.to_float(r.get(col))
                return fmt.MISSING if c is None else labels.get(int(c), str(int(c)))
            rows = [[str(r.get("record_id")), fmt.MISSING if fmt.is_missing(r.get("ae_term")) else str(r.get("ae_term")),
                     fmt.count(r.get("onset_study_day")), code(r, "ae_grade", GRADE),
                     "Yes" if _truthy(pd.Series([r.get("ae_serious")], dtype=object)).iloc[0] else "No",
                     code(r, "ae_relation", RELATION), code(r, "ae_outcome", AE_OUTCOME)]
                    for r in records(listing.head(100))]
            blocks.append(table(["Record", "Event", "Onset (study day)", "Grade", "Serious", "Relation", "Outcome"],
                                rows, caption="Listing of serious or UC-MSC-related adverse events", numeric_from=99,
                                note=f"First 100 of {len(listing)} shown." if len(listing) > 100 else None))
    else:
        blocks.append(_na("Adverse event detail (adae)"))

    ir = (ae or {}).get("infusion_reactions")
    if isinstance(ir, dict) and fmt.to_float(ir.get("n_infusions")):
        n_pat = adex["record_id"].nunique() if adex is not None else None
        blocks.append(table(["", "n"],
                            [["Infusions given", fmt.count(ir.get("n_infusions"))],
                             ["Infusions with an infusion reaction", fmt.n_pct(ir.get("n_reactions"), ir.get("n_infusions"))],
                             ["Patients with an infusion reaction", fmt.n_pct(ir.get("n_patients"), n_pat)]],
                            caption="Infusion reactions"))
    elif adex is not None and "infusion_reaction" in adex.columns:
        react = _truthy(adex["infusion_reaction"])
        blocks.append(table(["", "n"],
                            [["Infusions given", str(len(adex))],
                             ["Infusions with an infusion reaction", fmt.n_pct(int(react.sum()), len(adex))],
                             ["Patients with an infusion reaction",
                              fmt.n_pct(int(adex.loc[react, "record_id"].nunique()), adex["record_id"].nunique())]],
                            caption="Infusion reactions"))
    else:
        blocks.append(_na("Infusion reactions"))
    return {"id": "safety", "title": "Safety: adverse events and infusion reactions", "blocks": blocks}


TERM_LABELS = {"intercept": "Intercept (mean mRSS at day 0)", "time_years": "Change per year",
               "years": "Change per year"}


def _beyond(outcomes: dict, marts: dict) -> list[dict]:
    sections = []
    mm = _get(outcomes, "mrss_mixed_model")
    blocks: list[dict] = []
    if isinstance(mm, dict):
        fe = records(mm.get("fixed_effects"))
        note = (f"{fmt.count(mm.get('n_observations'))} observations from {fmt.count(mm.get('n_patients'))} "
                "patients; random intercept per patient (REML).")
        if fe:
            blocks.append(table(["Term", "Estimate", "SE", "95% CI", "p"],
                                [[TERM_LABELS.get(str(r.get("term")), str(r.get("term"))), fmt.num(r.get("estimate")),
                                  fmt.num(r.get("std_error")), fmt.ci(r.get("ci_lower"), r.get("ci_upper"), digits=2),
                                  fmt.pvalue(r.get("p_value"))] for r in fe],
                                caption="Linear mixed model of mRSS on years since first infusion: fixed effects",
                                note=note))
        else:
            blocks.append(_na("Mixed-model fixed effects"))
        details = []
        for key, label in (("random_intercept_variance", "Random intercept variance"),
                           ("residual_variance", "Residual variance")):
            if key in mm:
                details.append([label, fmt.num(mm.get(key))])
        if "converged" in mm:
            details.append(["Converged", "Yes" if mm.get("converged") else "No"])
        warns = mm.get("warnings")
        if isinstance(warns, list) and warns:
            details.append(["Warnings", "; ".join(str(w) for w in warns)])
        if details:
            blocks.append(table(["", ""], details, caption="Model details"))
        bt = mm.get("by_timepoint")
        est = _by_tp_rows(bt.get("estimates") if isinstance(bt, dict) else bt)
        if est:
            blocks.append(table(["Timepoint", "Observations", "Model-estimated mean", "SE", "95% CI"],
                                [[fmt.timepoint_label(r["timepoint"]), fmt.count(r.get("n_observations")),
                                  fmt.num(r.get("estimate")), fmt.num(r.get("std_error")),
                                  fmt.ci(r.get("ci_lower"), r.get("ci_upper"), digits=2)] for r in est],
                                caption="Mixed model with time as categories: estimated mean mRSS by timepoint"))
        known = {"fixed_effects", "n_observations", "n_patients", "random_intercept_variance", "residual_variance",
                 "converged", "warnings", "by_timepoint"}
        blocks += _generic_blocks({k: v for k, v in mm.items() if k not in known}, "Other model output")
    else:
        blocks = [_na("Mixed model of mRSS")]
    sections.append({"id": "mixed-model", "title": "mRSS over time: linear mixed model", "blocks": blocks})

    resp = _by_tp_rows(_get(outcomes, "mrss_responders"))
    if resp:
        blocks = [table(["Timepoint", "n paired", "Improved", "Stable", "Progressed"],
                        [[fmt.timepoint_label(r["timepoint"]), fmt.count(r.get("n_paired")),
                          fmt.n_pct(r.get("improved"), r.get("n_paired")), fmt.n_pct(r.get("stable"), r.get("n_paired")),
                          fmt.n_pct(r.get("progressed"), r.get("n_paired"))] for r in resp],
                        caption="mRSS responders compared with baseline")]
    else:
        blocks = [_na("mRSS responders")]
    sections.append({"id": "responders", "title": "mRSS responders", "blocks": blocks})

    adbds = _mart(marts, "adbds")
    lung = _get(outcomes, "lung_function")
    lung = lung if isinstance(lung, dict) else {}
    blocks = []
    used: set[str] = set()
    for which, param, label, fig_no in (("fvc", "fvc_pct_pred", "FVC", 6), ("dlco", "dlco_pct_pred", "DLCO", 7)):
        rows, key = _lung_part(lung, which, "by_timepoint")
        changes, ckey = _lung_part(lung, which, "change_from_baseline")
        used |= {k for k in (key, ckey) if k}
        long = "Forced vital capacity" if which == "fvc" else "Diffusing capacity (DLCO)"
        blocks.append(_figure(figures.trajectory_figure(_analysed(adbds, param), rows, name=which,
                                                        ylabel=f"{label} (% predicted)", title=f"{long} by timepoint"),
                              f"Figure {fig_no}. {long}, % predicted: individual patients (grey) and mean ± SD"))
        blocks.append(_summary_table(rows, f"{label}, % predicted, by timepoint", 1) if rows
                      else _na(f"{label} by timepoint"))
        blocks.append(_change_table(changes, f"Change in {label} (% predicted points) from baseline") if changes
                      else _na(f"{label} change from baseline"))
    prog = lung.get("ild_progression", _get(outcomes, "ild_progression"))
    used.add("ild_progression")
    blocks += _ild_progression_blocks(prog)
    other = {k: v for k, v in lung.items() if k not in used}
    blocks += _generic_blocks(other, "Lung function, other output")
    sections.append({"id": "lung-function", "title": "Lung function (FVC, DLCO) and ILD progression", "blocks": blocks})
    return sections


def _lung_part(lung: dict, which: str, part: str) -> tuple[list[dict], str | None]:
    """Rows of e.g. fvc_by_timepoint, whichever nesting the lung_function extra uses:
    {fvc_by_timepoint: [...]}, {fvc: {by_timepoint: [...]}}, or {by_timepoint: [{param: fvc..., ...}]}."""
    flat = f"{which}_{part}"
    if isinstance(lung.get(flat), list):
        return _by_tp_rows(lung[flat]), flat
    nested = lung.get(which)
    if isinstance(nested, dict) and isinstance(nested.get(part), list):
        return _by_tp_rows(nested[part]), which
    shared = lung.get(part)
    if isinstance(shared, list):
        return [r for r in _by_tp_rows(shared) if which in str(r.get("param", "")).lower()], None
    return [], None


def _ild_progression_blocks(prog: Any) -> list[dict]:
    caption = "ILD progression (relative FVC decline ≥ 10%, or 5–<10% with DLCO decline ≥ 15%, from baseline)"
    if not isinstance(prog, dict) or not prog:
        return [_na("ILD progression")]
    blocks: list[dict] = []
    cats = ("progression", "no_progression", "indeterminate")
    rows = []
    for r in _by_tp_rows(prog.get("by_timepoint")):
        n = r.get("n_evaluable")
        rows.append([fmt.timepoint_label(r["timepoint"]), fmt.count(n)] + [fmt.n_pct(r.get(c), n) for c in cats])
    latest = prog.get("latest")
    if isinstance(latest, dict):
        n = latest.get("n_evaluable")
        rows.append(["Latest assessment", fmt.count(n)] + [fmt.n_pct(latest.get(c), n) for c in cats])
    if rows:
        blocks.append(table(["Timepoint", "Evaluable", "Progression", "No progression", "Indeterminate"], rows,
                            caption=caption,
                            note=f"Population: {fmt.count(prog.get('n_ild'))} patients with ILD at baseline."))
    known = {"by_timepoint", "latest", "patients", "n_ild"}
    blocks += _generic_blocks({k: v for k, v in prog.items() if k not in known}, "ILD progression, other output")
    return blocks or [_na("ILD progression")]


def _quality(quality: dict | None) -> dict:
    quality = quality or {}
    findings = quality.get("findings")
    by_sev: dict = dict(quality.get("by_severity") or {})
    by_cat: dict = dict(quality.get("by_category") or {})
    by_action: dict = dict(quality.get("by_action") or {})
    frame = findings if isinstance(findings, pd.DataFrame) else (pd.DataFrame(records(findings)) if findings else None)
    n_findings = quality.get("n_findings")
    if frame is not None:
        n_findings = len(frame)
        for col, target in (("severity", by_sev), ("category", by_cat), ("action", by_action)):
            if col in frame.columns:
                target.clear()
                target.update({str(k): int(v) for k, v in frame[col].fillna("unspecified").value_counts().items()})
    recon_block, totals = reconciliation_block(quality.get("reconciliation"))
    quarantined = totals["quarantined"] if totals["quarantined"] is not None else quality.get("rows_quarantined")
    blocks: list[dict] = []
    if n_findings is None and not by_sev and recon_block is None:
        blocks.append(_na("Data-quality summary"))
    else:
        sev_order = ["error", "warning"]
        cats = sorted(by_cat)
        rows = []
        if frame is not None and {"severity", "category"} <= set(frame.columns):
            for cat in cats:
                sub = frame[frame["category"].fillna("unspecified") == cat]
                rows.append([fmt.humanize(cat)] + [str(int((sub["severity"] == s).sum())) for s in sev_order]
                            + [str(len(sub))])
            rows.append(["All categories"] + [str(int(by_sev.get(s, 0))) for s in sev_order] + [str(n_findings)])
            blocks.append(table(["Category", "Errors", "Warnings", "All"], rows, caption="Findings by category and severity"))
        else:
            if by_sev:
                blocks.append(table(["Severity", "Findings"], [[fmt.humanize(k), str(v)] for k, v in sorted(by_sev.items())],
                                    caption="Findings by severity"))
            if by_cat:
                blocks.append(table(["Category", "Findings"], [[fmt.humanize(k), str(v)] for k, v in sorted(by_cat.items())],
                                    caption="Findings by category"))
        if by_action:
            blocks.append(table(["What the pipeline did", "Findings"],
                                [[ACTION_WORDS.get(k, k), str(v)] for k, v in sorted(by_action.items())],
                                caption="Findings by action"))
        if recon_block is not None:
            blocks.append(recon_block)
    return {"id": "quality", "title": "Data quality", "blocks": blocks,
            "summary": {"n_findings": n_findings, "errors": by_sev.get("error"), "warnings": by_sev.get("warning"),
                        "quarantined": quarantined, "balanced": totals["balanced"]},
            "gates": records(quality.get("gate_results"))}



# ------------------------------------------------------------------------------------------------ render


def build_context(outcomes: dict | None, marts: dict | None, quality: dict | None, provenance: dict | None) -> dict:
    outcomes = dict(outcomes or {})
    marts = dict(marts or {})
    prov = dict(outcomes.get("provenance") or {}) if isinstance(outcomes.get("provenance"), dict) else {}
    prov.update(provenance or {})
    sections = [_cohort_flow(outcomes, marts), _table1(outcomes, marts), _survival(outcomes, marts),
                _mrss(outcomes, marts), _hrct(outcomes), _pah(outcomes), _haq(outcomes, marts),
                _vascular(outcomes, marts), _adverse_events(outcomes, marts)]
    beyond = _beyond(outcomes, marts)
    demo_key = any(bool(prov.get(k)) for k in ("demo_key", "demo_pseudonym_key", "pseudonym_key_is_demo"))
    return {
        "title": "UC-MSC transplantation in systemic sclerosis: follow-up outcomes",
        "headline": _headline(outcomes),
        "sections": sections,
        "beyond": beyond,
        "quality": _quality(quality),
        "provenance": provenance_items(prov),
        "prov": {k: provenance_get(prov, k) for k in ("drop_id", "records_file", "run_id", "code_version",
                                                       "generated_at", "records_sha256")},
        "demo_key": demo_key,
        "steward_link": STEWARD_LINK,
        "data_docs_link": DATA_DOCS_LINK,
    }


def render_study_report(outcomes: dict, marts: dict[str, pd.DataFrame], quality: dict, provenance: dict) -> str:
    """The study report as one self-contained HTML string (see the module docstring for the inputs)."""
    context = build_context(outcomes, marts, quality, provenance)
    return environment().get_template("study_report.html.j2").render(**context)
