"""The field gate: a column rejected as a whole stops the run, naming the field, sample values and the likely
cause; a few bad cells do not."""

from __future__ import annotations

import pandas as pd
import pytest

from quality.findings import REDACTED
from quality.gates import CAUSES, cause_of, field_profile, fields_gate, likely_cause
from quality.rules import RULES
from quality_synth import STUDY, frame

MAX_SHARE, MIN_FILLED = 0.20, 20


def skin_scores(dates: list[str | None], start_row: int = 2) -> pd.DataFrame:
    """raw.records rows of one mRSS assessment each (one patient per row), dated ``dates``."""
    return frame([{"record_id": f"SSC-{i:04d}", "redcap_event_name": "baseline_arm_1", "mrss_date": d,
                   "mrss_total": "20", "_source_row": start_row + i} for i, d in enumerate(dates)])


def findings_for(records: pd.DataFrame, field: str, rows, rule: str = "date_format",
                 stage: str = "conformance") -> pd.DataFrame:
    """Findings of ``rule`` on ``field`` at the given source rows, with the raw value (as conformance writes)."""
    r = RULES[rule]
    by_row = records.set_index("_source_row")
    return pd.DataFrame([{"stage": stage, "rule": rule, "action": r.action, "severity": r.severity,
                          "field": field, "value": by_row.loc[row, field], "source_row": row,
                          "record_id": by_row.loc[row, "record_id"], "message": "m"} for row in rows])


def profile_row(profile: pd.DataFrame, field: str) -> dict:
    return profile.set_index("field").loc[field].to_dict()


# ---- the profile -----------------------------------------------------------------------------------------------


def test_profile_counts_filled_and_rejected_cells_of_loaded_assessments():
    records = skin_scores(["2020-01-0%d 00:00" % (i + 1) for i in range(6)] + [None, "2020-02-01"])
    rejected = findings_for(records, "mrss_date", [2, 3, 4, 5, 6, 7])
    # a second expectation on the same cell, a warning and a plausibility finding do not count twice or at all
    noise = pd.concat([rejected.head(1),
                       findings_for(records, "mrss_date", [9], rule="required_missing"),
                       findings_for(records, "mrss_date", [9], rule="assessment_in_future", stage="plausibility")])
    profile = field_profile(records, pd.concat([rejected, noise]), STUDY, quarantined_rows=[7], drop_id="d1")
    row = profile_row(profile, "mrss_date")
    # rows 2..9: 7 filled dates (row 8 is empty), row 7 quarantined -> 6 filled; rejected 2..6 -> 5
    assert (row["filled"], row["rejected"], row["instrument"], row["drop_id"]) == (6, 5, "skin_score", "d1")
    assert row["rejected_share"] == pytest.approx(5 / 6)
    assert profile_row(profile, "mrss_total")["filled"] == 7  # row 8 has a total but no date: still an assessment


def test_profile_covers_every_checked_column_and_never_an_identifier():
    profile = field_profile(skin_scores(["2020-01-01"]), pd.DataFrame(), STUDY)
    assert {"autoantibodies___1", "haq_dressing", "death_date"} <= set(profile["field"])
    assert not set(profile["field"]) & {"record_id", "mrn", "patient_name", "phone", "dob"}
    death = profile_row(profile, "death_date")
    assert death["filled"] == 0 and death["rejected_share"] == 0


# ---- the gate ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filled, rejected, passed", [
    (4, 4, True),    # all rejected but fewer than 5 filled cells
    (5, 5, False),   # all of at least 5 rejected
    (30, 1, True),   # 3% of 30
    (30, 6, True),   # 20%: not above the limit
    (30, 7, False),  # 23% of 30
    (10, 3, True),   # 30% but fewer than SSC_FIELD_GATE_MIN_FILLED filled cells, not all rejected
])
def test_field_gate_thresholds(filled, rejected, passed):
    records = skin_scores([f"14.12.20{i:02d}" if i < rejected else "2020-01-01" for i in range(filled)])
    findings = findings_for(records, "mrss_date", list(records["_source_row"][:rejected]))
    gate = fields_gate(field_profile(records, findings, STUDY), findings, STUDY, MAX_SHARE, MIN_FILLED)
    assert gate["passed"] is passed
    if not passed:
        assert gate["message"].startswith(
            f"mrss_date: {rejected} of {filled} filled cells rejected ({rejected / filled:.0%})")


