"""Quality gates: Great Expectations suites run on DataFrames read from DuckDB, findings written to the
``quality`` schema, blocking asset checks that stop the analysis when the data cannot be trusted.

    raw/records -> quality/conformance (nulls cells, quarantines rows) -> dbt staging + timeline
                -> quality/plausibility -> quality/findings (the gate: findings, reconciliation)
                -> dbt analysis + marts (critical expectations as blocking checks) -> outcomes

What each step reads, validates, writes and judges is :mod:`quality.steps`; the check results are
:mod:`orchestration.checks`.
"""


import time
from typing import Callable

import dagster as dg

from orchestration.assets.dbt import model_key
from orchestration.checks import gate_check_result, suite_check_result
from orchestration.publishing import STEWARD_PAGE
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import (DEFAULT_FIELD_GATE_MIN_FILLED, DEFAULT_MAX_FIELD_REJECTED_SHARE,
                                    DEFAULT_MAX_QUARANTINE_SHARE, DEFAULT_MAX_VOLUME_LOSS)
from quality import gates
from quality.volume import VOLUME_GATE, check_volume
from quality.gx_runner import GXRunner
from quality.steps import (MARTS, StepResult, check_conformance, check_marts, check_plausibility, current_drop,
                           judge_drop)
from study.definition import load_study

RAW = dg.AssetKey(["raw", "records"])
CONFORMANCE = dg.AssetKey(["quality", "conformance"])
PLAUSIBILITY = dg.AssetKey(["quality", "plausibility"])
FINDINGS = dg.AssetKey(["quality", "findings"])
# the dbt models quality.plausibility_inputs reads
TIMELINE_MODELS = ("int_assessment_timeline", "int_patient_anchors", "stg_redcap__adverse_event", "stg_redcap__echo")

# The gates on quality/findings. Blocking: a failure skips the marts, outcomes and reports.
GATES = {
    gates.STRUCTURE_GATE: "The data dictionary and the records header hold every field the study defines, with its "
                          "type, validation and codes.",
    gates.QUARANTINE_GATE: "The share of export rows quarantined is at most SSC_MAX_QUARANTINE_SHARE (default "
                           f"{DEFAULT_MAX_QUARANTINE_SHARE:.0%}).",
    gates.DUPLICATES_GATE: "No two loaded rows share record, event, repeat instrument and instance.",
    gates.PATIENTS_GATE: "At least one patient could be placed (enrollment and a first infusion).",
    gates.RECONCILE_GATE: "Every export row is either loaded or quarantined (export = loaded + quarantined).",
    gates.FIELDS_GATE: "No export column is rejected as a whole: conformance rejects at most "
                       f"SSC_MAX_FIELD_REJECTED_SHARE (default {DEFAULT_MAX_FIELD_REJECTED_SHARE:.0%}) of the filled "
                       "cells of a field with at least SSC_FIELD_GATE_MIN_FILLED (default "
                       f"{DEFAULT_FIELD_GATE_MIN_FILLED}), and not all of any field's filled cells; a failure names "
                       "the field, sample values and the likely cause (quality.field_profile).",
}
# Beside them, against the last published drop (quality/volume.py).
VOLUME_CHECK = ("The drop is not a partial export: at most SSC_MAX_VOLUME_LOSS (default "
                f"{DEFAULT_MAX_VOLUME_LOSS:.0%}) fewer records, and fewer rows of each instrument, than the last "
                "published drop (quality.drop_volume); a failure names what shrank, the counts and the share.")


def gx_runner(locations: StudyLocations, drop: dict) -> GXRunner:
    """The step's GX runner: the project under SSC_HOME/gx, Data Docs under SSC_HOME/data_docs, results under
    the drop's name."""
    return GXRunner(locations.gx_project, locations.data_docs, run_name=drop.get("drop_id", "unknown"))


def validate_step(warehouse: Warehouse, locations: StudyLocations,
                  check: Callable[..., StepResult]) -> tuple[StepResult, GXRunner]:
    """``check`` (:func:`quality.steps.check_conformance` or ``check_plausibility``) on the warehouse with the
    step's runner."""
    with warehouse.connect() as conn:
        runner = gx_runner(locations, current_drop(conn))
        return check(conn, load_study(), runner), runner


def step_metadata(step: StepResult, started: float, **counts: int) -> dict:
    """The materialization's metadata: ``counts``, the findings and their count by rule, the seconds taken."""
    return {**counts, "findings": len(step.findings),
            "by_rule": dg.MetadataValue.json(step.findings["rule"].value_counts().to_dict()),
            "seconds": round(time.perf_counter() - started, 2)}


@dg.asset(
    key=CONFORMANCE,
    deps=[RAW],
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool="warehouse",
    check_specs=[dg.AssetCheckSpec("conformance_suites", asset=CONFORMANCE,
                                   description="Conformance and completeness suites derived from the data "
                                               "dictionary, and the placement rules, on raw.records.")],
    description="Great Expectations on raw.records: conformance (types, dates, codes, ranges — derived from the "
                "data dictionary), completeness of required fields, and placement. Writes "
                "quality.conformance_findings (cells the staging nulls) and quality.quarantine (rows left out).",
)
def conformance(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations):
    started = time.perf_counter()
    step, runner = validate_step(warehouse, locations, check_conformance)
    findings = step.findings
    context.log.info(
        f"conformance: {step.rows} rows, {len(findings)} findings ({int((findings['severity'] == 'error').sum())} "
        f"errors), {step.quarantined_rows} rows quarantined, {len(step.runs)} suites in "
        f"{time.perf_counter() - started:.1f} s")
    yield dg.MaterializeResult(metadata=step_metadata(step, started, rows=step.rows,
                                                      quarantined_rows=step.quarantined_rows))
    yield suite_check_result(step.runs, check_name="conformance_suites", data_docs=runner.index_path)


