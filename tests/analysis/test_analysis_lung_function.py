"""FVC / DLCO summaries and ILD progression."""

import pytest
from analysis_builders import adbds, adsl, series

from analysis.lung_function import classify_progression, ild_progression, lung_function, relative_decline

ILD = ["P1", "P2", "P3", "P4", "P5"]
SL = adsl([{"USUBJID": r, "ild_baseline": True} for r in ILD] + [{"USUBJID": "N", "ild_baseline": False}])


def pft(rid, fvc, dlco):
    return series(rid, "fvc_pct_pred", fvc) + series(rid, "dlco_pct_pred", dlco)


BDS = adbds(
    pft("P1", {"baseline": 80, "month_12": 72, "month_24": 80}, {"baseline": 60, "month_12": 60, "month_24": 60})
    + pft("P2", {"baseline": 80, "month_12": 76}, {"baseline": 60, "month_12": 51})   # 5 % + DLCO 15 %
    + pft("P3", {"baseline": 80, "month_12": 76}, {"baseline": 60, "month_12": 52})   # 5 % + DLCO 13.3 %
    + pft("P4", {"baseline": 80, "month_12": 77}, {"baseline": 60, "month_12": 30})   # 3.75 %
    + pft("P5", {"baseline": 80, "month_12": 76}, {"baseline": 60})                   # DLCO missing
    + pft("N", {"baseline": 80, "month_12": 60}, {"baseline": 60, "month_12": 30})    # not ILD
)


@pytest.mark.parametrize("fvc, dlco, category", [
    (10, None, "progression"), (9.99, 14.9, "no_progression"), (5, 15, "progression"),
    (5, 14.99, "no_progression"), (4.99, 50, "no_progression"), (7, None, "indeterminate"),
    (None, 20, "indeterminate"), (-3, None, "no_progression")])
def test_classify(fvc, dlco, category):
    assert classify_progression(fvc, dlco) == category


def test_relative_decline():
    assert relative_decline(80, 72) == pytest.approx(10.0)
    assert relative_decline(None, 72) is None and relative_decline(0, 5) is None


def test_ild_progression():
    out = ild_progression(SL, BDS)
    assert out["n_ild"] == 5
    m12, m24 = out["by_timepoint"]
    assert m12 == {"timepoint": "month_12", "n_evaluable": 5, "progression": 2, "no_progression": 2,
                   "indeterminate": 1}
    assert m24 == {"timepoint": "month_24", "n_evaluable": 1, "progression": 0, "no_progression": 1,
                   "indeterminate": 0}
    # latest: P1 at month_24 (recovered), others month_12
    assert out["latest"] == {"n_evaluable": 5, "progression": 1, "no_progression": 3, "indeterminate": 1}
    latest = {p["record_id"]: p for p in out["patients"]}
    assert latest["P1"]["timepoint"] == "month_24" and latest["P2"]["category"] == "progression"


def test_lung_function_summaries_include_everyone():
    out = lung_function(SL, BDS)
    fvc_base = out["fvc_by_timepoint"][0]
    assert fvc_base["timepoint"] == "baseline" and fvc_base["n"] == 6
    m12 = out["fvc_change_from_baseline"][0]
    assert m12["n_paired"] == 6 and m12["mean_change"] == pytest.approx((-8 - 4 - 4 - 3 - 4 - 20) / 6)
    assert out["dlco_change_from_baseline"][0]["n_paired"] == 5
