"""No network at run time: the nightly run of the demo, through a proxy that records and refuses every request
(tests/pipeline/conftest.py), asks the network for nothing. dagster-dbt's own `dbt --version` asked PyPI for the
latest dbt-core and dbt-duckdb before every dbt command until orchestration/assets/dbt.py's resource stopped it."""

from __future__ import annotations

import pytest

from conftest import network_asked

pytestmark = pytest.mark.slow


def test_the_nightly_run_asks_the_network_for_nothing(demo_run):
    home, _ = demo_run
    assert network_asked(home) == []
