"""Linear mixed model of mRSS over time (every non-null assessment, not only the analysed ones).

The random-intercept model is fitted by profiled REML on per-patient sufficient statistics
(:func:`random_intercept_reml`), in time linear in the number of assessments. It reports what statsmodels'
``MixedLM.fit(reml=True)`` reports, the reference the tests compare it with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis._common import fnum, num, sort_timepoints
from analysis.settings import value

DAYS_PER_YEAR = 365.25
MIN_STUDY_DAY = value("mixed_model.min_study_day")

#: as statsmodels MixedLM: a random-intercept variance below this (outcome units squared) is reported as a fit on
#: the boundary of the parameter space, and the fit as not converged
BOUNDARY_VARIANCE = 0.01
BOUNDARY_WARNING = "The MLE may be on the boundary of the parameter space."
HESSIAN_WARNING = "The Hessian matrix at the estimated parameter values is not positive definite."
#: the variance ratio gamma = tau^2 / sigma^2 is searched as rho = gamma / (1 + gamma) in [0, RHO_MAX]
RHO_MAX = 1 - 1e-12
#: two-sided 95 % normal quantile (statsmodels' conf_int and p-values use the normal, z, distribution)
Z_95 = stats.norm.ppf(0.975)


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


@dataclass(frozen=True)
class RandomInterceptFit:
    """A REML fit of :func:`random_intercept_reml`: ``fe_params`` (p,) and their covariance ``cov_fe`` (p, p);
    ``residual_variance`` sigma^2 and ``random_intercept_variance`` tau^2 (outcome units squared)."""

    fe_params: np.ndarray
    cov_fe: np.ndarray
    residual_variance: float
    random_intercept_variance: float
    converged: bool
    warnings: list[str]


@dataclass(frozen=True)
class _Sums:
    """Sufficient statistics: per group (G groups) n_i (G,), sum of the X rows (G, p), sum of y (G,); over all N
    rows X'X (p, p), X'y (p,), y'y."""

    n: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    xtx: np.ndarray
    xty: np.ndarray
    yty: float

    @property
    def dof(self) -> int:  # N - p, the REML degrees of freedom
        return int(self.n.sum()) - self.xtx.shape[0]


def _sums(exog: np.ndarray, endog: np.ndarray, groups) -> _Sums:
    codes, labels = pd.factorize(pd.Series(groups), sort=False)
    g = len(labels)
    sx = np.column_stack([np.bincount(codes, weights=col, minlength=g) for col in exog.T])
    return _Sums(np.bincount(codes, minlength=g).astype(float), sx, np.bincount(codes, weights=endog, minlength=g),
                 exog.T @ exog, exog.T @ endog, float(endog @ endog))


def _gls(gamma: float, s: _Sums):
    """GLS at V_i = I + gamma J (J all ones): beta (p,), A = X'V^-1 X (p, p), R = r'V^-1 r, per-group sums of
    the residuals r = y - X beta (G,). V_i^-1 = I - gamma / (1 + n_i gamma) J."""
    c = gamma / (1 + s.n * gamma)
    a = s.xtx - (s.sx * c[:, None]).T @ s.sx
    b = s.xty - s.sx.T @ (c * s.sy)
    beta = np.linalg.solve(a, b)
    resid = s.yty - c @ s.sy ** 2 - beta @ b
    return beta, a, resid, s.sy - s.sx @ beta


def _profiled_reml(gamma: float, s: _Sums) -> float:
    """REML log-likelihood profiled over beta and sigma^2, up to a constant:
    -(sum log(1 + n_i gamma) + (N - p) log R + log det A) / 2 (det V_i = 1 + n_i gamma)."""
    _, a, resid, _ = _gls(gamma, s)
    return -0.5 * (np.log1p(s.n * gamma).sum() + s.dof * np.log(resid) + np.linalg.slogdet(a)[1])


def _reml_score(gamma: float, s: _Sums) -> float:
    """d/dgamma of :func:`_profiled_reml`, with w_i = 1 / (1 + n_i gamma), dR/dgamma = -sum (w_i sr_i)^2 (envelope
    theorem) and dA/dgamma = -sum w_i^2 sx_i sx_i'."""
    _, a, resid, sr = _gls(gamma, s)
    w = 1 / (1 + s.n * gamma)
    g = (s.sx * (w ** 2)[:, None]).T @ s.sx
    return 0.5 * (-(s.n * w).sum() + s.dof * (w * sr) @ (w * sr) / resid + np.trace(np.linalg.solve(a, g)))


