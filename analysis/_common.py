"""Small shared helpers of the analysis package: JSON-able scalars, window order, analysed values."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Iterable

import numpy as np
import pandas as pd

#: tolerance for the plan's boundaries (±5 points, 25 %, 10 mmHg) on floating-point differences
EPS = 1e-9

_FALLBACK_ORDER = ("baseline", "month_1", "month_3", "month_6", "month_12", "month_24", "month_36",
                   "month_48", "month_60")


@lru_cache(maxsize=1)
def timepoint_order() -> tuple[str, ...]:
    """Window names in window order (from the study's windows seed; the plan's defaults if unreadable)."""
    try:
        from study.windows import load_windows

        return tuple(w.timepoint for w in sorted(load_windows(), key=lambda w: w.order))
    except Exception:  # pragma: no cover - the seed is part of the repo
        return _FALLBACK_ORDER


#: rank of a timepoint outside every window (after any window, and after unknown month_N when placed by month)
_UNKNOWN_RANK = 10_000


def timepoint_rank(tp: Any, *, months_by_number: bool = False) -> tuple[int, str]:
    """Sort key of one timepoint: window order; names outside the windows last, alphabetically.

    With ``months_by_number`` an unknown ``month_N`` is placed after the windows by its month (month_9 before
    month_18) rather than alphabetically among the other unknown names (the report's ordering)."""
    text = str(tp)
    order = _window_rank()
    if text in order:
        return (order[text], text)
    if months_by_number:
        match = re.fullmatch(r"month_(\d+)", text)
        if match:
            return (len(order) + int(match.group(1)), text)
    return (_UNKNOWN_RANK, text)


@lru_cache(maxsize=1)
def _window_rank() -> dict[str, int]:
    return {tp: i for i, tp in enumerate(timepoint_order())}


def sort_timepoints(timepoints: Iterable[str], *, months_by_number: bool = False) -> list[str]:
    """Distinct timepoints in window order (see ``timepoint_rank``); None / NaN left out."""
    if isinstance(timepoints, pd.Series):  # a column of a mart: its distinct values first (in C), not row by row
        timepoints = timepoints.unique()
    distinct = {tp for tp in timepoints if tp is not None and not (isinstance(tp, float) and math.isnan(tp))}
    return sorted(distinct, key=lambda tp: timepoint_rank(tp, months_by_number=months_by_number))


def fnum(x: Any) -> float | None:
    """A plain float, or None for None / NaN / ±inf / pd.NA."""
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def percent(count: Any, denominator: Any) -> float | None:
    """100 × count / denominator (0–100 scale); None when the denominator is 0 or missing."""
    k, d = fnum(count), fnum(denominator)
    return 100.0 * k / d if k is not None and d else None


def num(series: pd.Series) -> pd.Series:
    """Numeric float64 (NaN for null or unparseable), whatever the nullable dtype it arrived in."""
    return pd.to_numeric(series, errors="coerce").astype("float64")


def truthy(series: pd.Series) -> pd.Series:
    """Boolean mask that is True only where the value is True (nulls count as False)."""
    return series.map(lambda v: bool(v) if v is not None and not (isinstance(v, float) and math.isnan(v))
                      and v is not pd.NA else False).astype(bool)


def describe(values: Iterable[Any]) -> dict[str, float | int | None]:
    """n, mean, sample SD (None when n < 2) and median of the non-null values."""
    if isinstance(values, (np.ndarray, pd.Series)) and values.dtype == np.float64:
        arr = np.asarray(values, dtype=float)  # the same doubles as fnum gives one by one, without the loop
        arr = arr[np.isfinite(arr)]
    else:
        arr = np.asarray([v for v in (fnum(x) for x in values) if v is not None], dtype=float)
    n = int(arr.size)
    return {
        "n": n,
        "mean": fnum(arr.mean()) if n else None,
        "sd": fnum(arr.std(ddof=1)) if n >= 2 else None,
        "median": fnum(np.median(arr)) if n else None,
    }


def flagged(series: pd.Series) -> pd.Series:
    """Boolean mask of an ADaM flag (ANL01FL, ABLFL, DTHFL...): True only where the value is 'Y'."""
    return series.eq("Y").fillna(False).astype(bool)


#: adbds variables -> the names the analysis functions work with
_ANALYSED_COLUMNS = {"USUBJID": "record_id", "AVISIT": "timepoint", "AVAL": "value", "ADY": "study_day",
                     "SRCSEQ": "source_row"}


#: the columns of adbds :func:`analysed_values` reads (a frame holding only these, and only the analysed rows,
#: gives the same answer: the study report reads adbds so)
ANALYSED_SOURCE_COLUMNS = ("USUBJID", "PARAMCD", "SRCDOM", "ANL01FL", "AVISIT", "AVAL", "ADY", "SRCSEQ")


def analysed_values(adbds: pd.DataFrame, param: str, *, instrument: str | None = None) -> pd.DataFrame:
    """The analysed (ANL01FL), non-null rows of adbds parameter ``param`` (PARAMCD; of REDCap instrument SRCDOM
    ``instrument`` if given) that have a window, as the analysis works with them: record_id (USUBJID), timepoint
    (AVISIT), value (AVAL), study_day (ADY), source_row (SRCSEQ). One row per patient and timepoint
    (defensively: the later assessment if the mart ever held two)."""
    cols = list(_ANALYSED_COLUMNS.values())
    if adbds is None or adbds.empty:
        return pd.DataFrame(columns=cols)
    wanted = (adbds["PARAMCD"] == param) & flagged(adbds["ANL01FL"])
    # only the columns read here are copied with the rows (adbds has 19)
    rows = adbds.loc[wanted, [c for c in ANALYSED_SOURCE_COLUMNS if c in adbds.columns]]
    if instrument is not None:
        rows = rows[rows["SRCDOM"] == instrument]
    rows = rows[rows["AVISIT"].notna()].rename(columns=_ANALYSED_COLUMNS)
    rows["value"] = num(rows["value"])
    rows = rows[rows["value"].notna()]
    for col in ("study_day", "source_row"):
        rows[col] = num(rows[col]) if col in rows else np.nan
    rows = rows.sort_values(["record_id", "timepoint", "study_day", "source_row"], na_position="first")
    rows = rows.drop_duplicates(["record_id", "timepoint"], keep="last")
    return rows[cols].reset_index(drop=True)


def paired_with_baseline(adbds: pd.DataFrame, param: str) -> pd.DataFrame:
    """Post-baseline analysed values joined to the patient's analysed baseline value (see
    :func:`analysed_values`): record_id, timepoint, value, baseline, change (value − baseline)."""
    values = analysed_values(adbds, param)
    base = values[values["timepoint"] == "baseline"][["record_id", "value"]].rename(columns={"value": "baseline"})
    post = values[values["timepoint"] != "baseline"]
    paired = post.merge(base, on="record_id", how="inner")
    paired["change"] = paired["value"] - paired["baseline"]
    return paired.reset_index(drop=True)


def population(adsl: pd.DataFrame, flag: str) -> list:
    """USUBJIDs (record ids) of adsl where the BOOLEAN study variable ``flag`` is True."""
    if adsl is None or adsl.empty:
        return []
    return adsl.loc[truthy(adsl[flag]), "USUBJID"].tolist()