def test_a_column_rejected_throughout_is_named_with_three_sample_values_and_its_cause():
    dates = [f"2016-12-{d:02d} 00:00" for d in range(1, 25)]
    records = skin_scores(dates)
    findings = findings_for(records, "mrss_date", list(records["_source_row"]))
    gate = fields_gate(field_profile(records, findings, STUDY), findings, STUDY, MAX_SHARE, MIN_FILLED)
    assert gate["passed"] is False
    message = gate["message"]
    assert message.startswith("mrss_date: 24 of 24 filled cells rejected (100%)")
    assert "'2016-12-01 00:00', '2016-12-02 00:00', '2016-12-03 00:00'" in message
    assert "'2016-12-04 00:00'" not in message
    assert CAUSES["date_with_time"] in message
    assert "SSC_MAX_FIELD_REJECTED_SHARE" in message


def test_a_passing_gate_names_the_most_rejected_field():
    records = skin_scores(["2020-01-01"] * 29 + ["1/2/2020"])
    findings = findings_for(records, "mrss_date", [31])
    gate = fields_gate(field_profile(records, findings, STUDY), findings, STUDY, MAX_SHARE, MIN_FILLED)
    assert gate["passed"] is True and "mrss_date 1 of 30" in gate["message"]


def test_identifier_values_never_appear_in_the_message():
    profile = pd.DataFrame([{"drop_id": "d", "field": "dob", "instrument": "enrollment", "filled": 6,
                             "rejected": 6, "rejected_share": 1.0}])
    findings = pd.DataFrame([{"stage": "conformance", "rule": "date_format", "action": "nulled", "field": "dob",
                              "value": f"1960-01-0{i} 00:00", "source_row": i + 2} for i in range(1, 7)])
    gate = fields_gate(profile, findings, STUDY, MAX_SHARE, MIN_FILLED)
    assert gate["passed"] is False and gate["message"].startswith("dob: 6 of 6")
    assert "1960" not in gate["message"] and REDACTED not in gate["message"]


# ---- likely causes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, field, cause", [
    ("2016-12-14 00:00", "mrss_date", "date_with_time"),
    ("2016-12-14T08:30:00", "mrss_date", "date_with_time"),
    ("12/14/2016", "mrss_date", "day_month_date"),     # m/d/yyyy
    ("14/12/2016", "mrss_date", "day_month_date"),     # d/m/yyyy
    ("14.12.2016", "mrss_date", "day_month_date"),     # d.m.yyyy
    ("12,5", "crp_mg_l", "decimal_comma"),
    ("Female", "sex", "label"),
    ("limited cutaneous SSc", "ssc_subtype", "label"),
    ("Checked", "autoantibodies", "label"),
    ("Yes", "ild_baseline", "label"),
    ("UNK", "death_date", "missing_data_code"),
    ("NASK", "crp_mg_l", "missing_data_code"),
    ("NA", "ae_grade", "missing_data_code"),
    ("-99", "crp_mg_l", "sentinel"),
    ("-999", "death_date", "sentinel"),
    ("999", "mrss_total", "sentinel"),
    ("12 mg/L", "crp_mg_l", "number_with_unit"),
    ("65kg", "infusion_weight_kg", "number_with_unit"),
    ("45 %", "echo_lvef_pct", "number_with_unit"),
    ("see notes", "crp_mg_l", None),
    ("2021-02-30", "mrss_date", None),  # an impossible date has no shape-level cause
])
def test_cause_of_a_value(value, field, cause):
    assert cause_of(value, STUDY.by_name[field]) == cause


def test_likely_cause_is_the_cause_of_most_values():
    values = ["-99", "14.12.2016", "15.12.2016", "garbage"]
    assert likely_cause(values, STUDY.by_name["mrss_date"]) == CAUSES["day_month_date"]
    assert likely_cause(["garbage", None]) is None


def test_a_field_without_a_recognisable_cause_says_what_to_check():
    records = skin_scores(["see notes"] * 6)
    findings = findings_for(records, "mrss_date", list(records["_source_row"]))
    gate = fields_gate(field_profile(records, findings, STUDY), findings, STUDY, MAX_SHARE, MIN_FILLED)
    assert gate["passed"] is False and "check the values against the data dictionary" in gate["message"]