def _hessian(gamma: float, s: _Sums) -> np.ndarray:
    """Hessian (p + 1, p + 1) of the REML log-likelihood profiled over sigma^2 only, in (beta, gamma), at the GLS
    beta: statsmodels' ``MixedLM.hessian`` for one random intercept, in closed form."""
    _, a, resid, sr = _gls(gamma, s)
    w, fac = 1 / (1 + s.n * gamma), s.dof
    g = (s.sx * (w ** 2)[:, None]).T @ s.sx
    f = 2 * (s.sx * (s.n * w ** 3)[:, None]).T @ s.sx
    q = np.linalg.solve(a, g)
    b2 = (w * sr) @ (w * sr)
    h_gg = (0.5 * (s.n * w) @ (s.n * w) - 0.5 * fac * (2 * (s.n * w ** 3) @ sr ** 2 / resid - b2 ** 2 / resid ** 2)
            + 0.5 * (np.trace(q @ q) - np.trace(np.linalg.solve(a, f))))
    h_bg = -fac / resid * (s.sx.T @ (w ** 2 * sr))
    return np.block([[-fac * a / resid, h_bg[:, None]], [h_bg[None, :], np.array([[h_gg]])]])


def _maximise(s: _Sums) -> float:
    """gamma maximising :func:`_profiled_reml` on [0, RHO_MAX / (1 - RHO_MAX)]: scipy's bounded scalar
    optimiser over rho = gamma / (1 + gamma), polished to machine precision by a root of :func:`_reml_score`
    (the bounded search alone locates a maximum only to about the square root of machine precision)."""
    found = optimize.minimize_scalar(lambda rho: -_profiled_reml(rho / (1 - rho), s), bounds=(0.0, RHO_MAX),
                                     method="bounded", options={"xatol": 1e-12})
    gamma = found.x / (1 - found.x)
    for width in (1e-6, 1e-4, 1e-2):
        lo, hi = gamma * (1 - width), gamma * (1 + width)
        if gamma > 0 and _reml_score(lo, s) > 0 > _reml_score(hi, s):
            gamma = optimize.brentq(_reml_score, lo, hi, args=(s,), xtol=1e-300)
            break
    return 0.0 if _profiled_reml(0.0, s) >= _profiled_reml(gamma, s) else gamma


def random_intercept_reml(exog: np.ndarray, endog: np.ndarray, groups) -> RandomInterceptFit:
    """REML fit of y_ij = x_ij' beta + u_i + e_ij, u_i ~ N(0, tau^2), e_ij ~ N(0, sigma^2), all independent.

    ``exog`` (N, p) fixed-effects design of full column rank, ``endog`` (N,) the outcome, ``groups`` (N,) the
    group (patient) of each row. The marginal covariance of group i is sigma^2 (I + gamma J), gamma =
    tau^2 / sigma^2, whose inverse (I - gamma / (1 + n_i gamma) J) and determinant (1 + n_i gamma) have closed
    forms, so the REML log-likelihood profiled over beta and sigma^2 is a function of gamma alone, costing O(G p^2)
    per evaluation on per-group sums (Harville 1977, J Am Stat Assoc 72:320; Pinheiro & Bates 2000, Mixed-Effects
    Models in S and S-PLUS, ch. 2.2; Bates et al. 2015, J Stat Softw 67(1), section 3). Building the sums costs
    O(N p). Then beta is the GLS estimate, sigma^2 = r'V^-1 r / (N - p), tau^2 = gamma sigma^2, and cov(beta)
    the fixed-effects block of the inverse negative Hessian in (beta, gamma), as statsmodels ``MixedLM`` reports.

    As statsmodels, not converged: with :data:`BOUNDARY_WARNING` when tau^2 < :data:`BOUNDARY_VARIANCE`, with
    :data:`HESSIAN_WARNING` when a diagonal element of the Hessian is not negative. Raises ValueError when the fixed
    effects fit every value exactly (no residual variance) and numpy.linalg.LinAlgError when ``exog`` is
    rank-deficient.
    """
    exog, endog = np.asarray(exog, dtype=float), np.asarray(endog, dtype=float)
    s = _sums(exog, endog, groups)
    if _gls(0.0, s)[2] <= 1e-12 * s.yty:
        raise ValueError("the fixed effects fit every value exactly: no residual variance to estimate")
    gamma = _maximise(s)
    beta, _, resid, _ = _gls(gamma, s)
    scale = resid / s.dof
    hessian = _hessian(gamma, s)
    messages = set()
    if gamma * scale < BOUNDARY_VARIANCE:
        messages.add(BOUNDARY_WARNING)
    if np.any(np.diag(hessian) >= 0):
        messages.add(HESSIAN_WARNING)
    p = exog.shape[1]
    return RandomInterceptFit(beta, np.linalg.inv(-hessian)[:p, :p], float(scale), float(gamma * scale),
                              not messages, sorted(messages))


