"""The steward worklist as problems to work through, from the findings: one item per record × problem.

``worklist_items(findings, study) -> list[WorklistItem]``; ``worklist_csv(items) -> str``
(reports/steward_worklist.csv); ``worklist_view(findings, study, progress) -> WorklistView`` (night after night,
with ``night_progress``)

- ``findings``: quality.findings (columns of quality.findings.FINDING_COLUMNS; others are ignored);
- ``study``: the study definition (study.definition.load_study()), for event labels and the study's event order.

A *problem* is the findings of one record with the same rule, severity and action: the 10 quarantined export
rows of a record without enrollment are one item. A finding not tied to a record is an item of its own.
A *cause* is reported once, with its consequences under it, as the rules catalog says (``Rule.consequences`` in
quality/rules.py): a finding not tied to a record (a column missing from the records file) takes the findings
of its consequence rules on its field in every record (``ON_THE_FIELD``: of any rule), and a finding of a record
takes those on the same record, event and field. Consequences are not items of their own; a cause that is itself
the consequence of another brings its own consequences along.

Items are sorted: errors first, then record (structural items, not tied to a record, first; then the natural
order of record ids: "2" before "10"), then the study's event order (events.csv; an event the study does not
know after the others), then rule. Labels: events by their label in the study definition ("Month 6"),
instruments by :func:`instrument_label`, rules by their catalog title; the codes stay beside them.

Each item has a short, stable id (``WorklistItem.finding_id``, quality.history.problem_id), which a steward's
acknowledgement names (quality/acknowledgements.py). Night after night (:func:`worklist_view`, with the history of
quality/history.py): an item is *new* when none of its findings' keys was open in the previous recorded drop,
else *open* since the earliest drop they were first seen in; a warning whose own findings are all acknowledged,
value unchanged, leaves the items (listed apart); an item with an acknowledgement whose value changed stays,
marked ``lapsed``.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

import pandas as pd

from quality.acknowledgements import ACKNOWLEDGED, LAPSED, Acknowledgement, match, read_register
from quality.history import DropHistory, drop_history, finding_key, problem_id, record_drop
from quality.rules import ON_THE_FIELD, RULES
from report import formatting as fmt
from report._common import ACTION_WORDS, records
from study.definition import Study

# how the findings of an item are counted, by what the pipeline did with them
_COUNTED = {"quarantined": "export rows not loaded", "excluded": "assessments not analysed",
            "nulled": "values set to missing"}


@contextmanager
def gc_paused():
    """Python's cyclic garbage collector paused for a block (as it was after), as a ``with`` block or a decorator:
    building and rendering the worklist allocates hundreds of thousands of small objects, and each collection
    they trigger walks every object the process holds (the findings frame, the cells); at 20,000 patients the
    collections took half the page's rendering time. Cycles made in the block are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def instrument_label(form: str) -> str:
    """A label for a REDCap instrument, derived from its form name (the study definition, like REDCap's data
    dictionary, has none): words split at "_", a word of three letters or fewer, or without a vowel, is an
    abbreviation and upper-cased ("skin_score" -> "Skin score", "pft" -> "PFT", "hrct" -> "HRCT")."""
    words = [w for w in str(form).split("_") if w]
    shown = [w.upper() if len(w) <= 3 or not re.search(r"[aeiouy]", w) else w.lower() for w in words]
    text = " ".join(shown)
    return text[:1].upper() + text[1:]


def rule_title(rule: str) -> str:
    """The catalog's title of a rule; a rule the catalog does not know, humanised."""
    known = RULES.get(rule)
    return known.title if known is not None and known.title else fmt.humanize(rule)


def row_ranges(rows: Iterable[int], limit: int | None = None) -> str:
    """Export rows as runs: [318, 319, 320, 330] -> "318–320, 330"; with ``limit``, at most that many runs and
    "…" after them."""
    runs: list[list[int]] = []
    for row in sorted(set(rows)):
        if runs and row == runs[-1][1] + 1:
            runs[-1][1] = row
        else:
            runs.append([row, row])
    texts = [str(a) if a == b else f"{a}–{b}" for a, b in runs]
    if limit is not None and len(texts) > limit:
        texts = texts[:limit] + ["…"]
    return ", ".join(texts)


