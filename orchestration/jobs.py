"""The nightly job and its schedule."""

from __future__ import annotations

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


def nightly_schedule(timezone: str) -> dg.ScheduleDefinition:
    """The nightly job at 02:00 in ``timezone`` (IANA name, SSC_TIMEZONE), on unless switched off in the UI."""
    return dg.ScheduleDefinition(
        name="nightly_at_0200",
        job=nightly_job,
        cron_schedule="0 2 * * *",
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every night at 02:00 ({timezone}: SSC_TIMEZONE, default UTC), after the export drop has "
                    "landed.",
    )
