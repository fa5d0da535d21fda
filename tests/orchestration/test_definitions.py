"""The Dagster code location as the UI and the daemon see it: lineage, groups, the job, the schedule, gates,
and its configuration (resources from the environment, which building the definitions never writes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.assets.dbt import model_key
from orchestration.assets.outcomes import OUTCOMES
from orchestration.definitions import build_definitions, defs
from orchestration.resources import StudyLocations
from orchestration.settings import (DEFAULT_HOME, DEFAULT_INBOX, FLAG_VARIABLES, SHARE_VARIABLES, TEXT_VARIABLES,
                                    WHOLE_NUMBER_VARIABLES)

REPO = Path(__file__).resolve().parents[2]
DBT_GROUPS = ("staging", "intermediate", "marts", "reference")

# The asset graph of commit 6566d76, where dbt sources and the models Python assets read were keyed by hand:
# {asset: its parents} for every edge with a Python asset at one end (the edges inside dbt are the manifest's own),
# up to the endpoint gate; lineage from the manifest must draw the same. (The outcomes and reports downstream are
# rebuilt by issue 7 item 1; test_every_outcome_traces_back_to_the_raw_drop_through_the_gate holds for them.)
LINEAGE = {
    **{f"staging/stg_redcap__{form}": {"quality/conformance", "raw/records"}
       for form in ("adverse_event", "echo", "enrollment", "haq", "hrct", "infusion", "labs",
                    "pft", "skin_score", "vascular", "vital_status")},
    "intermediate/int_patient_anchors": {"raw/records"},
    "intermediate/int_quality_actions": {"quality/findings"},
    "quality/conformance": {"raw/records"},
    "quality/plausibility": {"intermediate/int_assessment_timeline", "intermediate/int_patient_anchors",
                             "staging/stg_redcap__adverse_event", "staging/stg_redcap__echo"},
    "quality/findings": {"quality/conformance", "quality/plausibility", "raw/records"},
    "quality/endpoints": {"marts/adae", "marts/adbds", "marts/adsl", "marts/adtte", "quality/findings"},
}
DOWNSTREAM_OF_THE_GATE = ("outcomes", "reports", "analysis")


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_importing_the_code_location_leaves_the_environment_as_it_was():
    script = ("import os; before = dict(os.environ); import orchestration.definitions; "
              "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)); "
              "print(changed)")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_without_settings_the_documented_defaults_apply():
    built = build_definitions({})
    locations, warehouse = built.resources["locations"], built.resources["warehouse"]
    assert (locations.inbox, locations.home) == (str(DEFAULT_INBOX), str(DEFAULT_HOME))
    assert (locations.max_quarantine_share, locations.max_field_rejected_share, locations.field_gate_min_filled,
            locations.max_endpoint_loss, locations.max_os_excluded) == (0.05, 0.20, 20, 0.10, 0)
    assert (locations.pseudonym_key, locations.missing_data_codes) == ("", "")
    assert warehouse.database == str(DEFAULT_HOME / "warehouse.duckdb")
    assert built.resolve_schedule_def("nightly_at_0200").execution_timezone == "UTC"


def test_settings_that_are_set_come_from_their_variables(tmp_path):
    environ = {"SSC_HOME": str(tmp_path / "home"), "SSC_INBOX": "", "SSC_PSEUDONYM_KEY": "not-shown",
               "SSC_MAX_OS_EXCLUDED": "2", "SSC_MAX_ENDPOINT_LOSS": "0.25", "SSC_TIMEZONE": "Europe/Paris"}
    built = build_definitions(environ)
    locations = built.resources["locations"]
    for field, variable in (("home", "SSC_HOME"), ("pseudonym_key", "SSC_PSEUDONYM_KEY")):
        value = getattr(locations, field)
        assert isinstance(value, dg.EnvVar) and value.env_var_name == variable
    assert locations.max_os_excluded.name == "SSC_MAX_OS_EXCLUDED"  # dg.EnvVar.int
    assert locations.inbox == str(DEFAULT_INBOX)  # empty counts as not set
    assert locations.max_endpoint_loss == 0.25  # Dagster's config reads no decimal from the environment
    assert "not-shown" not in repr(locations)
    assert built.resources["warehouse"].database == str(tmp_path / "home" / "warehouse.duckdb")
    assert built.resolve_schedule_def("nightly_at_0200").execution_timezone == "Europe/Paris"


@pytest.mark.parametrize("value", ["5%", "1.5"])
def test_a_share_that_is_not_a_share_stops_loading_naming_the_variable(value):
    with pytest.raises(ValueError, match=f"SSC_MAX_QUARANTINE_SHARE must be a share between 0 and 1.*'{value}'"):
        build_definitions({"SSC_MAX_QUARANTINE_SHARE": value})


@pytest.mark.parametrize("variable", ["SSC_MAX_OS_EXCLUDED", "SSC_FIELD_GATE_MIN_FILLED"])
@pytest.mark.parametrize("value", ["-1", "abc", "2.5"])
def test_a_whole_number_that_is_not_one_stops_loading_naming_the_variable(variable, value):
    with pytest.raises(ValueError, match=f"{variable} must be a whole number, 0 or more.*'{value}'"):
        build_definitions({variable: value})


def test_a_timezone_that_is_not_one_stops_loading_naming_the_variable():
    with pytest.raises(ValueError, match="SSC_TIMEZONE must be an IANA timezone.*'Mars/Olympus'"):
        build_definitions({"SSC_TIMEZONE": "Mars/Olympus"})
    assert build_definitions({"SSC_TIMEZONE": "Europe/Berlin"}).schedules


def test_the_nightly_command_names_an_unusable_setting_in_one_line_and_starts_nothing(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SSC_HOME": str(tmp_path / "home"), "SSC_MAX_ENDPOINT_LOSS": "abc",
           "DAGSTER_HOME": str(tmp_path / "dagster")}
    result = subprocess.run([sys.executable, "-m", "orchestration.nightly"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == ("nightly: not started: SSC_MAX_ENDPOINT_LOSS must be a share between 0 and 1 "
                                     "(e.g. 0.05 for 5%), not 'abc'")
    assert not (tmp_path / "home").exists()


def test_the_nightly_command_names_an_unusable_analysis_setting_in_one_line(tmp_path):
    """study/analysis_settings.toml with a wrong value: one line naming file, key and problem, no traceback."""
    bad = tmp_path / "analysis_settings.toml"
    text = (REPO / "study" / "analysis_settings.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("[pah.pasp_rise]\nvalue = 10.0", "[pah.pasp_rise]\nvalue = \"ten\"", 1),
                   encoding="utf-8")
    assert bad.read_text(encoding="utf-8") != text
    env = {"PATH": "/usr/bin:/bin", "SSC_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster")}
    program = ("import runpy, analysis.settings as s; from pathlib import Path; "
               f"s.SETTINGS_FILE = Path({str(bad)!r}); runpy.run_module('orchestration.nightly', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", program], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("nightly: not started: ") and "pah.pasp_rise" in line and "'ten'" in line
    assert "Traceback" not in result.stdout + result.stderr and not (tmp_path / "home").exists()


def test_every_setting_is_explained_on_the_resource_page():
    variables = {**TEXT_VARIABLES, **WHOLE_NUMBER_VARIABLES, **SHARE_VARIABLES, **FLAG_VARIABLES}
    assert set(variables) == set(StudyLocations.model_fields)
    for field, variable in variables.items():
        assert StudyLocations.model_fields[field].description.startswith(f"{variable}: "), field


def test_dbt_sources_are_the_python_assets_that_write_them(graph):
    dbt_keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name in DBT_GROUPS}
    upstream_of_dbt = {p for k in dbt_keys for p in graph.get(k).parent_keys} - dbt_keys
    assert upstream_of_dbt == {key("raw/records"), key("quality/conformance"), key("quality/findings")}
    assert all(graph.get(k).is_materializable for k in upstream_of_dbt)  # defined here, no external stubs


def test_lineage_between_python_and_dbt_is_as_before(graph):
    keys = {k for k in graph.get_all_asset_keys() if k.path[0] not in DOWNSTREAM_OF_THE_GATE}
    python = {k for k in keys if graph.get(k).group_name not in DBT_GROUPS}
    drawn = {child.to_user_string(): {p.to_user_string() for p in graph.get(child).parent_keys
                                      if child in python or p in python} for child in keys}
    assert {child: parents for child, parents in drawn.items() if parents} == LINEAGE


def test_python_assets_find_dbt_models_in_the_manifest():
    assert model_key("adsl") == key("marts/adsl")
    assert model_key("stg_redcap__enrollment") == key("staging/stg_redcap__enrollment")
    assert model_key("analysis_windows") == key("reference/analysis_windows")
    with pytest.raises(KeyError):
        model_key("adsl_renamed")


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
    assert groups["reference/analysis_windows"] == "reference"
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
    assert job.executor_def.name == "in_process_single_writer"  # in process, holding SSC_HOME/.lock
    schedule = defs.resolve_schedule_def("nightly_at_0200")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
