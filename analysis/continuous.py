"""Continuous parameters: summaries by timepoint and paired change from baseline (analysed assessments only)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis._common import analysed_values, describe, fnum, paired_with_baseline, sort_timepoints


def summarise_by_timepoint(adbds: pd.DataFrame, param: str) -> list[dict]:
    """[{timepoint, n, mean, sd, median}] over analysed, non-null values; timepoints with data, window order."""
    values = analysed_values(adbds, param)
    by_tp = {tp: v.to_numpy() for tp, v in values.groupby("timepoint")["value"]}  # each in the order of values
    return [{"timepoint": tp, **describe(by_tp[tp])} for tp in sort_timepoints(values["timepoint"])]


def paired_tests(differences) -> tuple[float | None, float | None]:
    """Two-sided paired t-test and Wilcoxon signed-rank p-values on paired differences (None where not
    computable: fewer than 2 pairs, all differences zero, or zero variance)."""
    d = np.asarray(differences, dtype=float)
    if d.size < 2 or np.all(d == 0):
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_p = fnum(stats.ttest_1samp(d, 0.0).pvalue) if np.std(d) > 0 else None
        try:
            w_p = fnum(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
        except ValueError:
            w_p = None
    return t_p, w_p


def change_from_baseline(adbds: pd.DataFrame, param: str) -> list[dict]:
    """[{timepoint, n_paired, mean_change, sd_change, t_test_p, wilcoxon_p}] per post-baseline timepoint with at
    least one patient who has both an analysed baseline and an analysed value there (change = value − baseline)."""
    paired = paired_with_baseline(adbds, param)
    by_tp = {tp: d.to_numpy(dtype=float) for tp, d in paired.groupby("timepoint")["change"]}  # in paired's order
    out = []
    for tp in sort_timepoints(paired["timepoint"]):
        d = by_tp[tp]
        summary = describe(d)
        t_p, w_p = paired_tests(d)
        out.append({"timepoint": tp, "n_paired": summary["n"], "mean_change": summary["mean"],
                    "sd_change": summary["sd"], "t_test_p": t_p, "wilcoxon_p": w_p})
    return out


def mrss_outcome(adbds: pd.DataFrame) -> dict:
    """The contract's ``mrss`` key."""
    return {"by_timepoint": summarise_by_timepoint(adbds, "mrss_total"),
            "change_from_baseline": change_from_baseline(adbds, "mrss_total")}


def haq_di_outcome(adbds: pd.DataFrame) -> dict:
    """The contract's ``haq_di`` key (plus change from baseline, beyond the contract)."""
    return {"by_timepoint": summarise_by_timepoint(adbds, "haq_di"),
            "change_from_baseline": change_from_baseline(adbds, "haq_di")}
