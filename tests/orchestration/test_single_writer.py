"""One writer of SSC_HOME: an OS lock (orchestration.nightly.home_lock) held by every nightly run however it was
launched (`make run`; the daemon's and the UI's runs through the job's executor, orchestration/jobs.py), and runs
whose process died are found, marked failed and their `warehouse` pool slot freed (recover_dead_runs) by the next
run and by the schedule and the inbox sensor before they request one. Real kills: tests/pipeline/test_crash.py;
the real daemon: tests/orchestration/test_inbox_sensor.py."""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, StepSuccessData
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.definitions import build_definitions
from orchestration.inbox_sensor import inbox_sensor
from orchestration.jobs import nightly_schedule
from orchestration.instance import open_instance
from orchestration.nightly import HomeBusy, home_lock, recover_dead_runs
from orchestration.resources import StudyLocations
from orchestration.run_end import FINISHED_BY, FINISHED_HERE

REPO = Path(__file__).resolve().parents[2]
DEMO_DROP = next((REPO / "demo" / "inbox").iterdir())


def test_a_held_home_refuses_a_second_holder_naming_run_and_pid_and_is_free_again_after(tmp_path):
    with home_lock(tmp_path, "run a"):
        with pytest.raises(HomeBusy, match=rf"^run a \(pid {os.getpid()}\) holds .*\.lock$"):
            with home_lock(tmp_path, "run b"):
                pass
    with home_lock(tmp_path, "run b"):
        assert (tmp_path / ".lock").read_text() == f"run b (pid {os.getpid()})\n"


@pytest.fixture
def held(tmp_path):
    """held(home): ``home`` locked by another process as "run other"; its pid. Killed after the test."""
    holders = []

    def held(home: Path) -> int:
        holders.append(subprocess.Popen(
            [sys.executable, "-c", "import time; from orchestration.nightly import home_lock\n"
                                   f"with home_lock(__import__('pathlib').Path({str(home)!r}), 'run other'):\n"
                                   "    print('locked', flush=True); time.sleep(120)"],
            stdout=subprocess.PIPE, text=True))
        assert holders[-1].stdout.readline() == "locked\n"
        return holders[-1].pid

    yield held
    for holder in holders:
        holder.kill()
        holder.wait()


def test_the_lock_is_released_when_its_process_is_killed(tmp_path, held):
    pid = held(tmp_path)
    with pytest.raises(HomeBusy, match=rf"run other \(pid {pid}\)"):
        with home_lock(tmp_path, "run second"):
            pass
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    with home_lock(tmp_path, "run after-the-kill"):
        pass


def _gone_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


def _started(instance, run_id: str, pid: int, steps: list[tuple[str, str]], tags=None) -> DagsterRun:
    """A nightly run recorded STARTED, its events written by process ``pid``: (event type, step) in order, and
    holding the `warehouse` slot for its last step."""
    run = instance.add_run(DagsterRun(job_name="nightly", run_id=run_id, status=dg.DagsterRunStatus.STARTED,
                                      tags=tags or {}))
    for event_type, step in steps:
        data = StepSuccessData(duration_ms=1.0) if event_type == SUCCESS else None
        instance.report_dagster_event(DagsterEvent(event_type_value=event_type, job_name="nightly", step_key=step,
                                                   pid=pid, event_specific_data=data), run_id=run_id)
    instance.event_log_storage.claim_concurrency_slot("warehouse", run_id, steps[-1][1])
    return run


START, SUCCESS = dg.DagsterEventType.STEP_START.value, dg.DagsterEventType.STEP_SUCCESS.value


def test_a_make_run_run_whose_process_is_gone_is_marked_failed_and_its_slot_freed():
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        pid = _gone_pid()
        _started(instance, "dead", pid, [(START, "raw__records"), (SUCCESS, "raw__records"),
                                         (START, "quality__conformance")], tags=FINISHED_HERE)
        said, busy = recover_dead_runs(instance)
        assert said == [f"run dead died (pid {pid} gone) at step quality__conformance: marked failed, "
                        "its warehouse slot freed"]
        assert busy is None
        assert instance.get_run_by_id("dead").status == dg.DagsterRunStatus.FAILURE
        assert "dead" not in instance.event_log_storage.get_concurrency_run_ids()
        assert recover_dead_runs(instance) == ([], None)


