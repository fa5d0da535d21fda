"""Great Expectations results -> findings (:class:`quality.findings.Finding`), through each expectation's ``meta``.

The contract between the suites and the findings is the expectation's ``meta``, built by :func:`rule_meta` from
the rule's catalog entry (:mod:`quality.rules`): ``rule``, ``severity``, ``category``, ``subcategory``,
``action``, ``hint``; ``field`` (the column a finding names; default the expectation's column); optionally
``value_column`` (the frame column whose value the finding shows, if not ``field``; ``""`` for none),
``field_column`` (a frame column naming the field row by row), ``instrument`` (a constant), ``message`` (a
template with ``{value}``, ``{field}``, ``{record_id}``, ``{event}``, ``{instrument}``, ... and the frame columns
listed in ``message_columns``) and ``hint_override``. The suite's ``meta["finding_columns"]`` maps finding
attributes (record_id, event, instrument, instance, source_row) to frame columns (``"=x"``: the constant x).

One finding per unexpected row (GX's ``unexpected_index_list`` gives the positional ``_row`` of
:mod:`quality.gx_runner`), one per failed table-level expectation, and one ``gx_expectation_error`` per
expectation that raised. Identifier fields never show their value (``<redacted identifier>``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from quality.findings import REDACTED, Finding
from quality.gx_runner import ROW, SuiteRun
from quality.rules import RULES, hint_for

FINDING_KEYS = ("record_id", "event", "instrument", "instance", "source_row")


def rule_meta(rule_id: str, *, field: str | None = None, instrument: str | None = None,
              value_column: str | None = None, message: str | None = None, **overrides) -> dict:
    """The ``meta`` of an expectation implementing ``rule_id``: the catalog's words, then the given keys (a
    ``None`` override is left out). ``KeyError`` for a rule the catalog does not know."""
    r = RULES[rule_id]
    meta = {"rule": r.rule, "severity": r.severity, "category": r.category, "subcategory": r.subcategory,
            "action": r.action, "hint": r.hint}
    named = {"field": field, "instrument": instrument, "value_column": value_column, "message": message}
    meta.update({k: v for k, v in {**named, **overrides}.items() if v is not None})
    return meta


def _scalar(value):
    """A frame cell as a plain Python value (None for any missing value; dates as ISO text)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _text(value) -> str | None:
    value = _scalar(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _int(value) -> int | None:
    """A whole number from a cell (``2``, ``2.0``, ``"2"``), else None."""
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class _Cells:
    """The cells of a validated frame by (row position, column spec), each column taken out of the frame once
    (a cell read through ``frame.iat`` costs microseconds; a run may report hundreds of thousands of rows).

    A column of dates (``datetime64``, with or without a time zone) stays a pandas array and gives the
    ``Timestamp`` of each cell asked for (the same value a whole ``to_numpy(dtype=object)`` gives, without
    making one ``Timestamp`` per row of a 200,000-row frame for a few rows read)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame, self.columns = frame, {}

    def __call__(self, row: int, spec: str | None):
        """The cell as a plain value (:func:`_scalar`); ``spec`` ``"=x"`` is the constant x; None for no spec or
        a column the frame does not have."""
        if not spec:
            return None
        if spec.startswith("="):
            return spec[1:]
        values = self.columns.get(spec)
        if values is None:
            if spec not in self.frame.columns:
                return None
            column = self.frame[spec]
            values = self.columns[spec] = (column.array if pd.api.types.is_datetime64_any_dtype(column.dtype)
                                           else column.to_numpy(dtype=object))
        return _scalar(values[row])


class _SafeDict(dict):
    """Leaves an unknown ``{name}`` of a message template as it is."""

    def __missing__(self, key):
        return "{" + key + "}"


def _format(template: str, values: dict) -> str:
    try:
        return template.format_map(_SafeDict(values))
    except (ValueError, IndexError, KeyError):
        return template


def _raised(r) -> str | None:
    """The exception message of an expectation that raised (GX nests it per metric), else None."""
    info = r.exception_info if isinstance(r.exception_info, dict) else {}
    nested = [v for v in info.values() if isinstance(v, dict)]
    if not (info.get("raised_exception") or any(v.get("raised_exception") for v in nested)):
        return None
    return str(info.get("exception_message") or next((v.get("exception_message") for v in nested), ""))


def findings_from_run(run: SuiteRun, identifiers: Iterable[str] = ()) -> list[Finding]:
    """One :class:`Finding` per unexpected row of each failed expectation of ``run`` (see the module)."""
    return [f for _, f in findings_with_rows(run, identifiers)]


def findings_with_rows(run: SuiteRun, identifiers: Iterable[str] = ()) -> list[tuple[int | None, Finding]]:
    """Like :func:`findings_from_run`, each finding with the ``_row`` of the validated frame it came from (None
    for a table-level expectation or one that raised)."""
    identifiers = set(identifiers)
    cell, columns = _Cells(run.frame), run.finding_columns
    out: list[tuple[int | None, Finding]] = []
    for r in run.failed():
        cfg = r.expectation_config
        meta = dict(cfg.meta or {})
        rule_id = meta.get("rule", cfg.type)
        catalog = RULES.get(rule_id)
        kwargs = cfg.kwargs or {}
        field_name = meta.get("field") or kwargs.get("column") or kwargs.get("column_A")
        value_column = meta["value_column"] if "value_column" in meta else field_name
        instrument = meta.get("instrument")
        common = {"rule": rule_id, "severity": meta.get("severity") or (catalog.severity if catalog else "error"),
                  "category": meta.get("category") or (catalog.category if catalog else "conformance"),
                  "subcategory": meta.get("subcategory"),
                  "action": meta.get("action") or (catalog.action if catalog else "none")}
        constants = {k: v for k, v in meta.items() if isinstance(v, (str, int, float))}

        error = _raised(r)
        if error is not None:
            g = RULES["gx_expectation_error"]
            out.append((None, g.finding(f"{run.suite_name}: {cfg.type} on {field_name} could not run "
                                        f"(rule {rule_id}): {error[:200]}",
                                        field=field_name, instrument=instrument)))
            continue

        index_list = (r.result or {}).get("unexpected_index_list") or []
        if not index_list:  # a table-level expectation (row count...): one finding without a row
            observed = (r.result or {}).get("observed_value")
            template = meta.get("message") or (catalog.description if catalog else cfg.type)
            message = _format(template, {**constants, "value": "" if observed is None else observed,
                                         "field": field_name or ""})
            if observed is not None:
                message += f" (observed: {observed})"
            out.append((None, Finding(**common, instrument=instrument, field=field_name,
                                      value=None if field_name in identifiers else _text(observed),
                                      message=message, hint=meta.get("hint"))))
            continue

        for entry in index_list:
            if not isinstance(entry, Mapping) or ROW not in entry:
                continue
            row = int(entry[ROW])
            where = {k: cell(row, columns.get(k)) for k in FINDING_KEYS}
            if instrument:
                where["instrument"] = instrument
            row_field = field_name
            if meta.get("field_column"):
                row_field = _text(cell(row, meta["field_column"])) or field_name
            raw_value = cell(row, value_column) if value_column else None
            value = REDACTED if row_field in identifiers else _text(raw_value)
            values = {**constants, **{k: ("" if v is None else v) for k, v in where.items()},
                      "value": "" if value is None else value, "field": row_field or ""}
            for extra in meta.get("message_columns", []) or []:
                values[extra] = _text(cell(row, extra)) or ""
            template = meta.get("message") or (
                f"{field_name} = {{value!r}}: " + (catalog.description if catalog else cfg.type))
            out.append((row, Finding(
                **common, record_id=_text(where["record_id"]), event=_text(where["event"]),
                instrument=_text(where["instrument"]), instance=_int(where["instance"]),
                field=row_field, value=value, source_row=_int(where["source_row"]),
                message=_format(template, values),
                hint=hint_for(rule_id, raw_value if isinstance(raw_value, str) else value,
                              meta.get("hint_override")) or meta.get("hint"),
            )))
    return out


def dedupe_findings(findings: list[Finding]) -> list[Finding]:
    """Drop repeats of the same rule on the same cell (e.g. a date failing both its format checks)."""
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.record_id, f.event, f.instrument, f.instance, f.field, f.source_row, f.value)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
