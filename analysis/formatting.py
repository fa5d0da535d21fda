"""The one rounding rule of everything the study prints (the report, the Table 1 text in outcomes.json).

Precision as a paper prints it: counts as whole numbers, percentages to 1 decimal, p-values to 3 decimals (below
0.001 as "<0.001"), every other number (means, SDs, medians, quartiles, estimates, rates, years) to 2 decimals (Table 1's age and
disease duration to 1, as the published Table 1: :data:`analysis.table1.TABLE1_DECIMALS`).
Ties round half up on the decimal representation (2.675 → "2.68", 0.125 → "0.13", never "-0.00"): Python's
float formatting would round the binary value instead (2.675 → "2.67"). Anything missing (None, NaN, ±inf,
pd.NA) shows as an en dash. Figures in outcomes.json and the ARD stay unrounded.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from analysis._common import fnum

MISSING = "–"
DECIMALS = 2  # any number that is not a count, a percentage or a p-value
PCT_DECIMALS = 1
P_DECIMALS = 3


def is_missing(x: Any) -> bool:
    """None, NaN / ±inf, pd.NA, NaT (and anything ``pd.isna`` calls missing); strings and containers never are."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, float):
        return not math.isfinite(x)
    try:
        return bool(pd.isna(x)) if not isinstance(x, (list, tuple, dict, str)) else False
    except (TypeError, ValueError):
        return False


def fixed(x: Any, digits: int = DECIMALS) -> str:
    """``x`` to ``digits`` decimals, half up ('–' when missing)."""
    value = fnum(x)
    if value is None:
        return MISSING
    quantum = Decimal(1).scaleb(-digits)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def count(x: Any) -> str:
    """A count as a whole number ('18'); '–' when missing."""
    value = fnum(x)
    return MISSING if value is None else str(int(round(value)))


def pct_value(percent: Any, digits: int = PCT_DECIMALS) -> str:
    """A number already in percent: pct_value(72.0) → '72.0%'."""
    value = fnum(percent)
    return MISSING if value is None else f"{fixed(value, digits)}%"


def pct(fraction: Any) -> str:
    """A proportion (0–1) as a percentage: pct(38 / 41) → '92.7%'."""
    value = fnum(fraction)
    return MISSING if value is None else pct_value(100.0 * value)


def n_pct(n: Any, percent: Any) -> str:
    """'23 (56.1%)' from a count and its percentage (0–100); '0 (–)' when the percentage is missing."""
    if fnum(n) is None:
        return MISSING
    return f"{count(n)} ({pct_value(percent)})"


def mean_sd(mean: Any, sd: Any, digits: int = DECIMALS) -> str:
    """mean_sd(18.6829, 7.2612) → '18.68 (7.26)'; SD '–' when missing."""
    if fnum(mean) is None:
        return MISSING
    return f"{fixed(mean, digits)} ({fixed(sd, digits)})"


def median_iqr(median: Any, q1: Any, q3: Any, digits: int = DECIMALS) -> str:
    """'12.00 (8.00–15.25)'; '–' when the median is missing, a missing quartile shown as '–'."""
    if fnum(median) is None:
        return MISSING
    return f"{fixed(median, digits)} ({fixed(q1, digits)}–{fixed(q3, digits)})"


def interval(lower: Any, upper: Any, *, sep: str = " to ", scale: float = 1.0,
             digits: int = DECIMALS) -> str:
    """'15.90 to 20.30' (bounds times ``scale``); '–' if a bound is missing."""
    lo, hi = fnum(lower), fnum(upper)
    if lo is None or hi is None:
        return MISSING
    return f"{fixed(scale * lo, digits)}{sep}{fixed(scale * hi, digits)}"


def pct_interval(lower: Any, upper: Any) -> str:
    """A confidence interval of a proportion (0–1) in percent: '78.9–97.6'."""
    return interval(lower, upper, sep="–", scale=100.0, digits=PCT_DECIMALS)


def fraction(numerator: Any, denominator: Any) -> str:
    """fraction(5, 8) → '5/8'."""
    if fnum(numerator) is None or fnum(denominator) is None:
        return MISSING
    return f"{count(numerator)}/{count(denominator)}"


def p_value(p: Any) -> str:
    """'<0.001' below 0.001, otherwise 3 decimals ('0.012', '1.000'); '–' when missing."""
    value = fnum(p)
    if value is None:
        return MISSING
    threshold = 10.0 ** -P_DECIMALS
    if value < threshold:
        return f"<{fixed(threshold, P_DECIMALS)}"
    return fixed(value, P_DECIMALS)
