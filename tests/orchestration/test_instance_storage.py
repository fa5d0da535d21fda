"""The Dagster instance's storage is made by one process even when several start on a fresh DAGSTER_HOME at once
(orchestration/instance.py). Opened by three processes together without the lock, the schedule storage's alembic
version was stamped twice in 6 of 6 tries on this machine ("Version table 'alembic_version' has more than one head
present"), and the daemon's sensors never ticked (CI, 2026-11-30)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.instance import LOCK_FILE, open_instance

REPO = Path(__file__).resolve().parents[2]


def _fresh_home(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    return home


def test_processes_starting_together_on_a_fresh_home_make_one_working_storage(tmp_path):
    home = _fresh_home(tmp_path, "dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}
    starters = [subprocess.Popen([sys.executable, "-m", "orchestration.instance"], cwd=REPO, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [starter.communicate(timeout=300)[0] for starter in starters]
    assert [starter.returncode for starter in starters] == [0, 0, 0], "\n".join(outputs)
    assert outputs == ["", "", ""]  # quiet: a service's journal starts with the service's own lines
    for store in ("schedules/schedules.db", "history/runs.db", "history/runs/index.db"):
        with sqlite3.connect(home / store) as db:
            assert len(db.execute("select version_num from alembic_version").fetchall()) == 1, store
    with open_instance(home) as instance:
        assert instance.get_runs() == []
        assert instance.all_instigator_state() == []
    assert (home / LOCK_FILE).exists()


def test_a_home_without_its_dagster_yaml_is_refused_naming_the_folder_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path}/dagster.yaml is missing: run `make home`"):
        open_instance(tmp_path)
    assert not list(tmp_path.iterdir())  # nothing made in a folder that is not an instance


def test_the_command_without_dagster_home_says_how_to_run_it(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    result = subprocess.run([sys.executable, "-m", "orchestration.instance"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("DAGSTER_HOME is not set: run this through make (make run, make ui, make daemon, "
                                     "make webserver), which sets it to SSC_HOME/dagster")
