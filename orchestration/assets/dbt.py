"""The dbt project as Dagster assets, in two parts with the plausibility gate between them.

    staging + intermediate/timeline  ->  quality/plausibility, quality/findings (gate)  ->  intermediate/analysis + marts

Lineage comes from the dbt manifest: a model or seed is the asset ``<schema>/<name>`` in the group of its schema
(staging, intermediate, marts, reference: dbt_project.yml), a dbt source is the Python asset that writes it
(``meta.dagster.asset_key`` in models/sources.yml), and Python assets name the models they read with
:func:`model_key`. Each dbt command works on the warehouse file of the ``warehouse`` resource (the profile's
``warehouse`` var) and writes its artifacts and its dbt.log under ``SSC_HOME/logs/dbt/<step>-<run>-<id>/``.
"""

import json
import uuid
from pathlib import Path
from typing import Any, Mapping

import dagster as dg
from dagster_dbt import (DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets,
                         get_asset_key_for_model)

from analysis.settings import value
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt's own names, from the manifest: models and seeds keyed ``<schema>/<name>`` (dagster-dbt's default for
    a model with a configured schema) and grouped by their schema; sources keyed by their ``meta`` (several
    sources may be written by one asset)."""

    def __init__(self):
        super().__init__(DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str,
                       project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        return spec.replace_attributes(group_name=props["config"]["schema"])


translator = WarehouseTranslator()

# Before the plausibility gate: the seeds, typed instruments and the timeline the plausibility suites validate.
TIMELINE_SELECT = "resource_type:seed staging intermediate.timeline"
# After the gate: exclusions applied, windows chosen, analysis datasets.
ANALYSIS_SELECT = "intermediate.analysis marts"


def dbt_target_path(locations: StudyLocations, context: dg.AssetExecutionContext) -> Path:
    """``SSC_HOME/logs/dbt/<step>-<run id[:7]>-<7 random hex>``: one folder per dbt command, named as
    dagster-dbt names it (orchestration/nightly.py finds each step's dbt.log by that name)."""
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    return locations.dbt_logs / name


def dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse,
              locations: StudyLocations):
    """``dbt build`` of the asset's selection (tests of the selected models included) on the warehouse file."""
    variables = {"warehouse": warehouse.database,  # and the settings the SQL uses (study/analysis_settings.toml)
                 "enrollment_lookback_days": value("plausibility.enrollment_lookback")}
    args = ["build", "--indirect-selection", "buildable", "--vars", json.dumps(variables)]
    yield from dbt.cli(args, context=context, target_path=dbt_target_path(locations, context)).stream()


@dbt_assets(manifest=dbt_project.manifest_path, select=TIMELINE_SELECT, dagster_dbt_translator=translator,
            name="dbt_staging_and_timeline", pool="warehouse")
def dbt_staging_and_timeline(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse,
                             locations: StudyLocations):
    yield from dbt_build(context, dbt, warehouse, locations)


@dbt_assets(manifest=dbt_project.manifest_path, select=ANALYSIS_SELECT, dagster_dbt_translator=translator,
            name="dbt_analysis_and_marts", pool="warehouse")
def dbt_analysis_and_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse,
                           locations: StudyLocations):
    yield from dbt_build(context, dbt, warehouse, locations)


def model_key(name: str) -> dg.AssetKey:
    """The asset key of dbt model or seed ``name`` (``"adsl"`` -> ``marts/adsl``), from the manifest; KeyError
    when the project has no such model. (Both dbt assets hold the whole manifest: either finds any model.)"""
    return get_asset_key_for_model([dbt_staging_and_timeline], name)

