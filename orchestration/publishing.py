"""Writing what people read: outcomes.json, the study report and the steward worklist, each atomically (a run
that fails half-way leaves the last published file exactly as it was)."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from orchestration.resources import StudyLocations
from quality.findings import Finding, findings_frame
from report.publish import publish_text
from report.steward import render_steward_report


def publish_steward_report(locations: StudyLocations, findings, gate_results: list[dict] | None = None,
                           reconciliation: pd.DataFrame | None = None, provenance: dict | None = None) -> str:
    """Render and publish ``reports/steward.html``; ``findings`` is a findings DataFrame or a list of Findings."""
    if not isinstance(findings, pd.DataFrame):
        findings = findings_frame(list(findings))
    provenance = {"generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **(provenance or {})}
    html = render_steward_report(
        findings,
        reconciliation if reconciliation is not None else pd.DataFrame(),
        provenance,
        gate_results,
    )
    path = locations.reports / "steward.html"
    publish_text(path, html)
    return str(path)
