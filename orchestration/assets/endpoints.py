"""marts -> quality/endpoints: does every endpoint of the analysis plan still have its patients?

Counts, per endpoint, the patients with analysable input in the marts (:func:`quality.gates.endpoint_patients`),
appends them to ``quality.endpoint_coverage`` (run_id, drop_id, endpoint, patients, published, computed_at) and
compares them with the last run whose outcomes were published (the study report marks its rows with
:func:`mark_published`, which also keeps that run's field profile as ``quality.field_profile_published``).
Blocking checks stop the outcomes when an endpoint empties or when patients recorded as dead cannot be placed.
"""


import dagster as dg
import pandas as pd

from orchestration.assets.dbt import mart_key
from orchestration.assets.quality import FINDINGS
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import DEFAULT_MAX_ENDPOINT_LOSS, DEFAULT_MAX_OS_EXCLUDED
from quality.gates import (ENDPOINT_GATE, ENDPOINT_INPUTS, ENDPOINT_PARAMS, OS_GATE, endpoint_coverage_gate,
                           endpoint_patients, os_exclusions_gate)

ENDPOINTS = dg.AssetKey(["quality", "endpoints"])
MARTS = ("adsl", "adbds", "adtte", "adae")

COVERAGE_TABLE = "quality.endpoint_coverage"
COVERAGE_DDL = (f"create table if not exists {COVERAGE_TABLE} (run_id VARCHAR, drop_id VARCHAR, endpoint VARCHAR, "
                "patients INTEGER, published BOOLEAN, computed_at TIMESTAMP)")
PUBLISHED_PROFILE = "quality.field_profile_published"

ENDPOINT_CHECKS = {
    ENDPOINT_GATE: "Every endpoint that had patients with analysable input in the last published run still has "
                   f"them: none lost entirely, at most SSC_MAX_ENDPOINT_LOSS (default {DEFAULT_MAX_ENDPOINT_LOSS:.0%}) "
                   "lost; a failure names the endpoint and the input field that emptied it. Inputs: "
                   + "; ".join(f"{e}: {', '.join(i[:3])}{'…' if len(i) > 3 else ''}"
                               for e, i in ENDPOINT_INPUTS.items()),
    OS_GATE: f"At most SSC_MAX_OS_EXCLUDED (default {DEFAULT_MAX_OS_EXCLUDED}) patients are left out of overall "
             "survival (marts.adtte.analysed false: recorded as dead without a usable death date, or day 0 in "
             "doubt); a failure names each record and the field to fix in REDCap.",
}


def _tables(conn) -> set[str]:
    return {f"{s}.{n}" for s, n in conn.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = 'quality'").fetchall()}


def last_published(conn, run_id: str) -> tuple[dict[str, int] | None, pd.DataFrame | None, str]:
    """Patients per endpoint of the last published run other than ``run_id``, its field profile and a label."""
    if COVERAGE_TABLE not in _tables(conn):
        return None, None, ""
    rows = conn.execute(f"""
        select run_id, drop_id from {COVERAGE_TABLE} where published and run_id <> ?
        order by computed_at desc limit 1""", [run_id]).fetchall()
    if not rows:
        return None, None, ""
    previous_run, previous_drop = rows[0]
    counts = dict(conn.execute(f"select endpoint, patients from {COVERAGE_TABLE} where run_id = ?",
                               [previous_run]).fetchall())
    profile = None
    if PUBLISHED_PROFILE in _tables(conn):
        profile = conn.execute(f"select * from {PUBLISHED_PROFILE} where run_id = ?", [previous_run]).df()
    return counts, profile, f"drop {previous_drop}"


def mark_published(warehouse: Warehouse, run_id: str) -> None:
    """Called once the study report is published: this run becomes the one the next runs compare with."""
    with warehouse.connect() as conn:
        conn.execute("create schema if not exists quality")
        conn.execute(COVERAGE_DDL)
        conn.execute(f"update {COVERAGE_TABLE} set published = true where run_id = ?", [run_id])
        if "quality.field_profile" in _tables(conn):
            conn.execute(f"create or replace table {PUBLISHED_PROFILE} as "
                         "select * from quality.field_profile where run_id = ?", [run_id])


@dg.asset(
    key=ENDPOINTS,
    deps=[mart_key(m) for m in MARTS] + [FINDINGS],
    group_name="quality",
    kinds={"duckdb"},
    pool="warehouse",
    check_specs=[dg.AssetCheckSpec(name, asset=ENDPOINTS, blocking=True, description=text)
                 for name, text in ENDPOINT_CHECKS.items()],
    description="Patients with analysable input per endpoint of the analysis plan (quality.endpoint_coverage), "
                "compared with the last published run; blocking checks stop the outcomes when an endpoint empties "
                "or recorded deaths cannot be placed in time.",
)
def endpoints(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations):
    run_id = context.run.run_id
    drop = warehouse.read("select drop_id from raw.current_drop").to_dict("records")
    drop_id = drop[0]["drop_id"] if drop else None
    params = ", ".join(f"'{p}'" for p in ENDPOINT_PARAMS)
    with warehouse.connect(read_only=True) as conn:
        marts = {
            "adsl": conn.execute("select record_id, ild_baseline, pah_baseline from marts.adsl").df(),
            "adbds": conn.execute(f"select record_id, param, timepoint, analysed, value from marts.adbds "
                                  f"where param in ({params})").df(),
            "adtte": conn.execute("select * from marts.adtte").df(),
            "adae": conn.execute("select record_id, ae_onset_date, ae_grade, ae_relation from marts.adae").df(),
        }
        profile = conn.execute("select * from quality.field_profile").df()
        previous, previous_profile, label = last_published(conn, run_id)
    coverage = endpoint_patients(**marts)
    with warehouse.connect() as conn:
        conn.execute(COVERAGE_DDL)
        conn.execute(f"delete from {COVERAGE_TABLE} where run_id = ?", [run_id])
        conn.executemany(f"insert into {COVERAGE_TABLE} values (?, ?, ?, ?, false, current_timestamp)",
                         [[run_id, drop_id, e, n] for e, n in coverage.items()])
    gates = [
        endpoint_coverage_gate(coverage, previous, profile, previous_profile, locations.max_endpoint_loss, label),
        os_exclusions_gate(marts["adtte"], locations.max_os_excluded),
    ]
    for gate in gates:
        if not gate["passed"]:
            context.log.error(f"quality gate {gate['gate']} FAILED: {gate['message']}")
    table = "| endpoint | patients | last published |\n|---|---|---|\n" + "\n".join(
        f"| {e} | {n} | {'' if previous is None else previous.get(e, '')} |" for e, n in coverage.items())
    yield dg.MaterializeResult(metadata={"coverage": dg.MetadataValue.md(table),
                                         "compared_with": label or "no published run"})
    limits = {ENDPOINT_GATE: {"SSC_MAX_ENDPOINT_LOSS": locations.max_endpoint_loss},
              OS_GATE: {"SSC_MAX_OS_EXCLUDED": locations.max_os_excluded}}
    for gate in gates:
        yield dg.AssetCheckResult(check_name=gate["gate"], passed=bool(gate["passed"]),
                                  severity=dg.AssetCheckSeverity.ERROR, description=gate["message"],
                                  metadata={"message": gate["message"], **limits[gate["gate"]]})
