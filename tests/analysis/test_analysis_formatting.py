"""Paper-style formatting."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import formatting as f


def test_examples():
    assert f.pct(38 / 41) == "92.7%"
    assert f.pct_value(72.0) == "72.0%"
    assert f.mean_sd(18.6829, 7.2612) == "18.68 (7.26)"
    assert f.mean_sd(18.6829, None) == "18.68 (–)"
    assert f.fraction(5, 8) == "5/8"
    assert f.n_pct(23, 41) == "23 (56.1%)"
    assert f.n_pct(0, 0) == "0 (–)"
    assert f.median_iqr(12, 8, 15.25) == "12.0 (8.0–15.3)"
    assert f.estimate_ci(0.927, 0.793, 0.976) == "0.93 (0.79–0.98)"


@pytest.mark.parametrize("p, text", [(0.0004, "<0.001"), (0.001, "0.001"), (0.01249, "0.012"), (0.0125, "0.013"),
                                     (1.0, "1.000"), (None, "–"), (float("nan"), "–")])
def test_p_value(p, text):
    assert f.p_value(p) == text


def test_half_up_and_negative_zero():
    assert f.fixed(2.675, 2) == "2.68"   # binary float would give 2.67 with round()
    assert f.fixed(0.125, 2) == "0.13"
    assert f.fixed(-0.001, 2) == "0.00"
    assert f.fixed(None) == "–"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_fixed_is_within_half_unit(x):
    assert abs(float(f.fixed(x, 2)) - x) <= 0.005 + 1e-9
