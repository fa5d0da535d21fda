"""Quality gates: Great Expectations suites run on DataFrames read from DuckDB, findings written to the
``quality`` schema, blocking asset checks that stop the analysis when the data cannot be trusted.

    raw/records -> quality/conformance (nulls cells, quarantines rows) -> dbt staging + timeline
                -> quality/plausibility -> quality/findings (the gate: steward report, reconciliation)
                -> dbt analysis + marts (critical expectations as blocking checks) -> outcomes
"""


import time

import dagster as dg
import pandas as pd

from orchestration.assets.dbt import mart_key
from orchestration.publishing import publish_steward_report
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import DEFAULT_FIELD_GATE_MIN_FILLED, DEFAULT_MAX_FIELD_REJECTED_SHARE
from quality.gates import FIELDS_GATE, PROFILE_COLUMNS, field_profile, fields_gate
from quality.marts import validate_marts
from quality.conformance import duplicate_key_findings, duplicate_keys, run_conformance
from quality.suites import assessment_mask
from quality.gx_glue import GXRunner, to_asset_check_result
from quality.plausibility import plausibility_inputs, run_plausibility
from quality.store import (combine_findings, write_field_profile, write_findings, write_quarantine,
                           write_reconciliation)
from study.definition import Study, load_study

RAW = dg.AssetKey(["raw", "records"])
CONFORMANCE = dg.AssetKey(["quality", "conformance"])
PLAUSIBILITY = dg.AssetKey(["quality", "plausibility"])
FINDINGS = dg.AssetKey(["quality", "findings"])
TIMELINE_MODELS = [
    dg.AssetKey(["intermediate", "int_assessment_timeline"]),
    dg.AssetKey(["intermediate", "int_patient_anchors"]),
    dg.AssetKey(["staging", "stg_redcap__adverse_event"]),
    dg.AssetKey(["staging", "stg_redcap__echo"]),
]

DUPLICATE_KEY_RULE = "duplicate_key"

# The gates on quality/findings. Blocking: a failure skips the marts, outcomes and reports.
GATES = {
    "structure_matches_study": "The data dictionary and the records header hold every field the study defines, "
                               "with its type, validation and codes.",
    "quarantine_within_limit": "The share of export rows quarantined is at most SSC_MAX_QUARANTINE_SHARE "
                               "(default 5%).",
    "no_duplicate_keys": "No two loaded rows share record, event, repeat instrument and instance.",
    "patients_present": "At least one patient could be placed (enrollment and a first infusion).",
    "rows_reconcile": "Every export row is either loaded or quarantined (export = loaded + quarantined).",
    FIELDS_GATE: "No export column is rejected as a whole: conformance rejects at most SSC_MAX_FIELD_REJECTED_SHARE "
                 f"(default {DEFAULT_MAX_FIELD_REJECTED_SHARE:.0%}) of the filled cells of a field with at least "
                 f"SSC_FIELD_GATE_MIN_FILLED (default {DEFAULT_FIELD_GATE_MIN_FILLED}), and not all of any field's "
                 "filled cells; a failure names the field, sample values and the likely cause "
                 "(quality.field_profile).",
}


def _runner(locations: StudyLocations, drop_id: str) -> GXRunner:
    return GXRunner(locations.gx_project, locations.data_docs, run_name=drop_id)


def _current_drop(warehouse: Warehouse) -> dict:
    rows = warehouse.read("select * from raw.current_drop").to_dict("records")
    return rows[0] if rows else {}


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
    study = load_study()
    drop = _current_drop(warehouse)
    records = warehouse.read("select * from raw.records order by _source_row")
    runner = _runner(locations, drop.get("drop_id", "unknown"))
    result = run_conformance(records, study, runner)
    # rows left after quarantine that still share a key: the no_duplicate_keys gate reads these findings
    findings = pd.concat([result.findings, duplicate_key_findings(duplicate_keys(records, result.quarantine))],
                         ignore_index=True)
    with warehouse.connect() as conn:
        write_findings(conn, "conformance", findings, drop.get("drop_id"))
        write_quarantine(conn, result.quarantine)
    context.log.info(
        f"conformance: {len(records)} rows, {len(findings)} findings "
        f"({int((findings['severity'] == 'error').sum())} errors), {result.quarantined_rows} rows quarantined, "
        f"{len(result.runs)} suites in {time.perf_counter() - started:.1f} s"
    )
    yield dg.MaterializeResult(metadata={
        "rows": len(records),
        "findings": len(findings),
        "quarantined_rows": result.quarantined_rows,
        "by_rule": dg.MetadataValue.json(findings["rule"].value_counts().to_dict()),
        "seconds": round(time.perf_counter() - started, 2),
    })
    yield to_asset_check_result(result.runs, check_name="conformance_suites", data_docs=runner.index_path)


