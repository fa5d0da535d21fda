"""Table 1: baseline characteristics of the infused (adsl) population."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis._common import describe, fnum, num, percent, truthy
from analysis.formatting import count, mean_sd, median_iqr, n_pct

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
#: the adbds parameter (PARAMCD) of each adsl baseline column: its Table 1 row is printed to the decimals of that
#: parameter everywhere in the report (analysis.formatting.PARAMETER_DECIMALS, the one rounding rule)
BASELINE_PARAMETERS = {"baseline_mrss": "mrss_total", "baseline_fvc": "fvc_pct_pred", "baseline_dlco": "dlco_pct_pred",
                       "baseline_pasp": "echo_pasp_mmhg", "baseline_haq_di": "haq_di"}


#: how a continuous row is shown (default: mean (SD))
DISPLAY = {"AGE": "mean_sd_median_iqr", "disease_duration_years": "median_iqr"}


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


def _continuous_row(adsl, col, label) -> dict:
    values = _numeric(adsl, col)
    stats = describe(values)
    q1, q3 = _quartiles(values)
    stats.update({"q1": q1, "q3": q3})
    return {"parameter": col, "group": None, "characteristic": label, "n": stats["n"], "raw": stats}


def _share(col, group, label, count: int, denominator: int) -> dict:
    return {"parameter": col, "group": group, "characteristic": label, "n": denominator,
            "raw": {"count": count, "denominator": denominator, "pct": percent(count, denominator)}}


def _binary_row(adsl, col, label) -> dict:
    """count True over patients with the flag recorded (non-null)."""
    if col not in adsl:
        return _share(col, None, label, 0, 0)
    return _share(col, None, label, int(truthy(adsl[col]).sum()), int(adsl[col].notna().sum()))


def _category_row(adsl, col, level, label) -> dict:
    return _share(col, level, label, int((adsl[col] == level).sum()), int(adsl[col].notna().sum()))


def table1(adsl: pd.DataFrame) -> dict:
    """{n, rows: [{parameter (adsl column; None for the patient count), group (the level of a categorical
    column, else None), characteristic (label), n (patients with data), raw: {...numbers}}]}.

    raw is {count} for the patient count, {count, denominator, pct} for a category or a flag (the denominator:
    patients with the item recorded), {n, mean, sd, median, q1, q3} for a continuous column (numpy linear
    quartiles). Requires the adsl columns named in SUBTYPES, AUTOANTIBODIES, ORGANS, PRIOR, BASELINE_MEASURES
    (a missing flag column counts 0 of 0), SEX (CDISC 'F'/'M'), ssc_subtype, AGE, disease_duration_years.
    """
    n = int(len(adsl))
    rows = [{"parameter": None, "group": None, "characteristic": "Patients", "n": n, "raw": {"count": n}},
            _continuous_row(adsl, "AGE", "Age (years)"),
            _category_row(adsl, "SEX", "F", "Female")]
    subtypes = list(SUBTYPES) + sorted(set(adsl["ssc_subtype"].dropna()) - set(SUBTYPES)) if n else list(SUBTYPES)
    rows += [_category_row(adsl, "ssc_subtype", s, s) for s in subtypes]
    rows.append(_continuous_row(adsl, "disease_duration_years", "Disease duration (years)"))
    rows += [_binary_row(adsl, col, label) for col, label in AUTOANTIBODIES + ORGANS + PRIOR]
    rows += [_continuous_row(adsl, col, label) for col, label in BASELINE_MEASURES]
    return {"n": n, "rows": rows}


def shown(parameter: str | None, raw: dict) -> str:
    """The printed value of a Table 1 row from its raw numbers: 'k (p%)' for a category or flag, the count for the
    patient count, else mean (SD), median (IQR) or both, as :data:`DISPLAY` says, to the decimals the rounding
    rule gives the row's parameter (the adsl column, or for a baseline measure its :data:`BASELINE_PARAMETERS`)."""
    param = BASELINE_PARAMETERS.get(parameter or "", parameter)
    if "denominator" in raw:
        return n_pct(raw["count"], raw["pct"])
    if "mean" not in raw:
        return count(raw["count"])
    display = DISPLAY.get(parameter, "mean_sd")
    if display == "median_iqr":
        return median_iqr(raw["median"], raw["q1"], raw["q3"], param)
    text = mean_sd(raw["mean"], raw["sd"], param)
    if display == "mean_sd_median_iqr":
        text += f"; median {median_iqr(raw['median'], raw['q1'], raw['q3'], param)}"
    return text