@dg.asset(
    key=PLAUSIBILITY,
    deps=[model_key(m) for m in TIMELINE_MODELS],
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    pool="warehouse",
    check_specs=[dg.AssetCheckSpec("plausibility_suites", asset=PLAUSIBILITY,
                                   description="Temporal and atemporal plausibility suites on the timeline.")],
    description="Great Expectations on the timeline: temporal plausibility (before enrollment, after death, in "
                "the future, AE end before onset, event label against the date's window), atemporal (PASP "
                "against TRV, clinical outliers) and expected visits. Writes quality.plausibility_findings.",
)
def plausibility(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations):
    started = time.perf_counter()
    step, runner = validate_step(warehouse, locations, check_plausibility)
    findings = step.findings
    context.log.info(
        f"plausibility: {step.rows} dated assessments, {len(findings)} findings "
        f"({int((findings['action'] == 'excluded').sum())} assessments excluded) in "
        f"{time.perf_counter() - started:.1f} s")
    yield dg.MaterializeResult(metadata=step_metadata(step, started, assessments=step.rows))
    yield suite_check_result(step.runs, check_name="plausibility_suites", data_docs=runner.index_path)


@dg.asset(
    key=FINDINGS,
    deps=[RAW, CONFORMANCE, PLAUSIBILITY],
    group_name="quality",
    kinds={"duckdb", "html"},
    pool="warehouse",
    check_specs=[dg.AssetCheckSpec(name, asset=FINDINGS, blocking=True, description=text)
                 for name, text in {**GATES, VOLUME_GATE: VOLUME_CHECK}.items()],
    description="The quality gate. quality.findings (every finding of the drop), quality.reconciliation and "
                "quality.field_profile (filled and rejected cells per field), from which the run's end publishes "
                "the steward worklist (reports/steward.html) with the run's verdict; blocking checks stop the "
                "analysis when the drop cannot be trusted.",
)
def findings(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations):
    started = time.perf_counter()
    with warehouse.connect() as conn:
        gate = judge_drop(conn, load_study(), context.run.run_id,
                          max_quarantine_share=locations.max_quarantine_share,
                          max_field_rejected_share=locations.max_field_rejected_share,
                          field_gate_min_filled=locations.field_gate_min_filled)
        judged = [*gate.gates, check_volume(conn, context.run.run_id, gate.reconciliation, locations.max_volume_loss)]
    # The steward worklist is published once, at the run's end (orchestration/run_end.py finish()), from the tables
    # written here and with the run's verdict: at 20,000 patients a page of 18,735 findings costs about 5 s to build.
    found = gate.findings
    steward = locations.reports / STEWARD_PAGE
    failed = [g for g in judged if not g["passed"]]
    context.log.info(
        f"findings: {len(found)} ({int((found['severity'] == 'error').sum())} errors); gates "
        f"{len(judged) - len(failed)}/{len(judged)} passed; the steward worklist {steward} is published at the "
        f"run's end ({time.perf_counter() - started:.1f} s)")
    for g in failed:
        context.log.error(f"quality gate {g['gate']} FAILED: {g['message']}")
    yield dg.MaterializeResult(metadata={
        "findings": len(found),
        "errors": int((found["severity"] == "error").sum()),
        "warnings": int((found["severity"] == "warning").sum()),
        "by_category": dg.MetadataValue.json(found["category"].value_counts().to_dict()),
        "patients": gate.patients,
        "fields_with_rejected_cells": int((gate.profile["rejected"] > 0).sum()),
        "steward_report": dg.MetadataValue.path(str(steward)),
        "data_docs": dg.MetadataValue.path(str(locations.data_docs / "index.html")),
    })
    settings = {gates.QUARANTINE_GATE: {"SSC_MAX_QUARANTINE_SHARE": locations.max_quarantine_share},
                gates.FIELDS_GATE: {"SSC_MAX_FIELD_REJECTED_SHARE": locations.max_field_rejected_share,
                                    "SSC_FIELD_GATE_MIN_FILLED": locations.field_gate_min_filled},
                VOLUME_GATE: {"SSC_MAX_VOLUME_LOSS": locations.max_volume_loss}}
    for g in judged:
        yield gate_check_result(g, settings.get(g["gate"]))


MART_CHECKS = {
    mart: dg.AssetCheckSpec(f"{mart}_critical_expectations", asset=model_key(mart), blocking=True,
                            description=f"Critical Great Expectations suite on marts.{mart}; a failure blocks the "
                                        "outcomes and reports.")
    for mart in MARTS
}


@dg.multi_asset_check(specs=list(MART_CHECKS.values()), name="mart_critical_expectations")
def mart_checks(warehouse: Warehouse, locations: StudyLocations):
    with warehouse.connect(read_only=True) as conn:
        runner = gx_runner(locations, current_drop(conn))
        runs = check_marts(conn, runner)
    for mart, run in runs.items():
        yield suite_check_result(run, asset_key=model_key(mart), check_name=MART_CHECKS[mart].name,
                                 data_docs=runner.index_path)
