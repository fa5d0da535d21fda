"""``make run``: run the nightly job once, now, on the Dagster instance in SSC_HOME (the UI shows the run).

Exits 0 when everything was published, 1 when the run failed or stopped at a quality gate, naming what failed.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import dagster as dg

from orchestration.definitions import defs
from orchestration.settings import load_settings


IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
STALE_AFTER = timedelta(hours=2)  # the job's own limit is 1 hour: an older "started" run died without saying so


def run_in_progress(instance: dg.DagsterInstance) -> str | None:
    """The id of a nightly run in progress on this instance (DuckDB takes one writer), if any."""
    cutoff = datetime.now(timezone.utc) - STALE_AFTER
    for record in instance.get_run_records(dg.RunsFilter(job_name="nightly", statuses=IN_PROGRESS)):
        if record.update_timestamp.replace(tzinfo=record.update_timestamp.tzinfo or timezone.utc) > cutoff:
            return record.dagster_run.run_id
    return None


def main() -> int:
    settings = load_settings()
    started = time.perf_counter()
    print(f"nightly: inbox {settings.inbox}\nnightly: state {settings.home}", flush=True)
    instance = dg.DagsterInstance.get()
    busy = run_in_progress(instance)
    if busy:
        print(f"nightly: run {busy} is in progress on this SSC_HOME; not starting a second writer of the warehouse")
        return 1
    result = defs.get_job_def("nightly").execute_in_process(instance=instance, raise_on_error=False)
    seconds = time.perf_counter() - started

    failed_checks = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.asset_check_evaluation_data.passed
    ]
    for check in failed_checks:
        level = "BLOCKED" if check.severity == dg.AssetCheckSeverity.ERROR else "warning"
        description = check.description or ""
        print(f"nightly: {level}: check {check.check_name} on {check.asset_key.to_user_string()} {description}")
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            while error is not None and error.cause is not None and "DagsterExecutionStepExecutionError" in error.cls_name:
                error = error.cause  # the user code's exception, not Dagster's wrapper
            message = error.message.strip().splitlines()[0] if error else ""
            print(f"nightly: step {event.step_key} failed: {message}")
    status = "succeeded" if result.success else "FAILED"
    print(f"nightly: run {result.run_id} {status} in {seconds:.1f} s")
    if result.success:
        print(f"nightly: {settings.reports / 'report.html'}\nnightly: {settings.reports / 'outcomes.json'}")
    print(f"nightly: steward worklist {settings.reports / 'steward.html'}")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
