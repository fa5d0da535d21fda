"""Vascular outcomes and adverse events."""

import pytest
from analysis_builders import adae, adbds, adex, adtte, bds, series

from analysis.adverse_events import adverse_events
from analysis.vascular import vascular

BDS = adbds(
    series("A", "rcs", {"baseline": 6, "month_12": 3}) + series("B", "rcs", {"baseline": 4, "month_12": None})
    + series("A", "du_active_count", {"baseline": 2, "month_12": 0})
    + series("B", "du_active_count", {"baseline": 0, "month_12": None})
    + series("C", "du_active_count", {"baseline": 1})
    + [bds("C", "du_active_count", "month_12", 3, analysed=False)]
    + series("A", "medsger_pv", {"baseline": 3, "month_12": 1}) + series("B", "medsger_pv", {"baseline": 3})
)


def test_vascular():
    out = vascular(BDS)
    assert out["rcs_by_timepoint"] == [
        {"timepoint": "baseline", "n": 2, "mean": 5.0, "sd": pytest.approx(2 ** 0.5), "median": 5.0},
        {"timepoint": "month_12", "n": 1, "mean": 3.0, "sd": None, "median": 3.0}]
    assert out["digital_ulcers_by_timepoint"] == [
        {"timepoint": "baseline", "n": 3, "patients_with_active_ulcers": 2},
        {"timepoint": "month_12", "n": 1, "patients_with_active_ulcers": 0}]
    assert out["medsger_by_timepoint"] == [
        {"timepoint": "baseline", "n": 2, "counts": {"0": 0, "1": 0, "2": 0, "3": 2, "4": 0}},
        {"timepoint": "month_12", "n": 1, "counts": {"0": 0, "1": 1, "2": 0, "3": 0, "4": 0}}]


AE = adae([("A", 1, False, 1), ("A", 2, True, 3), ("B", 3, False, 4), ("B", 5, True, 5), ("C", 1, False, 2),
           ("C", None, None, None)])
TTE = adtte([("A", 2.0, 0), ("B", 3.0, 1), ("C", 5.0, 0), ("D", 0.0, 0)])
EX = adex([("A", False), ("A", True), ("B", None), ("C", True), ("D", False)])


def test_adverse_events():
    out = adverse_events(AE, EX, TTE)
    assert out["n_events"] == 6 and out["n_patients"] == 3 and out["serious"] == 2
    assert out["related"] == 3 and out["related_patients"] == 2  # relation 3, 4, 5 only
    assert out["by_grade"] == {"1": 2, "2": 1, "3": 1, "4": 0, "5": 1} and out["grade_missing"] == 1
    assert out["by_relation"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1} and out["relation_missing"] == 1
    assert out["patient_years"] == 10.0
    assert out["events_per_100_patient_years"] == pytest.approx(60.0)
    assert out["infusion_reactions"] == {"n_infusions": 5, "n_reactions": 2, "n_patients": 2}


def test_no_adverse_events():
    out = adverse_events(adae([]), adex([]), adtte([("A", 1.0, 0)]))
    assert out["n_events"] == 0 and out["n_patients"] == 0 and out["related"] == 0
    assert out["by_grade"] == {k: 0 for k in "12345"}
    assert out["events_per_100_patient_years"] == 0.0
    assert out["infusion_reactions"] == {"n_infusions": 0, "n_reactions": 0, "n_patients": 0}


def test_relation_2_is_not_related():
    out = adverse_events(adae([("A", 1, False, 2), ("A", 1, False, 1)]), None, None)
    assert out["related"] == 0 and out["events_per_100_patient_years"] is None
