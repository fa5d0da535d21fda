"""The steward worklist: one self-contained HTML page telling data stewards what to fix in REDCap.

``render_steward_report(findings, reconciliation, provenance, gate_results, verdict=None) -> str``

- ``findings``: quality.findings (columns of quality.findings.FINDING_COLUMNS, optionally drop_id and stage);
- ``reconciliation``: quality.reconciliation (drop_id, [instrument], export_rows, loaded_rows, quarantined_rows);
- ``provenance``: {drop_id, records_file, records_sha256, run_id, code_version, generated_at, ...};
- ``gate_results``: [{gate, passed, message}] or None (not recorded);
- ``verdict`` (optional): the run's final status, ``{outcome: 'published' | 'blocked' | 'failed', text, errors}``
  (orchestration/verdict.py); when given, the banner says it instead of summing up the gates.

Layout: status banner (the run's verdict, or passed / BLOCKED at gate … and why), counts (severity, rule,
instrument), reconciliation, structural findings (no record) first, then one collapsible block per record, records
with most errors first.
All values are escaped by Jinja's autoescape. The only script is a small inline filter; nothing is loaded.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from quality.findings import FINDING_COLUMNS
from report import formatting as fmt
from report._common import (ACTION_WORDS, DATA_DOCS_LINK, environment, provenance_get, provenance_items,
                            reconciliation_block, records)


def _text(value: Any) -> str:
    return "" if fmt.is_missing(value) else str(value)


def _int_text(value: Any) -> str:
    f = fmt.to_float(value)
    return "" if f is None else str(int(f))


def _finding_row(r: dict) -> dict:
    severity = _text(r.get("severity")).lower() or "unspecified"
    action = _text(r.get("action")) or "none"
    return {
        "record_id": _text(r.get("record_id")),
        "source_row": _int_text(r.get("source_row")),
        "event": _text(r.get("event")),
        "instrument": _text(r.get("instrument")),
        "instance": _int_text(r.get("instance")),
        "field": _text(r.get("field")),
        "value": _text(r.get("value")),
        "rule": _text(r.get("rule")),
        "stage": _text(r.get("stage")),
        "category": _text(r.get("category")),
        "message": _text(r.get("message")),
        "severity": severity,
        "action": action,
        "action_words": ACTION_WORDS.get(action, action),
        "hint": _text(r.get("hint")),
    }


def _row_order(row: dict) -> tuple:
    return (row["severity"] != "error", fmt.to_float(row["source_row"]) or 0, row["event"], row["instrument"],
            row["field"], row["rule"])


def _counts(rows: list[dict], key: str) -> list[dict]:
    out: dict[str, dict] = {}
    for r in rows:
        name = r[key] or "(none)"
        c = out.setdefault(name, {"name": name, "error": 0, "warning": 0, "total": 0, "records": set(),
                                  "category": r["category"], "message": r["message"]})
        if r["severity"] in ("error", "warning"):
            c[r["severity"]] += 1
        c["total"] += 1
        if r["record_id"]:
            c["records"].add(r["record_id"])
    result = []
    for c in out.values():
        c["records"] = len(c["records"])
        result.append(c)
    return sorted(result, key=lambda c: (-c["error"], -c["total"], c["name"]))


def _verdict_status(verdict: dict) -> dict:
    outcome = verdict.get("outcome")
    css = "bad" if outcome != "published" else "warn" if verdict.get("errors") else "ok"
    return {"css": css, "text": f"Final status of this run: {_text(verdict.get('text')) or outcome}"}


def build_context(findings: pd.DataFrame | None, reconciliation: pd.DataFrame | None, provenance: dict | None,
                  gate_results: list[dict] | None, verdict: dict | None = None) -> dict:
    rows = [_finding_row(r) for r in records(findings)]
    structural = sorted((r for r in rows if not r["record_id"]), key=_row_order)
    by_record: dict[str, list[dict]] = {}
    for r in rows:
        if r["record_id"]:
            by_record.setdefault(r["record_id"], []).append(r)
    groups = []
    for rid, items in by_record.items():
        items.sort(key=_row_order)
        groups.append({"record_id": rid, "rows": items,
                       "errors": sum(r["severity"] == "error" for r in items),
                       "warnings": sum(r["severity"] == "warning" for r in items)})
    groups.sort(key=lambda g: (-g["errors"], -len(g["rows"]), fmt.natural_key(g["record_id"])))

    gates = [{"gate": _text(g.get("gate")) or "(unnamed gate)", "passed": bool(g.get("passed")),
              "message": _text(g.get("message"))} for g in (gate_results or []) if isinstance(g, dict)]
    failed = [g for g in gates if not g["passed"]]
    if verdict is not None:
        status = _verdict_status(verdict)
    elif gate_results is None:
        status = {"css": "warn", "text": "Gate results were not recorded for this run."}
    elif failed:
        status = {"css": "bad", "text": f"Run BLOCKED at gate “{failed[0]['gate']}”: {failed[0]['message'] or 'no message'}"}
    else:
        status = {"css": "ok", "text": f"The {len(gates)} quality gates passed; the run goes on to the marts and "
                                       "outcomes, and this page shows its final status when it ends."}

    recon, totals = reconciliation_block(reconciliation)
    by_severity = {"error": sum(r["severity"] == "error" for r in rows),
                   "warning": sum(r["severity"] == "warning" for r in rows)}
    return {
        "title": "Steward worklist",
        "status": status,
        "gates": gates,
        "failed_gates": failed,
        "n_findings": len(rows),
        "by_severity": by_severity,
        "n_records": len(groups),
        "by_rule": _counts(rows, "rule"),
        "by_instrument": _counts(rows, "instrument"),
        "by_action": sorted(((ACTION_WORDS.get(a, a), sum(r["action"] == a for r in rows))
                             for a in {r["action"] for r in rows}), key=lambda t: -t[1]),
        "reconciliation": recon,
        "recon_totals": totals,
        "structural": structural,
        "groups": groups,
        "provenance": provenance_items(provenance),
        "drop_id": provenance_get(provenance, "drop_id") or "not recorded",
        "generated_at": provenance_get(provenance, "generated_at") or "not recorded",
        "data_docs_link": DATA_DOCS_LINK,
        "open_all": len(rows) <= 200,
    }


def render_steward_report(findings: pd.DataFrame, reconciliation: pd.DataFrame, provenance: dict,
                          gate_results: list[dict] | None, verdict: dict | None = None) -> str:
    """The steward worklist as one self-contained HTML string."""
    context = build_context(findings, reconciliation, provenance, gate_results, verdict)
    return environment().get_template("steward.html.j2").render(**context)
