"""The dbt project as Dagster assets, in two parts with the plausibility gate between them.

    staging + intermediate/timeline  ->  quality/plausibility, quality/findings (gate)  ->  intermediate/analysis + marts

Lineage comes from the dbt manifest: a model or seed is the asset ``<schema>/<name>`` in the group of its schema
(staging, intermediate, marts, reference: dbt_project.yml), a dbt source is the Python asset that writes it
(``meta.dagster.asset_key`` in models/sources.yml), and Python assets name the models they read with
:func:`model_key`. Each dbt command works on the warehouse file of the ``warehouse`` resource (the profile's
``warehouse`` var) and writes its artifacts and its dbt.log under ``SSC_HOME/logs/dbt/<step>-<run>-<id>/``; when it
ends, that folder keeps only what a person reads (:data:`KEPT_ARTIFACTS`) and the folders of the last
:data:`KEPT_RUNS` runs are kept (:func:`keep_bounded`). The checkout's ``dbt_project/target`` holds only what
``make manifest`` writes (the manifest the definitions load).

dbt re-reads the whole project when the command-line vars or the profile's connection differ from those of its
partial parse (``partial_parse.msgpack``), and the warehouse path is both: the partial parse of ``make manifest``
never fits a run. Each command therefore starts from the partial parse the previous command on this home left in
``SSC_HOME/dbt/`` (:func:`reuse_parse`); dbt still re-reads every file whose checksum changed, and the whole project
after a dbt upgrade or a change of vars. Measured on the demo drop: about 2.5 s less per command.

Each command is a ``dbt`` process (dagster-dbt's way), although about 2 s of it is importing dbt, which this process
has done already. dbt's programmatic entry point (``dbtRunner``) in this process was tried and not kept: on the demo
the job was 2.5 s shorter (median of 5 pairs, 27.0 s against 29.5 s on a busy machine; 12% less CPU), not 4 s, because
dagster-dbt then turns dbt's events into Dagster events (two for each of a command's 35 to 61 dbt nodes, each
written to the instance's storage) after dbt ends instead of while dbt runs in its other process; and it needs
dagster-dbt's private parts (``DbtCliInvocation._stream_stdout``), a close of dbt-duckdb's connection to the
warehouse, which it keeps open in the process (``keep_open``, on by default in dbt-duckdb 1.11), and its own
handling of a stop, which dbt cancels only as a ``KeyboardInterrupt`` in the main thread.
"""

import gzip
import importlib.metadata
import json
import os
import shutil
import uuid
from functools import cached_property
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


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's ``DbtCliResource`` without two things it does before each dbt command that this project does
    not use, each about 2.5–3.5 s a command on the demo (dagster-dbt 0.29, pinned):

    - ``dbt --version`` in a subprocess, to learn which dbt it runs. That command asks PyPI for the latest dbt-core
      and dbt-duckdb (a network call at run time, which this project must not make; offline it waits for a
      timeout). The answer is the installed ``dbt-core`` package's version: the ``dbt`` it runs is this
      interpreter's (orchestration/definitions.py).
    - an in-process dbt adapter, built by loading the project and its macros, which dagster-dbt uses only for
      ``fetch_row_counts()`` and ``fetch_column_metadata()``; this project calls neither (row counts come from its
      own reconciliation). Without it, those two would log that no adapter is available and add nothing.
    """

    @cached_property
    def _cli_version(self):
        from packaging import version

        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None

# Before the plausibility gate: the seeds, typed instruments and the timeline the plausibility suites validate.
TIMELINE_SELECT = "resource_type:seed staging intermediate.timeline"
# After the gate: exclusions applied, windows chosen, analysis datasets.
ANALYSIS_SELECT = "intermediate.analysis marts"
# dbt's unit tests check the SQL of a model against fixed rows in the project, not the drop: the same answer for
# the same code every night, and about 1 s of CPU of the analysis command's 6 on the demo. They run with the code's
# tests (tests/quality/test_quality_anchors.py builds both selections with them), not in the nightly job.
NIGHTLY_EXCLUDES = ("--exclude-resource-type", "unit_test")
# What a dbt command's target folder keeps when it ends: its log and its results (what ran, how long, what
# failed; the log holds the SQL that ran). The manifest, partial parse, graph and compiled SQL are the project's,
# made again by any run, and several times the size of what is kept.
KEPT_ARTIFACTS = ("dbt.log", "run_results.json")
# The runs whose dbt folders are kept under SSC_HOME/logs/dbt: a week of nights.
KEPT_RUNS = 7
PARTIAL_PARSE = "partial_parse.msgpack"


def dbt_target_path(locations: StudyLocations, context: dg.AssetExecutionContext) -> Path:
    """``SSC_HOME/logs/dbt/<step>-<run id[:7]>-<7 random hex>``: one folder per dbt command, named as
    dagster-dbt names it (orchestration/run_end.py finds each step's dbt.log by that name)."""
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    return locations.dbt_logs / name


def dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse,
              locations: StudyLocations):
    """``dbt build`` of the asset's selection on the warehouse file: its models and seeds and the data tests on
    them, not dbt's unit tests (:data:`NIGHTLY_EXCLUDES`)."""
    variables = {"warehouse": warehouse.database,  # and the settings the SQL uses (study/analysis_settings.toml)
                 "enrollment_lookback_days": value("plausibility.enrollment_lookback")}
    args = ["build", "--indirect-selection", "buildable", "--vars", json.dumps(variables), *NIGHTLY_EXCLUDES]
    target = dbt_target_path(locations, context)
    reuse_parse(locations.dbt_state, target)
    try:
        yield from dbt.cli(args, context=context, target_path=target).stream()
    finally:
        keep_parse(target, locations.dbt_state)
        keep_bounded(target, context.run.run_id)


