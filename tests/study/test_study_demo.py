"""An independent check of the demo drop: plain pandas over the CSV, the contract's analysis plan by hand.

Nothing from study.* is used to analyse: windows, closest-to-target, day 0, KM and the HRCT/PAH rules are
re-implemented here from the contract's text, so the demo and this check cannot share a mistake.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from study.demo import DEFAULT_SEED, write_demo

from plan_by_hand import BUNDLED, EXPORT, SITES, analyse, assert_published, records_file


@pytest.fixture(scope="module", params=[DEFAULT_SEED, 7, 31337])
def demo(request, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp(f"demo{request.param}")
    path = write_demo(out, seed=request.param)
    return {"seed": request.param, "path": path, "result": analyse(path)}


def test_demo_reproduces_published_figures(demo):
    assert_published(demo["result"])


def test_bundled_demo_reproduces_published_figures():
    assert_published(analyse(records_file(BUNDLED)))


def test_bundled_demo_regenerates_byte_for_byte(tmp_path):
    write_demo(tmp_path)
    fresh = tmp_path / "2026-11-24T0200"
    names = sorted(p.name for p in BUNDLED.iterdir())
    assert names == sorted(p.name for p in fresh.iterdir())
    for name in names:
        assert (BUNDLED / name).read_bytes() == (fresh / name).read_bytes(), name


def test_seeds_vary_the_data_not_the_figures(demo, tmp_path):
    other = write_demo(tmp_path, seed=demo["seed"] + 1)
    assert other.read_bytes() != demo["path"].read_bytes()


def test_survival_with_lifelines(demo):
    from lifelines import KaplanMeierFitter

    r = demo["result"]
    kmf = KaplanMeierFitter().fit(r["times"], r["events"])
    assert kmf.survival_function_at_times(5.0).iloc[0] == pytest.approx(38 / 41)
    # the deaths fall after the month_12 visit and before day 913; survivors are followed beyond 5 years
    for t, e in zip(r["times"], r["events"]):
        if e:
            assert 1 < t < 913 / 365.25
        else:
            assert t > 5


def test_demo_exercises_the_plan(demo):
    """The demo holds the cases the plan must decide: tie, screening, mislabelled event, total-only, sites-only."""
    r = demo["result"]
    skin = r["skin"]
    chosen = r["chosen_skin"]
    counts = skin.groupby(["record_id", "window"]).size()
    multi = counts[counts > 1]
    assert len(multi) >= 2
    # a tie in a window resolved to the later assessment
    m12 = skin[skin.window == "month_12"].copy()
    m12["dist"] = (m12.day - 365).abs()
    ties = m12.groupby("record_id").filter(lambda g: len(g) > 1 and g.dist.nunique() == 1)
    assert not ties.empty
    rid = ties.record_id.iloc[0]
    pick = chosen[(chosen.record_id == rid) & (chosen.window == "month_12")].iloc[0]
    assert pick.day == ties[ties.record_id == rid].day.max()
    assert ties[ties.record_id == rid].value.nunique() == 2
    # an assessment whose event label is not its window
    label = skin.redcap_event_name.str.removesuffix("_arm_1")
    assert ((label != skin.window) & (skin.redcap_event_name != "unscheduled_arm_1")).any()
    df = r["df"]
    skin_rows = df[df.mrss_date != ""]
    assert ((skin_rows.mrss_total != "") & (skin_rows.mrss_face == "")).any()  # total only
    assert ((skin_rows.mrss_total == "") & (skin_rows.mrss_face != "")).any()  # sites only


def test_demo_is_plausible(demo):
    df = demo["result"]["df"]
    skin = df[df.mrss_total != ""]
    assert skin.mrss_total.astype(int).between(0, 51).all()
    with_sites = skin[skin.mrss_face != ""]
    assert (with_sites[SITES].astype(int).sum(axis=1) == with_sites.mrss_total.astype(int)).all()
    for col in [c for c in df.columns if c.endswith("_date") or c == "dob"]:
        vals = df.loc[df[col] != "", col]
        assert (vals.map(dt.date.fromisoformat) < EXPORT).all(), col
    echo = df[df.echo_pasp_mmhg != ""]
    trv = echo.echo_trv_ms.astype(float)
    rap = echo.echo_pasp_mmhg.astype(float) - 4 * trv**2
    assert rap.between(4, 11).all()
    assert len(df) < 2000