def test_a_run_the_daemon_launched_is_left_alone_while_its_process_lives_and_recovered_when_gone():
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        _started(instance, "alive", os.getpid(), [(START, "raw__records")])
        assert recover_dead_runs(instance) == ([], f"run alive (pid {os.getpid()}) is in progress")
        assert instance.get_run_by_id("alive").status == dg.DagsterRunStatus.STARTED
        assert "alive" in instance.event_log_storage.get_concurrency_run_ids()

        instance.delete_run("alive")
        pid = _gone_pid()
        _started(instance, "died", pid, [(START, "raw__records")])
        said, busy = recover_dead_runs(instance)
        assert said == [f"run died died (pid {pid} gone) at step raw__records: marked failed, its warehouse slot freed"]
        assert busy is None and instance.get_run_by_id("died").status == dg.DagsterRunStatus.FAILURE


def nightly_on_its_executor() -> dg.JobDefinition:
    """The nightly job of this process's settings, as the daemon's and the UI's runs execute it (on the job's own
    executor; Dagster's execute_in_process, which `make run` uses, swaps in its own)."""
    return build_definitions(os.environ).resolve_job_def("nightly")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """SSC_HOME (a new one) and SSC_INBOX (an empty folder) of this process, as a run worker reads them."""
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SSC_HOME", str(home))
    monkeypatch.setenv("SSC_INBOX", str(inbox))
    return home, inbox


def _messages(instance, run_id: str, level: int) -> list[str]:
    """The run's own log lines (not Dagster's events) at ``level``."""
    return [entry.user_message for entry in instance.all_logs(run_id)
            if entry.dagster_event is None and entry.level == level]


def test_assets_materialised_alone_from_the_ui_run_on_the_same_executor(settings):
    built = build_definitions(os.environ)
    assert built.resolve_implicit_global_asset_job_def().executor_def is nightly_on_its_executor().executor_def


def test_a_run_launched_by_the_daemon_or_the_ui_on_a_held_home_fails_at_once_naming_the_holder(settings, held):
    home, _ = settings
    pid = held(home)
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(nightly_on_its_executor), instance, raise_on_error=False)
        assert not result.success
        assert _messages(instance, result.run_id, logging.ERROR) == [
            f"nightly: not started: run other (pid {pid}) holds {home / '.lock'}: one writer of the warehouse at a "
            "time"]
        assert not [event for event in result.all_events if event.is_step_event]
        tags = instance.get_run_by_id(result.run_id).tags
        assert tags[FINISHED_BY].startswith("nobody") and tags["dagster/max_retries"] == "0"
    assert sorted(path.name for path in home.iterdir()) == [".lock"]  # nothing written


def test_a_run_launched_by_the_daemon_or_the_ui_recovers_a_dead_run_and_holds_the_home_while_it_runs(settings):
    home, _ = settings
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        pid = _gone_pid()
        _started(instance, "dead", pid, [(START, "raw__records")])
        # the empty inbox stops raw__records: the step ran, so the dead run's slot was free again
        result = dg.execute_job(dg.reconstructable(nightly_on_its_executor), instance, raise_on_error=False)
        assert [event.step_key for event in result.all_events if event.is_step_start] == ["raw__records"]
        assert _messages(instance, result.run_id, logging.WARNING) == [
            f"nightly: run dead died (pid {pid} gone) at step raw__records: marked failed, its warehouse slot freed"]
        assert instance.get_run_by_id("dead").status == dg.DagsterRunStatus.FAILURE
        assert (home / ".lock").read_text() == f"run {result.run_id} (pid {os.getpid()})\n"
    with home_lock(home, "run after"):  # released when the run ended
        pass


def _tick_context(kind: str, instance, home: Path, inbox: Path):
    locations = {"locations": StudyLocations(home=str(home), inbox=str(inbox), drop_settle_seconds=0)}
    if kind == "schedule":
        return dg.build_schedule_context(instance=instance, resources=locations)
    return dg.build_sensor_context(instance=instance, resources=locations)


def _tick(kind: str, context):
    return nightly_schedule("UTC")(context) if kind == "schedule" else inbox_sensor(context)


