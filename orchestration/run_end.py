"""The end of a nightly run: its verdict, said the same everywhere people look.

``finish(instance, run_id, locations, warehouse, started_at)`` reads the run's event log, decides its verdict
(orchestration/verdict.py), tags it on the run (``ssc/verdict``, shown in the Dagster UI), rewrites the published
report's status line (report/status.py) and the steward worklist with the verdict as its banner.

``make run`` (orchestration/nightly.py) calls it when its run ends and prints the verdict last; runs started by the
schedule or from the Dagster UI are finished by the run-status sensors below (the daemon runs them), which leave
alone the runs ``make run`` finishes itself (tag ``ssc/finished_by``), and write the night's log
``SSC_HOME/logs/nightly-<run id>.log`` (the run's events as plain text, then the same summary as ``make run``'s).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from orchestration.alerts import alert_if_not_published
from orchestration.assets.quality import FINDINGS
from orchestration.jobs import nightly_job
from orchestration.publishing import (STEWARD_PAGE, StewardInputs, publish_steward_report, published_steward_inputs,
                                      warehouse_steward_inputs)
from orchestration.replay import REPLAY_VARIABLE
from orchestration.resources import Alerts, StudyLocations, Warehouse
from orchestration.unchanged import forget_published, record_published
from orchestration.verdict import PUBLISHED, Verdict, decide, read_events
from report.status import restamp
from quality.acknowledgements import REGISTER, read_register
from report.worklist import night_progress, open_problems, worklist_items
from study.definition import load_study

VERDICT_TAG = "ssc/verdict"
FINISHED_BY = "ssc/finished_by"
FINISHED_HERE = {FINISHED_BY: "make run"}
REPORT_PAGE = "report.html"
MAX_PROBLEM_LINES = 20


def dbt_logs(target_root: Path, run_id: str) -> dict[str, str]:
    """{step: its dbt.log} for this run's dbt commands (dagster-dbt names each target ``<step>-<run[:7]>-<id>``)."""
    logs = sorted(target_root.glob(f"*-{run_id[:7]}-*/dbt.log"), key=lambda p: p.stat().st_mtime)
    return {path.parent.name.rsplit("-", 2)[0]: str(path) for path in logs}


def finish(instance: dg.DagsterInstance, run_id: str, locations: StudyLocations, warehouse: Warehouse,
           started_at: float, alerts: Alerts | None = None) -> Verdict:
    """The end of a nightly run (``started_at``: its POSIX start time): its verdict, tagged on the run
    (``ssc/verdict``), the steward worklist rewritten with the verdict as its banner, and, when the run is not
    published, an alert on the channels ``alerts`` configures (orchestration/alerts.py)."""
    events = read_events(instance.all_logs(run_id))
    gate_ran = FINDINGS.to_user_string() in events.materialized
    if gate_ran:
        steward = warehouse_steward_inputs(warehouse)
    else:  # the gate did not run: what an earlier step published in this run (ingest refusing the drop), if any
        steward = published_steward_inputs(locations, since=started_at) or StewardInputs()
    register = locations.home_dir / REGISTER
    study = load_study()
    items = worklist_items(steward.findings, study)  # built once: counted, recorded and published below
    errors, warnings = open_problems(steward.findings, study, register=read_register(register), items=items)
    verdict = decide(events, error_findings=errors, dbt_logs=dbt_logs(locations.dbt_logs, run_id))
    progress = None
    if gate_ran:  # a drop refused at ingest has no findings to keep
        with warehouse.connect() as conn:  # a published night is recorded in the findings history; others compared
            progress = night_progress(conn, steward.findings, steward.provenance.get("drop_id"), register,
                                      record=verdict.outcome == PUBLISHED, study=study, items=items)
    instance.add_run_tags(run_id, {VERDICT_TAG: verdict.text})
    restamp(locations.reports / REPORT_PAGE, {
        "outcome": verdict.outcome, "text": verdict.text, "errors": errors, "warnings": warnings, "run_id": run_id,
        "drop_id": steward.provenance.get("drop_id"), "export": steward.provenance.get("export_datetime"),
        "replay": os.environ.get(REPLAY_VARIABLE)})
    publish_steward_report(locations, steward.findings, gate_results=list(verdict.gates),
                           reconciliation=steward.reconciliation, provenance={**steward.provenance, "run_id": run_id},
                           verdict={"outcome": verdict.outcome, "text": verdict.text, "errors": verdict.errors},
                           progress=progress, items=items)
    if verdict.outcome == PUBLISHED:  # the next make run skips this drop while nothing changes
        record_published(locations.home_dir, Path(locations.inbox), os.environ, steward.provenance.get("drop_id"),
                         steward.provenance.get("export_datetime"), run_id)
    else:
        forget_published(locations.home_dir)
    alert_if_not_published(alerts, verdict, steward.provenance, locations, run_id)
    return verdict


