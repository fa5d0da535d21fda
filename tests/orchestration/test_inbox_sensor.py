"""The inbox sensor on a real inbox folder: a drop starts nightly once it has settled (an injected clock) or holds
a .ready file; its run key is the drop id and the records file's SHA-256, so the same export starts one run."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.instance import open_instance
from orchestration.inbox_sensor import READY_MARKER, arrival, inbox_sensor
from orchestration.resources import StudyLocations

REPO = Path(__file__).resolve().parents[2]
DEMO_DROP = next((REPO / "demo" / "inbox").iterdir())


def copy_drop(inbox: Path, drop_id: str = DEMO_DROP.name, source: Path = DEMO_DROP) -> Path:
    folder = inbox / drop_id
    shutil.copytree(source, folder, dirs_exist_ok=True)
    return folder


def move_drop(inbox: Path, staging: Path) -> Path:
    """Put the demo drop into a watched inbox the way an export job should: written elsewhere, then renamed in (one
    atomic step), so the daemon never sees it half-copied (the settling time is zero in these tests)."""
    shutil.rmtree(staging, ignore_errors=True)
    written = copy_drop(staging)
    if (inbox / written.name).exists():
        shutil.rmtree(inbox / written.name)
    return written.rename(inbox / written.name)


def records_sha(folder: Path) -> str:
    return hashlib.sha256(next(folder.glob("*_DATA_*.csv")).read_bytes()).hexdigest()


def evaluate(inbox: Path, cursor: str | None = None, settle: int = 120):
    with dg.instance_for_test() as instance:  # no run in progress: the sensor has no dead run to recover
        context = dg.build_sensor_context(cursor=cursor, instance=instance, resources={
            "locations": StudyLocations(inbox=str(inbox), drop_settle_seconds=settle)})
        return inbox_sensor(context), context.cursor


def test_a_drop_starts_once_its_files_have_settled(tmp_path):
    folder = copy_drop(tmp_path)
    first = arrival(tmp_path, None, 120, now=1000.0)
    assert first.run_key is None and "120 s" in first.reason
    assert arrival(tmp_path, first.cursor, 120, now=1119.0).run_key is None
    settled = arrival(tmp_path, first.cursor, 120, now=1120.0)
    assert settled.run_key == f"{folder.name}:{records_sha(folder)}"
    # still being written: the records file grows, so the settling starts again from then
    with open(next(folder.glob("*_DATA_*.csv")), "a") as handle:
        handle.write("\n")
    grown = arrival(tmp_path, settled.cursor, 120, now=1130.0)
    assert grown.run_key is None and json.loads(grown.cursor)["since"] == 1130.0
    assert arrival(tmp_path, grown.cursor, 120, now=1249.0).run_key is None
    again = arrival(tmp_path, grown.cursor, 120, now=1250.0)
    assert again.run_key == f"{folder.name}:{records_sha(folder)}" != settled.run_key


def test_an_incomplete_drop_or_an_empty_inbox_starts_nothing(tmp_path):
    result, _ = evaluate(tmp_path, settle=0)
    assert isinstance(result, dg.SkipReason) and "no drop folder" in result.skip_message
    folder = tmp_path / "2026-11-25T0200"
    folder.mkdir()
    shutil.copy(next(DEMO_DROP.glob("*_DATA_*.csv")), folder)
    (folder / READY_MARKER).touch()
    result, _ = evaluate(tmp_path, settle=0)  # no dictionary yet, whatever the marker says
    assert isinstance(result, dg.SkipReason) and "data dictionary" in result.skip_message


def test_ready_marker_starts_at_once_and_the_same_drop_keeps_its_run_key(tmp_path):
    folder = copy_drop(tmp_path)
    waiting, cursor = evaluate(tmp_path)
    assert isinstance(waiting, dg.SkipReason)
    (folder / READY_MARKER).touch()
    request, cursor = evaluate(tmp_path, cursor)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"{folder.name}:{records_sha(folder)}"
    assert request.tags["ssc/drop_id"] == folder.name
    # the same export copied into the inbox again: the same run key, which Dagster starts once
    copy_drop(tmp_path)
    again, _ = evaluate(tmp_path, cursor)
    assert isinstance(again, dg.RunRequest) and again.run_key == request.run_key
    # a newer drop is the newest; with a zero settling time it starts at its first sight
    newer = copy_drop(tmp_path, "2026-11-25T0200")
    later, _ = evaluate(tmp_path, cursor, settle=0)
    assert later.run_key == f"{newer.name}:{records_sha(newer)}" != request.run_key


def test_sensor_and_schedule_are_on_by_default():
    sensor = defs.resolve_sensor_def("inbox_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30
    assert sensor.job_name == "nightly"
    assert defs.resolve_schedule_def("nightly_at_0200").default_status == dg.DefaultScheduleStatus.RUNNING


@pytest.mark.long
def test_the_daemon_starts_a_new_drop_once(tmp_path):
    """A drop put into a watched inbox while the Dagster daemon runs starts nightly by itself, once; the same drop
    copied in again starts nothing. Runs are queued, not launched (max_concurrent_runs 0), to keep this short."""
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    dagster_home = home / "dagster"
    inbox.mkdir()
    dagster_home.mkdir(parents=True)
    config = (REPO / "orchestration" / "dagster.yaml").read_text()
    assert "max_concurrent_runs: 1" in config
    (dagster_home / "dagster.yaml").write_text(config.replace("max_concurrent_runs: 1", "max_concurrent_runs: 0"))
    env = {**os.environ, "SSC_INBOX": str(inbox), "SSC_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
           "SSC_DROP_SETTLE_SECONDS": "0"}
    log = tmp_path / "daemon.log"
    instance = open_instance(dagster_home)  # the storage made before the daemon opens it, as `make daemon` does
    with open(log, "w") as sink:
        daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                  cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        folder = move_drop(inbox, tmp_path / "staging")

        def runs():
            return instance.get_runs(filters=dg.RunsFilter(job_name="nightly"))

        def ticks() -> int:
            states = [s for s in instance.all_instigator_state() if s.instigator_name == "inbox_sensor"]
            return sum(len(instance.get_ticks(s.instigator_origin_id, s.selector_id)) for s in states)

        def wait_for(condition, what: str, limit: float = 300) -> None:
            """A liveness limit, not a speed check: a loaded CI machine takes a minute or more to load the code
            location; the daemon's own log is quoted when it never gets there."""
            deadline = time.monotonic() + limit
            while not condition():
                if daemon.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-3000:]
                    pytest.fail(f"{what}: not seen after {limit:.0f} s (daemon exit code {daemon.poll()}); "
                                f"daemon log ends:\n{tail}")
                time.sleep(1)

        wait_for(lambda: runs(), "a run requested by inbox_sensor for the new drop")
        assert [r.tags.get("dagster/run_key") for r in runs()] == [f"{folder.name}:{records_sha(folder)}"]
        seen = ticks()
        move_drop(inbox, tmp_path / "staging")  # the same export again
        wait_for(lambda: ticks() > seen, "inbox_sensor evaluating again after the same export was copied in")
        assert len(runs()) == 1
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=30)
