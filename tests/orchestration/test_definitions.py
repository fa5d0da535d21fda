"""The Dagster code location as the UI and the daemon see it: lineage, groups, the job, the schedule, gates."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.assets.outcomes import OUTCOMES
from orchestration.definitions import defs


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


@pytest.mark.parametrize("outcome", [o.name for o in OUTCOMES] + ["cohort_flow"])
def test_every_outcome_traces_back_to_the_raw_drop_through_the_gate(graph, outcome):
    upstream = graph.get(key(f"outcomes/{outcome}")).parent_keys
    ancestors = set()
    frontier = set(upstream)
    while frontier:
        node = frontier.pop()
        if node not in ancestors:
            ancestors.add(node)
            frontier |= set(graph.get(node).parent_keys)
    assert {key("raw/records"), key("quality/conformance"), key("quality/findings")} <= ancestors
    assert any(k.path[0] == "marts" for k in upstream)


def test_groups_follow_the_flow(graph):
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["raw/records"] == "raw"
    assert groups["staging/stg_redcap__skin_score"] == "staging"
    assert groups["intermediate/int_assessment_timeline"] == "intermediate"
    assert groups["marts/adsl"] == "marts"
    assert groups["quality/findings"] == "quality"
    assert groups["outcomes/overall_survival"] == "outcomes"
    assert groups["reports/study_report"] == "reports"


def test_the_marts_are_built_after_the_gate(graph):
    analysis_layer = graph.get(key("intermediate/int_quality_actions")).parent_keys
    assert key("quality/findings") in analysis_layer


def test_quality_gates_are_blocking(graph):
    blocking = {check.name for check in graph.asset_check_keys if graph.get_check_spec(check).blocking}
    assert {"structure_matches_study", "quarantine_within_limit", "no_duplicate_keys", "patients_present",
            "rows_reconcile", "adsl_critical_expectations", "adbds_critical_expectations"} <= blocking


def test_nightly_job_and_schedule():
    job = defs.resolve_job_def("nightly")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("nightly_at_0200")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
