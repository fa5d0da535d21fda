"""The mRSS mixed model on the demo drop's adbds mart agrees with statsmodels' MixedLM (the reference) to 1e-6 on
every reported number (tests/mixed_model_reference.py)."""

import duckdb
import pytest
from mixed_model_reference import differences, statsmodels_model

from analysis.mixed_model import model_data, mrss_mixed_model


@pytest.mark.slow
def test_demo_mixed_model_agrees_with_statsmodels(demo_run):
    home, _ = demo_run
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        adbds = conn.execute("select * from marts.adbds").df()
    ours = mrss_mixed_model(adbds)
    assert ours["n_patients"] == 41 and ours["converged"] and ours["by_timepoint"]["converged"]
    assert differences(statsmodels_model(model_data(adbds)), ours, rel=1e-6) == []
