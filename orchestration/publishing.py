"""Writing what people read: outcomes.json, the study report and the steward worklist, each atomically (a run
that fails half-way leaves the last published file exactly as it was).

The steward worklist is published twice in a run: by the step that finds the problems (the quality gate, or
ingest when the drop cannot be read), and again when the run ends, with the run's verdict as its banner. Beside
the page, ``steward.json`` keeps what it was rendered from (findings, reconciliation, provenance, gates), so the
end-of-run rewrite has the findings even when the warehouse never got them (a drop refused at ingest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from orchestration.resources import StudyLocations, Warehouse
from quality.findings import findings_frame
from report._common import records
from report.publish import publish_json, publish_text
from report.steward import render_steward_report

STEWARD_PAGE = "steward.html"
STEWARD_INPUTS = "steward.json"


def publish_steward_report(locations: StudyLocations, findings, gate_results: list[dict] | None = None,
                           reconciliation: pd.DataFrame | None = None, provenance: dict | None = None,
                           verdict: dict | None = None) -> str:
    """Render and publish ``reports/steward.html`` (and its inputs, ``reports/steward.json``); ``findings`` is a
    findings DataFrame or a list of Findings; ``verdict`` the run's final status (see report.steward)."""
    if not isinstance(findings, pd.DataFrame):
        findings = findings_frame(list(findings))
    reconciliation = reconciliation if reconciliation is not None else pd.DataFrame()
    provenance = {"generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **(provenance or {})}
    html = render_steward_report(findings, reconciliation, provenance, gate_results, verdict)
    publish_json(locations.reports / STEWARD_INPUTS, {
        "findings": records(findings), "reconciliation": records(reconciliation),
        "provenance": provenance, "gate_results": gate_results})
    path = locations.reports / STEWARD_PAGE
    publish_text(path, html)
    return str(path)


@dataclass
class StewardInputs:
    """What the worklist shows for one run: findings and reconciliation of its drop, and where they came from."""

    findings: pd.DataFrame = field(default_factory=findings_frame)
    reconciliation: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return int((self.findings["severity"] == "error").sum()) if len(self.findings) else 0


def warehouse_steward_inputs(warehouse: Warehouse) -> StewardInputs:
    """quality.findings and quality.reconciliation of the current drop (raw.current_drop), read-only."""
    with warehouse.connect(read_only=True) as conn:
        drop = conn.execute("select drop_id, records_file, records_sha256 from raw.current_drop").df()
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
