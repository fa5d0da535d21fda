"""Formatting helpers shared by the study report and the steward worklist.

Numbers in ``outcomes.json`` are unrounded; rounding happens at display time:
percentages to 1 decimal ("92.7%"), mean (SD) to 2 decimals ("18.68 (7.26)"), p-values as "<0.001" or
3 decimals. Anything missing (None, NaN, pd.NA) shows as an en dash.

The number formatting, missing-value test and timepoint order are ``analysis.formatting`` /
``analysis._common``'s; the functions here are thin wrappers fixing the report's conventions (Python float
formatting, ``half_up=False``; pct on the 0–100 scale; n (%) without a denominator shows the count alone).
Report-only presentation (timepoint labels, humanised keys, natural sort, ``auto``) lives here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from analysis import formatting as paper
from analysis._common import fnum as to_float  # noqa: F401  (float, or None when missing / not finite)
from analysis._common import sort_timepoints as _sort_timepoints
from analysis._common import timepoint_rank as _timepoint_rank
from analysis.formatting import MISSING, count, is_missing  # noqa: F401  (re-exported for the reports)


def num(x: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals."""
    return paper.fixed(x, digits, half_up=False)


def pct(x: Any, digits: int = 1) -> str:
    """A percentage given on the 0–100 scale: 72.0 → "72.0%"."""
    return paper.pct_value(x, digits, half_up=False)


def prop_pct(x: Any, digits: int = 1) -> str:
    """A proportion given on the 0–1 scale: 0.92683 → "92.7%"."""
    return paper.pct(x, digits, half_up=False)


def n_pct(n: Any, denominator: Any, digits: int = 1) -> str:
    """ "18 (72.0%)"; the percentage is left out when the denominator is 0 or missing."""
    return paper.n_pct(n, denominator, digits, half_up=False, bare_count=True)


def mean_sd(mean: Any, sd: Any, digits: int = 2) -> str:
    """ "18.68 (7.26)"; "18.68 (–)" when the SD is missing (n < 2)."""
    return paper.mean_sd(mean, sd, digits, half_up=False)


def pvalue(p: Any) -> str:
    return paper.p_value(p, half_up=False)


def ci(lower: Any, upper: Any, *, proportion: bool = False, digits: int = 1) -> str:
    """ "78.9–97.6" (proportions shown as percentages when ``proportion``); "0.8 to 1.2" otherwise."""
    if proportion:
        return paper.interval(lower, upper, digits, sep="–", scale=100, half_up=False)
    return paper.interval(lower, upper, digits, sep=" to ", half_up=False)


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
