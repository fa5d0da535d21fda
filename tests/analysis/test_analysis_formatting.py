"""The one rounding rule: counts whole, percentages 1 decimal, p-values 3 decimals or "<0.001", a parameter's values
to its decimals (mRSS 2, FVC 1, ...; mRSS medians without trailing zeros), every other number 2 decimals, ties half
up on the decimal representation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import formatting as f


def test_examples():
    assert f.pct(38 / 41) == "92.7%"
    assert f.pct_value(72.0) == "72.0%"
    assert f.mean_sd(18.6829, 7.2612) == "18.68 (7.26)"
    assert f.mean_sd(18.6829, None) == "18.68 (–)"
    assert f.fraction(5, 8) == "5/8" and f.fraction(None, 8) == "–"
    assert f.n_pct(23, 100 * 23 / 41) == "23 (56.1%)"
    assert f.n_pct(0, None) == "0 (–)" and f.n_pct(None, 10.0) == "–"
    assert f.median_iqr(12, 8, 15.25) == "12.00 (8.00–15.25)"
    assert f.median_iqr(12, 8, 15.25, "AGE") == "12.0 (8.0–15.3)"  # 15.25 half up
    assert f.interval(15.9, 20.3) == "15.90 to 20.30"
    assert f.pct_interval(0.789, 0.976) == "78.9–97.6"
    assert f.count(41.0) == "41" and f.count(None) == "–"


@pytest.mark.parametrize("p, text", [(0.0004, "<0.001"), (0.001, "0.001"), (0.01249, "0.012"), (0.0125, "0.013"),
                                     (1.0, "1.000"), (None, "–"), (float("nan"), "–")])
def test_p_value(p, text):
    assert f.p_value(p) == text


def test_half_up_and_negative_zero():
    assert f.fixed(2.675) == "2.68"   # the binary float is below 2.675: Python's formatting gives 2.67
    assert f.fixed(0.125) == "0.13"   # an exact binary half: Python's formatting rounds to even, 0.12
    assert f.fixed(1.125) == "1.13"
    assert f.fixed(-0.001) == "0.00"
    assert f.pct_value(12.25) == "12.3%"
    assert f.fixed(None) == "–" and f.fixed(float("inf")) == "–"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_fixed_is_within_half_unit(x):
    assert abs(float(f.fixed(x)) - x) <= 0.005 + 1e-9


def test_parameters_print_to_their_own_decimals():
    """As the paper prints them: mRSS 18.68 (7.26), FVC % predicted and PASP mmHg to 1 decimal, HAQ-DI to 2; an
    mRSS median without trailing zeros (a sum of whole site scores), other medians to the parameter's decimals."""
    assert f.mean_sd(18.6829, 7.2612, "mrss_total") == "18.68 (7.26)"
    assert f.mean_sd(77.4737, 14.2512, "fvc_pct_pred") == "77.5 (14.3)"
    assert f.mean_sd(29.1707, 10.6509, "echo_pasp_mmhg") == "29.2 (10.7)"
    assert f.mean_sd(1.2335, 0.4812, "haq_di") == "1.23 (0.48)"
    assert f.value(-0.8, "fvc_pct_pred") == "-0.8" and f.value(5.7234, None) == "5.72"
    assert f.median(17.0, "mrss_total") == "17" and f.median(16.5, "mrss_total") == "16.5"
    assert f.median(16.25, "mrss_total") == "16.25" and f.median(20.0, "mrss_total") == "20"
    assert f.median(1.125, "haq_di") == "1.13" and f.median(80.7, "fvc_pct_pred") == "80.7"
    assert f.median_iqr(12, 8, 15.25, "mrss_total") == "12 (8–15.25)"
    assert f.median(None, "mrss_total") == "–"


def test_the_rule_says_what_the_constants_say():
    text = f.rule()
    assert "percentages to one decimal" in text and "p-values to three decimals (below 0.001 as <0.001)" in text
    assert "mRSS, HAQ-DI and RCS to two decimals" in text
    assert "FVC (% predicted), DLCO (% predicted), PASP (mmHg)" in text and "to one decimal" in text
    assert "medians of mRSS (a whole-number score) without trailing zeros" in text
