"""The one rounding rule of everything the study prints (the report, the Table 1 text in outcomes.json).

Precision as a paper prints it, decided here and only here:

- counts as whole numbers; percentages to 1 decimal; p-values to 3 decimals (below 0.001 as "<0.001");
- a parameter's values (means, SDs, medians, quartiles, changes, model estimates in its unit) to the decimals
  :data:`PARAMETER_DECIMALS` gives it: scores as the published paper prints them (mRSS 18.68 → 12.39, HAQ-DI,
  RCS: 2), % predicted (FVC, DLCO), mmHg (PASP), age and disease duration in years: 1;
- the median and quartiles of a whole-number score (:data:`WHOLE_NUMBER_PARAMETERS`: mRSS, a sum of whole
  site scores) without trailing zeros: "17", "16.5";
- every other number (years of follow-up, rates per 100 patient-years, variances) to 2 decimals.

Ties round half up on the decimal representation (2.675 → "2.68", 0.125 → "0.13", never "-0.00"): Python's
float formatting would round the binary value instead (2.675 → "2.67"). Anything missing (None, NaN, ±inf,
pd.NA) shows as an en dash. Figures in outcomes.json and the ARD stay unrounded. :data:`RULE` says all this in
one sentence for the report.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from analysis._common import fnum

MISSING = "–"
DECIMALS = 2  # any number that is not a count, a percentage, a p-value or a value of a parameter below
PCT_DECIMALS = 1
P_DECIMALS = 3
#: decimals of the values of a parameter (the mart's PARAMCD, or the adsl variable of a Table 1 row) and of
#: their summaries, changes and model estimates; a parameter not listed: :data:`DECIMALS`
PARAMETER_DECIMALS = {"mrss_total": 2, "haq_di": 2, "rcs": 2, "fvc_pct_pred": 1, "dlco_pct_pred": 1,
                      "echo_pasp_mmhg": 1, "AGE": 1, "disease_duration_years": 1}
#: parameters whose values are whole numbers: their medians and quartiles are printed without trailing zeros
WHOLE_NUMBER_PARAMETERS = frozenset({"mrss_total"})
#: how :func:`rule` names the parameters of :data:`PARAMETER_DECIMALS`
_NAMES = {"mrss_total": "mRSS", "haq_di": "HAQ-DI", "rcs": "RCS", "fvc_pct_pred": "FVC (% predicted)",
          "dlco_pct_pred": "DLCO (% predicted)", "echo_pasp_mmhg": "PASP (mmHg)", "AGE": "age (years)",
          "disease_duration_years": "disease duration (years)"}


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


def decimals(parameter: str | None) -> int:
    """Decimals of the values of ``parameter`` (:data:`PARAMETER_DECIMALS`, else :data:`DECIMALS`)."""
    return PARAMETER_DECIMALS.get(parameter or "", DECIMALS)


def value(x: Any, parameter: str | None) -> str:
    """A value of ``parameter`` (a mean, SD, change, estimate) to its decimals: value(77.4737, "fvc_pct_pred")
    → '77.5'."""
    return fixed(x, decimals(parameter))


def median(x: Any, parameter: str | None) -> str:
    """A median or quartile of ``parameter``: its decimals, trailing zeros dropped for a whole-number score
    (median(17.0, "mrss_total") → '17', 16.5 → '16.5'; median(1.125, "haq_di") → '1.13')."""
    text = value(x, parameter)
    if parameter in WHOLE_NUMBER_PARAMETERS and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


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


def n_of(n: Any, denominator: Any, percent: Any) -> str:
    """'7/25 (28.0%)': a count, its denominator and its percentage (0–100) of it; '–' when the count is missing,
    '0/0 (–)' when the percentage is."""
    if fnum(n) is None:
        return MISSING
    return f"{fraction(n, denominator)} ({pct_value(percent)})"


def mean_sd(mean: Any, sd: Any, parameter: str | None = None) -> str:
    """mean_sd(18.6829, 7.2612, "mrss_total") → '18.68 (7.26)', to the parameter's decimals; SD '–' when
    missing."""
    if fnum(mean) is None:
        return MISSING
    return f"{value(mean, parameter)} ({value(sd, parameter)})"


def median_iqr(mid: Any, q1: Any, q3: Any, parameter: str | None = None) -> str:
    """'12.00 (8.00–15.25)' by :func:`median` of ``parameter`` ('12 (8–15.25)' for mRSS); '–' when the median
    is missing, a missing quartile shown as '–'."""
    if fnum(mid) is None:
        return MISSING
    return f"{median(mid, parameter)} ({median(q1, parameter)}–{median(q3, parameter)})"


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


def rule() -> str:
    """The rounding rule in one sentence for readers, from the constants above."""
    by_digits: dict[int, list[str]] = {}
    for parameter, digits in PARAMETER_DECIMALS.items():
        by_digits.setdefault(digits, []).append(_NAMES.get(parameter, parameter))

    def listed(names: list[str]) -> str:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    words = {1: "one decimal", 2: "two decimals", 3: "three decimals"}
    values = "; ".join(f"{listed(names)} to {words.get(d, f'{d} decimals')}" for d, names in sorted(by_digits.items(),
                                                                                               reverse=True))
    whole = listed(sorted(_NAMES.get(p, p) for p in WHOLE_NUMBER_PARAMETERS))
    return (f"Counts are whole numbers, percentages to {words[PCT_DECIMALS]}, p-values to {words[P_DECIMALS]} "
            f"(below {fixed(10.0 ** -P_DECIMALS, P_DECIMALS)} as <{fixed(10.0 ** -P_DECIMALS, P_DECIMALS)}); "
            f"values, means, SDs, medians and changes of {values}; medians of {whole} (a whole-number score) "
            f"without trailing zeros; every other number to {words[DECIMALS]}. Ties are rounded half up.")
