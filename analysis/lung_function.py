"""Lung function (FVC, DLCO % predicted) and ILD progression (``lung_function.*`` of
study/analysis_settings.toml)."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, analysed_values, fnum, population, sort_timepoints
from analysis.continuous import change_from_baseline, summarise_by_timepoint
from analysis.settings import value

FVC_MAJOR = value("lung_function.fvc_major")  # relative FVC decline (%) from which it is progression
FVC_MINOR = value("lung_function.fvc_minor")  # from this up to FVC_MAJOR ...
DLCO_DECLINE = value("lung_function.dlco_decline")  # ... progression with a relative DLCO decline this large


def relative_decline(baseline: float | None, value: float | None) -> float | None:
    """100 × (baseline − value) / baseline; None when not computable."""
    if baseline is None or value is None or baseline <= 0:
        return None
    return 100.0 * (baseline - value) / baseline


def classify_progression(fvc_decline: float | None, dlco_decline: float | None, *, fvc_major: float = FVC_MAJOR,
                         fvc_minor: float = FVC_MINOR, dlco_limit: float = DLCO_DECLINE) -> str:
    """'progression' (relative FVC decline ≥ ``fvc_major``, or ≥ ``fvc_minor`` with a DLCO decline ≥
    ``dlco_limit``) | 'no_progression' | 'indeterminate' (FVC missing, or a moderate FVC decline with DLCO
    missing). Declines in % of baseline (:func:`relative_decline`)."""
    if fvc_decline is None:
        return "indeterminate"
    if fvc_decline >= fvc_major - EPS:
        return "progression"
    if fvc_decline >= fvc_minor - EPS:
        if dlco_decline is None:
            return "indeterminate"
        return "progression" if dlco_decline >= dlco_limit - EPS else "no_progression"
    return "no_progression"


def ild_progression(adsl: pd.DataFrame, adbds: pd.DataFrame) -> dict:
    """ILD progression in the ILD population, against the analysed baseline PFT.

    {n_ild, by_timepoint: [{timepoint, n_evaluable, progression, no_progression, indeterminate}],
     latest: {n_evaluable, progression, no_progression, indeterminate}, patients: [...]}.
    Evaluable at a timepoint = analysed baseline and timepoint FVC; the latest is each patient's last
    post-baseline timepoint with an analysed FVC. DLCO is taken from the same timepoint.
    """
    ild = set(population(adsl, "ild_baseline"))
    fvc = analysed_values(adbds, "fvc_pct_pred")
    dlco = analysed_values(adbds, "dlco_pct_pred")
    fvc, dlco = fvc[fvc["record_id"].isin(ild)], dlco[dlco["record_id"].isin(ild)]
    fvc_at = {(r.record_id, r.timepoint): r.value for r in fvc.itertuples()}
    dlco_at = {(r.record_id, r.timepoint): r.value for r in dlco.itertuples()}

    assessments = []
    for r in fvc[fvc["timepoint"] != "baseline"].itertuples():
        base_fvc = fvc_at.get((r.record_id, "baseline"))
        if base_fvc is None:
            continue
        f = relative_decline(base_fvc, r.value)
        d = relative_decline(dlco_at.get((r.record_id, "baseline")), dlco_at.get((r.record_id, r.timepoint)))
        assessments.append({"record_id": r.record_id, "timepoint": r.timepoint, "study_day": fnum(r.study_day),
                            "fvc_decline_pct": fnum(f), "dlco_decline_pct": fnum(d),
                            "category": classify_progression(f, d)})
    table = pd.DataFrame(assessments, columns=["record_id", "timepoint", "study_day", "fvc_decline_pct",
                                               "dlco_decline_pct", "category"])

    def counts(frame: pd.DataFrame) -> dict:
        return {"n_evaluable": int(len(frame)),
                **{c: int((frame["category"] == c).sum()) for c in ("progression", "no_progression",
                                                                     "indeterminate")}}

    by_tp = [{"timepoint": tp, **counts(table[table["timepoint"] == tp])} for tp in sort_timepoints(table["timepoint"])]
    order = {tp: i for i, tp in enumerate(sort_timepoints(table["timepoint"]))}
    latest_by_patient: dict = {}
    for a in assessments:
        held = latest_by_patient.get(a["record_id"])
        if held is None or order[a["timepoint"]] > order[held["timepoint"]]:
            latest_by_patient[a["record_id"]] = a
    latest = pd.DataFrame(list(latest_by_patient.values()), columns=table.columns)
    return {"n_ild": len(ild), "by_timepoint": by_tp, "latest": counts(latest),
            "patients": list(latest_by_patient.values())}


def lung_function(adsl: pd.DataFrame, adbds: pd.DataFrame) -> dict:
    return {
        "fvc_by_timepoint": summarise_by_timepoint(adbds, "fvc_pct_pred"),
        "fvc_change_from_baseline": change_from_baseline(adbds, "fvc_pct_pred"),
        "dlco_by_timepoint": summarise_by_timepoint(adbds, "dlco_pct_pred"),
        "dlco_change_from_baseline": change_from_baseline(adbds, "dlco_pct_pred"),
        "ild_progression": ild_progression(adsl, adbds),
    }
