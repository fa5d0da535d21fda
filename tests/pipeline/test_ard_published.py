"""The published analysis results dataset of the demo run (no run of its own): reports/ard.csv is the warehouse's
analysis.results, and outcomes.json reads back from it figure for figure."""

from __future__ import annotations

import json

import duckdb
import pytest

from analysis import ard
from analysis.outcomes import outcomes_document

pytestmark = pytest.mark.slow


def test_outcomes_json_is_rendered_from_the_published_ard(demo_run):
    home, _ = demo_run
    published = json.loads((home / "reports" / "outcomes.json").read_text(encoding="utf-8"))
    published.pop("provenance")
    results = ard.read_csv(home / "reports" / "ard.csv")
    assert json.dumps(outcomes_document(results), sort_keys=True) == json.dumps(published, sort_keys=True)


def test_the_warehouse_holds_the_same_ard(demo_run):
    home, _ = demo_run
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        stored = conn.execute("select * from analysis.results").df()
    published = ard.read_csv(home / "reports" / "ard.csv")
    assert len(stored) == len(published) > 1000
    assert stored["value"].equals(published["value"])
    assert stored["statistic"].tolist() == published["statistic"].tolist()
    assert set(published["analysis"]) >= {"overall_survival", "overall_survival_curve", "deaths", "table1",
                                          "adverse_events", "adverse_event_listing", "cohort_flow"}
