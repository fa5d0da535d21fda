"""Table 1 and the cohort flow."""

import statistics

import pytest
from analysis_builders import adbds, adsl, adtte, bds, series

from analysis.cohort import cohort_flow
from analysis.formatting import mean_sd
from analysis.table1 import shown, table1

SL = adsl([
    {"USUBJID": "A", "AGE": 30, "SEX": "F", "ild_baseline": True, "baseline_mrss": 20.0,
     "disease_duration_years": 1.0},
    {"USUBJID": "B", "AGE": 40, "SEX": "M", "ssc_subtype": "Limited cutaneous SSc",
     "baseline_mrss": 10.0, "disease_duration_years": 2.0, "ab_scl70": False},
    {"USUBJID": "C", "AGE": 50, "SEX": "F", "ild_baseline": True, "baseline_mrss": None,
     "disease_duration_years": 3.0, "lost_to_follow_up": True},
    {"USUBJID": "D", "AGE": None, "SEX": "F", "ild_baseline": None, "baseline_mrss": 30.0,
     "disease_duration_years": 10.0, "ab_scl70": None},
])


def test_table1_rows():
    out = table1(SL)
    rows = {r["characteristic"]: r for r in out["rows"]}
    assert out["n"] == 4 and rows["Patients"]["raw"] == {"count": 4}
    age = rows["Age (years)"]
    assert (age["parameter"], age["group"], age["n"]) == ("AGE", None, 3)
    assert age["raw"]["mean"] == 40.0 and age["raw"]["sd"] == 10.0
    assert age["raw"]["q1"] == 35.0 and age["raw"]["q3"] == 45.0
    assert rows["Female"]["raw"] == {"count": 3, "denominator": 4, "pct": 75.0}
    assert (rows["Female"]["parameter"], rows["Female"]["group"]) == ("SEX", "F")
    assert rows["Limited cutaneous SSc"]["raw"]["pct"] == 25.0
    assert rows["SSc sine scleroderma"]["raw"] == {"count": 0, "denominator": 4, "pct": 0.0}
    dd = rows["Disease duration (years)"]
    assert dd["raw"]["median"] == 2.5 and (dd["raw"]["q1"], dd["raw"]["q3"]) == (1.75, 4.75)  # numpy linear
    # booleans: denominator = patients with the item recorded
    ild = rows["Interstitial lung disease"]
    assert ild["raw"] == {"count": 2, "denominator": 3, "pct": pytest.approx(200 / 3)} and ild["n"] == 3
    mrss = rows["Baseline mRSS"]
    assert mrss["n"] == 3 and (mrss["raw"]["mean"], mrss["raw"]["sd"]) == (20.0, 10.0)


def test_table1_text_by_the_rounding_rule_and_as_first_published():
    rows = {r["characteristic"]: r for r in table1(SL)["rows"]}
    age, dd = rows["Age (years)"], rows["Disease duration (years)"]
    assert shown("AGE", age["raw"]) == "40.0 (10.0); median 40.0 (35.0–45.0)"  # 1 decimal, as published
    assert shown("disease_duration_years", dd["raw"]) == "2.5 (1.8–4.8)"  # 1.75 and 4.75 half up
    assert shown("SEX", rows["Female"]["raw"]) == "3 (75.0%)"
    assert shown("ild_baseline", rows["Interstitial lung disease"]["raw"]) == "2 (66.7%)"
    assert shown("baseline_mrss", rows["Baseline mRSS"]["raw"]) == "20.00 (10.00)"
    assert shown(None, rows["Patients"]["raw"]) == "4"
    assert shown("ab_x", {"count": 0, "denominator": 0, "pct": None}) == "0 (–)"


def test_a_baseline_measure_prints_as_its_parameter_does_everywhere_else():
    """One rounding rule: Table 1's baseline FVC, DLCO and PASP to 1 decimal, HAQ-DI and mRSS to 2, as the
    parameter's own tables print them (analysis.formatting.PARAMETER_DECIMALS)."""
    raw = {"n": 38, "mean": 77.4737, "sd": 14.2512, "median": 80.7, "q1": 70.0, "q3": 86.0}
    assert shown("baseline_fvc", raw) == "77.5 (14.3)" == mean_sd(raw["mean"], raw["sd"], "fvc_pct_pred")
    assert shown("baseline_dlco", raw) == "77.5 (14.3)" and shown("baseline_pasp", raw) == "77.5 (14.3)"
    assert shown("baseline_haq_di", raw) == "77.47 (14.25)" == shown("baseline_mrss", raw)


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
