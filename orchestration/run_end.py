"""The end of a nightly run: its verdict, said the same everywhere people look.

``finish(instance, run_id, locations, warehouse, started_at)`` reads the run's event log, decides its verdict
(orchestration/verdict.py), tags it on the run (``ssc/verdict``, shown in the Dagster UI), rewrites the published
report's status line (report/status.py) and the steward worklist with the verdict as its banner.

``make run`` (orchestration/nightly.py) calls it when its run ends and prints the verdict last; runs started by the
schedule or from the Dagster UI are finished by the run-status sensors below (the daemon runs them), which leave
alone the runs ``make run`` finishes itself (tag ``ssc/finished_by``).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.assets.quality import FINDINGS
from orchestration.jobs import nightly_job
from orchestration.publishing import (StewardInputs, publish_steward_report, published_steward_inputs,
                                      warehouse_steward_inputs)
from orchestration.resources import StudyLocations, Warehouse
from orchestration.verdict import Verdict, decide, open_findings, read_events
from report.status import restamp

VERDICT_TAG = "ssc/verdict"
FINISHED_BY = "ssc/finished_by"
FINISHED_HERE = {FINISHED_BY: "make run"}
REPORT_PAGE = "report.html"


def dbt_logs(target_root: Path, run_id: str) -> dict[str, str]:
    """{step: its dbt.log} for this run's dbt commands (dagster-dbt names each target ``<step>-<run[:7]>-<id>``)."""
    logs = sorted(target_root.glob(f"*-{run_id[:7]}-*/dbt.log"), key=lambda p: p.stat().st_mtime)
    return {path.parent.name.rsplit("-", 2)[0]: str(path) for path in logs}


def finish(instance: dg.DagsterInstance, run_id: str, locations: StudyLocations, warehouse: Warehouse,
           started_at: float) -> Verdict:
    """The end of a nightly run (``started_at``: its POSIX start time): its verdict, tagged on the run
    (``ssc/verdict``), and the steward worklist rewritten with the verdict as its banner."""
    events = read_events(instance.all_logs(run_id))
    if FINDINGS.to_user_string() in events.materialized:
        steward = warehouse_steward_inputs(warehouse)
    else:  # the gate did not run: what an earlier step published in this run (ingest refusing the drop), if any
        steward = published_steward_inputs(locations, since=started_at) or StewardInputs()
    verdict = decide(events, error_findings=steward.errors, dbt_logs=dbt_logs(locations.dbt_logs, run_id))
    instance.add_run_tags(run_id, {VERDICT_TAG: verdict.text})
    errors, warnings = open_findings(steward.findings)
    restamp(locations.reports / REPORT_PAGE, {
        "outcome": verdict.outcome, "text": verdict.text, "errors": errors, "warnings": warnings, "run_id": run_id,
        "drop_id": steward.provenance.get("drop_id"), "export": steward.provenance.get("export_datetime")})
    publish_steward_report(locations, steward.findings, gate_results=list(verdict.gates),
                           reconciliation=steward.reconciliation, provenance={**steward.provenance, "run_id": run_id},
                           verdict={"outcome": verdict.outcome, "text": verdict.text, "errors": verdict.errors})
    return verdict


def _finish_run(context: dg.RunStatusSensorContext, locations: StudyLocations, warehouse: Warehouse):
    run = context.dagster_run
    if run.tags.get(FINISHED_BY):
        return dg.SkipReason(f"run {run.run_id} is finished by {run.tags[FINISHED_BY]}")
    record = context.instance.get_run_record_by_id(run.run_id)
    started_at = (record.start_time if record and record.start_time else 0.0)
    verdict = finish(context.instance, run.run_id, locations, warehouse, started_at)
    context.log.info(f"run {run.run_id}: {verdict.text}")
    return dg.SkipReason(f"run {run.run_id}: {verdict.text}")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[nightly_job],
                      default_status=dg.DefaultSensorStatus.RUNNING, name="nightly_verdict_on_success",
                      description="When a nightly run started by the schedule or the UI succeeds: its verdict on the "
                                  "run (ssc/verdict), the report's status line and the steward worklist's banner.")
def nightly_verdict_on_success(context: dg.RunStatusSensorContext, locations: StudyLocations, warehouse: Warehouse):
    return _finish_run(context, locations, warehouse)


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.FAILURE, monitored_jobs=[nightly_job],
                      default_status=dg.DefaultSensorStatus.RUNNING, name="nightly_verdict_on_failure",
                      description="When a nightly run started by the schedule or the UI is blocked or fails: its "
                                  "verdict on the run, the report's 'not updated since' line and the worklist banner.")
def nightly_verdict_on_failure(context: dg.RunStatusSensorContext, locations: StudyLocations, warehouse: Warehouse):
    return _finish_run(context, locations, warehouse)


SENSORS = [nightly_verdict_on_success, nightly_verdict_on_failure]
