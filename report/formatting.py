"""Formatting helpers shared by the study report and the steward worklist.

Numbers in ``outcomes.json`` are unrounded; rounding happens here, once, for display:
percentages to 1 decimal ("92.7%"), mean (SD) to 2 decimals ("18.68 (7.26)"), p-values as "<0.001" or
3 decimals. Anything missing (None, NaN, pd.NA) shows as an en dash.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

MISSING = "–"

#: the plan's windows, in order (used to order timepoints; unknown names sort last)
TIMEPOINT_ORDER = ("baseline", "month_1", "month_3", "month_6", "month_12", "month_24", "month_36",
                   "month_48", "month_60")
_TP_RANK = {tp: i for i, tp in enumerate(TIMEPOINT_ORDER)}


def is_missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, float):
        return not math.isfinite(x)
    try:
        return bool(pd.isna(x)) if not isinstance(x, (list, tuple, dict, str)) else False
    except (TypeError, ValueError):
        return False


def to_float(x: Any) -> float | None:
    if is_missing(x):
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; integers-valued counts stay plain when digits == 0."""
    value = to_float(x)
    if value is None:
        return MISSING
    return f"{value:.{digits}f}"


def count(x: Any) -> str:
    value = to_float(x)
    if value is None:
        return MISSING
    return str(int(round(value)))


def pct(x: Any, digits: int = 1) -> str:
    """A percentage given on the 0–100 scale: 72.0 → "72.0%"."""
    value = to_float(x)
    return MISSING if value is None else f"{value:.{digits}f}%"


def prop_pct(x: Any, digits: int = 1) -> str:
    """A proportion given on the 0–1 scale: 0.92683 → "92.7%"."""
    value = to_float(x)
    return MISSING if value is None else f"{100.0 * value:.{digits}f}%"


def n_pct(n: Any, denominator: Any, digits: int = 1) -> str:
    """ "18 (72.0%)"; the percentage is left out when the denominator is 0 or missing."""
    k, d = to_float(n), to_float(denominator)
    if k is None:
        return MISSING
    if d is None or d == 0:
        return str(int(round(k)))
    return f"{int(round(k))} ({100.0 * k / d:.{digits}f}%)"


def mean_sd(mean: Any, sd: Any, digits: int = 2) -> str:
    """ "18.68 (7.26)"; "18.68 (–)" when the SD is missing (n < 2)."""
    m = to_float(mean)
    if m is None:
        return MISSING
    s = to_float(sd)
    return f"{m:.{digits}f} ({MISSING if s is None else f'{s:.{digits}f}'})"


def pvalue(p: Any) -> str:
    value = to_float(p)
    if value is None:
        return MISSING
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def ci(lower: Any, upper: Any, *, proportion: bool = False, digits: int = 1) -> str:
    """ "78.9–97.6" (proportions shown as percentages when ``proportion``)."""
    lo, hi = to_float(lower), to_float(upper)
    if lo is None or hi is None:
        return MISSING
    if proportion:
        return f"{100 * lo:.{digits}f}–{100 * hi:.{digits}f}"
    return f"{lo:.{digits}f} to {hi:.{digits}f}"


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
    text = "" if is_missing(tp) else str(tp)
    if text in _TP_RANK:
        return (_TP_RANK[text], text)
    match = re.fullmatch(r"month_(\d+)", text)
    if match:  # an unusual configured window, placed by its month
        return (len(TIMEPOINT_ORDER) + int(match.group(1)), text)
    return (10_000, text)


def sort_timepoints(timepoints) -> list[str]:
    return sorted({str(t) for t in timepoints if not is_missing(t)}, key=timepoint_rank)


def humanize(key: Any) -> str:
    """ "n_paired" → "N paired", "improved_pct" → "Improved %"; used for keys of unknown extras."""
    text = str(key)
    special = {"sd": "SD", "ci": "CI", "n": "n", "p": "p", "pct": "%", "fvc": "FVC", "dlco": "DLCO",
               "ild": "ILD", "hrct": "HRCT", "pah": "PAH", "mrss": "mRSS", "se": "SE", "haq": "HAQ",
               "di": "DI", "rcs": "RCS", "aic": "AIC", "bic": "BIC", "os": "OS", "icc": "ICC"}
    words = [special.get(w.lower(), w) for w in text.replace("-", "_").split("_") if w]
    if not words:
        return text
    first = words[0]
    if first == first.lower() and first not in special.values():
        words[0] = first[:1].upper() + first[1:]
    return " ".join(words)


def natural_key(value: Any) -> tuple:
    """Sort key for record ids: "2" before "10", text after numbers."""
    text = "" if is_missing(value) else str(value)
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p != "")


def auto(value: Any, key: str = "") -> str:
    """Display of a value of an unknown extra, guessing from its key: p-values, percentages, counts."""
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, np.integer):
        value = int(value)
    k = key.lower()
    if k == "timepoint":
        return timepoint_label(value)
    if isinstance(value, int):
        return str(value)
    f = to_float(value)
    if f is None:
        return str(value)
    count_like = k == "n" or k.startswith("n_") or k in ("improved", "stable", "progressed", "worsened", "deaths",
                                                          "count", "progression", "no_progression", "indeterminate")
    if k in ("p", "p_value", "pvalue") or k.endswith("_p") or k.startswith("p_") or k.endswith("p_value"):
        return pvalue(f)
    if k.endswith("_pct") or k.endswith("percent") or k == "pct":
        return pct(f)
    if count_like and float(f).is_integer():
        return count(f)
    if isinstance(value, str):
        return value
    return num(f)
