"""Summaries by timepoint and change from baseline."""

import math
import statistics

import pandas as pd
import pytest
from analysis_builders import adbds, bds, series
from scipy import stats

from analysis._common import describe, sort_timepoints
from analysis.continuous import change_from_baseline, mrss_outcome, paired_tests, summarise_by_timepoint

FRAME = adbds(
    series("A", "mrss_total", {"baseline": 20, "month_3": 18, "month_12": 15})
    + series("B", "mrss_total", {"baseline": 10, "month_12": 12})
    + series("C", "mrss_total", {"baseline": 30})                       # missed month_12
    + series("D", "mrss_total", {"baseline": None, "month_12": 8})      # null baseline value
    + [bds("A", "mrss_total", "month_12", 99, analysed=False, study_day=300),  # not analysed: ignored
       bds("B", "mrss_total", None, 50, study_day=3000),                       # outside every window
       bds("A", "haq_di", "baseline", 1.5)]                                    # another param
)


def test_summary_by_timepoint_hand_computed():
    out = summarise_by_timepoint(FRAME, "mrss_total")
    assert [r["timepoint"] for r in out] == ["baseline", "month_3", "month_12"]  # window order, not alphabetical
    base, m3, m12 = out
    assert base == {"timepoint": "baseline", "n": 3, "mean": 20.0, "sd": 10.0, "median": 20.0}
    assert m3 == {"timepoint": "month_3", "n": 1, "mean": 18.0, "sd": None, "median": 18.0}
    assert m12["n"] == 3 and m12["mean"] == pytest.approx(35 / 3) and m12["median"] == 12.0
    assert m12["sd"] == pytest.approx(statistics.stdev([15, 12, 8]))


def test_change_from_baseline_pairs_only_complete_patients():
    out = change_from_baseline(FRAME, "mrss_total")
    assert [r["timepoint"] for r in out] == ["month_3", "month_12"]
    m3, m12 = out
    assert m3["n_paired"] == 1 and m3["mean_change"] == -2.0
    assert m3["sd_change"] is None and m3["t_test_p"] is None and m3["wilcoxon_p"] is None
    # pairs: A −5, B +2 (C no month_12, D no baseline)
    assert m12["n_paired"] == 2 and m12["mean_change"] == pytest.approx(-1.5)
    assert m12["sd_change"] == pytest.approx(math.sqrt(2 * 3.5 ** 2))
    t = -1.5 / (m12["sd_change"] / math.sqrt(2))
    assert m12["t_test_p"] == pytest.approx(1 - 2 / math.pi * math.atan(abs(t)))  # t with 1 df is Cauchy
    # exact signed-rank, n = 2: ranks 1 (+2) and 2 (−5); W+ = 1; P(W+ ≤ 1) = 2/4, two-sided 1.0
    assert m12["wilcoxon_p"] == pytest.approx(1.0)


def test_paired_tests_hand_values():
    t_p, w_p = paired_tests([1, 2, 3, 4, 5])
    assert w_p == pytest.approx(2 / 2 ** 5)  # all positive: exact two-sided 2·(1/32)
    t = 3 / (math.sqrt(2.5) / math.sqrt(5))
    assert t_p == pytest.approx(2 * stats.t.sf(t, 4))
    assert paired_tests([0, 0, 0]) == (None, None)
    assert paired_tests([4]) == (None, None)
    t_p, w_p = paired_tests([2, 2, 2])  # zero variance: t undefined, signed-rank fine
    assert t_p is None and w_p == pytest.approx(0.25)


def test_all_zero_changes_give_none_p():
    frame = adbds(series("A", "mrss_total", {"baseline": 10, "month_12": 10})
                  + series("B", "mrss_total", {"baseline": 12, "month_12": 12}))
    (row,) = change_from_baseline(frame, "mrss_total")
    assert row["n_paired"] == 2 and row["mean_change"] == 0.0 and row["sd_change"] == 0.0
    assert row["t_test_p"] is None and row["wilcoxon_p"] is None


def test_empty_and_unknown_param():
    assert summarise_by_timepoint(FRAME, "rcs") == []
    assert change_from_baseline(FRAME, "rcs") == []
    assert summarise_by_timepoint(adbds([]), "mrss_total") == []


def test_mrss_outcome_shape():
    out = mrss_outcome(FRAME)
    assert set(out) == {"by_timepoint", "change_from_baseline"}
    assert set(out["change_from_baseline"][0]) == {"timepoint", "n_paired", "mean_change", "sd_change",
                                                   "t_test_p", "wilcoxon_p"}


def test_describe_of_a_float_column_leaves_out_the_missing_and_infinite_as_describe_of_the_values_does():
    column = pd.Series([1.0, math.nan, 2.5, math.inf, 4.0])
    expected = {"n": 3, "mean": 2.5, "sd": 1.5, "median": 2.5}  # sd: sqrt((1.5² + 0 + 1.5²) / 2)
    assert describe(column) == describe(column.to_numpy()) == expected
    assert describe([1.0, None, 2.5, "not a number", -math.inf, 4.0]) == expected


def test_the_timepoints_of_a_column_are_its_distinct_windows_in_window_order():
    column = pd.Series(["month_12", None, "baseline", math.nan, "month_12", "month_3"], dtype=object)
    assert sort_timepoints(column) == sort_timepoints(list(column)) == ["baseline", "month_3", "month_12"]