@dataclass(frozen=True)
class Cell:
    """One finding, as the worklist shows it (codes and labels)."""

    rule: str
    title: str
    severity: str
    action: str
    record_id: str
    event: str
    event_label: str
    instrument: str
    instrument_label: str
    field: str
    value: str
    source_row: int | None
    message: str
    hint: str
    instance: int | None = None
    key: str = ""  # quality.history.finding_key


@dataclass
class WorklistItem:
    """One record × problem (or one finding not tied to a record), with the findings that follow from it.

    What is derived from its cells and consequences (events, fields, rows, summary…) is computed once, when first
    asked for: the page and the CSV ask for it again and again, after :func:`worklist_items` has built the item."""

    severity: str
    rule: str
    title: str
    action: str
    record_id: str  # "" when not tied to a record
    cells: list[Cell]
    consequences: list[Cell] = field(default_factory=list)
    # night after night (worklist_view; "" / 0 without a history): "new" tonight or still "open" since
    # ``first_seen`` (a drop id) for ``nights`` recorded drops, tonight included; ``lapsed``: an acknowledgement
    # of one of its findings lapsed (the value changed)
    status: str = ""
    first_seen: str = ""
    nights: int = 0
    lapsed: bool = False

    @cached_property
    def finding_id(self) -> str:
        """The row's short, stable id (quality.history.problem_id), which an acknowledgement names."""
        first = self.cells[0]
        return problem_id(self.record_id, self.rule, self.severity, self.action, first.key)

    @property
    def status_text(self) -> str:
        """"new tonight" or "still open since <drop> (N nights)"; "" without a history."""
        if self.status == "new":
            return "new tonight"
        if self.status == "open":
            return f"still open since {self.first_seen} ({self.nights} night{'' if self.nights == 1 else 's'})"
        return ""

    @property
    def action_words(self) -> str:
        return ACTION_WORDS.get(self.action, self.action)

    @cached_property
    def hint(self) -> str:
        return next((c.hint for c in self.cells if c.hint), "")

    @property
    def n_findings(self) -> int:
        """Findings the item stands for: its own and its consequences."""
        return len(self.cells) + len(self.consequences)

    @cached_property
    def events(self) -> list[tuple[str, str]]:
        """(code, label) of its events, in the study's order."""
        return _distinct((c.event, c.event_label) for c in self.cells if c.event)

    @cached_property
    def instruments(self) -> list[tuple[str, str]]:
        return _distinct((c.instrument, c.instrument_label) for c in self.cells if c.instrument)

    @cached_property
    def fields(self) -> list[str]:
        return _distinct(c.field for c in self.cells if c.field)

    @cached_property
    def values(self) -> list[str]:
        return _distinct(c.value for c in self.cells if c.value)

    @cached_property
    def rows(self) -> list[int]:
        return sorted({c.source_row for c in self.cells if c.source_row is not None})

    @cached_property
    def messages(self) -> list[str]:
        return _distinct(c.message for c in self.cells if c.message)

    @cached_property
    def count_line(self) -> str:
        """What the item's findings amount to, when there are several: "10 export rows not loaded: rows
        318–327"; "3 findings: Month 6, Month 12, Month 24" when they have no export row."""
        n = len(self.cells)
        if n < 2:
            return ""
        rows = self.rows
        where = (f"row{'' if len(rows) == 1 else 's'} {row_ranges(rows)}" if rows
                 else ", ".join(label for _, label in self.events))
        return f"{n} {_COUNTED.get(self.action, 'findings')}" + (f": {where}" if where else "")

    @cached_property
    def summary(self) -> str:
        """The line the worklist shows for the item: the (first) finding's message, the count line when there
        are several, and the consequences in brackets."""
        parts = self.messages[:1] + ([self.count_line] if self.count_line else [])
        text = "; ".join(parts) or self.title
        if self.consequences:
            text += f" ({consequence_line(self.consequences)})"
        return text

    @cached_property
    def consequence_rules(self) -> list[tuple[str, str]]:
        return _distinct((c.rule, c.title) for c in self.consequences)

    @cached_property
    def related_records(self) -> list[str]:
        """Records of the item and of its consequences (natural order)."""
        ids = {c.record_id for c in self.cells + self.consequences if c.record_id}
        return sorted(ids, key=fmt.natural_key) if len(ids) > 1 else list(ids)

    @cached_property
    def related_instruments(self) -> list[tuple[str, str]]:
        return _distinct((c.instrument, c.instrument_label) for c in self.cells + self.consequences
                         if c.instrument)


