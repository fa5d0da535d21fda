"""Overall survival leaves out the patients adtte does not analyse (a death that cannot be placed in time): they
are counted and named, never censored. Hand-computed Kaplan–Meier on four analysed patients."""

import math

import pandas as pd
import pytest
from analysis_builders import adtte

from analysis.cohort import cohort_flow
from analysis.survival import at_risk_table, km_curve, median_follow_up, overall_survival

# analysed: deaths at 1 and 3 years, censored at 2 and 4 years
ANALYSED = [("a", 1.0, 1), ("b", 2.0, 0), ("c", 3.0, 1), ("d", 4.0, 0)]


def with_exclusions() -> pd.DataFrame:
    """The four analysed rows, one patient left out as adtte writes it (no event, no time) and one left out
    whose stale time and event would change every figure if they were used (censored at 5 years)."""
    frame = adtte(ANALYSED + [("x", 5.0, 0), ("y", 5.0, 0)])
    frame["ANL01FL"] = ["Y"] * 4 + [None, None]
    frame["exclusion_reason"] = [None] * 4 + ["recorded as dead without a usable death date",
                                              "death date before day 0"]
    frame.loc[frame["USUBJID"] == "x", ["CNSR", "ADY", "AVAL"]] = None
    return frame


def test_km_uses_the_analysed_rows_only():
    out = overall_survival(with_exclusions())
    assert (out["n"], out["deaths"], out["n_excluded"]) == (4, 2, 2)
    assert out["excluded"] == [{"record_id": "x", "reason": "recorded as dead without a usable death date"},
                               {"record_id": "y", "reason": "death date before day 0"}]
    est = {e["year"]: e for e in out["estimates"]}
    # S(1) = 3/4; S(3) = 3/4 · 1/2 (b censored at 2 leaves c and d at risk); beyond 4 years: undefined
    assert est[1]["survival"] == pytest.approx(0.75)
    assert est[3]["survival"] == pytest.approx(0.375)
    assert est[5]["survival"] is None
    assert [est[t]["at_risk"] for t in (1, 3, 5)] == [4, 2, 0]
    assert out["median_years"] == pytest.approx(3.0)
    # log(−log) CI at 1 year: V = d/(n(n−d)) / (log S)² = (1/12) / log(0.75)²
    se = math.sqrt(1 / 12) / abs(math.log(0.75))
    assert est[1]["ci_lower"] == pytest.approx(0.75 ** math.exp(1.959963984540054 * se))


def test_curve_risk_table_and_follow_up_use_the_analysed_rows_only():
    frame = with_exclusions()
    curve = km_curve(frame)
    assert curve["time_years"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert curve["survival"].tolist() == pytest.approx([1.0, 0.75, 0.75, 0.375, 0.375])
    table = at_risk_table(frame, years=(0, 1, 5))
    assert table["at_risk"].tolist() == [4, 4, 0] and table["deaths"].tolist() == [0, 1, 2]
    # reverse KM (censoring as the event): 2/3 after 2 years, 0 after 4 -> median 4; simple median 2.5
    assert median_follow_up(frame) == {"reverse_km_years": pytest.approx(4.0),
                                       "simple_median_years": pytest.approx(2.5)}
    flow = cohort_flow(pd.DataFrame({"USUBJID": list("abcdxy"), "lost_to_follow_up": [False] * 6}), None, frame)
    assert (flow["infused"], flow["deaths"], flow["median_observation_years"]) == (6, 2, pytest.approx(2.5))


def test_every_analysed_row_enters():
    out = overall_survival(adtte(ANALYSED))
    assert (out["n"], out["deaths"], out["n_excluded"], out["excluded"]) == (4, 2, 0, [])


def test_everyone_left_out_gives_no_estimate_but_names_them():
    frame = with_exclusions()
    frame["ANL01FL"] = None
    out = overall_survival(frame)
    assert (out["n"], out["n_excluded"]) == (0, 6)
    assert all(e["survival"] is None for e in out["estimates"])
