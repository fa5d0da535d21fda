"""compute_outcomes on a small synthetic cohort: contract keys, plain JSON types."""

import json

import numpy as np
import pytest
from analysis_builders import cohort

from analysis.outcomes import CONTRACT_KEYS, assert_jsonable, compute_outcomes


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