def _fixed_effects(fit: RandomInterceptFit, names: list[str]) -> list[dict]:
    """Estimate, standard error, 95 % CI and two-sided p-value per term, on the normal (z) distribution."""
    se = np.sqrt(np.diag(fit.cov_fe))
    z = fit.fe_params / se
    return [{"term": name, "estimate": fnum(b), "std_error": fnum(e), "ci_lower": fnum(b - Z_95 * e),
             "ci_upper": fnum(b + Z_95 * e), "p_value": fnum(2 * stats.norm.sf(abs(t)))}
            for name, b, e, t in zip(names, fit.fe_params, se, z)]


def _empty(data: pd.DataFrame, reason: str) -> dict:
    return {"n_observations": int(len(data)), "n_patients": int(data["record_id"].nunique()),
            "fixed_effects": [], "random_intercept_variance": None, "residual_variance": None,
            "converged": False, "warnings": [reason]}


def mrss_mixed_model(adbds: pd.DataFrame, param: str = "mrss_total") -> dict:
    """Linear mixed model ``value ~ 1 + time_years + (1 | record_id)`` (REML; time in years, value in mRSS
    points), fitted by :func:`random_intercept_reml`.

    {n_observations, n_patients, fixed_effects: [{term, estimate, std_error, ci_lower, ci_upper, p_value}],
    random_intercept_variance, residual_variance (points^2), converged, warnings, by_timepoint}. ``by_timepoint``
    is the categorical-time variant (see :func:`timepoint_means`). Never raises on a degenerate fit: converged
    False.
    """
    data = model_data(adbds, param)
    result = _linear(data)
    result["by_timepoint"] = timepoint_means(data)
    return result


def _model(data: pd.DataFrame, exog: np.ndarray) -> tuple[RandomInterceptFit | None, dict]:
    """The fit and the model's summary fields, or (None, the empty summary) when the fit fails."""
    try:
        fit = random_intercept_reml(exog, data["value"].to_numpy(float), data["record_id"].to_numpy())
    except (ValueError, np.linalg.LinAlgError) as exc:  # singular designs and the like
        return None, _empty(data, f"fit failed: {exc}")
    return fit, {"n_observations": int(len(data)), "n_patients": int(data["record_id"].nunique()),
                 "random_intercept_variance": fnum(fit.random_intercept_variance),
                 "residual_variance": fnum(fit.residual_variance), "converged": fit.converged,
                 "warnings": fit.warnings}


def _linear(data: pd.DataFrame) -> dict:
    if data["record_id"].nunique() < 2 or len(data) < 4 or data["time_years"].nunique() < 2:
        return _empty(data, "too few patients or observations")
    time = data["time_years"].to_numpy(float)
    fit, out = _model(data, np.column_stack([np.ones_like(time), time]))
    if fit is None:
        return out
    return {**out, "fixed_effects": _fixed_effects(fit, ["intercept", "time_years"])}


def timepoint_means(data: pd.DataFrame) -> dict:
    """Categorical-time variant: ``value ~ 0 + timepoint + (1 | record_id)`` (REML), on the rows whose timepoint
    is not null; the coefficients are the estimated mean mRSS per timepoint.

    {n_observations, n_patients, estimates: [{timepoint, n_observations, estimate, std_error, ci_lower,
    ci_upper}], random_intercept_variance, residual_variance, converged, warnings}
    """
    data = data[data["timepoint"].notna()]
    order = sort_timepoints(data["timepoint"].unique())
    if data["record_id"].nunique() < 2 or len(data) <= len(order) + 1:
        out = _empty(data, "too few patients or observations")
        out.pop("fixed_effects")
        return {**out, "estimates": []}
    codes = pd.Categorical(data["timepoint"], categories=order).codes
    fit, out = _model(data, (codes[:, None] == np.arange(len(order))).astype(float))
    out.pop("fixed_effects", None)
    if fit is None:
        return {**out, "estimates": []}
    counts = data["timepoint"].value_counts()
    estimates = []
    for row, tp in zip(_fixed_effects(fit, order), order):
        row.pop("term")
        row.pop("p_value")
        estimates.append({"timepoint": tp, "n_observations": int(counts.get(tp, 0)), **row})
    return {**out, "estimates": estimates}
