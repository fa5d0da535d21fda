"""What the nightly job's two dbt commands build (orchestration/assets/dbt.py): every model and seed of the project
and every data test on them, and none of dbt's unit tests, which check the SQL against fixed rows and run with the
code's tests (tests/quality/test_quality_anchors.py) instead."""

import json

import pytest

from orchestration.assets.dbt import dbt_project

pytestmark = pytest.mark.slow


def _night_results(home) -> dict[str, str]:
    """unique_id -> status of every node the demo night's dbt commands ran (their run_results.json)."""
    results = {}
    for path in (home / "logs" / "dbt").glob("*/run_results.json"):
        results.update({r["unique_id"]: r["status"] for r in json.loads(path.read_text())["results"]})
    return results


def test_the_night_builds_every_model_and_its_data_tests_and_no_unit_test(demo_run):
    home, _ = demo_run
    manifest = json.loads(dbt_project.manifest_path.read_text())
    results = _night_results(home)
    assert manifest["unit_tests"], "the project has unit tests: the night must leave them out"
    assert not [uid for uid in results if uid.startswith("unit_test.")]
    built = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] in ("model", "seed")}
    data_tests = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"
                  and set(node["depends_on"]["nodes"]) <= built}
    assert {uid: results.get(uid) for uid in built} == dict.fromkeys(built, "success")
    assert {uid: results.get(uid) for uid in data_tests} == dict.fromkeys(data_tests, "pass")
