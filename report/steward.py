"""The steward worklist: one self-contained HTML page telling data stewards what to fix in REDCap, and its CSV.

``render_steward(findings, reconciliation, provenance, gate_results, verdict=None, study=None, ...,
progress=None) -> (html, csv)``
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
hover; findings without one as ``NO_INSTRUMENT``), reconciliation, provenance. Each row shows its id (what
``make ack`` takes); with a history (``progress``), also its status (new tonight / still open since a drop, N
nights; an acknowledgement lapsed), with a status filter, and a section "Night after night": the trend of open
errors and warnings (inline SVG with a title, each point's numbers as a tooltip and in a table), the findings
resolved since the last drop and the acknowledged warnings, each folded. The CSV (``WORKLIST_CSV``,
published beside the page) has one row per worklist item.
All values are escaped by Jinja's autoescape. The only script is a small inline filter (without it the table is
simply unfiltered); nothing is loaded.
"""

from __future__ import annotations

import re
from functools import cache
from types import SimpleNamespace
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from report import formatting as fmt
from report._common import (ACTION_WORDS, DATA_DOCS_LINK, css_string, environment, provenance_get,
                            provenance_items, reconciliation_block)
from report.redcap_links import record_url
from report.worklist import (Cell, Progress, WorklistItem, WorklistView, gc_paused, row_ranges, worklist_csv,
                             worklist_view)
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
    return Markup(_DATE.sub(r'<span class="nw">\g<0></span>', str(escape(text))))


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


def _item_row(it: WorklistItem, url: str) -> SimpleNamespace:
    """One row of the worklist table for the template (an object: Jinja finds an attribute at once, a dict key
    only after the attribute lookup failed: half a second at 20,000 patients); ``url``: the record's REDCap
    page, or ""."""
    events = it.events
    shown_events = events[:_MAX_EVENTS_SHOWN]
    consequence_rules = it.consequence_rules
    return SimpleNamespace(
        severity=it.severity,
        record_id=it.record_id,
        record_url=url,
        events=[label for _, label in shown_events],
        more_events=len(events) - len(shown_events),
        event_codes=", ".join(code for code, _ in events),
        instruments=", ".join(label for _, label in it.instruments),
        instrument_codes=", ".join(code for code, _ in it.instruments),
        fields=it.fields[:2],
        more_fields=max(0, len(it.fields) - 2),
        value=it.values[0] if len(it.values) == 1 else (f"{len(it.values)} values" if it.values else ""),
        rule=it.rule,
        title=it.title,
        action_words=it.action_words if it.action != "none" else "",
        summary=it.summary,
        cells=_cell_lines(it.cells, record=False) if len(it.cells) > 1 else [],
        consequences=_cell_lines(it.consequences, record=True),
        consequence_titles=", ".join(title for _, title in consequence_rules),
        hint=it.hint,
        rows=row_ranges(it.rows, limit=_MAX_RUNS_SHOWN),
        all_rows=row_ranges(it.rows),
        n_findings=it.n_findings,
        finding_id=it.finding_id,
        status=it.status,
        status_text=it.status_text,
        lapsed=it.lapsed,
        data=SimpleNamespace(sev=it.severity, inst=_tokens(code for code, _ in it.related_instruments),
                             rule=_tokens([it.rule] + [code for code, _ in consequence_rules]),
                             rec=_tokens(it.related_records)),
    )


#: the trend figure's size (px) and plot margins
_TREND_SIZE = (640, 170)
_TREND_MARGIN = {"left": 40, "right": 16, "top": 12, "bottom": 30}
_TREND_SERIES = (("errors", 1, "var(--err)"), ("warnings", 2, "#c98a00"))