@dg.asset(
    key=PLAUSIBILITY,
    deps=TIMELINE_MODELS,
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
    drop = _current_drop(warehouse)
    with warehouse.connect(read_only=True) as conn:
        frames = plausibility_inputs(conn)
    runner = _runner(locations, drop.get("drop_id", "unknown"))
    result = run_plausibility(**frames, runner=runner)
    with warehouse.connect() as conn:
        write_findings(conn, "plausibility", result.findings, drop.get("drop_id"))
    findings = result.findings
    context.log.info(
        f"plausibility: {len(frames['timeline'])} dated assessments, {len(findings)} findings "
        f"({int((findings['action'] == 'excluded').sum())} assessments excluded) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    yield dg.MaterializeResult(metadata={
        "assessments": len(frames["timeline"]),
        "findings": len(findings),
        "by_rule": dg.MetadataValue.json(findings["rule"].value_counts().to_dict()),
        "seconds": round(time.perf_counter() - started, 2),
    })
    yield to_asset_check_result(result.runs, check_name="plausibility_suites", data_docs=runner.index_path)


def loaded_records(warehouse: Warehouse) -> tuple[pd.DataFrame, set[int]]:
    """raw.records of the current drop and its quarantined source rows, read once for the gate's counts."""
    with warehouse.connect(read_only=True) as conn:
        records = conn.execute("select * from raw.records").df()
        quarantined = {int(r) for (r,) in conn.execute("select distinct source_row from quality.quarantine").fetchall()}
    return records, quarantined


def reconciliation(records: pd.DataFrame, quarantined: set[int], drop: dict, study: Study) -> pd.DataFrame:
    """Rows of the records file: per drop, and per instrument (rows holding an assessment of it)."""
    in_quarantine = records["_source_row"].isin(quarantined)
    unreadable = int(drop.get("unreadable_rows") or 0)
    rows = [{
        "drop_id": drop.get("drop_id"), "instrument": None, "export_rows": int(drop.get("export_rows") or 0),
        "loaded_rows": int((~in_quarantine).sum()), "quarantined_rows": int(in_quarantine.sum()) + unreadable,
    }]
    for form in study.forms:
        mask = assessment_mask(records, study, form)
        rows.append({"drop_id": drop.get("drop_id"), "instrument": form, "export_rows": int(mask.sum()),
                     "loaded_rows": int((mask & ~in_quarantine).sum()),
                     "quarantined_rows": int((mask & in_quarantine).sum())})
    return pd.DataFrame(rows)


def evaluate_gates(findings: pd.DataFrame, recon: pd.DataFrame, n_patients: int, max_share: float,
                   profile: pd.DataFrame | None = None, *, study: Study | None = None,
                   max_field_share: float = DEFAULT_MAX_FIELD_REJECTED_SHARE,
                   min_filled: int = DEFAULT_FIELD_GATE_MIN_FILLED) -> list[dict]:
    """Each gate: passed (a Python bool) or not, with a message that names what failed. ``profile`` is the
    drop's :func:`quality.gates.field_profile` (None: no field profiled)."""
    if profile is None:
        profile = pd.DataFrame(columns=[c for c in PROFILE_COLUMNS if c != "run_id"])
    total = recon.iloc[0]
    duplicates = findings[findings["rule"] == DUPLICATE_KEY_RULE]
    share = float(total["quarantined_rows"] / total["export_rows"]) if total["export_rows"] else 0.0
    blocked = findings[(findings["action"] == "blocked") & (findings["rule"] != DUPLICATE_KEY_RULE)]
    structure = "; ".join(blocked["message"].head(10)) + (" …" if len(blocked) > 10 else "")
    unbalanced = recon[recon["export_rows"] != recon["loaded_rows"] + recon["quarantined_rows"]]
    return [
        {"gate": "structure_matches_study", "passed": blocked.empty,
         "message": structure or "dictionary and header match the study definition"},
        {"gate": "quarantine_within_limit", "passed": share <= max_share,
         "message": f"{total['quarantined_rows']} of {total['export_rows']} export rows quarantined "
                    f"({share:.1%}; limit {max_share:.0%})"},
        {"gate": "no_duplicate_keys", "passed": duplicates.empty,
         "message": "no duplicate keys" if duplicates.empty else
                    f"{len(duplicates)} loaded rows share a record/event/instance key with another row "
                    f"(rows {', '.join(str(r) for r in duplicates['source_row'].head(10))})"},
        {"gate": "patients_present", "passed": n_patients > 0, "message": f"{n_patients} patients placed"},
        {"gate": "rows_reconcile", "passed": unbalanced.empty,
         "message": "export = loaded + quarantined for the drop and every instrument" if unbalanced.empty else
                    f"rows do not reconcile for {', '.join(str(i or 'the drop') for i in unbalanced['instrument'])}"},
        fields_gate(profile, findings, study or load_study(), max_field_share, min_filled),
    ]


