"""compute_outcomes on a small synthetic cohort: contract keys, plain JSON types."""

import json

import numpy as np
import pytest
from analysis_builders import TARGET_DAY, adae, adbds, adex, adsl, adtte, bds

from analysis.outcomes import CONTRACT_KEYS, assert_jsonable, compute_outcomes

TIMEPOINTS = list(TARGET_DAY)


def cohort(n=12, seed=3):
    rng = np.random.default_rng(seed)
    ids = [f"{i + 1:03d}" for i in range(n)]
    sl = adsl([{"record_id": r, "ild_baseline": i % 2 == 0, "pah_baseline": i % 4 == 0} for i, r in enumerate(ids)])
    rows, tte = [], []
    for i, r in enumerate(ids):
        dead = i == 5
        for tp in TIMEPOINTS[: 4 if dead else None]:
            if rng.random() < 0.1 and tp != "baseline":
                continue  # missed visit
            sr = int(rng.integers(1, 10 ** 6))
            rows.append(bds(r, "mrss_total", tp, float(rng.integers(5, 30)), source_row=sr))
            for p, v in (("haq_di", float(rng.uniform(0, 3))), ("rcs", float(rng.integers(0, 10))),
                         ("du_active_count", float(rng.integers(0, 3))), ("medsger_pv", float(rng.integers(0, 5))),
                         ("fvc_pct_pred", float(rng.uniform(50, 100))), ("dlco_pct_pred", float(rng.uniform(40, 90))),
                         ("echo_pasp_mmhg", float(rng.uniform(20, 50)))):
                rows.append(bds(r, p, tp, v if rng.random() > 0.1 else None))
            if tp in ("baseline", "month_12", "month_60"):
                s = int(rng.integers(1, 10 ** 6))
                rows += [bds(r, "hrct_extent_pct", tp, float(rng.uniform(5, 40)), source_row=s),
                         bds(r, "hrct_change", tp, None if tp == "baseline" else float(rng.integers(1, 4))
                             if rng.random() < 0.5 else None, source_row=s)]
        tte.append((r, 1.8 if dead else 5.6, 1 if dead else 0))
    ae = adae([(ids[0], 1, False, 1), (ids[1], 2, True, 2)])
    ex = adex([(r, False) for r in ids])
    return {"adsl": sl, "adbds": adbds(rows), "adtte": adtte(tte), "adae": ae, "adex": ex}


def test_compute_outcomes_contract_and_types():
    out = compute_outcomes(cohort(), enrolled=14)
    assert list(out)[: len(CONTRACT_KEYS)] == list(CONTRACT_KEYS)
    assert {"table1", "mrss_mixed_model", "mrss_responders", "lung_function", "cohort_flow"} <= set(out)
    json.dumps(out, allow_nan=False)
    assert out["overall_survival"]["n"] == 12 and out["overall_survival"]["deaths"] == 1
    assert out["overall_survival"]["estimates"][2]["survival"] == pytest.approx(11 / 12)
    assert out["mrss"]["by_timepoint"][0]["timepoint"] == "baseline"
    assert out["mrss"]["by_timepoint"][0]["n"] == 12
    assert out["hrct_ild"]["n_ild"] == 6 and out["pah"]["n"] == 3
    assert out["adverse_events"]["related"] == 0
    assert out["cohort_flow"]["enrolled"] == 14 and out["cohort_flow"]["infused"] == 12
    assert out["mrss_mixed_model"]["n_patients"] == 12


def test_assert_jsonable_rejects_numpy_and_nan():
    with pytest.raises(TypeError):
        assert_jsonable({"x": np.float64(1.0)})
    with pytest.raises(TypeError):
        assert_jsonable({"x": [float("nan")]})
    with pytest.raises(TypeError):
        assert_jsonable({1: 1})
    assert assert_jsonable({"a": [1, 2.5, None, "x", True]}) == {"a": [1, 2.5, None, "x", True]}


def test_cli_reads_marts_from_duckdb(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    from analysis.outcomes import main

    marts = cohort()
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        con.execute("create schema marts")
        for name, frame in marts.items():
            con.register("frame", frame)
            con.execute(f"create table marts.{name} as select * from frame")
            con.unregister("frame")
    out = tmp_path / "outcomes.json"
    assert main(["--warehouse", path, "--out", str(out), "--enrolled", "14"]) == 0
    from_db = json.loads(out.read_text(encoding="utf-8"))
    direct = json.loads(json.dumps(compute_outcomes(marts, enrolled=14)))
    for key in CONTRACT_KEYS:
        assert from_db[key] == direct[key]
