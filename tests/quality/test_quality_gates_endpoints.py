"""Endpoint gates: patients with analysable input per endpoint, compared with the last published run; patients
left out of overall survival."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.outcomes import CONTRACT_KEYS
from quality.gates import (ENDPOINT_INPUTS, ENDPOINT_PARAMS, MRSS_SITES, endpoint_coverage_gate, endpoint_patients,
                           os_exclusions_gate)
from study.definition import load_study

STUDY = load_study()


def marts():
    """Four patients: P1..P3 ILD at baseline, P4 PAH; hand-placed analysable rows."""
    adsl = pd.DataFrame({"USUBJID": ["P1", "P2", "P3", "P4"], "ild_baseline": [True, True, None, False],
                         "pah_baseline": [False, False, False, True]})
    rows = [
        ("P1", "mrss_total", "baseline", "Y", 20.0), ("P1", "mrss_total", "month_12", None, 25.0),
        ("P2", "mrss_total", "baseline", "Y", None),   # analysed but no value: not analysable
        ("P3", "mrss_total", "baseline", None, 18.0),  # a value but not analysed
        ("P4", "mrss_total", "month_12", "Y", 10.0),
        ("P1", "hrct_change", "month_12", "Y", 2.0), ("P2", "hrct_extent_pct", "month_12", "Y", 12.0),
        ("P3", "hrct_change", "month_12", "Y", 1.0),   # not in the ILD population
        ("P4", "echo_pasp_mmhg", "baseline", "Y", 40.0), ("P1", "echo_pasp_mmhg", "baseline", "Y", 30.0),
        ("P2", "haq_di", "baseline", "Y", 1.25),
        ("P3", "rcs", "baseline", "Y", 4.0), ("P4", "du_active_count", "baseline", "Y", 0.0),
    ]
    adbds = pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVISIT", "ANL01FL", "AVAL"])
    adtte = pd.DataFrame({"USUBJID": ["P1", "P2", "P3", "P4"], "ANL01FL": ["Y", "Y", None, "Y"],
                          "exclusion_reason": [None, None, "death date before day 0", None]})
    adae = pd.DataFrame({"USUBJID": ["P1", "P1", "P2", "P3"],
                         "ASTDT": ["2020-01-01", "2020-02-01", "2020-01-01", None],
                         "AETOXGR": [1, 2, 2, 1], "AERELN": [1, 2, None, 1]})
    return adsl, adbds, adtte, adae


def test_endpoint_patients_by_hand():
    assert endpoint_patients(*marts()) == {
        "overall_survival": 3, "mrss": 2, "hrct_ild": 2, "pah": 1, "haq_di": 1, "vascular": 2, "adverse_events": 1,
        "mrss@baseline": 1, "mrss@month_12": 1, "haq_di@baseline": 1, "vascular@baseline": 2}


def test_a_timepoint_that_loses_its_values_blocks_though_every_patient_keeps_one_elsewhere():
    before = {"mrss": 41, "mrss@baseline": 41, "mrss@month_60": 38, "mrss@month_1": 6}
    after = {"mrss": 41, "mrss@baseline": 28, "mrss@month_60": 38, "mrss@month_1": 3}
    profile = pd.DataFrame([{"field": "mrss_total", "filled": 300, "rejected": 0, "rejected_share": 0.0}])
    gate = endpoint_coverage_gate(after, before, profile, profile, max_loss=0.10)
    assert not gate["passed"] and "mrss@baseline: 28 patients" in gate["message"]
    assert "month_1" not in gate["message"]  # under 10 patients: a small timepoint moves with corrected dates
    assert endpoint_coverage_gate(before, before, profile, profile, max_loss=0.10)["passed"]


def test_the_declared_inputs_are_fields_of_the_study_and_the_endpoints_outcomes_of_the_contract():
    assert set(ENDPOINT_INPUTS) == set(CONTRACT_KEYS)
    for endpoint, inputs in ENDPOINT_INPUTS.items():
        assert set(inputs) <= set(STUDY.by_name), endpoint
    assert set(MRSS_SITES) == set(STUDY.components_of(STUDY.by_name["mrss_total"]))
    assert {"mrss_total", "haq_di", "echo_pasp_mmhg"} <= set(ENDPOINT_PARAMS)


def profile(**fields) -> pd.DataFrame:
    """A field profile: name=(filled, rejected)."""
    return pd.DataFrame([{"field": f, "instrument": "x", "filled": n, "rejected": r,
                          "rejected_share": r / n if n else 0.0} for f, (n, r) in fields.items()],
                        columns=["field", "instrument", "filled", "rejected", "rejected_share"])


BEFORE = {"mrss": 40, "haq_di": 10, "overall_survival": 41}


def test_no_published_run_passes():
    gate = endpoint_coverage_gate({"mrss": 0}, None, profile(), None, 0.10)
    assert gate["passed"] is True and "no published run" in gate["message"]


def test_an_emptied_endpoint_blocks_naming_the_input_whose_usable_cells_fell_most():
    now = profile(mrss_date=(300, 300), mrss_total=(300, 0), mrss_face=(300, 2))
    before = profile(mrss_date=(290, 0), mrss_total=(290, 0), mrss_face=(290, 0))
    gate = endpoint_coverage_gate({"mrss": 0, "haq_di": 10, "overall_survival": 41}, BEFORE, now, before, 0.10,
                                  "drop 2026-11-24T0200")
    assert gate["passed"] is False
    assert gate["message"].startswith(
        "mrss: 0 patients with analysable input, 40 in the last published run (drop 2026-11-24T0200) (100% lost); "
        "the input that emptied it: mrss_date (0 usable cells now, 290 in the last published run; 300 of 300 "
        "filled cells rejected)")
    assert "haq_di" not in gate["message"]


def test_an_input_left_empty_in_the_export_is_named_as_empty():
    now = profile(pah_baseline=(41, 0), echo_date=(250, 0), echo_pasp_mmhg=(0, 0))
    before = profile(pah_baseline=(41, 0), echo_date=(252, 0), echo_pasp_mmhg=(252, 0))
    gate = endpoint_coverage_gate({"pah": 0}, {"pah": 8}, now, before, 0.10)
    assert gate["passed"] is False and ("the input that emptied it: echo_pasp_mmhg (empty in this export; 252 "
                                        "usable cells in the last published run)") in gate["message"]


@pytest.mark.parametrize("haq_now, passed", [(9, True), (8, False)])
def test_loss_limit(haq_now, passed):
    gate = endpoint_coverage_gate({"mrss": 40, "haq_di": haq_now, "overall_survival": 41}, BEFORE, profile(), None,
                                  0.10)
    assert gate["passed"] is passed
    if not passed:
        assert gate["message"].startswith("haq_di: 8 patients with analysable input, 10 in the last published run")


def test_without_a_published_profile_the_most_rejected_input_is_named():
    now = profile(haq_date=(100, 5), haq_grip=(100, 60), haq_reach=(100, 0))
    gate = endpoint_coverage_gate({"mrss": 40, "haq_di": 0, "overall_survival": 41}, BEFORE, now, None, 0.10)
    assert "the input that emptied it: haq_grip (60 of 100 filled cells rejected)" in gate["message"]


def test_an_endpoint_that_had_no_patients_cannot_lose_them():
    gate = endpoint_coverage_gate({"pah": 0}, {"pah": 0}, profile(), None, 0.10)
    assert gate["passed"] is True


# ---- overall survival: patients left out -------------------------------------------------------------------


def test_a_left_out_death_blocks_naming_the_record_and_death_date():
    _, _, adtte, _ = marts()
    gate = os_exclusions_gate(adtte, 0)
    assert gate["passed"] is False
    assert gate["message"] == (
        "overall_survival: P3 is recorded as dead but left out (death date before day 0): fix death_date in "
        "REDCap (vital status form); set SSC_MAX_OS_EXCLUDED (now 0) to publish with such exclusions")
    assert os_exclusions_gate(adtte, 1)["passed"] is True


def test_a_death_without_a_usable_date_is_said_once():
    adtte = pd.DataFrame({"USUBJID": ["P5", "P6"], "ANL01FL": [None, None],
                          "exclusion_reason": ["recorded as dead without a usable death date", None]})
    message = os_exclusions_gate(adtte, 0)["message"]
    assert message.startswith("overall_survival: P5 is recorded as dead without a usable death date: fix death_date "
                              "in REDCap (vital status form); P6 is recorded as dead without a usable death date")


def test_a_day0_conflict_names_the_infusion_and_enrollment_dates():
    adtte = pd.DataFrame({"USUBJID": ["P9"], "ANL01FL": [None],
                          "exclusion_reason": ["first infusion (day 0) more than 90 days before enrollment"]})
    message = os_exclusions_gate(adtte, 0)["message"]
    assert "P9 is left out (first infusion" in message and "infusion_date" in message and "death_date" not in message



def test_a_recorded_death_that_does_not_reach_the_survival_analysis_counts_as_left_out():
    adtte = pd.DataFrame({"USUBJID": ["P1"], "ANL01FL": ["Y"], "exclusion_reason": [None]})
    lost = pd.DataFrame({"record_id": ["P7", "P8"], "rule": ["record_without_infusion_date", None],
                         "message": ["record P7 has no valid infusion date (day 0): its rows are not loaded", None]})
    gate = os_exclusions_gate(adtte, 1, lost)
    assert gate["passed"] is False
    assert gate["message"] == (
        "overall_survival: P7 is recorded as dead but is not in the survival analysis (record P7 has no valid "
        "infusion date (day 0): its rows are not loaded): Enter the date of the first UC-MSC infusion (YYYY-MM-DD) "
        "on the infusion form; P8 is recorded as dead but censored as alive in the survival analysis: check its "
        "vital status form in REDCap; set SSC_MAX_OS_EXCLUDED (now 1) to publish with such exclusions")
    assert os_exclusions_gate(adtte, 2, lost)["passed"] is True


def test_lost_deaths_are_the_recorded_deaths_no_adtte_row_carries(tmp_path):
    """A: a death in adtte; B: dead, its record set aside at load; C: dead in the export, censored as alive in
    adtte; D: alive, set aside; E: dead, left out of adtte with a reason (the gate counts it once, from adtte);
    F: a death date without vital status Dead, set aside."""
    import duckdb

    from quality.endpoints import lost_deaths

    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("create schema raw; create schema quality; create schema marts")
    conn.execute("create table raw.records as select * from (values "
                 "(1, 'A', '2', '2019-01-01'), (2, 'B', null, null), (3, 'B', '2', '2019-02-01'), "
                 "(4, 'C', '2', '2019-03-01'), (5, 'D', '1', null), (6, 'E', '2', ' '), (7, 'F', null, '2020-01-01')"
                 ") t(_source_row, record_id, vital_status, death_date)")
    conn.execute("create table quality.quarantine as select * from (values "
                 "(2, 'B', 'record_without_infusion_date', 'record B has no valid infusion date'), "
                 "(3, 'B', 'record_without_infusion_date', 'record B has no valid infusion date'), "
                 "(5, 'D', 'record_without_infusion_date', 'record D has no valid infusion date'), "
                 "(7, 'F', 'event_unknown', 'row 7: event unknown')) t(source_row, record_id, rule, message)")
    conn.execute("create table marts.adtte as select * from (values ('A', 0), ('C', 1), ('E', null)) "
                 "t(USUBJID, CNSR)")
    lost = lost_deaths(conn)
    assert lost.to_dict("records") == [
        {"record_id": "B", "source_row": 3, "rule": "record_without_infusion_date",
         "message": "record B has no valid infusion date"},
        {"record_id": "C", "source_row": 4, "rule": None, "message": None},
        {"record_id": "F", "source_row": 7, "rule": "event_unknown", "message": "row 7: event unknown"}]


def test_two_records_with_one_mrn_block_naming_the_records_never_the_mrn():
    from quality.gates import one_record_per_patient_gate

    adsl = pd.DataFrame({"USUBJID": ["P1", "P2", "P3", "P4"], "subject_pseudonym": ["h1", "h2", "h1", None]})
    gate = one_record_per_patient_gate(adsl)
    assert gate["passed"] is False and gate["gate"] == "one_record_per_patient"
    assert gate["message"].startswith("P1 and P3: the same MRN in two records, one patient counted twice")
    assert "h1" not in gate["message"]
    assert one_record_per_patient_gate(adsl[adsl["USUBJID"] != "P3"])["passed"] is True
