"""Pieces shared by the two reports: the Jinja environment, table blocks, provenance, reconciliation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import jinja2
import pandas as pd
from markupsafe import Markup

from report import formatting as fmt

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: what the pipeline did with a finding (quality.findings.ACTIONS), in words for stewards and clinicians
ACTION_WORDS = {"nulled": "Value set to missing in the analysis", "excluded": "Assessment left out of the analysis",
                "quarantined": "Export row not loaded (quarantined)", "blocked": "Run stopped at a gate",
                "none": "Nothing: the value is kept as exported"}

#: the only relative links the reports carry (the report is published to SSC_HOME/reports, beside the steward
#: page; the Data Docs are SSC_HOME/data_docs)
STEWARD_LINK = "steward.html"
DATA_DOCS_LINK = "../data_docs/index.html"


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2", "html.j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
          note: str | Sequence[str | None] | None = None, numeric_from: int = 1,
          numeric: Iterable[int] | None = None, css: str = "") -> dict:
    """A table block for the templates: cells are shown as given (already formatted strings).

    Numbers are right-aligned, text left-aligned: ``numeric`` names the numeric columns (indexes), else every
    column from ``numeric_from`` on is. ``note``: one line or several (None left out) printed under the table (a
    definition, the denominator), kept with it on a printed page. A table whose columns are all "" has no
    header row."""
    names = list(columns)
    body = [[fmt.MISSING if fmt.is_missing(c) else c for c in row] for row in rows]
    notes = [note] if isinstance(note, str) else [n for n in (note or ()) if n]
    right = sorted(set(numeric)) if numeric is not None else list(range(numeric_from, len(names)))
    return {"kind": "table", "columns": names, "header": any(names), "rows": body, "caption": caption,
            "notes": notes, "numeric": right, "css": css}


def records(obj: Any) -> list[dict]:
    """Rows of a DataFrame / list of dicts as a list of dicts (anything else → [])."""
    if obj is None:
        return []
    if isinstance(obj, pd.DataFrame):
        frame = obj.astype(object).where(obj.notna(), None)
        return frame.to_dict(orient="records")
    if isinstance(obj, (list, tuple)):
        return [r for r in obj if isinstance(r, dict)]
    return []


#: the one set of provenance labels: the header line, the provenance section and the printed footer use these
PROVENANCE_FIELDS = (
    ("drop_id", "Export drop"),
    ("export_datetime", "Export time"),
    ("records_file", "Records file"),
    ("records_sha256", "Records file SHA-256"),
    ("dictionary_file", "Data dictionary file"),
    ("dictionary_sha256", "Data dictionary file SHA-256"),
    ("pseudonym_key", "Pseudonym key"),
    ("run_id", "Run id"),
    ("code_version", "Code version"),
    ("generated_at", "Generated at"),
)
LABELS = dict(PROVENANCE_FIELDS)
#: fields listed only when given (the others say "not recorded")
_OPTIONAL = {"export_datetime", "dictionary_file", "dictionary_sha256", "pseudonym_key"}
#: fields another part of the page already says ("Pseudonym key: demo" and its banner)
_NOT_LISTED = {"pseudonym_key_is_demo"}
_ALIASES = {"drop_id": ("drop_id", "drop"), "records_file": ("records_file", "records_file_name", "records_filename"),
            "records_sha256": ("records_sha256", "sha256", "records_file_sha256"),
            "dictionary_file": ("dictionary_file",), "dictionary_sha256": ("dictionary_sha256",),
            "export_datetime": ("export_datetime",), "pseudonym_key": ("pseudonym_key",),
            "run_id": ("run_id", "dagster_run_id"), "code_version": ("code_version", "git_commit", "version"),
            "generated_at": ("generated_at",)}


def provenance_items(provenance: dict | None, keys: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(label, value) pairs of the provenance, in :data:`PROVENANCE_FIELDS` order then any others (humanised);
    ``keys`` given: only those fields, in that order. A missing field is "not recorded" (an optional one is left
    out)."""
    provenance = dict(provenance or {})
    items, used = [], set(_NOT_LISTED)
    for key in (keys if keys is not None else LABELS):
        value = None
        for alias in _ALIASES[key]:
            if alias in provenance and not fmt.is_missing(provenance[alias]):
                value, _ = provenance[alias], used.add(alias)
                break
        for alias in _ALIASES[key]:
            used.add(alias)
        if value is None and key in _OPTIONAL:
            continue
        items.append((LABELS[key], "not recorded" if value is None else str(value)))
    if keys is not None:
        return items
    for key in sorted(k for k in provenance if k not in used):
        value = provenance[key]
        if isinstance(value, (dict, list)) or fmt.is_missing(value):
            continue
        items.append((fmt.humanize(key), fmt.auto(value)))
    return items


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, safe inside a <style> element (quotes, backslashes, line breaks and "<"
    escaped): the printed footer's content."""
    escaped = "".join(f"\\{ord(c):x} " if c in '"\\<>\n\r' else c for c in text)
    return f'"{escaped}"'


def provenance_get(provenance: dict | None, key: str) -> str | None:
    provenance = provenance or {}
    for alias in _ALIASES.get(key, (key,)):
        if alias in provenance and not fmt.is_missing(provenance[alias]):
            return str(provenance[alias])
    return None


def reconciliation_block(reconciliation: Any) -> tuple[dict | None, dict]:
    """The reconciliation table (per drop: "all rows", then per instrument, by its label with the REDCap form
    name on hover) and totals {export, loaded, quarantined, balanced} over the drop-level rows (rows without an
    instrument, or all rows when there is no such column)."""
    from report.worklist import instrument_label  # report.worklist imports this module

    rows = records(reconciliation)
    totals = {"export": None, "loaded": None, "quarantined": None, "balanced": None, "n_unbalanced": 0}
    if not rows:
        return None, totals

    def _level(r: dict) -> str:
        inst = r.get("instrument")
        return "drop" if fmt.is_missing(inst) or inst in ("", "*", "all", "(all)") else "instrument"

    def _shown(r: dict) -> str:
        if _level(r) == "drop":
            return "all rows"
        form = str(r.get("instrument"))
        return Markup('<span title="{}">{}</span>').format(form, instrument_label(form))

    drop_rows = [r for r in rows if _level(r) == "drop"] or rows
    out, unbalanced = [], 0
    ordered = sorted(rows, key=lambda r: (str(r.get("drop_id") or ""), _level(r) != "drop",
                                          instrument_label(str(r.get("instrument") or ""))))
    for r in ordered:
        e, lo, q = (fmt.to_float(r.get(k)) for k in ("export_rows", "loaded_rows", "quarantined_rows"))
        ok = None if None in (e, lo, q) else abs(e - (lo + q)) < 0.5
        if ok is False:
            unbalanced += 1
        out.append([r.get("drop_id") or fmt.MISSING,
                    _shown(r),
                    fmt.count(e), fmt.count(lo), fmt.count(q),
                    fmt.MISSING if ok is None else ("balanced" if ok else "MISMATCH")])
    sums = {k: sum(fmt.to_float(r.get(k)) or 0 for r in drop_rows)
            for k in ("export_rows", "loaded_rows", "quarantined_rows")}
    totals.update(export=int(sums["export_rows"]), loaded=int(sums["loaded_rows"]),
                  quarantined=int(sums["quarantined_rows"]), balanced=unbalanced == 0, n_unbalanced=unbalanced)
    block = table(["Drop", "Level", "Export rows", "Loaded rows", "Quarantined rows", "Export = loaded + quarantined"],
                  out, numeric=(2, 3, 4), caption="Reconciliation of the records file")
    return block, totals
