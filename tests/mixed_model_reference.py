"""statsmodels' MixedLM as the reference for ``analysis.mixed_model``: the same two random-intercept models, fitted
with ``MixedLM.fit(reml=True)`` and reported in the same shape as ``mrss_mixed_model``, and a comparison of every
reported number.

The reference is fitted with ``gtol=1e-8``: statsmodels' default (1e-5, on the log-likelihood per observation) stops
BFGS short of the REML maximum, leaving the variances about 1e-4 (demo) and 5e-5 (2,000 patients) from it (relative);
at 1e-8 it reaches it to 1e-8 and still converges (at 1e-10 BFGS gives up on the timepoint model).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from analysis._common import sort_timepoints

#: BFGS gradient tolerance of the reference fit (module docstring)
GTOL = 1e-8


def _fit(formula: str, data: pd.DataFrame, names: list[str]) -> dict:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = smf.mixedlm(formula, data, groups=data["record_id"]).fit(reml=True, gtol=GTOL)
    params, ci = fit.fe_params, fit.conf_int().loc[fit.fe_params.index]
    effects = [{"term": name, "estimate": params[t], "std_error": fit.bse_fe[t], "ci_lower": ci.loc[t].iloc[0],
                "ci_upper": ci.loc[t].iloc[1], "p_value": fit.pvalues[t]} for name, t in zip(names, params.index)]
    return {"n_observations": len(data), "n_patients": data["record_id"].nunique(), "fixed_effects": effects,
            "random_intercept_variance": np.asarray(fit.cov_re)[0, 0], "residual_variance": fit.scale,
            "converged": bool(fit.converged) and not any(issubclass(w.category, ConvergenceWarning) for w in caught)}


def statsmodels_model(data: pd.DataFrame) -> dict:
    """``value ~ time_years`` and ``value ~ 0 + C(timepoint)`` with a random intercept per record_id, as
    ``mrss_mixed_model`` reports them (without the warnings) on ``model_data`` rows ``data``."""
    linear = _fit("value ~ time_years", data, ["intercept", "time_years"])
    data = data[data["timepoint"].notna()].copy()
    order = sort_timepoints(data["timepoint"])
    data["tp"] = pd.Categorical(data["timepoint"], categories=order)
    by_tp = _fit("value ~ 0 + tp", data, order)
    counts = data["timepoint"].value_counts()
    by_tp["estimates"] = [{"timepoint": e["term"], "n_observations": int(counts[e["term"]]),
                           **{k: v for k, v in e.items() if k not in ("term", "p_value")}}
                          for e in by_tp.pop("fixed_effects")]
    return {**linear, "by_timepoint": by_tp}


def differences(reference, ours, rel: float, path: str = "$") -> list[str]:
    """Where ``ours`` differs from ``reference``: numbers beyond relative tolerance ``rel`` (p-values below 1e-300
    both count as 0), anything else unequal; keys of ``ours`` not in ``reference`` (the warnings) are skipped."""
    if isinstance(reference, dict):
        return [d for k in reference for d in differences(reference[k], ours.get(k), rel, f"{path}.{k}")]
    if isinstance(reference, list):
        if len(reference) != len(ours):
            return [f"{path}: {len(ours)} items, reference {len(reference)}"]
        return [d for i, (r, o) in enumerate(zip(reference, ours)) for d in differences(r, o, rel, f"{path}[{i}]")]
    if isinstance(reference, (float, np.floating)) and not isinstance(reference, bool):
        if ours is None or not math.isclose(float(reference), ours, rel_tol=rel, abs_tol=1e-300):
            return [f"{path}: {ours!r}, reference {float(reference)!r}"]
        return []
    return [] if reference == ours else [f"{path}: {ours!r}, reference {reference!r}"]
