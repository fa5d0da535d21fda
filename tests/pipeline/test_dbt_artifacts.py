"""dbt's run artefacts stay under SSC_HOME and bounded: each dbt command keeps its dbt.log and run_results.json,
SSC_HOME/logs/dbt keeps those of the last KEPT_RUNS runs, earlier nights gzipped (orchestration/assets/dbt.py)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.assets.dbt import KEPT_ARTIFACTS, KEPT_RUNS, PARTIAL_PARSE, keep_bounded
from orchestration.run_end import dbt_logs

STEPS = ("dbt_staging_and_timeline", "dbt_analysis_and_marts")


def _target(root: Path, step: str, run: str, written: float, files: tuple[str, ...]) -> Path:
    """A dbt target folder holding ``files`` (paths in it, each file holding its name), last written at POSIX time
    ``written``."""
    folder = root / f"{step}-{run}-{os.urandom(4).hex()[:7]}"
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name)
    os.utime(folder, (written, written))
    return folder


def test_a_dbt_command_keeps_its_log_and_results_and_a_week_of_earlier_runs_gzipped(tmp_path):
    root = tmp_path / "logs" / "dbt"
    earlier = [f"{run:07x}" for run in range(KEPT_RUNS + 2)]  # runs before this one, the last one last
    for age, run in enumerate(earlier):
        for step in STEPS:
            _target(root, step, run, written=1_000_000 + age * 86_400, files=KEPT_ARTIFACTS)
    (root / "dbt.log").write_text("make manifest's log")
    this_run = "abcdef0-1234-5678"
    everything = ("dbt.log", "run_results.json", "manifest.json", "partial_parse.msgpack", "graph.gpickle",
                  "compiled/ssc_warehouse/models/marts/adsl.sql", "run/ssc_warehouse/models/marts/adsl.sql")
    staging = _target(root, STEPS[0], this_run[:7], written=1_000_000, files=everything)  # its time must not matter

    keep_bounded(staging, this_run)

    assert sorted(p.name for p in staging.iterdir()) == sorted(KEPT_ARTIFACTS)
    kept = earlier[-(KEPT_RUNS - 1):]
    assert {p.name.rsplit("-", 2)[1] for p in root.iterdir() if p.is_dir()} == {this_run[:7], *kept}
    for folder in (f for run in kept for f in root.glob(f"*-{run}-*")):
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.gz" for name in KEPT_ARTIFACTS)
        assert gzip.decompress((folder / "dbt.log.gz").read_bytes()) == b"dbt.log"
    assert len(list(root.glob(f"*-{kept[0]}-*"))) == len(STEPS)
    assert (root / "dbt.log").read_text() == "make manifest's log"

    keep_bounded(staging, this_run)  # the second dbt command of the same run: nothing more to do
    assert {p.name.rsplit("-", 2)[1] for p in root.iterdir() if p.is_dir()} == {this_run[:7], *kept}


@pytest.mark.slow
def test_the_demo_runs_dbt_folders_hold_the_nights_logs(demo_run):
    home, _ = demo_run
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        run_id = instance.get_run_records(limit=1)[0].dagster_run.run_id
    folders = [p for p in (home / "logs" / "dbt").iterdir() if p.is_dir()]
    assert sorted(p.name.rsplit("-", 2)[0] for p in folders) == sorted(STEPS)
    assert all({p.name for p in folder.iterdir()} <= set(KEPT_ARTIFACTS) for folder in folders)
    logs = dbt_logs(home / "logs" / "dbt", run_id)  # what the run's verdict quotes
    assert sorted(logs) == sorted(STEPS) and all(Path(log).stat().st_size > 0 for log in logs.values())
    # dbt's partial parse: one, the home's, which the second command started from (the first, on a fresh home,
    # read the whole project: the checkout's parse never fits a run's vars and warehouse path)
    assert list(Path(home).rglob(PARTIAL_PARSE)) == [home / "dbt" / PARTIAL_PARSE]
    first, second = (Path(logs[step]).read_text() for step in STEPS)
    assert "Unable to do partial parsing" in first
    assert "Unable to do partial parsing" not in second and "Partial parsing enabled" in second
