"""The steward worklist: one self-contained HTML page telling data stewards what to fix in REDCap, and its CSV.

``render_steward(findings, reconciliation, provenance, gate_results, verdict=None, study=None) -> (html, csv)``
(``render_steward_report`` is the page alone)

- ``findings``: quality.findings (columns of quality.findings.FINDING_COLUMNS, optionally drop_id and stage);
- ``reconciliation``: quality.reconciliation (drop_id, [instrument], export_rows, loaded_rows, quarantined_rows);
- ``provenance``: {drop_id, export_datetime, records_file, records_sha256, run_id, code_version, generated_at, ...};
- ``gate_results``: [{gate, passed, message}] in the order they ran, or None (not recorded);
- ``verdict`` (optional): the run's final status, ``{outcome: 'published' | 'blocked' | 'failed', text, errors}``
  (orchestration/verdict.py); when given, the banner says it instead of summing up the gates;
- ``study``: the study definition for event labels and order (default: study.definition.load_study()).

Layout: the status banner (the run's verdict, or passed / BLOCKED at gate … and why), one line naming drop,
export time, code version and run, then the worklist: one table, one row per record × problem
(report/worklist.py: a cause with its consequences collapsed under it; the findings of a problem in a collapsed
list inside its row), with filters by severity, instrument, rule and record; in a window too narrow for it the
table scrolls sideways, and printed, every collapsed list is printed open. Below it: gates (on a stopped run, a
row saying the gates after the last one that ran did not run), counts (instruments by label, the form name on
hover; findings without one as ``NO_INSTRUMENT``), reconciliation, provenance. The CSV (``WORKLIST_CSV``,
published beside the page) has one row per worklist item.
All values are escaped by Jinja's autoescape. The only script is a small inline filter (without it the table is
simply unfiltered); nothing is loaded.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from report import formatting as fmt
from report._common import (ACTION_WORDS, DATA_DOCS_LINK, css_string, environment, provenance_get,
                            provenance_items, reconciliation_block)
from report.worklist import Cell, WorklistItem, row_ranges, worklist_csv, worklist_items
from study.definition import Study, load_study

#: the worklist's CSV, published beside the page (same folder), linked from it
WORKLIST_CSV = "steward_worklist.csv"
#: provenance in the footer of every printed page (labels: report._common)
FOOTER_FIELDS = ("drop_id", "run_id", "code_version")
#: findings not tied to an instrument (a column, the file, a record as a whole), in the counts by instrument
NO_INSTRUMENT = "Whole file / no instrument"
_MAX_EVENTS_SHOWN = 3  # events listed in a row before "+N more"
_MAX_RUNS_SHOWN = 3  # runs of export rows listed in a row before "…" (all of them on hover and in the CSV)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text(value: Any) -> str:
    return "" if fmt.is_missing(value) else str(value)


def dates_unbroken(text: Any) -> Markup:
    """``text`` escaped, with each YYYY-MM-DD date in a span that does not wrap (a line never ends in "2019-08-")."""
    return Markup(_DATE.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', str(escape(text))))


def _tokens(values) -> str:
    """``|a|b|`` for the filter's data attributes (a value is matched as ``|value|``)."""
    return "|" + "|".join(values) + "|"


def _cell_line(c: Cell, *, record: bool, instrument: bool, message: bool) -> str:
    """One finding in an item's collapsed list: "row 318 · Baseline · enrollment_date = 2016-13-01"."""
    parts = [f"row {c.source_row}" if c.source_row is not None else "",
             c.record_id if record else "", c.event_label, c.instrument_label if instrument else "",
             f"{c.field} = {c.value}" if c.field and c.value else c.field]
    line = " · ".join(p for p in parts if p)
    return f"{line} — {c.message}" if message and c.message else line


def _cell_lines(cells: list[Cell], *, record: bool) -> list[str]:
    several = {key: len({getattr(c, key) for c in cells}) > 1 for key in ("instrument", "message")}
    return [_cell_line(c, record=record, instrument=several["instrument"], message=several["message"])
            for c in cells]


