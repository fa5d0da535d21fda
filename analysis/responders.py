"""mRSS responders against the analysed baseline (``responders.*`` of study/analysis_settings.toml: EUSTAR's
definition of skin improvement and progression)."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, paired_with_baseline, percent
from analysis.settings import value as setting

TIMEPOINTS = setting("responders.timepoints")
MIN_POINTS = setting("responders.min_points")  # the change must exceed this many mRSS points (strictly)
MIN_FRACTION = setting("responders.min_fraction")  # and be at least this share of baseline


def classify(baseline: float, value: float, min_points: float = MIN_POINTS,
             min_fraction: float = MIN_FRACTION) -> str:
    """'improved' if mRSS fell by more than ``min_points`` and by at least ``min_fraction`` of baseline;
    'progressed' if it rose by as much; otherwise 'stable'."""
    change = value - baseline
    size = abs(change)
    if size > min_points + EPS and size >= min_fraction * baseline - EPS:
        return "improved" if change < 0 else "progressed"
    return "stable"


def mrss_responders(adbds: pd.DataFrame, timepoints=TIMEPOINTS, param: str = "mrss_total", *,
                    min_points: float = MIN_POINTS, min_fraction: float = MIN_FRACTION) -> list[dict]:
    """[{timepoint, n_paired, improved, stable, progressed, improved_pct, progressed_pct}] for each requested
    timepoint (listed even with no pairs: n_paired 0, percentages None); categories by :func:`classify`."""
    paired = paired_with_baseline(adbds, param)
    out = []
    for tp in timepoints:
        rows = paired[paired["timepoint"] == tp]
        cats = [classify(b, v, min_points, min_fraction) for b, v in zip(rows["baseline"], rows["value"])]
        n = len(cats)
        counts = {c: cats.count(c) for c in ("improved", "stable", "progressed")}
        out.append({"timepoint": tp, "n_paired": n, **counts,
                    "improved_pct": percent(counts["improved"], n),
                    "progressed_pct": percent(counts["progressed"], n)})
    return out