def _nice_top(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … at or above ``value``: the top of the figure's axis."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def trend_figure(trend: list[tuple[str, int, int]]) -> dict | None:
    """The worklist's trend figure (inline SVG, no script), as coordinates: open errors and warnings of the
    recorded drops, oldest first; None with no drop recorded. {width, height, series: [{name, colour, points,
    dots: [{x, y, label}]}], grid: [{y, label}], first, last, rows (newest first), title}."""
    if not trend:
        return None
    width, height = _TREND_SIZE
    m = _TREND_MARGIN
    plot_w, plot_h = width - m["left"] - m["right"], height - m["top"] - m["bottom"]
    top = _nice_top(max(max(e, w) for _, e, w in trend))
    n = len(trend)

    def x(i: int) -> float:
        return round(m["left"] + (plot_w / 2 if n == 1 else i * plot_w / (n - 1)), 1)

    def y(v: float) -> float:
        return round(m["top"] + plot_h * (1 - v / top), 1)

    series = []
    for name, column, colour in _TREND_SERIES:
        dots = [{"x": x(i), "y": y(row[column]), "label": f"drop {row[0]}: {_plural(row[column], name[:-1])} open"}
                for i, row in enumerate(trend)]
        series.append({"name": name, "colour": colour, "dots": dots,
                       "points": " ".join(f"{d['x']},{d['y']}" for d in dots)})
    last = trend[-1]
    return {"width": width, "height": height, "series": series, "left": m["left"], "right": width - m["right"],
            "grid": [{"y": y(v), "label": v} for v in ((0, top // 2, top) if top % 2 == 0 else (0, top))],
            "first": trend[0][0], "last": last[0], "first_x": x(0), "last_x": x(n - 1), "label_y": height - 8,
            "rows": list(reversed(trend)),
            "title": f"Open problems on the worklist over the last {_plural(n, 'drop')}: now "
                     f"{_plural(last[1], 'error')} and {_plural(last[2], 'warning')}"}


def _history_context(view: WorklistView) -> dict:
    """What the page shows of the history: counts, the resolved and acknowledged sections, the trend figure."""
    return {
        "with_history": view.with_history,
        "previous_drop": view.previous_drop,
        "recorded": view.recorded,
        "n_new": sum(it.status == "new" for it in view.items),
        "n_open": sum(it.status == "open" for it in view.items),
        "n_lapsed": sum(it.lapsed for it in view.items),
        "resolved": [{**r, "line": " · ".join(p for p in (
            r["record_id"], r["event_label"], r["instrument_label"], r["field"]) if p)} for r in view.resolved],
        "acknowledged": [{"finding_id": it.finding_id, "record_id": it.record_id, "title": it.title,
                          "rule": it.rule, "summary": it.summary,
                          "where": " · ".join(p for p in (", ".join(label for _, label in it.events),
                                                          ", ".join(it.fields)) if p),
                          "decision": ack.decision.replace("_", " "), "reason": ack.reason, "who": ack.who,
                          "date": ack.date} for it, ack in view.acknowledged],
        "trend": trend_figure(view.trend),
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


def build_context(view: WorklistView, reconciliation: pd.DataFrame | None, provenance: dict | None,
                  gate_results: list[dict] | None, verdict: dict | None = None, record_url_template: str = "") -> dict:
    items = view.items
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
        "items": [_item_row(it, record_url(record_url_template, it.record_id)) for it in items],
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
        "history": _history_context(view),
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


@gc_paused()
def render_steward(findings: pd.DataFrame | None, reconciliation: pd.DataFrame | None, provenance: dict | None,
                   gate_results: list[dict] | None, verdict: dict | None = None,
                   study: Study | None = None, record_url_template: str = "",
                   progress: Progress | None = None,
                   items: list[WorklistItem] | None = None) -> tuple[str, str]:
    """The steward worklist as one self-contained HTML string, and its CSV text (one row per worklist item);
    with ``record_url_template`` (``SSC_REDCAP_RECORD_URL``, report.redcap_links), each record links to its REDCap
    page, opened in a new tab; with ``progress`` (report.worklist.night_progress), night after night: each item
    new tonight or open since a drop, the resolved and acknowledged sections and the trend figure; ``items``: the
    worklist's items when the caller built them already (report.worklist.worklist_view)."""
    view = worklist_view(findings, study or load_study(), progress, items=items)
    context = build_context(view, reconciliation, provenance, gate_results, verdict, record_url_template)
    return _environment().get_template("steward.html.j2").render(**context), worklist_csv(view.items)


@cache
def _environment():
    """The page's Jinja environment, made once: it keeps the compiled templates (compiling them anew took 35 ms a
    page) and reloads one whose file changed."""
    env = environment()
    env.filters["dates_unbroken"] = dates_unbroken
    return env


def render_steward_report(findings: pd.DataFrame | None, reconciliation: pd.DataFrame | None,
                          provenance: dict | None, gate_results: list[dict] | None,
                          verdict: dict | None = None) -> str:
    """The steward worklist page alone (see :func:`render_steward`)."""
    return render_steward(findings, reconciliation, provenance, gate_results, verdict)[0]