def _distinct(values: Iterable) -> list:
    return list(dict.fromkeys(values))


def _lower_first(title: str) -> str:
    """"Assessment date missing" -> "assessment date missing"; an abbreviation ("PASP …", "mRSS …") stays."""
    return title if title[1:2].isupper() or title[:1].islower() else title[:1].lower() + title[1:]


def consequence_line(cells: list[Cell]) -> str:
    """"245 consequences: assessment date missing on 245 PFT rows" (per rule: on N <instrument> rows, or in N
    records when its findings have no export row)."""
    parts = []
    for rule in _distinct(c.rule for c in cells):
        of_rule = [c for c in cells if c.rule == rule]
        title = _lower_first(of_rule[0].title)
        with_rows = [c for c in of_rule if c.source_row is not None]
        if len(with_rows) == len(of_rule):
            instruments = _distinct(c.instrument_label for c in of_rule if c.instrument_label)
            what = f"{instruments[0]} row" if len(instruments) == 1 else "row"
            parts.append(f"{title} on {len(of_rule)} {what}{'' if len(of_rule) == 1 else 's'}")
        else:
            n_records = len({c.record_id for c in of_rule})
            parts.append(f"{title}: {len(of_rule)} in {n_records} record{'' if n_records == 1 else 's'}")
    n = len(cells)
    return f"{n} consequence{'' if n == 1 else 's'}: " + "; ".join(parts)


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    return "" if fmt.is_missing(value) else str(value)


def _row(value: Any) -> int | None:
    number = fmt.to_float(value)
    return None if number is None else int(number)


def _columns(findings: pd.DataFrame | list[dict] | None, names: Iterable[str]) -> dict[str, list]:
    """{name: the values of column ``name`` of ``findings``, missing ones None} (all None for a column it lacks):
    what :func:`report._common.records` gives, column by column, without a dict per row."""
    if not isinstance(findings, pd.DataFrame):
        rows = records(findings)
        return {name: [r.get(name) for r in rows] for name in names}
    return {name: (findings[name].astype(object).where(findings[name].notna(), None).tolist()
                   if name in findings.columns else [None] * len(findings)) for name in names}


def _cells(findings: pd.DataFrame | None, study: Study) -> list[Cell]:
    labels = {e.unique_name: e.label for e in study.events}
    col = _columns(findings, ("rule", "severity", "action", "record_id", "event", "instrument", "field", "value",
                             "source_row", "message", "hint", "instance"))
    titles: dict[str, str] = {}
    instruments: dict[str, str] = {"": ""}
    out = []
    for (rule, severity, action, record_id, event, instrument, field_, value, source_row, message, hint,
         instance) in zip(*col.values()):
        rule, event, instrument = _text(rule), _text(event), _text(instrument)
        instance = _row(instance)
        if rule not in titles:
            titles[rule] = rule_title(rule)
        if instrument not in instruments:
            instruments[instrument] = instrument_label(instrument)
        out.append(Cell(
            rule=rule, title=titles[rule], severity=_text(severity).lower() or "warning",
            action=_text(action) or "none", record_id=_text(record_id), event=event,
            event_label=labels.get(event, event), instrument=instrument,
            instrument_label=instruments[instrument], field=_text(field_),
            value=_text(value), source_row=_row(source_row), message=_text(message),
            hint=_text(hint), instance=instance,
            key=finding_key(record_id, event, instrument, instance, field_, rule)))
    return out


