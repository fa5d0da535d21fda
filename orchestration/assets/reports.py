"""analysis/results -> reports: outcomes.json, ard.csv and the study report, published as one set.

All are rendered from the analysis results dataset (the ARD); the report reads the marts only for its
patient-level figures. outcomes.json and ard.csv are staged in ``SSC_HOME/reports/.staging/<run id>/`` and published
with report.html by the report's step (report.publish.publish_files: every file written before any replaces its
target), so a run killed or failing between the two steps leaves the three from the same drop. They run only when
every quality gate passed (the gates are blocking checks upstream), so a blocked run leaves the last published
outcomes.json, ard.csv and report.html byte for byte as they were.

The report compares the drop with the previous published one (analysis.history: its section "Since the previous
drop"); once published, the drop's headline figures are added to ``analysis.headline_history``.
"""


import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pandas as pd

from analysis import history
from analysis._common import ANALYSED_SOURCE_COLUMNS
from analysis.ard import to_csv
from analysis.outcomes import outcomes_document
from orchestration.assets.dbt import model_key
from orchestration.assets.quality import FINDINGS
from quality.endpoints import mark_published
from orchestration.assets.outcomes import RESULTS
from orchestration.publishing import outcomes_provenance
from orchestration.resources import StudyLocations, Warehouse
from orchestration.verdict import published_verdict
from orchestration.version import code_version
from report.publish import dumps_json, publish_files
from report.study_report import TRAJECTORY_PARAMETERS, render_study_report

RESULTS_IN = {"results": dg.AssetIn(key=RESULTS)}
OUTCOMES_JSON, ARD_CSV, REPORT_HTML = "outcomes.json", "ard.csv", "report.html"
STAGING = ".staging"


def staging(context: dg.AssetExecutionContext, locations: StudyLocations) -> Path:
    """The folder the run stages outcomes.json and ard.csv in until the report publishes them: named for the run, or
    for the run it re-executes (a re-execution from a failed report step finds what the original run staged)."""
    return locations.reports / STAGING / (context.run.root_run_id or context.run.run_id)


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
    ins=RESULTS_IN,
    kinds={"json", "csv"},
    description="SSC_HOME/reports/outcomes.json (every outcome with the contract's keys, unrounded, plus "
                "provenance) and reports/ard.csv (the analysis results dataset it is read from), staged for "
                "reports/study_report, which publishes them with report.html as one set.",
)
def outcomes_json(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations,
                  results: pd.DataFrame):
    document = outcomes_document(results)
    document["provenance"] = outcomes_provenance(provenance(context, warehouse))  # the same drop: the same file
    shutil.rmtree(locations.reports / STAGING, ignore_errors=True)  # what killed runs staged (one writer: the lock)
    folder = staging(context, locations)
    publish_files({folder / OUTCOMES_JSON: dumps_json(document), folder / ARD_CSV: to_csv(results)})
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(locations.reports / OUTCOMES_JSON)),
                                          "ard": dg.MetadataValue.path(str(locations.reports / ARD_CSV)),
                                          "staged": dg.MetadataValue.path(str(folder)),
                                          "drop": document["provenance"]["drop_id"]})


# What the report reads of marts.adbds: the analysed rows of the parameters it draws (TRAJECTORY_PARAMETERS, 5 of 21;
# at 20,000 patients 0.39 of 1.9 million rows) and the columns analysis._common.analysed_values uses, 8 of 19 (it
# reads adbds for the patients' lines and nothing else): the same report, byte for byte, on the demo, a 2,000- and a
# 20,000-patient drop (tests/pipeline/test_adbds_instruments.py checks the demo)
REPORT_ADBDS = {"table": "marts.adbds", "columns": ANALYSED_SOURCE_COLUMNS,
                "where": f"ANL01FL = 'Y' and PARAMCD in ({', '.join('?' for _ in TRAJECTORY_PARAMETERS)})",
                "params": list(TRAJECTORY_PARAMETERS)}


@dg.asset(
    key=["reports", "study_report"],
    group_name="reports",
    ins=RESULTS_IN,
    deps=[model_key("adbds"), FINDINGS, outcomes_json],
    kinds={"html"},
    description="SSC_HOME/reports/report.html: the self-contained study report for clinicians, rendered from the "
                "analysis results (patient trajectories from marts.adbds), published with the outcomes.json and "
                "ard.csv reports/outcomes_json staged, as one set.",
)
def study_report(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations,
                 results: pd.DataFrame):
    started = time.perf_counter()
    adbds = warehouse.read_part(**REPORT_ADBDS)
    quality = warehouse.read_tables("quality.findings", "quality.reconciliation")
    path, folder, shown = locations.reports / REPORT_HTML, staging(context, locations), provenance(context, warehouse)
    staged = {locations.reports / name: (folder / name).read_bytes().decode("utf-8")
              for name in (OUTCOMES_JSON, ARD_CSV)}
    tonight = history.snapshot(json.loads(staged[locations.reports / OUTCOMES_JSON]), quality["reconciliation"],
                               shown["drop_id"], shown["export_datetime"])
    with warehouse.connect(read_only=True) as conn:
        changes = history.compare(history.previous(conn, tonight.drop_id), tonight)
    html = render_study_report(results, adbds, quality, shown, verdict=published_verdict(quality["findings"]),
                               changes=changes)
    publish_files({**staged, path: html})
    shutil.rmtree(locations.reports / STAGING)
    with warehouse.connect() as conn:  # this run becomes the one the next runs compare with
        mark_published(conn, context.run.run_id)
        history.record(conn, tonight, context.run.run_id, shown["code_version"], datetime.now(timezone.utc))
    seconds = time.perf_counter() - started
    context.log.info(f"report.html: {len(html) / 1e6:.2f} MB rendered in {seconds:.1f} s")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": len(html),
                                          "seconds": round(seconds, 2)})
