"""The Dagster code location: inbox -> raw -> staging -> timeline -> quality gate -> marts -> outcomes -> reports.

``defs`` is :func:`build_definitions` of this process's environment: the variables of orchestration/settings.py
configure the resources (``dg.EnvVar`` where set, the documented default where not). Building reads the
environment and never writes it; tests build definitions from a plain dict.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

import dagster as dg

from orchestration.assets.dbt import (WarehouseDbtCliResource, dbt_analysis_and_marts, dbt_project,
                                     dbt_staging_and_timeline)
from orchestration.assets.endpoints import endpoints
from orchestration.assets.ingest import raw_records
from orchestration.assets.outcomes import cohort_flow_outcome, outcome_assets
from orchestration.assets.quality import conformance, findings, mart_checks, plausibility
from orchestration.assets.reports import outcomes_json, study_report
from orchestration.freshness import drop_fresh, stale_inbox_sensor
from orchestration.inbox_sensor import SENSORS as INBOX_SENSORS
from orchestration.jobs import nightly_job, nightly_schedule, single_writer_in_process_executor
from orchestration.resources import Alerts, StudyLocations, Warehouse
from orchestration.run_end import SENSORS
from orchestration.settings import WAREHOUSE_FILE, alerts_config, home_dir, locations_config, schedule_timezone

ASSETS = [
    raw_records,
    conformance,
    dbt_staging_and_timeline,
    plausibility,
    findings,
    dbt_analysis_and_marts,
    endpoints,
    *outcome_assets,
    cohort_flow_outcome,
    outcomes_json,
    study_report,
]


def build_definitions(environ: Mapping[str, str]) -> dg.Definitions:
    """The code location for the settings in ``environ`` (a mapping of environment variables; only read)."""
    home = home_dir(environ)
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=[mart_checks, drop_fresh],
        jobs=[nightly_job],
        executor=single_writer_in_process_executor,  # also an asset materialised alone from the UI
        schedules=[nightly_schedule(schedule_timezone(environ))],
        sensors=[*SENSORS, *INBOX_SENSORS, stale_inbox_sensor],
        resources={
            "warehouse": Warehouse(database=str(home / WAREHOUSE_FILE)),
            "locations": StudyLocations(**locations_config(environ)),
            "alerts": Alerts(**alerts_config(environ)),
            # dbt comes with this interpreter's environment
            "dbt": WarehouseDbtCliResource(project_dir=dbt_project,
                                           dbt_executable=str(Path(sys.executable).parent / "dbt")),
            "io_manager": dg.FilesystemIOManager(base_dir=str(home / "dagster" / "storage")),
        },
    )


defs = build_definitions(os.environ)