def _follows(cause: Cell, other: Cell) -> bool:
    """Whether ``other`` is a consequence of ``cause`` by the catalog (see the module docstring)."""
    rule = RULES.get(cause.rule)
    if rule is None or not other.record_id or (ON_THE_FIELD not in rule.consequences
                                               and other.rule not in rule.consequences):
        return False
    if not cause.record_id:  # a column: its cells (a checkbox's choice columns included) in every record
        return bool(cause.field) and (other.field == cause.field or other.field.startswith(f"{cause.field}___"))
    return (other.record_id, other.event, other.field) == (cause.record_id, cause.event, cause.field)


@gc_paused()
def worklist_items(findings: pd.DataFrame | None, study: Study) -> list[WorklistItem]:
    """The worklist: one item per record × problem, each cause with its consequences (see the module
    docstring for the grouping and the order)."""
    cells = _cells(findings, study)
    order = {name: i for i, name in enumerate(study.event_names)}

    def rank(event: str) -> int:
        return order.get(event, len(order))

    # causes not tied to a record first, errors before warnings; a cause already taken by another stays under it
    causes = sorted((i for i, c in enumerate(cells) if RULES.get(c.rule) and RULES[c.rule].consequences),
                    key=lambda i: (bool(cells[i].record_id), cells[i].severity != "error", i))
    # a cause in a record takes only cells of its record, event and field: those are looked up, not searched for
    # (searching every cell for every cause took 45 s at 20,000 patients); a cause on a column looks at every cell
    at_place: dict[tuple[str, str, str], list[int]] = {}
    for j, c in enumerate(cells):
        if c.record_id:
            at_place.setdefault((c.record_id, c.event, c.field), []).append(j)
    taken_by: dict[int, int] = {}
    for i in causes:
        if i in taken_by:
            continue
        cause = cells[i]
        candidates = at_place.get((cause.record_id, cause.event, cause.field), []) if cause.record_id \
            else range(len(cells))
        for j in candidates:
            if j != i and j not in taken_by and _follows(cause, cells[j]):
                taken_by[j] = i

    def root(j: int) -> int:
        while j in taken_by:
            j = taken_by[j]
        return j

    items: dict[tuple, WorklistItem] = {}
    item_of: dict[int, WorklistItem] = {}
    for i, c in enumerate(cells):
        if i in taken_by:
            continue
        key = (c.record_id, c.rule, c.severity, c.action) if c.record_id else ("", i)
        if key not in items:
            items[key] = WorklistItem(severity=c.severity, rule=c.rule, title=c.title, action=c.action,
                                      record_id=c.record_id, cells=[])
        items[key].cells.append(c)
        item_of[i] = items[key]
    for j in taken_by:
        item_of[root(j)].consequences.append(cells[j])

    def row(c: Cell) -> int:
        return -1 if c.source_row is None else c.source_row

    for item in items.values():
        item.cells.sort(key=lambda c: (rank(c.event), row(c)))
        item.consequences.sort(key=lambda c: (fmt.natural_key(c.record_id), rank(c.event), row(c), c.rule))
    return sorted(items.values(), key=lambda it: (
        it.severity != "error", bool(it.record_id), fmt.natural_key(it.record_id),
        min((rank(c.event) for c in it.cells), default=-1), it.rule))


@dataclass
class Progress:
    """The history and the acknowledgements register a worklist is shown with (:func:`night_progress`);
    ``recorded``: the drop is recorded in the history (else nothing is counted as resolved by it)."""

    history: DropHistory = field(default_factory=DropHistory)
    register: pd.DataFrame | None = None  # quality.acknowledgements.read_register
    recorded: bool = True


