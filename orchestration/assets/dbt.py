"""The dbt project as Dagster assets, in two parts with the plausibility gate between them.

    staging + intermediate/timeline  ->  quality/plausibility, quality/findings (gate)  ->  intermediate/analysis + marts

Keys are ``<layer>/<model>`` and groups are the layers, so the asset graph reads inbox -> raw -> staging ->
marts -> outcomes. dbt sources map onto the Python assets that write them.
"""


from typing import Any, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from orchestration.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

# dbt source -> the Python asset that writes it
SOURCE_KEYS = {
    ("redcap", "records"): dg.AssetKey(["raw", "records"]),
    ("redcap", "current_drop"): dg.AssetKey(["raw", "records"]),
    ("quality", "conformance_findings"): dg.AssetKey(["quality", "conformance"]),
    ("quality", "quarantine"): dg.AssetKey(["quality", "conformance"]),
    ("quality", "findings"): dg.AssetKey(["quality", "findings"]),
}


class WarehouseTranslator(DagsterDbtTranslator):
    def __init__(self):
        super().__init__(DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))

    @staticmethod
    def _layer(props: Mapping[str, Any]) -> str:
        if props["resource_type"] == "seed":
            return "reference"
        return props["fqn"][1] if len(props["fqn"]) > 2 else "models"

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            key = (dbt_resource_props["source_name"], dbt_resource_props["name"])
            return SOURCE_KEYS.get(key, dg.AssetKey(list(key)))
        return dg.AssetKey([self._layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return self._layer(dbt_resource_props)


translator = WarehouseTranslator()

# Before the plausibility gate: typed instruments and the timeline the plausibility suites validate.
TIMELINE_SELECT = "analysis_windows redcap_checkbox_choices staging intermediate.timeline"
# After the gate: exclusions applied, windows chosen, analysis datasets.
ANALYSIS_SELECT = "intermediate.analysis marts"


@dbt_assets(manifest=dbt_project.manifest_path, select=TIMELINE_SELECT, dagster_dbt_translator=translator,
            name="dbt_staging_and_timeline", pool="warehouse")
def dbt_staging_and_timeline(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build", "--indirect-selection", "buildable"], context=context).stream()


@dbt_assets(manifest=dbt_project.manifest_path, select=ANALYSIS_SELECT, dagster_dbt_translator=translator,
            name="dbt_analysis_and_marts", pool="warehouse")
def dbt_analysis_and_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build", "--indirect-selection", "buildable"], context=context).stream()


def mart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])
