"""Vascular outcomes: Raynaud's Condition Score, active digital ulcers, Medsger peripheral vascular severity."""

from __future__ import annotations

import pandas as pd

from analysis._common import analysed_values, sort_timepoints
from analysis.continuous import summarise_by_timepoint

MEDSGER_GRADES = ("0", "1", "2", "3", "4")


def digital_ulcers_by_timepoint(adbds: pd.DataFrame) -> list[dict]:
    """[{timepoint, n (patients with du_active_count recorded), patients_with_active_ulcers (count > 0)}]."""
    du = analysed_values(adbds, "du_active_count")
    by_tp = dict(iter(du.groupby("timepoint")["value"]))
    out = []
    for tp in sort_timepoints(du["timepoint"]):
        values = by_tp[tp]
        out.append({"timepoint": tp, "n": int(len(values)), "patients_with_active_ulcers": int((values > 0).sum())})
    return out


def medsger_by_timepoint(adbds: pd.DataFrame) -> list[dict]:
    """[{timepoint, n, counts: {"0": n, ..., "4": n}}] of the analysed medsger_pv grades."""
    grades = analysed_values(adbds, "medsger_pv")
    by_tp = dict(iter(grades.groupby("timepoint")["value"]))
    out = []
    for tp in sort_timepoints(grades["timepoint"]):
        values = by_tp[tp].round().astype(int).astype(str)
        counts = {g: int((values == g).sum()) for g in MEDSGER_GRADES}
        out.append({"timepoint": tp, "n": int(len(values)), "counts": counts})
    return out


def vascular(adbds: pd.DataFrame) -> dict:
    """The contract's ``vascular`` key, plus Medsger grades."""
    return {
        "rcs_by_timepoint": summarise_by_timepoint(adbds, "rcs"),
        "digital_ulcers_by_timepoint": digital_ulcers_by_timepoint(adbds),
        "medsger_by_timepoint": medsger_by_timepoint(adbds),
    }
