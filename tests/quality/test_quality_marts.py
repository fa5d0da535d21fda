"""Critical (blocking) expectations on the marts: the rules dbt does not test (quality/marts.py)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pandas as pd

from orchestration.checks import suite_check_result
from quality.gx_findings import findings_from_run
from quality.marts import ADBDS_COLUMNS, ADBDS_ROWS, validate_marts


def _marts():
    adsl = pd.DataFrame({"USUBJID": ["1", "2", "3"], "TRTSDT": pd.to_datetime(["2020-01-01"] * 3),
                         "SEX": ["F", "M", "F"], "AGE": [45, 60, 33]})
    adtte = pd.DataFrame({"USUBJID": ["1", "2", "3"], "PARAMCD": "OS", "ADY": [400, 1000, 20],
                          "CNSR": [1, 0, 1], "ANL01FL": "Y"})
    adbds = pd.DataFrame({
        "USUBJID": ["1", "1", "1", "2"], "PARAMCD": ["mrss_total", "mrss_total", "haq_di", "mrss_total"],
        "SRCDOM": ["skin_score", "skin_score", "haq", "skin_score"], "SRCSEQ": [2, 3, 4, 5],
        "VISIT": ["baseline_arm_1", "month_12_arm_1", "baseline_arm_1", "baseline_arm_1"],
        "repeat_instance": [None] * 4, "AVISIT": ["baseline", "month_12", "baseline", "baseline"],
        "ADY": [-3, 370, -3, 0], "ANL01FL": ["Y", "Y", "Y", "Y"], "AVAL": [20, 14, 1.25, 30]})
    adae = pd.DataFrame({"USUBJID": ["1"], "SRCDOM": ["adverse_event"], "SRCSEQ": [9], "repeat_instance": [1],
                         "VISIT": ["month_1_arm_1"], "AETOXGR": [2], "AERELN": [1]})
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
    adsl.loc[1, "AGE"] = 12
    adtte = adtte.iloc[[0, 2]].copy().reset_index(drop=True)  # patient 2 missing from adtte
    adtte.loc[1, "ADY"] = None  # analysed without a time
    adbds.loc[1, "ADY"] = 200  # analysed month_12 row outside its window (274..547)
    adbds.loc[2, "ANL01FL"] = None
    adbds.loc[2, "ADY"] = 900  # not analysed: its window is not checked
    adae.loc[0, "AETOXGR"] = 7
    runs = validate_marts(adsl=adsl, adtte=adtte, adbds=adbds, adae=adae)
    for name in ("adsl", "adtte", "adbds", "adae"):
        check = suite_check_result(runs[name], asset_key=dg.AssetKey(name), check_name=f"{name}_critical")
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    found = {n: {(f.rule, f.record_id, f.field, f.value) for f in findings_from_run(r)} for n, r in runs.items()}
    assert found == {
        "adsl": {("mart_value_invalid", "2", "AGE", "12")},
        "adtte": {("mart_relational", None, None, "2"), ("mart_value_missing", "3", "ADY", None)},
        "adbds": {("mart_window", "1", "ADY", "200")},
        "adae": {("mart_value_invalid", "1", "ae_grade", "7")},
    }
    for r in runs.values():
        assert all(f.action == "blocked" and f.severity == "error" for f in findings_from_run(r))


def test_adbds_read_to_the_columns_and_rows_its_expectations_use_gives_the_same_findings():
    """quality.steps.check_marts reads only ADBDS_COLUMNS of the analysed rows (ADBDS_ROWS) of adbds: the same
    findings, messages and verdicts as the whole mart; the columns alone, the same counts too."""
    _, _, adbds, _ = _marts()
    adbds = adbds.assign(PARAM="Modified Rodnan skin score", ADT=pd.to_datetime("2021-01-01"), AVISITN=12,
                         AWTARGET=365, ABLFL=None, BASE=20.0, CHG=None, PCHG=None, SRCVAR="mrss_total")
    adbds.loc[1, "ADY"] = 200  # analysed month_12 row outside its window
    adbds.loc[3, "ADY"] = 900  # analysed baseline row outside its window
    spare = adbds.iloc[[1]].assign(ANL01FL=None, ADY=5000, SRCSEQ=99)  # not analysed: judged by no expectation
    adbds = pd.concat([adbds, spare], ignore_index=True)

    def outcome(frame: pd.DataFrame):
        run = validate_marts(adbds=frame)["adbds"]
        counts = [(r.success, r.result.get("element_count"), r.result.get("unexpected_count"))
                  for r in run.result.results]
        return [vars(f) for f in findings_from_run(run)], counts

    whole, read = outcome(adbds), outcome(adbds[list(ADBDS_COLUMNS)])
    assert len(whole[0]) == 2 and whole == read
    assert (adbds["ANL01FL"] != "Y").any()
    analysed = outcome(duckdb.sql(f"select * from adbds where {ADBDS_ROWS}").df()[list(ADBDS_COLUMNS)])
    assert analysed[0] == whole[0]
    assert [(ok, n) for ok, _, n in analysed[1]] == [(ok, n) for ok, _, n in whole[1]]