def profile_fields(warehouse: Warehouse, records: pd.DataFrame, quarantined: set[int], findings: pd.DataFrame,
                   study: Study, drop: dict, run_id: str) -> pd.DataFrame:
    """quality.field_profile of this run (filled and rejected cells per export column), replaced each run."""
    profile = field_profile(records, findings, study, quarantined, drop_id=drop.get("drop_id"))
    with warehouse.connect() as conn:
        write_field_profile(conn, profile.assign(run_id=run_id))
    return profile


@dg.asset(
    key=FINDINGS,
    deps=[RAW, CONFORMANCE, PLAUSIBILITY],
    group_name="quality",
    kinds={"duckdb", "html"},
    pool="warehouse",
    check_specs=[dg.AssetCheckSpec(name, asset=FINDINGS, blocking=True, description=text)
                 for name, text in GATES.items()],
    description="The quality gate. quality.findings (every finding of the drop), quality.reconciliation, "
                "quality.field_profile (filled and rejected cells per field), the steward worklist "
                "(reports/steward.html) and Data Docs; blocking checks stop the analysis when the drop cannot be "
                "trusted.",
)
def findings(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations):
    started = time.perf_counter()
    drop = _current_drop(warehouse)
    with warehouse.connect() as conn:
        all_findings = combine_findings(conn)
        n_patients = conn.execute("select count(*) from intermediate.int_patient_anchors").fetchall()[0][0]
    study = load_study()
    records, quarantined = loaded_records(warehouse)
    recon = reconciliation(records, quarantined, drop, study)
    with warehouse.connect() as conn:
        write_reconciliation(conn, recon)
    profile = profile_fields(warehouse, records, quarantined, all_findings, study, drop, context.run.run_id)
    gates = evaluate_gates(all_findings, recon, int(n_patients), locations.max_quarantine_share, profile,
                           study=study, max_field_share=locations.max_field_rejected_share,
                           min_filled=locations.field_gate_min_filled)
    steward = publish_steward_report(locations, all_findings, gate_results=gates, reconciliation=recon,
                                     provenance={"drop_id": drop.get("drop_id"),
                                                 "records_file": drop.get("records_file"),
                                                 "records_sha256": drop.get("records_sha256"),
                                                 "run_id": context.run.run_id})
    failed = [g for g in gates if not g["passed"]]
    context.log.info(
        f"findings: {len(all_findings)} ({int((all_findings['severity'] == 'error').sum())} errors); gates "
        f"{len(gates) - len(failed)}/{len(gates)} passed; steward worklist {steward} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    for gate in failed:
        context.log.error(f"quality gate {gate['gate']} FAILED: {gate['message']}")
    yield dg.MaterializeResult(metadata={
        "findings": len(all_findings),
        "errors": int((all_findings["severity"] == "error").sum()),
        "warnings": int((all_findings["severity"] == "warning").sum()),
        "by_category": dg.MetadataValue.json(all_findings["category"].value_counts().to_dict()),
        "patients": int(n_patients),
        "fields_with_rejected_cells": int((profile["rejected"] > 0).sum()),
        "steward_report": dg.MetadataValue.path(steward),
        "data_docs": dg.MetadataValue.path(str(locations.data_docs / "index.html")),
    })
    limits = {"quarantine_within_limit": {"SSC_MAX_QUARANTINE_SHARE": locations.max_quarantine_share},
              FIELDS_GATE: {"SSC_MAX_FIELD_REJECTED_SHARE": locations.max_field_rejected_share,
                            "SSC_FIELD_GATE_MIN_FILLED": locations.field_gate_min_filled}}
    for gate in gates:
        yield dg.AssetCheckResult(check_name=gate["gate"], passed=bool(gate["passed"]),
                                  severity=dg.AssetCheckSeverity.ERROR, description=gate["message"],
                                  metadata={"message": gate["message"], **limits.get(gate["gate"], {})})


MART_CHECKS = {
    mart: dg.AssetCheckSpec(f"{mart}_critical_expectations", asset=mart_key(mart), blocking=True,
                            description=f"Critical Great Expectations suite on marts.{mart}; a failure blocks the "
                                        "outcomes and reports.")
    for mart in ("adsl", "adtte", "adbds", "adae")
}


@dg.multi_asset_check(specs=list(MART_CHECKS.values()), name="mart_critical_expectations")
def mart_checks(warehouse: Warehouse, locations: StudyLocations):
    with warehouse.connect(read_only=True) as conn:
        frames = {mart: conn.execute(f"select * from marts.{mart}").df() for mart in MART_CHECKS}
    drop = _current_drop(warehouse)
    runner = _runner(locations, drop.get("drop_id", "unknown"))
    runs = validate_marts(**frames, runner=runner)
    for mart, run in runs.items():
        yield to_asset_check_result(run, asset_key=mart_key(mart), check_name=MART_CHECKS[mart].name,
                                    data_docs=runner.index_path)
