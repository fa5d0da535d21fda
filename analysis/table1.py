"""Table 1: baseline characteristics of the infused (adsl) population."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._common import describe, fnum, num, truthy
from analysis.formatting import mean_sd, median_iqr, n_pct

SUBTYPES = ("Diffuse cutaneous SSc", "Limited cutaneous SSc", "SSc sine scleroderma")
AUTOANTIBODIES = (("ab_scl70", "Anti-Scl-70 (topoisomerase I)"), ("ab_centromere", "Anti-centromere"),
                  ("ab_rnapol3", "Anti-RNA polymerase III"), ("ab_u1rnp", "Anti-U1-RNP"), ("ab_ana", "ANA"))
ORGANS = (("ild_baseline", "Interstitial lung disease"), ("pah_baseline", "Pulmonary arterial hypertension"),
          ("digital_ulcers_baseline", "Digital ulcers"))
PRIOR = (("prior_cyclophosphamide", "Prior cyclophosphamide"), ("prior_mmf", "Prior mycophenolate mofetil"),
         ("prior_methotrexate", "Prior methotrexate"), ("prior_glucocorticoids", "Prior glucocorticoids"),
         ("prior_other", "Prior other immunosuppressant"))
BASELINE_MEASURES = (("baseline_mrss", "Baseline mRSS"), ("baseline_fvc", "Baseline FVC (% predicted)"),
                     ("baseline_dlco", "Baseline DLCO (% predicted)"), ("baseline_pasp", "Baseline PASP (mmHg)"),
                     ("baseline_haq_di", "Baseline HAQ-DI"))


def _numeric(adsl: pd.DataFrame, col: str) -> np.ndarray:
    if col not in adsl:
        return np.array([], dtype=float)
    values = num(adsl[col])
    return values[values.notna()].to_numpy(dtype=float)


def _quartiles(values: np.ndarray) -> tuple[float | None, float | None]:
    if values.size == 0:
        return None, None
    q1, q3 = np.percentile(values, [25, 75])  # linear interpolation (numpy's default, type 7)
    return fnum(q1), fnum(q3)


def _continuous_row(adsl, col, label, style: str) -> dict:
    values = _numeric(adsl, col)
    stats = describe(values)
    q1, q3 = _quartiles(values)
    stats.update({"q1": q1, "q3": q3})
    if style == "median":
        value = median_iqr(stats["median"], q1, q3, 1)
    elif style == "mean+median":
        value = f"{mean_sd(stats['mean'], stats['sd'], 1)}; median {median_iqr(stats['median'], q1, q3, 1)}"
    else:
        value = mean_sd(stats["mean"], stats["sd"], 2)
    return {"characteristic": label, "value": value, "n": stats["n"], "raw": stats}


def _binary_row(adsl, col, label) -> dict:
    """count True over patients with the flag recorded (non-null)."""
    if col not in adsl:
        return {"characteristic": label, "value": n_pct(0, 0), "n": 0,
                "raw": {"count": 0, "denominator": 0, "pct": None}}
    known = adsl[col].notna()
    count, denominator = int(truthy(adsl[col]).sum()), int(known.sum())
    return {"characteristic": label, "value": n_pct(count, denominator), "n": denominator,
            "raw": {"count": count, "denominator": denominator,
                    "pct": 100.0 * count / denominator if denominator else None}}


def _category_row(adsl, col, level, label) -> dict:
    known = adsl[col].notna()
    count, denominator = int((adsl[col] == level).sum()), int(known.sum())
    return {"characteristic": label, "value": n_pct(count, denominator), "n": denominator,
            "raw": {"count": count, "denominator": denominator,
                    "pct": 100.0 * count / denominator if denominator else None}}


def table1(adsl: pd.DataFrame) -> dict:
    """{n, rows: [{characteristic, value (preformatted), n (patients with data), raw: {...numbers}}]}.

    Percentages use the patients with the item recorded as denominator (shown as the row's n). Age: mean (SD)
    and median (IQR); disease duration: median (IQR); baseline measures: mean (SD). IQR: numpy linear quartiles.
    """
    n = int(len(adsl))
    rows = [{"characteristic": "Patients", "value": str(n), "n": n, "raw": {"count": n}},
            _continuous_row(adsl, "age_years", "Age (years)", "mean+median"),
            _category_row(adsl, "sex", "Female", "Female")]
    subtypes = list(SUBTYPES) + sorted(set(adsl["ssc_subtype"].dropna()) - set(SUBTYPES)) if n else list(SUBTYPES)
    rows += [_category_row(adsl, "ssc_subtype", s, s) for s in subtypes]
    rows.append(_continuous_row(adsl, "disease_duration_years", "Disease duration (years)", "median"))
    rows += [_binary_row(adsl, col, label) for col, label in AUTOANTIBODIES + ORGANS + PRIOR]
    rows += [_continuous_row(adsl, col, label, "mean") for col, label in BASELINE_MEASURES]
    return {"n": n, "rows": rows}
