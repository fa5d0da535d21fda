"""HRCT in ILD: latest scan, recorded vs derived category, ±5 point boundaries."""

import itertools

import pytest
from analysis_builders import adbds, adsl, bds

from analysis.hrct import categorise_extent_change, hrct_ild


ROWS = itertools.count(1000)


def scan(rid, timepoint, *, extent=None, change=None, analysed=True, study_day=None, source_row=None):
    """One HRCT assessment: rows of hrct_ild, hrct_extent_pct, hrct_change sharing one source_row."""
    row = source_row if source_row is not None else next(ROWS)
    return [bds(rid, p, timepoint, v, analysed=analysed, study_day=study_day, source_row=row)
            for p, v in (("hrct_ild", 1), ("hrct_extent_pct", extent), ("hrct_change", change))]


ILD = [f"P{i}" for i in range(1, 9)]
SL = adsl([{"USUBJID": r, "ild_baseline": True} for r in ILD] + [{"USUBJID": "N", "ild_baseline": False}])
BDS = adbds(
    scan("P1", "baseline", extent=20.3) + scan("P1", "month_12", extent=25.3)            # +5 exactly: worsened
    + scan("P2", "baseline", extent=20.0) + scan("P2", "month_12", extent=40.0)
    + scan("P2", "month_60", extent=15.0)                                                # −5 exactly (latest)
    + scan("P3", "baseline", extent=20.0) + scan("P3", "month_24", extent=24.9)          # +4.9: stable
    + scan("P4", "baseline", extent=20.0) + scan("P4", "month_24", extent=30.0, change=3, study_day=730)
    + scan("P4", "month_24", extent=30.0, change=1, study_day=800, analysed=False)       # later, not analysed
    + scan("P5", "baseline", extent=10.0) + scan("P5", "month_12", change=3, source_row=100)
    + scan("P5", "month_12", change=2, source_row=101, analysed=False)                   # same day, later row
    + scan("P6", "month_12", extent=30.0)                                                # no baseline scan
    + scan("P7", "baseline", extent=10.0)                                                # baseline only
    + scan("P8", "baseline", extent=10.0) + scan("P8", None, extent=50.0, study_day=2100)  # after day 2007
    + scan("N", "baseline", extent=10.0) + scan("N", "month_12", extent=30.0)            # not ILD
)


def test_counts():
    out = hrct_ild(SL, BDS)
    assert out["n_ild"] == 8 and out["n_evaluable"] == 6
    assert (out["improved"], out["stable"], out["worsened"], out["uncategorised"]) == (2, 2, 1, 1)
    assert out["improved_or_stable_pct"] == pytest.approx(100 * 4 / 6)


def test_per_patient_sources():
    patients = {p["record_id"]: p for p in hrct_ild(SL, BDS)["patients"]}
    assert set(patients) == set(ILD)
    expected = {"P1": ("worsened", "derived"), "P2": ("improved", "derived"), "P3": ("stable", "derived"),
                "P4": ("improved", "recorded"), "P5": ("stable", "recorded"), "P6": (None, None),
                "P7": (None, None), "P8": (None, None)}
    assert {k: (p["category"], p["source"]) for k, p in patients.items()} == expected
    assert patients["P6"]["evaluable"] and not patients["P7"]["evaluable"] and not patients["P8"]["evaluable"]
    assert patients["P2"]["latest_scan_day"] == 1825 and patients["P2"]["extent_change"] == pytest.approx(-5)


@pytest.mark.parametrize("delta, category", [(5, "worsened"), (4.99, "stable"), (-4.99, "stable"),
                                             (-5, "improved"), (0, "stable"), (12, "worsened"),
                                             (25.3 - 20.3, "worsened"), (None, None)])
def test_boundaries(delta, category):
    assert categorise_extent_change(delta) == category


def test_no_ild_population():
    out = hrct_ild(adsl(["A"]), BDS)
    assert out["n_ild"] == 0 and out["n_evaluable"] == 0 and out["improved_or_stable_pct"] is None


def test_published_proportion_shape():
    # 25 evaluable: 18 improved or stable
    rids = [f"Q{i}" for i in range(25)]
    rows = []
    for i, r in enumerate(rids):
        rows += scan(r, "baseline", extent=20.0)
        rows += scan(r, "month_60", change=1 if i < 6 else 2 if i < 18 else 3)
    out = hrct_ild(adsl([{"USUBJID": r, "ild_baseline": True} for r in rids]), adbds(rows))
    assert out["improved_or_stable_pct"] == pytest.approx(72.0)