@dataclass
class WorklistView:
    """The worklist of a drop night after night (:func:`worklist_view`).

    - ``items``: the open problems (acknowledged ones left out), each with its status;
    - ``acknowledged``: [(item, acknowledgement)]: warnings whose findings are all acknowledged, the value
      unchanged; they stay in quality.findings;
    - ``resolved``: problems open in the previous recorded drop and not found tonight, one dict per finding key
      (record_id, event, event_label, instrument, instrument_label, field, rule, title, severity, first_seen,
      nights), in worklist order;
    - ``previous_drop``, ``trend`` (quality.history.DropHistory); ``with_history``: a history was given;
      ``recorded``: the drop is in it (a drop that is not, a blocked one, resolves nothing: ``resolved`` is empty).
    """

    items: list[WorklistItem]
    acknowledged: list[tuple[WorklistItem, Acknowledgement]] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)
    previous_drop: str | None = None
    trend: list[tuple[str, int, int]] = field(default_factory=list)
    with_history: bool = False
    recorded: bool = False


def worklist_view(findings: pd.DataFrame | None, study: Study, progress: Progress | None = None,
                  items: list[WorklistItem] | None = None) -> WorklistView:
    """The worklist (:func:`worklist_items`) with what ``progress`` knows: each item new tonight or open since a
    drop, acknowledged warnings set apart (an item whose own findings are all acknowledged, none of its
    consequences an error), an item whose acknowledgement lapsed marked, and what was resolved.

    ``items``: :func:`worklist_items` of these ``findings`` and ``study`` when the caller built them already (a
    run's end shows one worklist three ways: built once, the items are reused and their status set again here)."""
    if items is None:
        items = worklist_items(findings, study)
    else:  # as worklist_items made them, whatever an earlier view set
        for it in items:
            it.status, it.first_seen, it.nights, it.lapsed = "", "", 0, False
    if progress is None:
        return WorklistView(items)
    history = progress.history
    acks = match(findings, progress.register)
    shown, acknowledged = [], []
    for it in items:
        since = [history.open_since[c.key] for c in it.cells if c.key in history.open_since]
        it.status = "open" if since else "new"
        it.first_seen = min(first for first, _ in since) if since else (history.drop_id or "")
        it.nights = max(n for _, n in since) if since else 0
        own = [acks.get(c.key) for c in it.cells]
        it.lapsed = any(a is not None and a.state == LAPSED for a in own)
        if (it.severity == "warning" and all(a is not None and a.state == ACKNOWLEDGED for a in own)
                and not any(c.severity == "error" for c in it.consequences)):
            acknowledged.append((it, max(own, key=lambda a: a.date)))
        else:
            shown.append(it)
    labels = {e.unique_name: e.label for e in study.events}
    order = {name: i for i, name in enumerate(study.event_names)}
    resolved = []
    for r in records(history.resolved if progress.recorded else None):
        event, instrument, rule = _text(r.get("event")), _text(r.get("instrument")), _text(r.get("rule"))
        resolved.append({"record_id": _text(r.get("record_id")), "event": event,
                         "event_label": labels.get(event, event), "instrument": instrument,
                         "instrument_label": instrument_label(instrument) if instrument else "",
                         "field": _text(r.get("field")), "rule": rule, "title": rule_title(rule),
                         "severity": _text(r.get("severity")), "first_seen": _text(r.get("first_seen_drop")),
                         "nights": int(r.get("nights_open") or 0)})
    resolved.sort(key=lambda r: (r["severity"] != "error", fmt.natural_key(r["record_id"]),
                                 order.get(r["event"], len(order)), r["rule"], r["field"]))
    return WorklistView(shown, acknowledged, resolved, history.previous_drop, history.trend, with_history=True,
                        recorded=progress.recorded)


