"""PAH on echo: death within 5 years, 10 mmHg boundary, not evaluable."""

from analysis_builders import adbds, adsl, adtte, bds, series

from analysis.pah import pah

PAH = ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
SL = adsl([{"USUBJID": r, "pah_baseline": True} for r in PAH] + [{"USUBJID": "N", "pah_baseline": False}])
TTE = adtte([("P1", 4.5, 1), ("P2", 5.0, 1), ("P3", 5.2, 1), ("P4", 5.5, 0), ("P5", 5.5, 0), ("P6", 5.5, 0),
             ("P7", 5.5, 0), ("N", 1.0, 1)])
BDS = adbds(
    series("P1", "echo_pasp_mmhg", {"baseline": 40, "month_60": 40})   # died at 4.5 y despite a stable echo
    + series("P3", "echo_pasp_mmhg", {"baseline": 40, "month_60": 49.9})  # died after 5 y: echo decides
    + series("P4", "echo_pasp_mmhg", {"baseline": 40, "month_60": 50})    # +10 exactly: worsened
    + series("P5", "echo_pasp_mmhg", {"baseline": 45, "month_60": 35})    # fall: stable
    + series("P6", "echo_pasp_mmhg", {"baseline": 40, "month_48": 42})    # no month_60
    + series("P7", "echo_pasp_mmhg", {"baseline": 40})
    + [bds("P7", "echo_pasp_mmhg", "month_60", 41, analysed=False),       # only a non-analysed month_60
       bds("P6", "echo_pasp_mmhg", "month_60", None)]                     # null value
)


def test_pah_categories():
    out = pah(SL, BDS, TTE)
    assert {k: out[k] for k in ("n", "stable", "worsened", "not_evaluable")} == \
        {"n": 7, "stable": 2, "worsened": 3, "not_evaluable": 2}
    cats = {p["record_id"]: p["category"] for p in out["patients"]}
    assert cats == {"P1": "worsened", "P2": "worsened", "P3": "stable", "P4": "worsened", "P5": "stable",
                    "P6": "not_evaluable", "P7": "not_evaluable"}


def test_death_exactly_five_years_is_worsened_without_echo():
    out = pah(adsl([{"USUBJID": "X", "pah_baseline": True}]), adbds([]), adtte([("X", 5.0, 1)]))
    assert out["worsened"] == 1 and out["patients"][0]["rise"] is None


def test_empty_population():
    assert pah(adsl(["A"]), BDS, TTE)["n"] == 0


def test_a_death_that_cannot_be_placed_is_not_evaluable_whatever_the_echo():
    tte = adtte([("X", 1.0, 1), ("Y", 5.5, 0)])
    tte["ANL01FL"] = [None, "Y"]
    tte["exclusion_reason"] = ["death date before day 0", None]
    tte.loc[0, ["CNSR", "AVAL"]] = None
    out = pah(adsl([{"USUBJID": r, "pah_baseline": True} for r in "XY"]),
              adbds(series("X", "echo_pasp_mmhg", {"baseline": 40, "month_60": 41})
                    + series("Y", "echo_pasp_mmhg", {"baseline": 40, "month_60": 41})), tte)
    cats = {p["record_id"]: (p["category"], p["reason"]) for p in out["patients"]}
    assert cats["X"] == ("not_evaluable", "survival not placed in time: death date before day 0")
    assert cats["Y"][0] == "stable" and out["not_evaluable"] == 1
