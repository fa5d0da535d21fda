"""Kaplan–Meier against hand computation (Greenwood variance, log(−log) CI)."""

import math

import pandas as pd
import pytest
from analysis_builders import adtte

from analysis.survival import at_risk_table, deaths, km_curve, median_follow_up, overall_survival, risk_table_years

Z = 1.959963984540054  # standard normal 97.5 % quantile


def loglog_ci(s, greenwood_sum):
    """S^exp(±z·sqrt(V)), V = Σ d/(n(n−d)) / (log S)²."""
    se = math.sqrt(greenwood_sum) / abs(math.log(s))
    return s ** math.exp(Z * se), s ** math.exp(-Z * se)


# deaths at 0.5 and 1.0, a censoring at exactly 1.0, a death at 3.0, censored at 6.0
FIVE = adtte([("a", 0.5, 1), ("b", 1.0, 1), ("c", 1.0, 0), ("d", 3.0, 1), ("e", 6.0, 0)])


def test_km_with_censoring_matches_hand_computation():
    out = overall_survival(FIVE)
    assert out["n"] == 5 and out["deaths"] == 3
    est = {e["year"]: e for e in out["estimates"]}
    assert list(est) == [1, 3, 5]
    # S(1) = 4/5 · 3/4 (the censoring at 1.0 is still at risk at 1.0) ; S(3) = 0.6 · 1/2
    assert est[1]["survival"] == pytest.approx(0.6)
    assert est[3]["survival"] == pytest.approx(0.3)
    assert est[5]["survival"] == pytest.approx(0.3)
    g1 = 1 / (5 * 4) + 1 / (4 * 3)
    g3 = g1 + 1 / (2 * 1)
    lo, hi = loglog_ci(0.6, g1)
    assert (est[1]["ci_lower"], est[1]["ci_upper"]) == (pytest.approx(lo), pytest.approx(hi))
    lo, hi = loglog_ci(0.3, g3)
    assert (est[3]["ci_lower"], est[3]["ci_upper"]) == (pytest.approx(lo), pytest.approx(hi))
    assert est[5]["ci_lower"] == pytest.approx(lo)
    assert [est[t]["at_risk"] for t in (1, 3, 5)] == [4, 2, 1]
    assert out["median_years"] == pytest.approx(3.0)


def test_event_exactly_at_t_counts_and_types_are_plain():
    out = overall_survival(adtte([("a", 1.0, 1), ("b", 2.0, 0), ("c", 7.0, 0)]))
    e1 = out["estimates"][0]
    assert e1["survival"] == pytest.approx(2 / 3)
    assert e1["at_risk"] == 3  # time ≥ 1 includes the death at 1.0
    for e in out["estimates"]:
        assert type(e["survival"]) is float and type(e["at_risk"]) is int and type(e["year"]) is int


def test_tied_deaths():
    out = overall_survival(adtte([("a", 1, 1), ("b", 1, 1), ("c", 2, 0), ("d", 3, 1), ("e", 8, 0)]))
    est = {e["year"]: e for e in out["estimates"]}
    assert est[1]["survival"] == pytest.approx(3 / 5)  # two deaths among five at risk
    assert est[3]["survival"] == pytest.approx(3 / 5 * 1 / 2)
    lo, hi = loglog_ci(0.6, 2 / (5 * 3))
    assert est[1]["ci_lower"] == pytest.approx(lo) and est[1]["ci_upper"] == pytest.approx(hi)
    assert out["median_years"] == pytest.approx(3.0)


def test_median_not_reached_is_none():
    out = overall_survival(adtte([("a", 0.5, 1), ("b", 5.5, 0), ("c", 5.6, 0), ("d", 6, 0)]))
    assert out["median_years"] is None
    assert out["estimates"][2]["survival"] == pytest.approx(0.75)


def test_no_deaths_gives_survival_one():
    out = overall_survival(adtte([("a", 5.5, 0), ("b", 6, 0)]))
    assert out["deaths"] == 0 and out["median_years"] is None
    assert all(e["survival"] == 1.0 for e in out["estimates"])