@pytest.mark.parametrize("kind", ["schedule", "sensor"])
def test_the_schedule_and_the_sensor_recover_dead_runs_before_they_request_one(kind, tmp_path, held, capfd):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    shutil.copytree(DEMO_DROP, inbox / DEMO_DROP.name)
    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        pid = _gone_pid()
        _started(instance, "dead", pid, [(START, "raw__records")], tags=FINISHED_HERE)
        assert isinstance(_tick(kind, _tick_context(kind, instance, home, inbox)), dg.RunRequest)
        assert instance.get_run_by_id("dead").status == dg.DagsterRunStatus.FAILURE
        said = [line for line in capfd.readouterr().err.splitlines() if "nightly: " in line]  # the tick's log
        assert len(said) == 1 and said[0].endswith(
            f" - WARNING - nightly: run dead died (pid {pid} gone) at step raw__records: marked failed, its warehouse "
            "slot freed")
        assert "dead" not in instance.event_log_storage.get_concurrency_run_ids()

        # a run in progress holds the home: nothing requested, the holder named, its run left alone
        holder = held(home)
        _started(instance, "alive", holder, [(START, "raw__records")], tags=FINISHED_HERE)
        skipped = _tick(kind, _tick_context(kind, instance, home, inbox))
        assert isinstance(skipped, dg.SkipReason)
        assert skipped.skip_message == f"nightly not requested: run other (pid {holder}) holds {home / '.lock'}"
        assert instance.get_run_by_id("alive").status == dg.DagsterRunStatus.STARTED


@pytest.mark.long
def test_under_the_daemon_a_dead_run_is_recovered_and_the_started_run_holds_the_home_against_a_make_run(tmp_path):
    """The real Dagster daemon (its one run at a time, as configured): a `make run` killed earlier left its run
    STARTED with the `warehouse` slot, which would keep the daemon's queue from ever starting another; the inbox
    sensor recovers it before it requests the new drop's run, that run holds SSC_HOME while it runs, and a `make
    run` started meanwhile is refused naming it."""
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    (home / "dagster").mkdir(parents=True)
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SSC_", "DAGSTER_", "DBT_"))}
    env.update(SSC_INBOX=str(inbox), SSC_HOME=str(home), DAGSTER_HOME=str(home / "dagster"),
               DBT_LOG_PATH=str(home / "logs" / "dbt"), SSC_DROP_SETTLE_SECONDS="0")
    instance = open_instance(home / "dagster")  # the storage made before the daemon opens it, as `make daemon` does
    instance.event_log_storage.set_concurrency_slots("warehouse", 1)
    pid = _gone_pid()
    _started(instance, "dead", pid, [(START, "raw__records")], tags=FINISHED_HERE)
    inbox.mkdir()
    shutil.copytree(DEMO_DROP, tmp_path / "staging" / DEMO_DROP.name)
    (tmp_path / "staging" / DEMO_DROP.name).rename(inbox / DEMO_DROP.name)  # whole at once: settled at first sight

    log = tmp_path / "daemon.log"
    with open(log, "w") as sink:
        daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                  cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    worker = None
    try:
        def holder() -> tuple[str, int] | None:
            """(run id, pid) of a run of the daemon's holding the home's lock, else None."""
            for run in instance.get_runs(filters=dg.RunsFilter(job_name="nightly")):
                held = f"run {run.run_id} (pid "
                text = (home / ".lock").read_text() if (home / ".lock").exists() else ""
                if run.run_id != "dead" and text.startswith(held):
                    return run.run_id, int(text[len(held):].split(")")[0])
            return None

        deadline = time.monotonic() + 300  # a liveness limit: a loaded machine loads the code location slowly
        while (found := holder()) is None:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no run of the daemon's holds {home / '.lock'}; its log ends:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        run_id, worker = found
        assert instance.get_run_by_id("dead").status == dg.DagsterRunStatus.FAILURE

        refused = subprocess.run([sys.executable, "-m", "orchestration.nightly"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=300)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert refused.stdout.splitlines()[-1] == (f"nightly: not started: run {run_id} (pid {worker}) holds "
                                                   f"{home / '.lock'}: one writer of the warehouse at a time")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        if worker:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)
