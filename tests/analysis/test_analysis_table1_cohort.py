"""Table 1 and the cohort flow."""

import statistics

import pytest
from analysis_builders import adbds, adsl, adtte, bds, series

from analysis.cohort import cohort_flow
from analysis.table1 import table1

SL = adsl([
    {"record_id": "A", "age_years": 30, "sex": "Female", "ild_baseline": True, "baseline_mrss": 20.0,
     "disease_duration_years": 1.0},
    {"record_id": "B", "age_years": 40, "sex": "Male", "ssc_subtype": "Limited cutaneous SSc",
     "baseline_mrss": 10.0, "disease_duration_years": 2.0, "ab_scl70": False},
    {"record_id": "C", "age_years": 50, "sex": "Female", "ild_baseline": True, "baseline_mrss": None,
     "disease_duration_years": 3.0, "lost_to_follow_up": True},
    {"record_id": "D", "age_years": None, "sex": "Female", "ild_baseline": None, "baseline_mrss": 30.0,
     "disease_duration_years": 10.0, "ab_scl70": None},
])


def test_table1_rows():
    out = table1(SL)
    rows = {r["characteristic"]: r for r in out["rows"]}
    assert out["n"] == 4
    age = rows["Age (years)"]
    assert age["n"] == 3 and age["raw"]["mean"] == 40.0 and age["raw"]["sd"] == 10.0
    assert age["raw"]["q1"] == 35.0 and age["raw"]["q3"] == 45.0
    assert age["value"] == "40.0 (10.0); median 40.0 (35.0–45.0)"
    assert rows["Female"]["value"] == "3 (75.0%)" and rows["Female"]["raw"]["count"] == 3
    assert rows["Diffuse cutaneous SSc"]["value"] == "3 (75.0%)"
    assert rows["Limited cutaneous SSc"]["value"] == "1 (25.0%)"
    assert rows["SSc sine scleroderma"]["value"] == "0 (0.0%)"
    dd = rows["Disease duration (years)"]
    assert dd["raw"]["median"] == 2.5 and dd["value"] == "2.5 (1.8–4.8)"  # numpy linear quartiles 1.75, 4.75
    # booleans: denominator = patients with the item recorded
    assert rows["Interstitial lung disease"]["value"] == "2 (66.7%)" and rows["Interstitial lung disease"]["n"] == 3
    assert rows["Anti-Scl-70 (topoisomerase I)"]["value"] == "2 (66.7%)"
    mrss = rows["Baseline mRSS"]
    assert mrss["n"] == 3 and mrss["value"] == "20.00 (10.00)"
    assert rows["Prior glucocorticoids"]["value"] == "0 (0.0%)"


def test_cohort_flow():
    bds_rows = (series("A", "mrss_total", {"baseline": 20, "month_12": 15})
                + series("B", "haq_di", {"baseline": 1.0, "month_12": None})
                + series("C", "mrss_total", {"baseline": 12})
                + [bds("D", "mrss_total", "month_12", 9, analysed=False)])
    tte = adtte([("A", 5.5, 0), ("B", 2.0, 1), ("C", 1.0, 0), ("D", 6.0, 0)])
    out = cohort_flow(SL, adbds(bds_rows), tte, enrolled=6)
    assert out["enrolled"] == 6 and out["infused"] == 4 and out["deaths"] == 1 and out["lost_to_follow_up"] == 1
    assert out["assessed_by_timepoint"] == [{"timepoint": "baseline", "n_any": 3, "n_mrss": 2},
                                            {"timepoint": "month_12", "n_any": 1, "n_mrss": 1}]
    assert out["median_observation_years"] == pytest.approx(statistics.median([5.5, 2.0, 1.0, 6.0]))
    # reverse KM: C at 1.0 (4 at risk) → 3/4; B's death censored; A at 5.5 (2 at risk) → 3/8
    assert out["median_follow_up_years"] == pytest.approx(5.5)
    assert out["median_follow_up_method"] == "reverse Kaplan-Meier"
