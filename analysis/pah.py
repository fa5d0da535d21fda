"""PAH on echocardiography in patients with PAH at baseline (thresholds: ``pah.*`` of
study/analysis_settings.toml)."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, analysed_values, flagged, fnum, num, population
from analysis.settings import value

RISE_LIMIT = value("pah.pasp_rise")  # mmHg of echo_pasp_mmhg
DEATH_HORIZON_YEARS = value("pah.death_horizon")
FINAL_TIMEPOINT = value("pah.final_timepoint")


def pah(adsl: pd.DataFrame, adbds: pd.DataFrame, adtte: pd.DataFrame, *,
        final_timepoint: str = FINAL_TIMEPOINT, rise_limit: float = RISE_LIMIT,
        death_horizon_years: float = DEATH_HORIZON_YEARS) -> dict:
    """{n, stable, worsened, not_evaluable, patients}.

    Worsened if the patient died on or before ``death_horizon_years`` (adtte CNSR 0, AVAL in years ≤ it);
    otherwise, with analysed baseline and ``final_timepoint`` PASP values: stable if the rise is below
    ``rise_limit`` (mmHg), worsened otherwise (a fall is a rise below it: stable); otherwise not evaluable. A
    patient whose adtte row is not analysed (a recorded death that cannot be placed in time: adtte without
    ANL01FL, ``exclusion_reason``) is not evaluable: whether they died within the horizon is unknown, and the
    echo must not decide for them.
    """
    pop = population(adsl, "pah_baseline")
    died_early: set = set()
    unplaced: dict = {}
    if adtte is not None and not adtte.empty:
        tte = adtte[adtte["PARAMCD"] == "OS"]
        event = num(tte["CNSR"]) == 0
        time = num(tte["AVAL"])
        died_early = set(tte.loc[event & (time <= death_horizon_years + EPS), "USUBJID"])
        out = tte[~flagged(tte["ANL01FL"])]
        unplaced = dict(zip(out["USUBJID"], out["exclusion_reason"].fillna("not placed in time")))
    pasp = analysed_values(adbds, "echo_pasp_mmhg")
    base = dict(zip(pasp.loc[pasp["timepoint"] == "baseline", "record_id"],
                    pasp.loc[pasp["timepoint"] == "baseline", "value"]))
    final = dict(zip(pasp.loc[pasp["timepoint"] == final_timepoint, "record_id"],
                     pasp.loc[pasp["timepoint"] == final_timepoint, "value"]))

    counts = {"stable": 0, "worsened": 0, "not_evaluable": 0}
    patients = []
    for rid in pop:
        rise = final[rid] - base[rid] if rid in base and rid in final else None
        if rid in unplaced:
            category, reason = "not_evaluable", f"survival not placed in time: {unplaced[rid]}"
        elif rid in died_early:
            category, reason = "worsened", f"death within {death_horizon_years:g} years"
        elif rise is None:
            category, reason = "not_evaluable", "no baseline or final echo"
        elif rise < rise_limit - EPS:
            category, reason = "stable", f"PASP rise < {rise_limit:g} mmHg"
        else:
            category, reason = "worsened", f"PASP rise ≥ {rise_limit:g} mmHg"
        counts[category] += 1
        patients.append({"record_id": rid, "category": category, "reason": reason,
                         "baseline_pasp": fnum(base.get(rid)), "final_pasp": fnum(final.get(rid)),
                         "rise": fnum(rise)})
    return {"n": len(pop), **counts, "patients": patients}