def night_progress(conn, findings: pd.DataFrame | None, drop_id: str | None, register_path,
                   *, record: bool, study: Study | None = None,
                   items: list[WorklistItem] | None = None) -> Progress | None:
    """The history and acknowledgements that drop ``drop_id``'s worklist is shown with (None without a drop id:
    nothing to compare). With ``record``, first records the drop in the warehouse (quality.history.record_drop:
    its finding keys and its open errors, warnings and acknowledged problems as this worklist counts them;
    ``conn`` must be writable); without, reads only, and the drop resolves nothing (a drop that is not recorded,
    blocked, may lack what it does not show). ``register_path``: SSC_HOME/acknowledgements.csv
    (quality/acknowledgements.py); ``items``: the worklist's items already built (:func:`worklist_view`)."""
    if not drop_id:
        return None
    register = read_register(register_path)
    if record and drop_id:
        from study.definition import load_study

        view = worklist_view(findings, study or load_study(), Progress(register=register), items=items)
        record_drop(conn, findings, drop_id, open_errors=sum(it.severity == "error" for it in view.items),
                    open_warnings=sum(it.severity == "warning" for it in view.items),
                    acknowledged=len(view.acknowledged))
    return Progress(drop_history(conn, findings, drop_id), register, recorded=record)


#: columns of the worklist CSV (reports/steward_worklist.csv): one row per item, codes and labels both; the
#: row's id (which an acknowledgement names), its status (new / open; empty without a history) and the drop
#: it was first seen in last; "lapsed: the value changed" when an acknowledgement of it lapsed
CSV_COLUMNS = ("severity", "record_id", "rule", "rule_title", "action", "what_the_pipeline_did", "events",
               "event_labels", "instruments", "instrument_labels", "fields", "values", "export_rows", "findings",
               "summary", "what_to_do_in_redcap", "consequences", "consequence_rules", "consequence_records",
               "consequence_export_rows", "finding_id", "status", "first_seen", "acknowledgement")


#: what a spreadsheet program may run as a formula when a cell starts with it (OWASP, "CSV Injection")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def csv_safe(text: str) -> str:
    """A cell a spreadsheet program will not run as a formula: a text starting with =, +, -, @, a tab or a
    carriage return gets a leading apostrophe, as OWASP advises for CSV exports; a plain number ("-1.5",
    "+2e3") stays a number."""
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def worklist_csv(items: list[WorklistItem]) -> str:
    """The worklist as CSV text (``CSV_COLUMNS``; lists joined with "; ", export rows as runs "318-327"; every
    cell through :func:`csv_safe`)."""
    def rows_text(rows: Iterable[int]) -> str:
        return row_ranges(rows).replace("–", "-")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for it in items:
        cons_rows = sorted({c.source_row for c in it.consequences if c.source_row is not None})
        values = [it.severity, it.record_id, it.rule, it.title, it.action, it.action_words,
                  "; ".join(code for code, _ in it.events), "; ".join(label for _, label in it.events),
                  "; ".join(code for code, _ in it.instruments), "; ".join(label for _, label in it.instruments),
                  "; ".join(it.fields), "; ".join(it.values), rows_text(it.rows), str(it.n_findings),
                  it.summary, it.hint, str(len(it.consequences)),
                  "; ".join(code for code, _ in it.consequence_rules),
                  "; ".join(sorted({c.record_id for c in it.consequences}, key=fmt.natural_key)),
                  rows_text(cons_rows), it.finding_id, it.status, it.first_seen,
                  "lapsed: the value changed" if it.lapsed else ""]
        writer.writerow([csv_safe(v) for v in values])
    return buffer.getvalue()


def open_problems(findings: pd.DataFrame | None, study: Study | None = None,
                  register: pd.DataFrame | None = None, items: list[WorklistItem] | None = None) -> tuple[int, int]:
    """``(errors, warnings)``: the worklist's open rows (problems) by severity, what the run's verdict ("published
    with N errors for the stewards") and the report's status line count; a cause and its consequences are one;
    warnings acknowledged in ``register`` (quality.acknowledgements.read_register) are not open; ``items``: the
    worklist's items already built (:func:`worklist_view`)."""
    if findings is None or not len(findings):
        return 0, 0
    from study.definition import load_study

    items = worklist_view(findings, study or load_study(), Progress(register=register), items=items).items
    return sum(it.severity == "error" for it in items), sum(it.severity == "warning" for it in items)
