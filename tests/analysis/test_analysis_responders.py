"""mRSS responders: > 5 points and ≥ 25 % of baseline."""

import pytest
from analysis_builders import adbds, series

from analysis.responders import classify, mrss_responders


@pytest.mark.parametrize("baseline, value, category", [
    (20, 14, "improved"),     # fall 6 (30 %)
    (20, 15, "stable"),       # fall exactly 5: not > 5
    (24, 18, "improved"),     # fall 6 = exactly 25 %
    (40, 32, "stable"),       # fall 8 = 20 %
    (10, 16, "progressed"),   # rise 6 (60 %)
    (24, 30, "progressed"),   # rise 6 = exactly 25 %
    (30, 37, "stable"),       # rise 7 = 23 %
    (10, 15, "stable"),       # rise exactly 5
    (0, 6, "progressed"),
])
def test_classify_boundaries(baseline, value, category):
    assert classify(baseline, value) == category


def test_responders_by_timepoint():
    rows = []
    for rid, (b, v) in {"A": (20, 14), "B": (20, 15), "C": (24, 18), "D": (40, 32), "E": (10, 16),
                        "F": (30, 37)}.items():
        rows += series(rid, "mrss_total", {"baseline": b, "month_12": v})
    rows += series("G", "mrss_total", {"month_12": 5, "month_60": 4})  # no baseline: not paired
    rows += series("A", "mrss_total", {"month_60": 8})
    out = mrss_responders(adbds(rows))
    assert [r["timepoint"] for r in out] == ["month_12", "month_36", "month_60"]
    m12, m36, m60 = out
    assert (m12["n_paired"], m12["improved"], m12["stable"], m12["progressed"]) == (6, 2, 3, 1)
    assert m12["improved_pct"] == pytest.approx(100 * 2 / 6)
    assert m36["n_paired"] == 0 and m36["improved_pct"] is None
    assert (m60["n_paired"], m60["improved"]) == (1, 1) and m60["improved_pct"] == 100.0
