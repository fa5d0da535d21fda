"""The volume gate (drop_volume_kept) on a real DuckDB warehouse: the bundled demo export is published, then a
partial export holding a third of its records is stopped, and a full export again passes. Hand-computed cases at
the edge of SSC_MAX_VOLUME_LOSS."""

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.definitions import defs
from orchestration.resources import StudyLocations
from orchestration.settings import locations_config
from quality.endpoints import mark_published, record_coverage
from quality.gates import reconciliation
from quality.volume import VOLUME_GATE, DropVolume, check_volume, volume_gate
from study.definition import load_study

STUDY = load_study()
DEMO_RECORDS = next((Path(__file__).resolve().parents[2] / "demo" / "inbox").glob("*/SSC_DATA_*.csv"))


def demo_records() -> pd.DataFrame:
    frame = pd.read_csv(DEMO_RECORDS, dtype=str, encoding="utf-8-sig")
    return frame.assign(_source_row=range(2, len(frame) + 2))


def load(conn: duckdb.DuckDBPyConnection, records: pd.DataFrame, drop_id: str) -> pd.DataFrame:
    """raw.records and raw.current_drop as ingest leaves them (the columns the gate reads); the reconciliation."""
    conn.execute("create schema if not exists raw")
    conn.register("frame", records)
    conn.execute("create or replace table raw.records as select * from frame")
    conn.unregister("frame")
    conn.execute("create or replace table raw.current_drop as select ? as drop_id, ? as export_rows",
                 [drop_id, len(records)])
    return reconciliation(records, set(), {"drop_id": drop_id, "export_rows": len(records)}, STUDY)


def publish(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    record_coverage(conn, run_id, {"mrss": 1})
    mark_published(conn, run_id)


def test_partial_export_is_stopped_and_a_full_one_passes(tmp_path):
    full = demo_records()
    ids = full["record_id"].drop_duplicates().tolist()
    third = full[full["record_id"].isin(ids[: len(ids) // 3])]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        first = check_volume(conn, "run-1", load(conn, full, "2026-11-24T0200"), 0.05)
        assert first["passed"], first["message"]
        assert "no published drop" in first["message"]
        publish(conn, "run-1")

        partial = check_volume(conn, "run-2", load(conn, third, "2026-11-25T0200"), 0.05)
        assert not partial["passed"]
        message = partial["message"]
        lost = 1 - (len(ids) // 3) / len(ids)
        assert "against drop 2026-11-24T0200, the last published" in message
        assert f"records {len(ids) // 3} (was {len(ids)}, {lost:.0%} fewer)" in message
        assert "instrument skin_score rows" in message and "SSC_MAX_VOLUME_LOSS 5%" in message
        # the blocked run is not published: the next drop is compared with drop 1 still
        again = check_volume(conn, "run-3", load(conn, full, "2026-11-26T0200"), 0.05)
        assert again["passed"], again["message"]
        assert "drop 2026-11-24T0200, the last published" in again["message"]
        assert conn.execute("select count(distinct run_id) from quality.drop_volume").fetchone()[0] == 3


def test_a_drop_of_the_same_patients_with_one_patient_gone_is_judged_by_the_share():
    before = DropVolume("A", 41, {"mrss": 100})
    # 39 of 41 records: 2/41 = 4.9% fewer, within 5%
    assert volume_gate(DropVolume("B", 39, {"mrss": 100}), before, 0.05)["passed"]
    # 38 of 41: 3/41 = 7.3% fewer
    gate = volume_gate(DropVolume("B", 38, {"mrss": 100}), before, 0.05)
    assert not gate["passed"] and "records 38 (was 41, 7% fewer)" in gate["message"]
    # more patients and rows never block
    assert volume_gate(DropVolume("B", 60, {"mrss": 180}), before, 0.0)["passed"]


def test_an_instrument_that_lost_rows_is_named():
    before = DropVolume("A", 41, {"mrss": 100, "hrct": 50, "echo": 40})
    gate = volume_gate(DropVolume("B", 41, {"mrss": 100, "hrct": 20, "echo": 40}), before, 0.05)
    assert not gate["passed"] and gate["gate"] == VOLUME_GATE
    assert "instrument hrct rows 20 (was 50, 60% fewer)" in gate["message"]
    assert "mrss" not in gate["message"] and "echo" not in gate["message"]
    # an instrument missing from the drop altogether counts as 0 rows
    assert not volume_gate(DropVolume("B", 41, {"mrss": 100, "hrct": 50}), before, 0.05)["passed"]


def test_the_gate_is_a_blocking_check_on_findings_with_its_setting():
    graph = defs.resolve_asset_graph()
    blocking = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys
                if graph.get_check_spec(k).blocking}
    assert ("quality/findings", VOLUME_GATE) in blocking
    assert StudyLocations().max_volume_loss == 0.05
    assert locations_config({"SSC_MAX_VOLUME_LOSS": "0.2"})["max_volume_loss"] == 0.2
    with pytest.raises(ValueError, match="SSC_MAX_VOLUME_LOSS"):
        locations_config({"SSC_MAX_VOLUME_LOSS": "5%"})