def test_beyond_follow_up_is_not_estimable():
    out = overall_survival(adtte([("a", 0.5, 1), ("b", 2.0, 0), ("c", 4.0, 0)]))
    assert out["estimates"][2] == {"year": 5, "survival": None, "ci_lower": None, "ci_upper": None, "at_risk": 0}


def test_empty():
    out = overall_survival(adtte([]))
    assert out["n"] == 0 and out["median_years"] is None
    assert [e["survival"] for e in out["estimates"]] == [None, None, None]


def test_published_five_year_figure():
    rows = [(f"p{i}", 5.5, 0) for i in range(38)] + [("d1", 0.8, 1), ("d2", 2.1, 1), ("d3", 4.9, 1)]
    est = overall_survival(adtte(rows))["estimates"][2]
    assert est["survival"] == pytest.approx(38 / 41)


def test_curve_and_risk_table():
    curve = km_curve(FIVE)
    assert list(curve.columns) == ["time_years", "survival", "ci_lower", "ci_upper", "at_risk", "n_censored"]
    assert curve["time_years"].tolist() == [0.0, 0.5, 1.0, 3.0, 6.0]
    assert curve["survival"].tolist() == pytest.approx([1.0, 0.8, 0.6, 0.3, 0.3])
    assert curve["at_risk"].tolist() == [5, 5, 4, 2, 1]  # time ≥ t
    assert curve["n_censored"].tolist() == [0, 0, 1, 0, 1]  # c at 1.0, e at 6.0
    lo, hi = loglog_ci(0.6, 1 / (5 * 4) + 1 / (4 * 3))
    assert (curve["ci_lower"][2], curve["ci_upper"][2]) == (pytest.approx(lo), pytest.approx(hi))
    table = at_risk_table(FIVE, [0, 1, 3, 5])
    assert table["at_risk"].tolist() == [5, 4, 2, 1]
    assert table["deaths"].tolist() == [0, 2, 3, 3]


def test_risk_table_years_reach_the_last_time_and_five_years():
    assert risk_table_years(FIVE) == [0, 1, 2, 3, 4, 5, 6]  # last time 6.0
    assert risk_table_years(adtte([("a", 2.2, 0)])) == [0, 1, 2, 3, 4, 5]
    assert risk_table_years(adtte([("a", 5.1, 0)])) == [0, 1, 2, 3, 4, 5, 6]


def test_deaths_listing():
    day0 = pd.Timestamp("2018-01-01")
    sl = pd.DataFrame({
        "USUBJID": ["a", "b", "c", "d"], "DTHFL": ["Y", "Y", None, "Y"],
        "DTHDT": [day0 + pd.Timedelta(days=900), day0 + pd.Timedelta(days=200), pd.NaT, pd.NaT],
        "DTHCAUS": ["Infection", None, None, "Unknown"], "death_treatment_related": [False, None, None, True]})
    tte = adtte([("a", 900 / 365.25, 1), ("b", 200 / 365.25, 1), ("c", 6.0, 0)])
    assert deaths(sl, tte) == [  # placed deaths by death date, then the one without a usable date
        {"record_id": "b", "placed": True, "time_years": pytest.approx(200 / 365.25), "cause": None,
         "treatment_related": None},
        {"record_id": "a", "placed": True, "time_years": pytest.approx(900 / 365.25), "cause": "Infection",
         "treatment_related": False},
        {"record_id": "d", "placed": False, "time_years": None, "cause": "Unknown", "treatment_related": True}]


def test_median_follow_up_reverse_km():
    # reverse KM: censorings are events → at 1.0 (n=4: c), 6.0 (n=1: e); deaths censored
    out = median_follow_up(FIVE)
    assert out["simple_median_years"] == pytest.approx(1.0)
    assert out["reverse_km_years"] == pytest.approx(6.0)
