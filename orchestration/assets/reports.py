"""outcomes -> reports: outcomes.json and the study report, published atomically.

They run only when every quality gate passed (the gates are blocking checks upstream), so a blocked run
leaves the last published outcomes.json and report.html byte for byte as they were.
"""


import time
from datetime import datetime, timezone

import dagster as dg

from analysis.outcomes import assert_jsonable
from orchestration.assets.dbt import mart_key
from orchestration.assets.endpoints import mark_published
from orchestration.assets.outcomes import OUTCOMES, outcome_key
from orchestration.resources import StudyLocations, Warehouse
from orchestration.version import code_version
from report.publish import publish_json, publish_text
from report.study_report import render_study_report

OUTCOME_NAMES = tuple(o.name for o in OUTCOMES) + ("cohort_flow",)
OUTCOME_INS = {name: dg.AssetIn(key=outcome_key(name)) for name in OUTCOME_NAMES}
MARTS = ("adsl", "adbds", "adtte", "adae", "adex")


def provenance(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dict:
    """Which drop, which files, which run and code produced the figures."""
    drop = warehouse.read("select * from raw.current_drop").to_dict("records")
    drop = drop[0] if drop else {}
    return {
        "drop_id": drop.get("drop_id"),
        "records_file": drop.get("records_file"),
        "records_sha256": drop.get("records_sha256"),
        "dictionary_file": drop.get("dictionary_file"),
        "dictionary_sha256": drop.get("dictionary_sha256"),
        "export_datetime": str(drop.get("export_datetime")) if drop.get("export_datetime") is not None else None,
        "pseudonym_key": drop.get("pseudonym_key"),
        "pseudonym_key_is_demo": drop.get("pseudonym_key") == "demo",  # the report says so in a banner
        "run_id": context.run.run_id,
        "code_version": code_version(),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


@dg.asset(
    key=["reports", "outcomes_json"],
    group_name="reports",
    ins=OUTCOME_INS,
    kinds={"json"},
    description="SSC_HOME/reports/outcomes.json: every outcome with the contract's keys (unrounded), plus provenance.",
)
def outcomes_json(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations, **outcomes):
    document = {name: outcomes[name] for name in OUTCOME_NAMES}
    document["provenance"] = provenance(context, warehouse)
    path = locations.reports / "outcomes.json"
    publish_json(path, assert_jsonable(document))
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                          "drop": document["provenance"]["drop_id"]})


@dg.asset(
    key=["reports", "study_report"],
    group_name="reports",
    ins=OUTCOME_INS,
    deps=[mart_key(m) for m in MARTS] + [dg.AssetKey(["quality", "findings"])],
    kinds={"html"},
    description="SSC_HOME/reports/report.html: the self-contained study report for clinicians.",
)
def study_report(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations, **outcomes):
    started = time.perf_counter()
    marts = warehouse.read_tables(*(f"marts.{m}" for m in MARTS))
    quality = warehouse.read_tables("quality.findings", "quality.reconciliation")
    html = render_study_report(dict(outcomes), marts, quality, provenance(context, warehouse))
    path = locations.reports / "report.html"
    publish_text(path, html)
    mark_published(warehouse, context.run.run_id)
    seconds = time.perf_counter() - started
    context.log.info(f"report.html: {len(html) / 1e6:.2f} MB rendered in {seconds:.1f} s")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": len(html),
                                          "seconds": round(seconds, 2)})
