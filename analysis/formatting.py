"""Paper-style formatting (half-up rounding, as printed in papers) and missing-value handling for display.

The single home of number formatting: ``report.formatting`` calls these with ``half_up=False`` (Python's own
float formatting, as the report has always printed) instead of keeping a copy of its own.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from analysis._common import fnum

MISSING = "–"


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


def fixed(x, digits: int = 2, *, half_up: bool = True) -> str:
    """``x`` to ``digits`` decimals; '–' when missing.

    ``half_up`` (the default) rounds half up on the decimal representation (2.675 → '2.68', no '-0.00');
    ``half_up=False`` is Python's float formatting (round-half-even on the binary value, '-0.00' kept)."""
    value = fnum(x)
    if value is None:
        return MISSING
    if not half_up:
        return f"{value:.{digits}f}"
    quantum = Decimal(1).scaleb(-digits)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def count(x) -> str:
    """A count as a whole number ('18'); '–' when missing."""
    value = fnum(x)
    return MISSING if value is None else str(int(round(value)))


def pct(fraction, digits: int = 1, *, half_up: bool = True) -> str:
    """A proportion (0–1) as a percentage: pct(38/41) → '92.7%'."""
    value = fnum(fraction)
    return MISSING if value is None else pct_value(100.0 * value, digits, half_up=half_up)


def pct_value(percent, digits: int = 1, *, half_up: bool = True) -> str:
    """A number already in percent: pct_value(72.0) → '72.0%'."""
    value = fnum(percent)
    return MISSING if value is None else f"{fixed(value, digits, half_up=half_up)}%"


def n_pct(n, denominator, digits: int = 1, *, half_up: bool = True, bare_count: bool = False) -> str:
    """'23 (56.1%)'. Without a usable denominator (0 / missing) the count with '(–)', or alone if ``bare_count``."""
    k, d = fnum(n), fnum(denominator)
    if k is None:
        return MISSING
    if not d:
        return count(k) if bare_count else f"{count(k)} ({MISSING})"
    return f"{count(k)} ({pct_value(100.0 * k / d, digits, half_up=half_up)})"


def mean_sd(mean, sd, digits: int = 2, *, half_up: bool = True) -> str:
    """mean_sd(18.6829, 7.2612) → '18.68 (7.26)'; SD '–' when missing."""
    if fnum(mean) is None:
        return MISSING
    return f"{fixed(mean, digits, half_up=half_up)} ({fixed(sd, digits, half_up=half_up)})"


def _with_range(centre, lower, upper, digits: int) -> str:
    """'centre (lower–upper)'; '–' when the centre is missing, a missing bound shown as '–'."""
    if fnum(centre) is None:
        return MISSING
    return f"{fixed(centre, digits)} ({fixed(lower, digits)}–{fixed(upper, digits)})"


def median_iqr(median, q1, q3, digits: int = 1) -> str:
    """'12.0 (8.0–15.0)'."""
    return _with_range(median, q1, q3, digits)


def estimate_ci(estimate, lower, upper, digits: int = 2) -> str:
    """'0.93 (0.79–0.98)'."""
    return _with_range(estimate, lower, upper, digits)


def interval(lower, upper, digits: int = 2, *, sep: str = "–", scale: float = 1.0, half_up: bool = True) -> str:
    """'0.79–0.98' (bounds times ``scale``, e.g. 100 for a proportion shown in percent); '–' if a bound is missing."""
    lo, hi = fnum(lower), fnum(upper)
    if lo is None or hi is None:
        return MISSING
    return f"{fixed(scale * lo, digits, half_up=half_up)}{sep}{fixed(scale * hi, digits, half_up=half_up)}"


def fraction(numerator, denominator) -> str:
    """fraction(5, 8) → '5/8'."""
    if numerator is None or denominator is None:
        return MISSING
    return f"{int(numerator)}/{int(denominator)}"


def p_value(p, digits: int = 3, *, half_up: bool = True) -> str:
    """'<0.001' below 0.001, otherwise ``digits`` decimals ('0.012', '1.000'); '–' when missing."""
    value = fnum(p)
    if value is None:
        return MISSING
    threshold = 10.0 ** -digits
    if value < threshold:
        return f"<{fixed(threshold, digits, half_up=half_up)}"
    return fixed(value, digits, half_up=half_up)
