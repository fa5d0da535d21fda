"""Linear mixed model of mRSS: hand-computed REML fits, a known slope recovered, degenerate data, and agreement with
statsmodels' MixedLM (the reference) on 2,000 generated patients."""

import math

import numpy as np
import pytest
from analysis_builders import TARGET_DAY, adbds, bds
from mixed_model_reference import differences, statsmodels_model

from analysis.mixed_model import BOUNDARY_WARNING, HESSIAN_WARNING, model_data, mrss_mixed_model

Z_975 = 1.959963984540054
T1 = 365 / 365.25  # month_12's target day in years


def simulated(n_patients=40, intercept=20.0, slope=-1.5, sd_patient=4.0, sd_resid=1.5, seed=7, missing=0.0):
    """Six assessments per patient (each left out with probability ``missing``), days jittered about the target."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_patients):
        u = rng.normal(0, sd_patient)
        for tp in ("baseline", "month_3", "month_12", "month_24", "month_36", "month_60"):
            day = TARGET_DAY[tp] + int(rng.integers(-20, 1 if tp == "baseline" else 21))
            y = intercept + u + slope * day / 365.25 + rng.normal(0, sd_resid)
            if rng.random() >= missing:
                rows.append(bds(f"S{i}", "mrss_total", tp, float(y), study_day=day))
    return rows


def two_visits(values: dict) -> list[dict]:
    return [bds(p, "mrss_total", tp, float(v)) for p, pair in values.items()
            for tp, v in zip(("baseline", "month_12"), pair)]


def effect(estimate, variance):
    se = math.sqrt(variance)
    return {"estimate": pytest.approx(estimate, rel=1e-9), "std_error": pytest.approx(se, rel=1e-9),
            "ci_lower": pytest.approx(estimate - Z_975 * se, rel=1e-9),
            "ci_upper": pytest.approx(estimate + Z_975 * se, rel=1e-9)}


def test_balanced_three_patients_two_visits_by_hand():
    # balanced: REML is the ANOVA solution. Differences -2, -1, -3 (mean -2): within mean square
    # sigma^2 = sum (d - mean)^2 / 2 / ((3 - 1)(2 - 1)) = 0.5; patient means 9, 13.5, 4.5: between mean square
    # 2 * 40.5 / 2 = 40.5, tau^2 = (40.5 - 0.5) / 2 = 20. Fixed effects are OLS: intercept = baseline mean 10,
    # slope = -2 / T1; var(intercept) = (tau^2 + sigma^2) / 3, var(slope) = 2 sigma^2 / 3 / T1^2.
    out = mrss_mixed_model(adbds(two_visits({"A": (10, 8), "B": (14, 13), "C": (6, 3)})))
    assert out["residual_variance"] == pytest.approx(0.5, rel=1e-9)
    assert out["random_intercept_variance"] == pytest.approx(20.0, rel=1e-9)
    assert out["converged"] is True and out["warnings"] == []
    intercept, slope = out["fixed_effects"]
    assert intercept == {"term": "intercept", **effect(10.0, 20.5 / 3),
                         "p_value": pytest.approx(math.erfc(10 / math.sqrt(20.5 / 3) / math.sqrt(2)), rel=1e-9)}
    assert slope == {"term": "time_years", **effect(-2 / T1, 1 / 3 / T1 ** 2),
                     "p_value": pytest.approx(math.erfc(2 / math.sqrt(1 / 3) / math.sqrt(2)), rel=1e-9)}
    # time as categories spans the same columns: same variances; the means 10 and 8, each var (tau^2 + sigma^2) / 3
    by_tp = out["by_timepoint"]
    assert by_tp["residual_variance"] == pytest.approx(0.5, rel=1e-9)
    assert by_tp["random_intercept_variance"] == pytest.approx(20.0, rel=1e-9)
    assert by_tp["estimates"] == [{"timepoint": "baseline", "n_observations": 3, **effect(10.0, 20.5 / 3)},
                                  {"timepoint": "month_12", "n_observations": 3, **effect(8.0, 20.5 / 3)}]


def test_no_between_patient_variance_is_a_boundary_fit_by_hand():
    # patient means all 9.5 (between mean square 0) below the within mean square 2: REML puts tau^2 at 0 and the
    # fit is OLS, sigma^2 = RSS / (n - p) = (0 + 2 + 2) / 4 = 1; var(intercept) = 1 / 3, var(slope) = 2 / 3 / T1^2.
    # As statsmodels says of it: on the boundary, and the likelihood not concave in tau^2 there.
    out = mrss_mixed_model(adbds(two_visits({"A": (10, 9), "B": (11, 8), "C": (9, 10)})))
    assert out["random_intercept_variance"] == 0.0
    assert out["residual_variance"] == pytest.approx(1.0, rel=1e-9)
    assert out["converged"] is False and out["warnings"] == sorted([BOUNDARY_WARNING, HESSIAN_WARNING])
    intercept, slope = out["fixed_effects"]
    assert {k: intercept[k] for k in effect(0, 1)} == effect(10.0, 1 / 3)
    assert {k: slope[k] for k in effect(0, 1)} == effect(-1 / T1, 2 / 3 / T1 ** 2)


def test_recovers_known_slope():
    rows = simulated()
    rows += [bds("S0", "mrss_total", "month_12", 18.0, analysed=False, study_day=400),  # kept: every assessment
             bds("S1", "mrss_total", None, 100.0, study_day=-120),                     # before day −90: dropped
             bds("S2", "mrss_total", "month_24", None, study_day=700),                 # null: dropped
             bds("S3", "haq_di", "baseline", 2.0, study_day=0)]                        # other param
    out = mrss_mixed_model(adbds(rows))
    assert out["n_observations"] == 40 * 6 + 1 and out["n_patients"] == 40
    assert out["converged"] is True
    terms = {f["term"]: f for f in out["fixed_effects"]}
    assert set(terms) == {"intercept", "time_years"}
    slope = terms["time_years"]
    assert slope["estimate"] == pytest.approx(-1.5, abs=0.2)
    assert slope["ci_lower"] < -1.5 < slope["ci_upper"] and slope["p_value"] < 1e-6
    assert terms["intercept"]["estimate"] == pytest.approx(20.0, abs=2.0)
    assert out["random_intercept_variance"] == pytest.approx(16.0, rel=0.5)
    assert out["residual_variance"] == pytest.approx(2.25, rel=0.3)
    means = {e["timepoint"]: e for e in out["by_timepoint"]["estimates"]}
    assert list(means)[:2] == ["baseline", "month_3"]
    assert means["month_60"]["estimate"] == pytest.approx(20.0 - 1.5 * 5, abs=2.0)
    assert means["month_12"]["n_observations"] == 41
    for v in out["fixed_effects"][0].values():
        assert v is None or type(v) in (str, float)


def test_model_data_filter():
    frame = adbds([bds("A", "mrss_total", "baseline", 10, study_day=-90),
                   bds("A", "mrss_total", None, 10, study_day=-91)])
    data = model_data(frame)
    assert len(data) == 1 and data["time_years"].iloc[0] == pytest.approx(-90 / 365.25)


def test_degenerate_data_does_not_raise():
    out = mrss_mixed_model(adbds([bds("A", "mrss_total", "baseline", 10), bds("A", "mrss_total", "month_12", 8)]))
    assert out["converged"] is False and out["fixed_effects"] == [] and out["n_patients"] == 1
    out = mrss_mixed_model(adbds([]))
    assert out["converged"] is False and out["n_observations"] == 0
    # every value the same: nothing left to estimate a variance from; said, never raised
    out = mrss_mixed_model(adbds(two_visits({"A": (10, 10), "B": (10, 10), "C": (10, 10)})))
    for model in (out, out["by_timepoint"]):
        assert model["converged"] is False and model["residual_variance"] is None
        assert model["warnings"] == ["fit failed: the fixed effects fit every value exactly: no residual variance "
                                     "to estimate"]


@pytest.mark.registry
def test_agrees_with_statsmodels_on_2000_patients():
    frame = adbds(simulated(n_patients=2000, seed=2000, missing=0.2))
    ours = mrss_mixed_model(frame)
    assert ours["converged"] and ours["by_timepoint"]["converged"] and ours["n_patients"] == 2000
    assert differences(statsmodels_model(model_data(frame)), ours, rel=1e-6) == []
