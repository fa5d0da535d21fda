"""Writing what people read: outcomes.json, the study report and the steward worklist, each atomically (a run
that fails half-way leaves the last published file exactly as it was).

The steward worklist is published twice in a run: by the step that finds the problems (the quality gate, or
ingest when the drop cannot be read), and again when the run ends, with the run's verdict as its banner. Beside
the page, published with it, ``steward_worklist.csv`` holds its open items and ``steward.json`` what it was
rendered from (findings, reconciliation, provenance, gates), so the end-of-run rewrite has the findings even
when the warehouse never got them (a drop refused at ingest). Every steward page names its drop, the export
time, the code version and the run (:func:`steward_provenance`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from ingest.drops import drop_time
from orchestration.resources import StudyLocations, Warehouse
from orchestration.version import code_version
from quality.findings import findings_frame
from report._common import records
from report.publish import dumps_json, publish_files
from report.steward import WORKLIST_CSV, render_steward
from report.worklist import gc_paused

STEWARD_PAGE = "steward.html"
STEWARD_INPUTS = "steward.json"
#: the worklist CSV starts with the UTF-8 byte order mark: without it, Excel on Windows reads the file as
#: Windows-1252 ("1.5â€“4.5" for "1.5–4.5"); Python reads it with encoding "utf-8-sig"
CSV_BOM = "\ufeff"


#: provenance that differs between two runs of the same drop and code: report.html, the steward page and the run's
#: log show it; outcomes.json does not keep it, so the same drop and code version give it byte for byte
RUN_PROVENANCE = ("run_id", "generated_at")


def outcomes_provenance(provenance: dict) -> dict:
    """The provenance outcomes.json keeps: what identifies its inputs (drop, files and their SHA-256, export time,
    the pseudonym key's kind) and the code version, without :data:`RUN_PROVENANCE`."""
    return {key: value for key, value in provenance.items() if key not in RUN_PROVENANCE}


def steward_provenance(provenance: dict | None) -> dict:
    """The provenance a steward page shows: what the caller knows (drop_id, records_file, run_id…), the export
    time (``export_datetime`` as YYYY-MM-DD HH:MM; if not given, the time the drop folder's name stands for),
    this code's version and when the page was generated."""
    shown = {"generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "code_version": code_version(), **{k: v for k, v in (provenance or {}).items() if v is not None}}
    export = shown.get("export_datetime")
    if export is None and shown.get("drop_id"):
        export = drop_time(str(shown["drop_id"]))
    if export is not None:
        try:
            shown["export_datetime"] = pd.Timestamp(export).strftime("%Y-%m-%d %H:%M")
        except (ValueError, TypeError):  # not a time: shown as given
            shown["export_datetime"] = str(export)
    return shown


@gc_paused()
def publish_steward_report(locations: StudyLocations, findings, gate_results: list[dict] | None = None,
                           reconciliation: pd.DataFrame | None = None, provenance: dict | None = None,
                           verdict: dict | None = None, progress=None, items=None) -> str:
    """Render and publish ``reports/steward.html`` with its CSV (``reports/steward_worklist.csv``, UTF-8 with a
    byte order mark: ``CSV_BOM``) and its inputs (``reports/steward.json``), the three together; ``findings`` is
    a findings DataFrame or a list of Findings; ``provenance`` as :func:`steward_provenance` takes it;
    ``verdict`` the run's final status (see report.steward); ``progress`` the findings history and acknowledgements
    (report.worklist.night_progress); ``items`` the worklist's items of ``findings`` when the caller built them
    already (report.worklist.worklist_items). Returns the page's path."""
    if not isinstance(findings, pd.DataFrame):
        findings = findings_frame(list(findings))
    reconciliation = reconciliation if reconciliation is not None else pd.DataFrame()
    provenance = steward_provenance(provenance)
    html, csv = render_steward(findings, reconciliation, provenance, gate_results, verdict,
                               record_url_template=locations.redcap_record_url, progress=progress, items=items)
    path = locations.reports / STEWARD_PAGE
    publish_files({path: html, locations.reports / WORKLIST_CSV: CSV_BOM + csv,
                   locations.reports / STEWARD_INPUTS: dumps_json({
                       "findings": records(findings), "reconciliation": records(reconciliation),
                       "provenance": provenance, "gate_results": gate_results})})
    return str(path)


@dataclass
class StewardInputs:
    """What the worklist shows for one run: findings and reconciliation of its drop, and where they came from."""

    findings: pd.DataFrame = field(default_factory=findings_frame)
    reconciliation: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict = field(default_factory=dict)


def warehouse_steward_inputs(warehouse: Warehouse) -> StewardInputs:
    """quality.findings and quality.reconciliation of the current drop (raw.current_drop), read-only."""
    with warehouse.connect(read_only=True) as conn:
        drop = conn.execute("select drop_id, records_file, records_sha256, "
                            "cast(export_datetime as varchar) as export_datetime from raw.current_drop").df()
        provenance = drop.iloc[0].to_dict() if len(drop) else {}
        drop_id = provenance.get("drop_id")
        findings = conn.execute("select * from quality.findings where drop_id is not distinct from ? "
                                "order by source_row nulls first, record_id", [drop_id]).df()
        reconciliation = conn.execute("select * from quality.reconciliation where drop_id is not distinct from ?",
                                      [drop_id]).df()
    return StewardInputs(findings, reconciliation, provenance)


def published_steward_inputs(locations: StudyLocations, since: float) -> StewardInputs | None:
    """What the worklist was last published from, if that was at or after ``since`` (a POSIX timestamp)."""
    path = locations.reports / STEWARD_INPUTS
    if not path.exists() or path.stat().st_mtime < since:
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    findings = pd.DataFrame(saved["findings"]) if saved.get("findings") else findings_frame()
    provenance = {k: v for k, v in (saved.get("provenance") or {}).items() if k != "generated_at"}
    return StewardInputs(findings, pd.DataFrame(saved.get("reconciliation") or []), provenance)
