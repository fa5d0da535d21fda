"""PAH on echocardiography in patients with PAH at baseline."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, analysed_values, flagged, fnum, num, population

RISE_LIMIT = 10.0  # mmHg of echo_pasp_mmhg
DEATH_HORIZON_YEARS = 5.0


def pah(adsl: pd.DataFrame, adbds: pd.DataFrame, adtte: pd.DataFrame, *,
        final_timepoint: str = "month_60") -> dict:
    """{n, stable, worsened, not_evaluable, patients}.

    Worsened if the patient died on or before 5 years (adtte CNSR 0, AVAL ≤ 5 years); otherwise, with
    analysed baseline and ``final_timepoint`` PASP values: stable if the rise is < 10 mmHg, worsened otherwise
    (a fall is a rise < 10: stable); otherwise not evaluable. A patient whose adtte row is not analysed (a
    recorded death that cannot be placed in time: adtte without ANL01FL, ``exclusion_reason``) is not
    evaluable: whether they died within 5 years is unknown, and the echo must not decide for them.
    """
    pop = population(adsl, "pah_baseline")
    died_early: set = set()
    unplaced: dict = {}
    if adtte is not None and not adtte.empty:
        tte = adtte[adtte["PARAMCD"] == "OS"]
        event = num(tte["CNSR"]) == 0
        time = num(tte["AVAL"])
        died_early = set(tte.loc[event & (time <= DEATH_HORIZON_YEARS + EPS), "USUBJID"])
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
            category, reason = "worsened", "death within 5 years"
        elif rise is None:
            category, reason = "not_evaluable", "no baseline or final echo"
        elif rise < RISE_LIMIT - EPS:
            category, reason = "stable", "PASP rise < 10 mmHg"
        else:
            category, reason = "worsened", "PASP rise ≥ 10 mmHg"
        counts[category] += 1
        patients.append({"record_id": rid, "category": category, "reason": reason,
                         "baseline_pasp": fnum(base.get(rid)), "final_pasp": fnum(final.get(rid)),
                         "rise": fnum(rise)})
    return {"n": len(pop), **counts, "patients": patients}
