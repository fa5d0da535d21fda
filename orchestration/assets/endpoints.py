"""marts -> quality/endpoints: does every endpoint of the analysis plan still have its patients?

The counting, the bookkeeping in ``quality.endpoint_coverage`` and the comparison with the last published run
are :mod:`quality.endpoints`; the study report marks its run published (:func:`quality.endpoints.mark_published`).
Blocking checks stop the outcomes when an endpoint empties or when patients recorded as dead cannot be placed.
"""


import dagster as dg

from orchestration.assets.dbt import model_key
from orchestration.assets.quality import FINDINGS
from orchestration.checks import gate_check_result
from orchestration.markdown import table
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import DEFAULT_MAX_ENDPOINT_LOSS, DEFAULT_MAX_OS_EXCLUDED
from quality import endpoints as coverage
from quality.gates import ENDPOINT_GATE, ENDPOINT_INPUTS, OS_GATE, PATIENT_GATE

ENDPOINTS = dg.AssetKey(["quality", "endpoints"])
MARTS = ("adsl", "adbds", "adtte", "adae")

ENDPOINT_CHECKS = {
    ENDPOINT_GATE: "Every endpoint that had patients with analysable input in the last published run still has "
                   f"them: none lost entirely, at most SSC_MAX_ENDPOINT_LOSS (default {DEFAULT_MAX_ENDPOINT_LOSS:.0%}) "
                   "lost; a failure names the endpoint and the input field that emptied it. Inputs: "
                   + "; ".join(f"{e}: {', '.join(i[:3])}{'…' if len(i) > 3 else ''}"
                               for e, i in ENDPOINT_INPUTS.items()),
    OS_GATE: f"At most SSC_MAX_OS_EXCLUDED (default {DEFAULT_MAX_OS_EXCLUDED}) patients are left out of overall "
             "survival (marts.adtte without ANL01FL: recorded as dead without a usable death date, or day 0 in "
             "doubt), or whose recorded death no adtte row carries; a failure names each record and the field to "
             "fix in REDCap.",
    PATIENT_GATE: "No two patients of marts.adsl share an MRN (compared by its keyed pseudonym): one patient in two "
                  "records would be counted twice; a failure names the records to merge in REDCap.",
}


@dg.asset(
    key=ENDPOINTS,
    deps=[model_key(m) for m in MARTS] + [FINDINGS],
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
    with warehouse.connect() as conn:
        result = coverage.check_endpoints(conn, context.run.run_id, locations.max_endpoint_loss,
                                          locations.max_os_excluded)
    for gate in result.gates:
        if not gate["passed"]:
            context.log.error(f"quality gate {gate['gate']} FAILED: {gate['message']}")
    previous = result.previous or {}
    rows = [{"endpoint": e, "patients": n, "last published": previous.get(e)} for e, n in result.coverage.items()]
    yield dg.MaterializeResult(metadata={"coverage": dg.MetadataValue.md(table(rows, max_rows=len(rows))),
                                         "compared_with": result.label or "no published run"})
    settings = {ENDPOINT_GATE: {"SSC_MAX_ENDPOINT_LOSS": locations.max_endpoint_loss},
                OS_GATE: {"SSC_MAX_OS_EXCLUDED": locations.max_os_excluded}, PATIENT_GATE: {}}
    for gate in result.gates:
        yield gate_check_result(gate, settings[gate["gate"]])
