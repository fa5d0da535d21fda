"""Critical (blocking) expectations on the marts: the rules dbt does not test (quality/marts.py)."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from orchestration.checks import suite_check_result
from quality.gx_findings import findings_from_run
from quality.marts import validate_marts


def _marts():
    adsl = pd.DataFrame({"record_id": ["1", "2", "3"], "day0_date": pd.to_datetime(["2020-01-01"] * 3),
                         "sex": ["Female", "Male", "Female"], "age_years": [45, 60, 33]})
    adtte = pd.DataFrame({"record_id": ["1", "2", "3"], "param": "OS", "time_days": [400, 1000, 20],
                          "event": [0, 1, 0], "analysed": True})
    adbds = pd.DataFrame({
        "record_id": ["1", "1", "1", "2"], "param": ["mrss_total", "mrss_total", "haq_di", "mrss_total"],
        "instrument": ["skin_score", "skin_score", "haq", "skin_score"], "source_row": [2, 3, 4, 5],
        "event_name": ["baseline_arm_1", "month_12_arm_1", "baseline_arm_1", "baseline_arm_1"],
        "repeat_instance": [None] * 4, "timepoint": ["baseline", "month_12", "baseline", "baseline"],
        "study_day": [-3, 370, -3, 0], "analysed": [True, True, True, True], "value": [20, 14, 1.25, 30]})
    adae = pd.DataFrame({"record_id": ["1"], "source_row": [9], "repeat_instance": [1],
                         "event_name": ["month_1_arm_1"], "ae_grade": [2], "ae_relation": [1]})
    return adsl, adtte, adbds, adae


def test_valid_marts_pass():
    adsl, adtte, adbds, adae = _marts()
    runs = validate_marts(adsl=adsl, adtte=adtte, adbds=adbds, adae=adae)
    assert set(runs) == {"adsl", "adtte", "adbds", "adae"}
    for name, run in runs.items():
        assert run.success, (name, findings_from_run(run))
        assert suite_check_result(run, asset_key=dg.AssetKey(name), check_name=f"{name}_critical").passed


def test_broken_marts_fail_with_blocking_severity():
    adsl, adtte, adbds, adae = _marts()
    adsl.loc[1, "age_years"] = 12
    adtte = adtte.iloc[[0, 2]].copy().reset_index(drop=True)  # patient 2 missing from adtte
    adtte.loc[1, "time_days"] = None  # analysed without a time
    adbds.loc[1, "study_day"] = 200  # analysed month_12 row outside its window (274..547)
    adbds.loc[2, "analysed"] = False
    adbds.loc[2, "study_day"] = 900  # not analysed: its window is not checked
    adae.loc[0, "ae_grade"] = 7
    runs = validate_marts(adsl=adsl, adtte=adtte, adbds=adbds, adae=adae)
    for name in ("adsl", "adtte", "adbds", "adae"):
        check = suite_check_result(runs[name], asset_key=dg.AssetKey(name), check_name=f"{name}_critical")
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    found = {n: {(f.rule, f.record_id, f.field, f.value) for f in findings_from_run(r)} for n, r in runs.items()}
    assert found == {
        "adsl": {("mart_value_invalid", "2", "age_years", "12")},
        "adtte": {("mart_relational", None, None, "2"), ("mart_value_missing", "3", "time_days", None)},
        "adbds": {("mart_window", "1", "study_day", "200")},
        "adae": {("mart_value_invalid", "1", "ae_grade", "7")},
    }
    for r in runs.values():
        assert all(f.action == "blocked" and f.severity == "error" for f in findings_from_run(r))