def reuse_parse(state: Path, target: Path) -> None:
    """Put the partial parse kept in ``state`` (if any) into the new command's ``target`` folder, where dbt reads it
    (and dagster-dbt then leaves it instead of copying the checkout's, which never fits: see the module's text)."""
    if (state / PARTIAL_PARSE).is_file():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state / PARTIAL_PARSE, target / PARTIAL_PARSE)


def keep_parse(target: Path, state: Path) -> None:
    """Keep the partial parse dbt wrote in ``target`` as ``state``'s, replaced atomically (a killed run leaves the
    previous one or the new one, whole)."""
    written = target / PARTIAL_PARSE
    if not written.is_file():
        return
    state.mkdir(parents=True, exist_ok=True)
    partial = state / f".{PARTIAL_PARSE}.{os.getpid()}"
    shutil.copyfile(written, partial)
    os.replace(partial, state / PARTIAL_PARSE)


def keep_bounded(target: Path, run_id: str, runs: int = KEPT_RUNS) -> None:
    """After the dbt command of run ``run_id`` whose target folder is ``target`` (in SSC_HOME/logs/dbt): only
    :data:`KEPT_ARTIFACTS` stay in ``target``; beside it, the dbt folders (``<step>-<run[:7]>-<id>``) of the
    ``runs - 1`` runs that wrote theirs last are kept with their files gzipped (``dbt.log.gz``: a week of nights
    in a few MB), those of earlier runs removed. Other files there (the dbt.log of ``make manifest``) are left
    alone."""
    for path in target.iterdir() if target.is_dir() else ():
        if path.is_dir():
            shutil.rmtree(path)
        elif path.name not in KEPT_ARTIFACTS:
            path.unlink()
    earlier: dict[str, list[Path]] = {}
    for folder in target.parent.iterdir():
        parts = folder.name.rsplit("-", 2)
        if folder.is_dir() and len(parts) == 3 and parts[1] != run_id[:7]:
            earlier.setdefault(parts[1], []).append(folder)
    newest_first = sorted(earlier.values(), key=lambda folders: -max(f.stat().st_mtime for f in folders))
    for number, folders in enumerate(newest_first):
        for folder in folders:
            if number >= runs - 1:
                shutil.rmtree(folder)
                continue
            for name in KEPT_ARTIFACTS:
                if (folder / name).exists():
                    _gzip(folder / name)


def _gzip(path: Path) -> None:
    """``path`` replaced by ``path.gz``, its modification time kept (the folder's too: it orders the runs)."""
    folder_times = path.parent.stat()
    with open(path, "rb") as plain, gzip.open(f"{path}.gz", "wb") as packed:
        shutil.copyfileobj(plain, packed)
    shutil.copystat(path, f"{path}.gz")
    path.unlink()
    os.utime(path.parent, ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))


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

