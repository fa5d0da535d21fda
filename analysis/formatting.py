"""Paper-style formatting for the report (half-up rounding, as printed in papers)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from analysis._common import fnum

MISSING = "–"


def fixed(x, digits: int = 2) -> str:
    """``x`` to ``digits`` decimals, rounding half up on the decimal representation; '–' when missing."""
    value = fnum(x)
    if value is None:
        return MISSING
    quantum = Decimal(1).scaleb(-digits)
    text = str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and Decimal(text) == 0 else text


def pct(fraction, digits: int = 1) -> str:
    """A proportion (0–1) as a percentage: pct(38/41) → '92.7%'."""
    value = fnum(fraction)
    return MISSING if value is None else f"{fixed(100.0 * value, digits)}%"


def pct_value(percent, digits: int = 1) -> str:
    """A number already in percent: pct_value(72.0) → '72.0%'."""
    value = fnum(percent)
    return MISSING if value is None else f"{fixed(value, digits)}%"


def n_pct(count, denominator, digits: int = 1) -> str:
    """'23 (56.1%)'; the count alone with '(–)' when the denominator is 0."""
    if count is None:
        return MISSING
    if not denominator:
        return f"{int(count)} ({MISSING})"
    return f"{int(count)} ({pct(count / denominator, digits)})"


def mean_sd(mean, sd, digits: int = 2) -> str:
    """mean_sd(18.6829, 7.2612) → '18.68 (7.26)'; SD '–' when missing."""
    if fnum(mean) is None:
        return MISSING
    return f"{fixed(mean, digits)} ({fixed(sd, digits)})"


def median_iqr(median, q1, q3, digits: int = 1) -> str:
    """'12.0 (8.0–15.0)'."""
    if fnum(median) is None:
        return MISSING
    return f"{fixed(median, digits)} ({fixed(q1, digits)}–{fixed(q3, digits)})"


def fraction(numerator, denominator) -> str:
    """fraction(5, 8) → '5/8'."""
    if numerator is None or denominator is None:
        return MISSING
    return f"{int(numerator)}/{int(denominator)}"


def estimate_ci(estimate, lower, upper, digits: int = 2) -> str:
    """'0.93 (0.79–0.98)'."""
    if fnum(estimate) is None:
        return MISSING
    return f"{fixed(estimate, digits)} ({fixed(lower, digits)}–{fixed(upper, digits)})"


def p_value(p, digits: int = 3) -> str:
    """'<0.001' below 0.001, otherwise ``digits`` decimals ('0.012', '1.000'); '–' when missing."""
    value = fnum(p)
    if value is None:
        return MISSING
    threshold = 10.0 ** -digits
    if value < threshold:
        return f"<{fixed(threshold, digits)}"
    return fixed(value, digits)