def _item_row(it: WorklistItem) -> dict:
    events = it.events
    shown_events = events[:_MAX_EVENTS_SHOWN]
    consequence_rules = it.consequence_rules
    return {
        "severity": it.severity,
        "record_id": it.record_id,
        "events": [label for _, label in shown_events],
        "more_events": len(events) - len(shown_events),
        "event_codes": ", ".join(code for code, _ in events),
        "instruments": ", ".join(label for _, label in it.instruments),
        "instrument_codes": ", ".join(code for code, _ in it.instruments),
        "fields": it.fields[:2],
        "more_fields": max(0, len(it.fields) - 2),
        "value": it.values[0] if len(it.values) == 1 else (f"{len(it.values)} values" if it.values else ""),
        "rule": it.rule,
        "title": it.title,
        "action_words": it.action_words if it.action != "none" else "",
        "summary": it.summary,
        "cells": _cell_lines(it.cells, record=False) if len(it.cells) > 1 else [],
        "consequences": _cell_lines(it.consequences, record=True),
        "consequence_titles": ", ".join(title for _, title in consequence_rules),
        "hint": it.hint,
        "rows": row_ranges(it.rows, limit=_MAX_RUNS_SHOWN),
        "all_rows": row_ranges(it.rows),
        "n_findings": it.n_findings,
        "data": {"sev": it.severity,
                 "inst": _tokens(code for code, _ in it.related_instruments),
                 "rule": _tokens([it.rule] + [code for code, _ in consequence_rules]),
                 "rec": _tokens(it.related_records)},
    }


def _counts(cells: list[Cell], key: str, label: str, unnamed: str) -> list[dict]:
    """Findings by ``key`` (rule, instrument): {code, name (the label; ``unnamed`` without a code), error,
    warning, total, records}, most errors first."""
    out: dict[str, dict] = {}
    for c in cells:
        code = getattr(c, key)
        entry = out.setdefault(code, {"code": code, "name": getattr(c, label) or unnamed,
                                      "error": 0, "warning": 0, "total": 0, "records": set()})
        if c.severity in ("error", "warning"):
            entry[c.severity] += 1
        entry["total"] += 1
        if c.record_id:
            entry["records"].add(c.record_id)
    rows = [{**e, "records": len(e["records"])} for e in out.values()]
    return sorted(rows, key=lambda e: (-e["error"], -e["total"], e["name"]))


def _verdict_status(verdict: dict) -> dict:
    outcome = verdict.get("outcome")
    css = "bad" if outcome != "published" else "warn" if verdict.get("errors") else "ok"
    return {"css": css, "text": f"Final status of this run: {_text(verdict.get('text')) or outcome}"}


def _status(gates: list[dict], gate_results: list[dict] | None, verdict: dict | None) -> dict:
    failed = [g for g in gates if not g["passed"]]
    if verdict is not None:
        return _verdict_status(verdict)
    if gate_results is None:
        return {"css": "warn", "text": "Gate results were not recorded for this run."}
    if failed:
        return {"css": "bad",
                "text": f"Run BLOCKED at gate “{failed[0]['gate']}”: {failed[0]['message'] or 'no message'}"}
    return {"css": "ok", "text": f"The {len(gates)} quality gates passed; the run goes on to the marts and "
                                 "outcomes, and this page shows its final status when it ends."}


