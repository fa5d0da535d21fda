"""``make run``: run the nightly job once, now, on the Dagster instance in SSC_HOME (the UI shows the run).

The console shows, after the run: one line per problem (a warning, a failed check, a failed step: what and
where, never a traceback), where the outputs are, where the run's full log is, and last the run's verdict
(orchestration/verdict.py): ``published``, ``published with N errors for the stewards``, ``BLOCKED at <gate>:
<reason>`` or ``FAILED at <step>: <error>``. Everything the run writes while it runs (Dagster's events at DEBUG
level with their tracebacks, dbt's and Great Expectations' output) goes to ``SSC_HOME/logs/nightly-<run_id>.log``;
each dbt command's own log is under ``SSC_HOME/logs/dbt/<step>-<run>-<id>/dbt.log``.

When the run ends, the steward worklist is rewritten with the verdict as its banner (from quality.findings of
the drop when the quality gate ran, else from what ingest published), the published report's status line says the
same (report/status.py: on a blocked night, "not updated since <drop>: the <drop> drop was BLOCKED at …"), and the
verdict is tagged on the run (``ssc/verdict``) for the Dagster UI. Exits 0 when published, 1 when blocked or failed.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg


IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
STALE_AFTER = timedelta(hours=2)  # the job's own limit is 1 hour: an older "started" run died without saying so
FULL_LOG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}


def run_in_progress(instance: dg.DagsterInstance) -> str | None:
    """The id of a nightly run in progress on this instance (DuckDB takes one writer), if any."""
    cutoff = datetime.now(timezone.utc) - STALE_AFTER
    for record in instance.get_run_records(dg.RunsFilter(job_name="nightly", statuses=IN_PROGRESS)):
        if record.update_timestamp.replace(tzinfo=record.update_timestamp.tzinfo or timezone.utc) > cutoff:
            return record.dagster_run.run_id
    return None


@contextmanager
def output_to(path: Path):
    """Everything written to stdout and stderr meanwhile, by this process and its children, goes to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])


def definitions() -> dg.Definitions:
    """The code location (imported on first use): a setting that cannot be used raises ValueError naming it."""
    from orchestration.definitions import defs

    return defs


def configured(name: str):
    """Resource ``name`` of the code location with its configuration resolved (environment variables read)."""
    return definitions().resources[name].process_config_and_initialize()


def main() -> int:
    try:  # the code location is imported here: an unusable setting (environment or study/analysis_settings.toml)
        locations = configured("locations")
    except ValueError as error:  # says which, in one line, without a traceback
        print(f"nightly: not started: {error}", file=sys.stderr)
        return 2
    from orchestration.run_end import FINISHED_HERE, finish, summary

    print(f"nightly: inbox {Path(locations.inbox).resolve()}\nnightly: state {locations.home_dir}", flush=True)
    instance = dg.DagsterInstance.get()
    busy = run_in_progress(instance)
    if busy:
        print(f"nightly: run {busy} is in progress on this SSC_HOME; not starting a second writer of the warehouse")
        return 1
    run_id = str(uuid.uuid4())
    log_path = locations.logs / f"nightly-{run_id}.log"
    print(f"nightly: run {run_id} started; full log: {log_path}", flush=True)
    started, started_at = time.perf_counter(), time.time()
    with output_to(log_path):
        result = definitions().get_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False, run_id=run_id, run_config=FULL_LOG, tags=FINISHED_HERE)
    seconds = time.perf_counter() - started
    verdict = finish(instance, run_id, locations, configured("warehouse"), started_at)

    lines = summary(verdict, locations, run_id, log_path,
                    f"{'succeeded' if result.success else 'stopped'} in {seconds:.1f} s")
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
