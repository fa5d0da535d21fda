"""The Dagster code location: inbox -> raw -> staging -> timeline -> quality gate -> marts -> outcomes -> reports."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import dbt_analysis_and_marts, dbt_project, dbt_staging_and_timeline
from orchestration.assets.endpoints import endpoints
from orchestration.assets.ingest import raw_records
from orchestration.assets.outcomes import cohort_flow_outcome, outcome_assets
from orchestration.assets.quality import conformance, findings, mart_checks, plausibility
from orchestration.assets.reports import outcomes_json, study_report
from orchestration.jobs import nightly_job, nightly_schedule
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import export_for_dbt, load_settings

settings = load_settings()
export_for_dbt(settings)

defs = dg.Definitions(
    assets=[
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
    ],
    asset_checks=[mart_checks],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    resources={
        "warehouse": Warehouse(path=str(settings.warehouse)),
        "locations": StudyLocations(inbox=str(settings.inbox), home=str(settings.home),
                                    max_quarantine_share=settings.max_quarantine_share,
                                    max_field_rejected_share=settings.max_field_rejected_share,
                                    field_gate_min_filled=settings.field_gate_min_filled,
                                    max_endpoint_loss=settings.max_endpoint_loss,
                                    max_os_excluded=settings.max_os_excluded,
                                    missing_data_codes_setting=settings.missing_data_codes),
        "dbt": DbtCliResource(project_dir=dbt_project, profiles_dir=str(dbt_project.project_dir),
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
        "io_manager": dg.FilesystemIOManager(base_dir=str(settings.home / "dagster" / "storage")),
    },
)
