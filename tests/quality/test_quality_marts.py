"""Critical (blocking) expectations on the marts."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from quality.gx_glue import findings_from_run, to_asset_check_result
from quality.marts import validate_marts


def _marts():
    adsl = pd.DataFrame({"record_id": ["1", "2", "3"], "day0_date": pd.to_datetime(["2020-01-01"] * 3),
                         "sex": ["Female", "Male", "Female"], "age_years": [45, 60, 33]})
    adtte = pd.DataFrame({"record_id": ["1", "2", "3"], "param": "OS", "time_days": [400, 1000, 20],
                          "event": [0, 1, 0]})
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
        check = to_asset_check_result(run, asset_key=dg.AssetKey(name), check_name=f"{name}_critical")
        assert check.passed


def test_broken_marts_fail_with_blocking_severity():
    adsl, adtte, adbds, adae = _marts()
    adsl = pd.concat([adsl, adsl.iloc[[2]]], ignore_index=True)  # patient 3 twice
    adsl.loc[0, "sex"] = "F"
    adsl.loc[1, "age_years"] = 12
    adsl.loc[1, "day0_date"] = pd.NaT
    adtte = adtte.iloc[[0, 2]].copy().reset_index(drop=True)  # patient 2 missing from adtte
    adtte.loc[0, "time_days"] = -5
    adtte.loc[1, "event"] = 2
    adbds.loc[1, "timepoint"] = "baseline"  # second analysed baseline mRSS for record 1, day 370 out of window
    adbds.loc[3, "value"] = 60
    adbds.loc[2, "value"] = 3.5
    adae.loc[0, "ae_grade"] = 7
    runs = validate_marts(adsl=adsl, adtte=adtte, adbds=adbds, adae=adae)
    for name in ("adsl", "adtte", "adbds", "adae"):
        run = runs[name]
        assert not run.success
        check = to_asset_check_result(run, asset_key=dg.AssetKey(name), check_name=f"{name}_critical")
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    rules = {n: {(f.rule, f.field) for f in findings_from_run(r)} for n, r in runs.items()}
    assert rules["adsl"] == {("mart_key_unique", "record_id"), ("mart_value_invalid", "sex"),
                             ("mart_value_invalid", "age_years"), ("mart_value_missing", "day0_date")}
    assert rules["adtte"] == {("mart_relational", None), ("mart_value_invalid", "time_days"),
                              ("mart_value_invalid", "event")}
    assert rules["adbds"] == {("mart_key_unique", "param"), ("mart_value_invalid", "mrss_total"),
                              ("mart_value_invalid", "haq_di"), ("mart_window", "study_day")}
    assert rules["adae"] == {("mart_value_invalid", "ae_grade")}
    for r in runs.values():
        assert all(f.action == "blocked" and f.severity == "error" for f in findings_from_run(r))
