"""Vascular outcomes and adverse events."""

import pytest
from analysis_builders import adae, adbds, adex, adtte, bds, series

from analysis.adverse_events import adverse_events, patient_years, rate_per_100py, serious_or_related
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
    assert out["n_events"] == 6 and out["n_patients"] == 3
    assert out["patient_years"] == 10.0
    assert out["events_per_100_patient_years"] == pytest.approx(60.0)
    # seriousness: A's grade 2, B's grade 5 serious; C's blank not recorded
    assert out["by_seriousness"] == {"serious": {"n_events": 2, "n_patients": 2, "rate_per_100py": 20.0},
                                     "not_serious": {"n_events": 3, "n_patients": 3, "rate_per_100py": 30.0},
                                     "not_recorded": {"n_events": 1, "n_patients": 1, "rate_per_100py": 10.0}}
    # the mart's AREL decides: relation 3, 4, 5 (A once, B twice)
    assert out["by_relatedness"]["related"] == {"n_events": 3, "n_patients": 2, "rate_per_100py": 30.0}
    assert out["by_relatedness"]["not_related"]["n_events"] == 3
    assert {g: t["n_events"] for g, t in out["by_grade"].items()} == {"1": 2, "2": 1, "3": 1, "4": 0, "5": 1,
                                                                      "not_recorded": 1}
    assert out["by_grade"]["1"]["n_patients"] == 2  # A and C
    assert {g: t["n_events"] for g, t in out["by_relation"].items()} == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 1,
                                                                         "not_recorded": 1}
    assert {g: t["n_events"] for g, t in out["by_outcome"].items()} == {"1": 6, "2": 0, "3": 0, "4": 0, "5": 0,
                                                                        "6": 0, "not_recorded": 0}
    assert out["infusion_reactions"] == {"n_infusions": 5, "n_patients_infused": 4, "n_reactions": 2,
                                         "n_patients": 2}


def test_the_analysis_causality_of_the_mart_is_the_definition():
    events = adae([("A", 1, False, 4), ("B", 1, False, 1)])
    events["AREL"] = ["NOT RELATED", "RELATED"]  # adae.sql's AREL, whatever the code says
    out = adverse_events(events, None, None)
    assert out["by_relatedness"]["related"] == {"n_events": 1, "n_patients": 1, "rate_per_100py": None}
    assert [e["record_id"] for e in serious_or_related(events)] == ["B"]


def test_no_adverse_events():
    out = adverse_events(adae([]), adex([]), adtte([("A", 1.0, 0)]))
    assert out["n_events"] == 0 and out["n_patients"] == 0
    assert out["by_relatedness"]["related"]["n_events"] == 0
    assert all(t["n_events"] == 0 for t in out["by_grade"].values())
    assert out["events_per_100_patient_years"] == 0.0
    assert out["infusion_reactions"] == {"n_infusions": 0, "n_patients_infused": 0, "n_reactions": 0,
                                         "n_patients": 0}
    assert serious_or_related(adae([])) == []


def test_rates_need_follow_up_time():
    assert rate_per_100py(3, 12.0) == pytest.approx(25.0)
    assert rate_per_100py(3, 0.0) is None and rate_per_100py(3, None) is None
    assert patient_years(None) is None and patient_years(adtte([])) is None


def test_listing_of_serious_or_related_events_in_adae_order():
    listing = serious_or_related(AE)
    assert [(e["record_id"], e["ae_grade"], e["serious"], e["ae_relation"]) for e in listing] == [
        ("A", 2.0, True, 3.0), ("B", 3.0, False, 4.0), ("B", 5.0, True, 5.0)]
    assert listing[0]["event_name"] == "x" and listing[0]["instance"] == 2.0
