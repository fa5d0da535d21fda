"""mRSS responders against the analysed baseline."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, paired_with_baseline, percent

TIMEPOINTS = ("month_12", "month_36", "month_60")
MIN_POINTS = 5.0       # change must exceed 5 points (strictly)
MIN_FRACTION = 0.25    # and be at least 25% of baseline


def classify(baseline: float, value: float) -> str:
    """'improved' if mRSS fell by > 5 points and ≥ 25% of baseline; 'progressed' if it rose by > 5 points and
    ≥ 25% of baseline; otherwise 'stable'."""
    change = value - baseline
    size = abs(change)
    if size > MIN_POINTS + EPS and size >= MIN_FRACTION * baseline - EPS:
        return "improved" if change < 0 else "progressed"
    return "stable"


def mrss_responders(adbds: pd.DataFrame, timepoints=TIMEPOINTS, param: str = "mrss_total") -> list[dict]:
    """[{timepoint, n_paired, improved, stable, progressed, improved_pct, progressed_pct}] for each requested
    timepoint (listed even with no pairs: n_paired 0, percentages None)."""
    paired = paired_with_baseline(adbds, param)
    out = []
    for tp in timepoints:
        rows = paired[paired["timepoint"] == tp]
        cats = [classify(b, v) for b, v in zip(rows["baseline"], rows["value"])]
        n = len(cats)
        counts = {c: cats.count(c) for c in ("improved", "stable", "progressed")}
        out.append({"timepoint": tp, "n_paired": n, **counts,
                    "improved_pct": percent(counts["improved"], n),
                    "progressed_pct": percent(counts["progressed"], n)})
    return out
