"""Linear mixed model of mRSS over time (every non-null assessment, not only the analysed ones)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from analysis._common import fnum, num, sort_timepoints
from analysis.settings import value

DAYS_PER_YEAR = 365.25
MIN_STUDY_DAY = value("mixed_model.min_study_day")


def model_data(adbds: pd.DataFrame, param: str = "mrss_total", min_study_day: int = MIN_STUDY_DAY) -> pd.DataFrame:
    """record_id (USUBJID), timepoint (AVISIT), study_day (ADY), time_years (ADY / 365.25), value (AVAL) for every
    non-null AVAL of PARAMCD ``param`` with ADY ≥ ``min_study_day``, analysed (ANL01FL) or not."""
    cols = ["record_id", "timepoint", "study_day", "time_years", "value"]
    if adbds is None or adbds.empty:
        return pd.DataFrame(columns=cols)
    rows = adbds[adbds["PARAMCD"] == param].rename(
        columns={"USUBJID": "record_id", "AVISIT": "timepoint", "ADY": "study_day", "AVAL": "value"})
    rows["value"] = num(rows["value"])
    rows["study_day"] = num(rows["study_day"])
    rows = rows[rows["value"].notna() & rows["study_day"].notna() & (rows["study_day"] >= min_study_day)]
    rows["time_years"] = rows["study_day"] / DAYS_PER_YEAR
    rows["record_id"] = rows["record_id"].astype(str)
    return rows[cols].reset_index(drop=True)


def _fit(formula: str, data: pd.DataFrame):
    """REML fit with a random intercept per record_id; (result, converged, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = smf.mixedlm(formula, data, groups=data["record_id"])
        result = model.fit(reml=True)
    messages = sorted({str(w.message) for w in caught if issubclass(w.category, (ConvergenceWarning, RuntimeWarning,
                                                                                   UserWarning))})
    converged = bool(getattr(result, "converged", False)) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught)
    return result, converged, messages


def _fixed_effects(result, names: list[str] | None = None) -> list[dict]:
    params, bse, pvalues = result.fe_params, result.bse_fe, result.pvalues
    ci = result.conf_int().loc[params.index]
    out = []
    for i, term in enumerate(params.index):
        out.append({"term": names[i] if names else str(term), "estimate": fnum(params[term]),
                    "std_error": fnum(bse[term]), "ci_lower": fnum(ci.loc[term].iloc[0]),
                    "ci_upper": fnum(ci.loc[term].iloc[1]), "p_value": fnum(pvalues[term])})
    return out


def _empty(data: pd.DataFrame, reason: str) -> dict:
    return {"n_observations": int(len(data)), "n_patients": int(data["record_id"].nunique()),
            "fixed_effects": [], "random_intercept_variance": None, "residual_variance": None,
            "converged": False, "warnings": [reason]}


def mrss_mixed_model(adbds: pd.DataFrame, param: str = "mrss_total") -> dict:
    """MixedLM ``value ~ time_years`` with a random intercept per patient (REML).

    {n_observations, n_patients, fixed_effects: [{term, estimate, std_error, ci_lower, ci_upper, p_value}],
    random_intercept_variance, residual_variance, converged, warnings, by_timepoint}. ``by_timepoint`` is the
    categorical-time variant (see :func:`timepoint_means`). Never raises on a degenerate fit: converged False.
    """
    data = model_data(adbds, param)
    result = _linear(data)
    result["by_timepoint"] = timepoint_means(data)
    return result


def _linear(data: pd.DataFrame) -> dict:
    if data["record_id"].nunique() < 2 or len(data) < 4 or data["time_years"].nunique() < 2:
        return _empty(data, "too few patients or observations")
    try:
        fit, converged, messages = _fit("value ~ time_years", data)
        cov_re = fit.cov_re
    except Exception as exc:  # singular matrices and the like
        return _empty(data, f"fit failed: {exc}")
    return {"n_observations": int(len(data)), "n_patients": int(data["record_id"].nunique()),
            "fixed_effects": _fixed_effects(fit, ["intercept", "time_years"]),
            "random_intercept_variance": fnum(np.asarray(cov_re)[0, 0]),
            "residual_variance": fnum(fit.scale), "converged": converged, "warnings": messages}


def timepoint_means(data: pd.DataFrame) -> dict:
    """Categorical-time variant: ``value ~ 0 + C(timepoint)`` with a random intercept (REML), on the rows whose
    timepoint is not null; the coefficients are the estimated mean mRSS per timepoint.

    {n_observations, n_patients, estimates: [{timepoint, n_observations, estimate, std_error, ci_lower,
    ci_upper}], random_intercept_variance, residual_variance, converged, warnings}
    """
    data = data[data["timepoint"].notna()].copy()
    order = sort_timepoints(data["timepoint"])
    if data["record_id"].nunique() < 2 or len(data) <= len(order) + 1:
        out = _empty(data, "too few patients or observations")
        out.pop("fixed_effects")
        return {**out, "estimates": []}
    data["tp"] = pd.Categorical(data["timepoint"], categories=order)
    try:
        fit, converged, messages = _fit("value ~ 0 + tp", data)
        cov_re = fit.cov_re
    except Exception as exc:
        out = _empty(data, f"fit failed: {exc}")
        out.pop("fixed_effects")
        return {**out, "estimates": []}
    counts = data["timepoint"].value_counts()
    estimates = []
    for row, tp in zip(_fixed_effects(fit, order), order):
        row.pop("term")
        row.pop("p_value")
        estimates.append({"timepoint": tp, "n_observations": int(counts.get(tp, 0)), **row})
    return {"n_observations": int(len(data)), "n_patients": int(data["record_id"].nunique()),
            "estimates": estimates, "random_intercept_variance": fnum(np.asarray(cov_re)[0, 0]),
            "residual_variance": fnum(fit.scale), "converged": converged, "warnings": messages}
