"""One writer of SSC_HOME: an OS lock (orchestration.nightly.home_lock), and runs whose process died are found,
marked failed and their `warehouse` pool slot freed (recover_dead_runs). Real kills: tests/pipeline/test_crash.py."""

import os
import subprocess
import sys

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, StepSuccessData
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.nightly import HomeBusy, home_lock, recover_dead_runs
from orchestration.run_end import FINISHED_HERE


def test_a_held_home_refuses_a_second_holder_naming_run_and_pid_and_is_free_again_after(tmp_path):
    with home_lock(tmp_path, "run-a"):
        with pytest.raises(HomeBusy, match=rf"^run run-a \(pid {os.getpid()}\) holds .*\.lock$"):
            with home_lock(tmp_path, "run-b"):
                pass
    with home_lock(tmp_path, "run-b"):
        assert (tmp_path / ".lock").read_text() == f"run-b {os.getpid()}\n"


def test_the_lock_is_released_when_its_process_is_killed(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from orchestration.nightly import home_lock\n"
                               f"with home_lock(__import__('pathlib').Path({str(tmp_path)!r}), 'held'):\n"
                               "    print('locked', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(HomeBusy, match=rf"run held \(pid {holder.pid}\)"):
            with home_lock(tmp_path, "second"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with home_lock(tmp_path, "after-the-kill"):
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
