"""The nightly job and its schedule."""

from __future__ import annotations

import os

import dagster as dg

# Every asset, in one process, one step at a time: the DuckDB file takes one writer.
nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load the newest export drop, build the warehouse, gate its quality, compute the outcomes and "
                "publish outcomes.json, the study report and the steward worklist.",
    tags={"dagster/max_runtime": 3600},
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_0200",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=os.environ.get("SSC_TIMEZONE", "UTC"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:00 (SSC_TIMEZONE, default UTC), after the export drop has landed.",
)