def _not_run(gates: list[dict], verdict: dict | None) -> dict | None:
    """When the run stopped (a verdict other than published; without one, a failed gate): the row saying that
    the gates after the last one listed did not run, {after, stopped_at}; else None. The page is given the gates
    that ran, in the order they ran, not the study's list of gates, so those after are not named."""
    failed = [g for g in gates if not g["passed"]]
    stopped = verdict.get("outcome") != "published" if verdict is not None else bool(failed)
    if not stopped or not gates:
        return None
    return {"after": gates[-1]["gate"], "stopped_at": failed[0]["gate"] if failed else None}


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def build_context(items: list[WorklistItem], reconciliation: pd.DataFrame | None, provenance: dict | None,
                  gate_results: list[dict] | None, verdict: dict | None = None) -> dict:
    gates = [{"gate": _text(g.get("gate")) or "(unnamed gate)", "passed": bool(g.get("passed")),
              "message": _text(g.get("message"))} for g in (gate_results or []) if isinstance(g, dict)]
    cells = [c for it in items for c in it.cells + it.consequences]
    recon, totals = reconciliation_block(reconciliation)
    by_severity = {sev: {"problems": sum(it.severity == sev for it in items),
                         "findings": sum(it.n_findings for it in items if it.severity == sev)}
                   for sev in ("error", "warning")}
    records = sorted({r for it in items for r in it.related_records}, key=fmt.natural_key)
    instruments = sorted({pair for it in items for pair in it.related_instruments}, key=lambda p: p[1])
    rules = sorted({(c.rule, c.title) for c in cells}, key=lambda p: p[1])
    return {
        "title": "Steward worklist",
        "status": _status(gates, gate_results, verdict),
        "gates": gates,
        "failed_gates": [g for g in gates if not g["passed"]],
        "gates_not_run": _not_run(gates, verdict),
        "items": [_item_row(it) for it in items],
        "n_items": len(items),
        "n_findings": len(cells),
        "problems_text": f"{_plural(len(items), 'problem')} ({_plural(len(cells), 'finding')})",
        "severity_text": " and ".join(
            f"{_plural(by_severity[sev]['problems'], sev)} ({_plural(by_severity[sev]['findings'], 'finding')})"
            for sev in ("error", "warning") if by_severity[sev]["problems"]),
        "n_structural": sum(not it.record_id for it in items),
        "n_records": len(records),
        "filter_records": records,
        "filter_instruments": instruments,
        "filter_rules": rules,
        "filter_severities": [s for s in ("error", "warning") if by_severity[s]["problems"]],
        "by_rule": _counts(cells, "rule", "title", "(no rule)"),
        "by_instrument": _counts(cells, "instrument", "instrument_label", NO_INSTRUMENT),
        "by_action": sorted(((ACTION_WORDS.get(a, a), sum(c.action == a for c in cells))
                             for a in {c.action for c in cells}), key=lambda t: -t[1]),
        "reconciliation": recon,
        "recon_totals": totals,
        "provenance": provenance_items(provenance),
        "drop": {key: provenance_get(provenance, key) or "not recorded"
                 for key in ("drop_id", "export_datetime", "code_version", "run_id", "generated_at")},
        "footer": Markup(css_string(" · ".join(["Steward worklist"] + [
            f"{label}: {text}" for label, text in provenance_items(provenance, FOOTER_FIELDS)]))),
        "data_docs_link": DATA_DOCS_LINK,
        "csv_link": WORKLIST_CSV,
    }


def render_steward(findings: pd.DataFrame | None, reconciliation: pd.DataFrame | None, provenance: dict | None,
                   gate_results: list[dict] | None, verdict: dict | None = None,
                   study: Study | None = None) -> tuple[str, str]:
    """The steward worklist as one self-contained HTML string, and its CSV text (one row per worklist item)."""
    items = worklist_items(findings, study or load_study())
    context = build_context(items, reconciliation, provenance, gate_results, verdict)
    env = environment()
    env.filters["dates_unbroken"] = dates_unbroken
    return env.get_template("steward.html.j2").render(**context), worklist_csv(items)


def render_steward_report(findings: pd.DataFrame | None, reconciliation: pd.DataFrame | None,
                          provenance: dict | None, gate_results: list[dict] | None,
                          verdict: dict | None = None) -> str:
    """The steward worklist page alone (see :func:`render_steward`)."""
    return render_steward(findings, reconciliation, provenance, gate_results, verdict)[0]
