"""Pieces shared by the two reports: the Jinja environment, table blocks, provenance, reconciliation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import jinja2
import pandas as pd

from report import formatting as fmt

TEMPLATES = Path(__file__).resolve().parent / "templates"

#: what the pipeline did with a finding (quality.findings.ACTIONS), in words for stewards and clinicians
ACTION_WORDS = {"nulled": "Value set to missing in the analysis", "excluded": "Assessment left out of the analysis",
                "quarantined": "Export row not loaded (quarantined)", "blocked": "Run stopped at a gate",
                "none": "Nothing: the value is kept as exported"}

#: the only relative links the reports carry
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
          note: str | None = None, numeric_from: int = 1, css: str = "") -> dict:
    """A table block for the templates: cells are shown as given (already formatted strings)."""
    body = [[fmt.MISSING if fmt.is_missing(c) else c for c in row] for row in rows]
    return {"kind": "table", "columns": list(columns), "rows": body, "caption": caption, "note": note,
            "numeric_from": numeric_from, "css": css}


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


PROVENANCE_FIELDS = (
    ("drop_id", "Export drop"),
    ("records_file", "Records file"),
    ("records_sha256", "Records file SHA-256"),
    ("dictionary_file", "Data dictionary file"),
    ("run_id", "Run id"),
    ("code_version", "Code version"),
    ("generated_at", "Generated at"),
)
_ALIASES = {"drop_id": ("drop_id", "drop"), "records_file": ("records_file", "records_file_name", "records_filename"),
            "records_sha256": ("records_sha256", "sha256", "records_file_sha256"),
            "dictionary_file": ("dictionary_file",), "run_id": ("run_id", "dagster_run_id"),
            "code_version": ("code_version", "git_commit", "version"), "generated_at": ("generated_at",)}


def provenance_items(provenance: dict | None) -> list[tuple[str, str]]:
    """(label, value) pairs of the provenance, known fields first, then any others; missing → "not recorded"."""
    provenance = dict(provenance or {})
    items, used = [], set()
    for key, label in PROVENANCE_FIELDS:
        value = None
        for alias in _ALIASES[key]:
            if alias in provenance and not fmt.is_missing(provenance[alias]):
                value, _ = provenance[alias], used.add(alias)
                break
        for alias in _ALIASES[key]:
            used.add(alias)
        if value is None and key == "dictionary_file":
            continue
        items.append((label, "not recorded" if value is None else str(value)))
    for key in sorted(k for k in provenance if k not in used):
        value = provenance[key]
        if isinstance(value, (dict, list)) or fmt.is_missing(value):
            continue
        items.append((fmt.humanize(key), fmt.auto(value)))
    return items


def provenance_get(provenance: dict | None, key: str) -> str | None:
    provenance = provenance or {}
    for alias in _ALIASES.get(key, (key,)):
        if alias in provenance and not fmt.is_missing(provenance[alias]):
            return str(provenance[alias])
    return None


def reconciliation_block(reconciliation: Any) -> tuple[dict | None, dict]:
    """The reconciliation table (per drop, then per instrument) and totals {export, loaded, quarantined,
    balanced} over the drop-level rows (rows without an instrument, or all rows when there is no such column)."""
    rows = records(reconciliation)
    totals = {"export": None, "loaded": None, "quarantined": None, "balanced": None, "n_unbalanced": 0}
    if not rows:
        return None, totals

    def _level(r: dict) -> str:
        inst = r.get("instrument")
        return "drop" if fmt.is_missing(inst) or inst in ("", "*", "all", "(all)") else "instrument"

    drop_rows = [r for r in rows if _level(r) == "drop"] or rows
    out, unbalanced = [], 0
    ordered = sorted(rows, key=lambda r: (str(r.get("drop_id") or ""), _level(r) != "drop",
                                          str(r.get("instrument") or "")))
    for r in ordered:
        e, lo, q = (fmt.to_float(r.get(k)) for k in ("export_rows", "loaded_rows", "quarantined_rows"))
        ok = None if None in (e, lo, q) else abs(e - (lo + q)) < 0.5
        if ok is False:
            unbalanced += 1
        out.append([r.get("drop_id") or fmt.MISSING,
                    "all rows" if _level(r) == "drop" else str(r.get("instrument")),
                    fmt.count(e), fmt.count(lo), fmt.count(q),
                    fmt.MISSING if ok is None else ("balanced" if ok else "MISMATCH")])
    sums = {k: sum(fmt.to_float(r.get(k)) or 0 for r in drop_rows)
            for k in ("export_rows", "loaded_rows", "quarantined_rows")}
    totals.update(export=int(sums["export_rows"]), loaded=int(sums["loaded_rows"]),
                  quarantined=int(sums["quarantined_rows"]), balanced=unbalanced == 0, n_unbalanced=unbalanced)
    block = table(["Drop", "Level", "Export rows", "Loaded rows", "Quarantined rows", "Export = loaded + quarantined"],
                  out, numeric_from=2, caption="Reconciliation of the records file")
    return block, totals
