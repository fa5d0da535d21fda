"""Presentation helpers shared by the study report and the steward worklist: timepoint labels and order,
humanised keys, natural sort of record ids, the display of a value of unknown meaning.

Numbers are printed by ``analysis.formatting`` (the one rounding rule); ``count``, ``MISSING``, ``is_missing``
and ``to_float`` are re-exported from there for the reports.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from analysis._common import fnum as to_float  # noqa: F401  (float, or None when missing / not finite)
from analysis._common import sort_timepoints as _sort_timepoints
from analysis._common import timepoint_rank as _timepoint_rank
from analysis.formatting import MISSING, count, fixed, is_missing  # noqa: F401


def timepoint_label(tp: Any) -> str:
    """baseline → "Baseline", month_12 → "Month 12", other names humanised."""
    if is_missing(tp):
        return "Outside every window"
    text = str(tp)
    if text == "baseline":
        return "Baseline"
    match = re.fullmatch(r"month_(\d+)", text)
    if match:
        return f"Month {int(match.group(1))}"
    return humanize(text)


def timepoint_rank(tp: Any) -> tuple[int, str]:
    """Window order; an unusual configured window month_N placed by its month; other names last."""
    return _timepoint_rank("" if is_missing(tp) else str(tp), months_by_number=True)


def sort_timepoints(timepoints) -> list[str]:
    return _sort_timepoints((str(t) for t in timepoints if not is_missing(t)), months_by_number=True)


def humanize(key: Any) -> str:
    """ "pseudonym_key_is_demo" → "Pseudonym key is demo" (provenance keys, finding categories)."""
    text = " ".join(w for w in str(key).replace("-", "_").split("_") if w)
    return text[:1].upper() + text[1:]


def natural_key(value: Any) -> tuple:
    """Sort key for record ids: "2" before "10", text after numbers."""
    text = "" if is_missing(value) else str(value)
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p != "")


def auto(value: Any) -> str:
    """Display of a value of unknown meaning (an extra provenance field): Yes/No, a whole number as such, any
    other number by the rounding rule, else the text."""
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    f = to_float(value)
    return str(value) if f is None or isinstance(value, str) else fixed(f)
