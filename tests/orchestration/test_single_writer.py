"""make run does not start a second writer of the warehouse while a nightly run is in progress."""

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.nightly import run_in_progress


def test_a_started_nightly_run_blocks_a_second_one_and_a_finished_one_does_not():
    with dg.instance_for_test() as instance:
        assert run_in_progress(instance) is None
        instance.add_run(DagsterRun(job_name="nightly", run_id="started-run", status=dg.DagsterRunStatus.STARTED))
        assert run_in_progress(instance) == "started-run"
        instance.add_run(DagsterRun(job_name="other", run_id="other-job", status=dg.DagsterRunStatus.STARTED))
        instance.delete_run("started-run")
        assert run_in_progress(instance) is None
        instance.add_run(DagsterRun(job_name="nightly", run_id="done", status=dg.DagsterRunStatus.SUCCESS))
        assert run_in_progress(instance) is None
