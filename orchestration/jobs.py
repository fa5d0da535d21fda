"""The nightly job and its schedule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import dagster as dg

from orchestration.nightly import recover_before_request, run_holds_home
from orchestration.resources import StudyLocations
from orchestration.settings import home_dir
from orchestration.unchanged import unchanged_since


class SingleWriterExecutor(dg.Executor):
    """Dagster's in-process executor (``steps``), holding ``SSC_HOME/.lock`` from before the first step until the
    last has ended (orchestration.nightly.run_holds_home): a run the daemon or the UI launched writes the home
    alone, as ``make run`` does, or fails at once naming the run that holds it."""

    def __init__(self, steps: dg.Executor):
        self._steps = steps

    @property
    def retries(self):
        return self._steps.retries

    @property
    def step_dependency_config(self):
        return self._steps.step_dependency_config

    def execute(self, plan_context, execution_plan) -> Iterator[dg.DagsterEvent]:
        # SSC_HOME of the run's process, as the resources read it (dg.EnvVar, orchestration/definitions.py)
        with run_holds_home(plan_context.instance, home_dir(os.environ), plan_context.run_id, plan_context.log):
            yield from self._steps.execute(plan_context, execution_plan)


@dg.executor(name="in_process_single_writer", config_schema=dg.in_process_executor.config_schema)
def single_writer_in_process_executor(init_context: dg.InitExecutorContext) -> SingleWriterExecutor:
    """Every step in this process, one at a time, with SSC_HOME's lock held (:class:`SingleWriterExecutor`)."""
    return SingleWriterExecutor(dg.in_process_executor.executor_creation_fn(init_context))


# Every asset, in one process, one step at a time, one run per SSC_HOME: the DuckDB file takes one writer.
nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    executor_def=single_writer_in_process_executor,
    description="Load the newest export drop, build the warehouse, gate its quality, compute the outcomes and "
                "publish outcomes.json, the study report and the steward worklist.",
    tags={"dagster/max_runtime": 3600},
)


def request_after_recovery(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, home: Path,
                           request: dg.RunRequest, who: str) -> dg.RunRequest | dg.SkipReason:
    """``request``, once the dead nightly runs of ``home`` are recovered (orchestration.nightly.recover_before_request,
    one WARNING line each in the tick's log); a SkipReason naming the holder when the home is held or a run is in
    progress (the schedule or sensor ``who`` asks again at its next tick)."""
    recovered, busy = recover_before_request(context.instance, home, f"the {who} tick")
    for line in recovered:
        context.log.warning(f"nightly: {line}")
    return dg.SkipReason(f"nightly not requested: {busy}") if busy else request


def nightly_schedule(timezone: str) -> dg.ScheduleDefinition:
    """The nightly job at 02:00 in ``timezone`` (IANA name, SSC_TIMEZONE), on unless switched off in the UI; dead
    runs are recovered first, and a home held by a run is not asked for another (:func:`request_after_recovery`)."""

    @dg.schedule(
        name="nightly_at_0200",
        job=nightly_job,
        cron_schedule="0 2 * * *",
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every night at 02:00 ({timezone}: SSC_TIMEZONE, default UTC), after the export drop has "
                    "landed. Skipped when that drop was published unchanged (same files, code and settings); runs "
                    "whose process died are marked failed first; while a run holds SSC_HOME, none is requested.",
    )
    def nightly_at_0200(context: dg.ScheduleEvaluationContext, locations: StudyLocations):
        said = unchanged_since(locations.home_dir, Path(locations.inbox), os.environ)
        if said:  # the inbox sensor (or make run) has already published tonight's drop as it is
            return dg.SkipReason(f"nightly not requested: {said}")
        return request_after_recovery(context, locations.home_dir, dg.RunRequest(), "nightly_at_0200")

    return nightly_at_0200