def summary(verdict: Verdict, locations: StudyLocations, run_id: str, log_path: Path, ran: str) -> list[str]:
    """What a person reads when a run ends (the console of ``make run``, the end of the night's log): one line per
    problem, where the outputs and the full log are, how the run went (``ran``: "succeeded in 30.1 s"), and last
    the verdict."""
    lines = [f"nightly: {problem}" for problem in verdict.problems[:MAX_PROBLEM_LINES]]
    if len(verdict.problems) > MAX_PROBLEM_LINES:
        lines.append(f"nightly: … and {len(verdict.problems) - MAX_PROBLEM_LINES} more in the full log")
    if verdict.outcome == PUBLISHED:
        lines += [f"nightly: {locations.reports / REPORT_PAGE}", f"nightly: {locations.reports / 'outcomes.json'}"]
    return lines + [f"nightly: steward worklist {locations.reports / STEWARD_PAGE}", f"nightly: full log: {log_path}",
                    f"nightly: run {run_id} {ran}", f"nightly: {verdict.text}"]


def _event_line(entry) -> str:
    """One event of the run's log as plain text: time (UTC), level, step, message."""
    when = datetime.fromtimestamp(entry.timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    event = entry.dagster_event
    message = entry.user_message or (event.message if event is not None and event.message else "")
    if event is not None:
        message = f"{event.event_type_value}: {message}".rstrip(": ")
    return f"{when} {logging.getLevelName(entry.level)} {entry.step_key or '-'} - {message}"


def _finish_run(context: dg.RunStatusSensorContext, locations: StudyLocations, warehouse: Warehouse,
                alerts: Alerts):
    """The end of a run ``make run`` did not start: as ``make run``'s, and the night's log
    (``SSC_HOME/logs/nightly-<run id>.log``, plain text: the run's events, then the summary)."""
    run = context.dagster_run
    if run.tags.get(FINISHED_BY):
        return dg.SkipReason(f"run {run.run_id} is finished by {run.tags[FINISHED_BY]}")
    record = context.instance.get_run_record_by_id(run.run_id)
    started_at = record.start_time if record and record.start_time else 0.0
    verdict = finish(context.instance, run.run_id, locations, warehouse, started_at, alerts)
    took = (record.end_time - record.start_time) if record and record.start_time and record.end_time else None
    ran = (f"{'succeeded' if run.status == dg.DagsterRunStatus.SUCCESS else 'stopped'}"
           + (f" in {took:.1f} s" if took is not None else ""))
    log_path = locations.logs / f"nightly-{run.run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    events = [_event_line(entry) for entry in context.instance.all_logs(run.run_id)]
    log_path.write_text("\n".join(events + summary(verdict, locations, run.run_id, log_path, ran)) + "\n",
                        encoding="utf-8")
    context.log.info(f"run {run.run_id}: {verdict.text}")
    return dg.SkipReason(f"run {run.run_id}: {verdict.text}")


def _verdict_sensor(status: dg.DagsterRunStatus, name: str, description: str) -> dg.RunStatusSensorDefinition:
    """A run-status sensor on ``nightly`` runs reaching ``status`` that ends them as ``make run`` does."""

    @dg.run_status_sensor(run_status=status, monitored_jobs=[nightly_job], name=name, description=description,
                          default_status=dg.DefaultSensorStatus.RUNNING)
    def verdict_sensor(context: dg.RunStatusSensorContext, locations: StudyLocations, warehouse: Warehouse,
                       alerts: Alerts):
        return _finish_run(context, locations, warehouse, alerts)

    return verdict_sensor


nightly_verdict_on_success = _verdict_sensor(
    dg.DagsterRunStatus.SUCCESS, "nightly_verdict_on_success",
    "When a nightly run started by the schedule or the UI succeeds: its verdict on the run (ssc/verdict), the "
    "report's status line and the steward worklist's banner.")
nightly_verdict_on_failure = _verdict_sensor(
    dg.DagsterRunStatus.FAILURE, "nightly_verdict_on_failure",
    "When a nightly run started by the schedule or the UI is blocked or fails: its verdict on the run, the "
    "report's 'not updated since' line and the worklist banner.")

SENSORS = [nightly_verdict_on_success, nightly_verdict_on_failure]
