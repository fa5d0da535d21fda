"""The GX runner (file context, Checkpoints, Data Docs), GX results -> findings, the Dagster check results, and
the rules catalog."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

import quality_synth as qs
from orchestration.checks import gate_check_result, suite_check_result
from quality import rules
from quality.conformance import run_conformance
from quality.gx_findings import findings_from_run, rule_meta
from quality.gx_runner import GXRunner
from quality.suites import build_suites

REPO = Path(__file__).resolve().parents[2]
INGEST_RULES = ("dictionary_field_missing", "dictionary_field_retyped", "dictionary_field_unexpected",
                "records_column_missing", "records_column_unexpected", "unreadable_row", "encoding_replaced",
                "dob_invalid")


def _suite(name="demo"):
    s = gx.ExpectationSuite(name=name)
    s.add_expectation(gxe.ExpectColumnValuesToBeInSet(
        column="sex", value_set=["1", "2"],
        meta=rule_meta("choice_code_invalid", field="sex", instrument="enrollment",
                       message="sex = '{value}' is not a code")))
    s.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
        column="ssc_subtype", meta=rule_meta("required_missing", field="ssc_subtype", instrument="enrollment")))
    return s


def _frame():
    return pd.DataFrame({"_source_row": [2, 3, 4], "record_id": ["1", "2", "3"],
                         "redcap_event_name": ["baseline_arm_1"] * 3, "sex": ["1", "7", None],
                         "ssc_subtype": ["1", None, "2"]})


FC = {"record_id": "record_id", "event": "redcap_event_name", "source_row": "_source_row"}


def test_file_context_keeps_each_run_in_data_docs_and_every_link_of_the_index_resolves(tmp_path):
    home = tmp_path / "ssc_home"
    for run_name in ("drop-1", "drop-2"):
        runner = GXRunner(home / "gx", home / "data_docs", run_name=run_name)
        runner.validate(_suite(), _frame(), index_columns=["_source_row"], finding_columns=FC)
        index = runner.build_docs()
    assert index == home / "data_docs" / "index.html" and index.exists()
    results = sorted((home / "data_docs" / "validations").rglob("*.html"))
    assert [p.relative_to(home / "data_docs" / "validations").parts[:2] for p in results] == [
        ("demo", "drop-1"), ("demo", "drop-2")]  # one page per run, both kept
    assert (home / "data_docs" / "expectations" / "demo.html").exists()
    assert (home / "gx" / "checkpoints" / "demo.json").exists()  # the suite ran as a Checkpoint
    assert "analytics_enabled: false" in (home / "gx" / "great_expectations.yml").read_text()
    html = index.read_text()
    # links: the page's hrefs and the rows of its tables of suites and results
    found = re.findall(r'href="([^"#?]+)"|_table_row_link_path\': \'([^\']+)', html)
    links = [link for alternatives in found for link in alternatives if link and "://" not in link]
    assert sum(link.startswith("validations/demo/") for link in links) == 2
    assert all((index.parent / link).exists() for link in links), links


def test_an_ephemeral_runner_validates_without_data_docs():
    runner = GXRunner()
    assert runner.validate(_suite(), _frame(), finding_columns=FC).success is False
    assert runner.build_docs() is None and runner.index_path is None


def test_findings_map_back_to_rows():
    run = GXRunner().validate(_suite(), _frame(), index_columns=["_source_row"], finding_columns=FC)
    found = {(f.rule, f.record_id, f.source_row, f.field, f.value, f.severity, f.action, f.instrument, f.event)
             for f in findings_from_run(run)}
    assert found == {
        ("choice_code_invalid", "2", 3, "sex", "7", "error", "nulled", "enrollment", "baseline_arm_1"),
        ("required_missing", "2", 3, "ssc_subtype", None, "warning", "none", "enrollment", "baseline_arm_1"),
    }
    assert {f.message for f in findings_from_run(run) if f.rule == "choice_code_invalid"} == {"sex = '7' is not a code"}
    summary = run.summary()
    assert summary["failures_by_rule"] == {"choice_code_invalid": 1, "required_missing": 1}
    assert summary["unexpected_by_rule"] == {"choice_code_invalid": 1, "required_missing": 1}


def test_an_expectation_that_cannot_run_is_a_finding_of_the_engine():
    runner = GXRunner()
    suite = gx.ExpectationSuite(name="broken")
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(
        column="no_such_column", meta=rule_meta("required_missing", field="no_such_column")))
    [finding] = findings_from_run(runner.validate(suite, _frame(), finding_columns=FC))
    assert (finding.rule, finding.severity, finding.action, finding.field) == (
        "gx_expectation_error", "error", "none", "no_such_column")
    assert finding.message.startswith("broken: expect_column_values_to_not_be_null on no_such_column could not run")


def test_suite_check_result():
    runner = GXRunner()
    bad = runner.validate(_suite("bad"), _frame(), finding_columns=FC)
    check = suite_check_result(bad, asset_key=dg.AssetKey("raw_records"), check_name="conformance",
                               data_docs="/x/data_docs/index.html")
    assert isinstance(check, dg.AssetCheckResult)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description == "unexpected values by rule: choice_code_invalid 1, required_missing 1"
    md = check.metadata
    assert md["evaluated_expectations"].value == 2 and md["failed_error_expectations"].value == 1
    assert md["failures_by_rule"].value == {"choice_code_invalid": 1, "required_missing": 1}
    assert md["data_docs"].value == "/x/data_docs/index.html"
    assert "| bad | 3 | 2 | 1 | 1 | 2 |" in md["summary"].value
    # warnings only -> WARN
    frame = _frame().assign(sex=["1", "2", "1"])
    warn = suite_check_result(runner.validate(_suite("warn"), frame, finding_columns=FC))
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    ok = suite_check_result([runner.validate(_suite("ok"), frame.assign(ssc_subtype="1"), finding_columns=FC)])
    assert ok.passed and ok.description is None


def test_gate_check_result_is_blocking_and_carries_its_settings():
    check = gate_check_result({"gate": "quarantine_within_limit", "passed": False, "message": "7 of 100"},
                              {"SSC_MAX_QUARANTINE_SHARE": 0.05})
    assert (check.check_name, check.passed, check.severity, check.description) == (
        "quarantine_within_limit", False, dg.AssetCheckSeverity.ERROR, "7 of 100")
    assert {k: v.value for k, v in check.metadata.items()} == {"message": "7 of 100", "SSC_MAX_QUARANTINE_SHARE": 0.05}


def test_conformance_with_data_docs_and_no_identifiers(tmp_path):
    df = qs.cohort(2)
    df["mrn_pseudonym"] = "cafebabe" * 8
    df.loc[df.index[0], "sex"] = "5"
    runner = GXRunner(tmp_path / "gx", tmp_path / "data_docs", run_name="drop")
    res = run_conformance(df, qs.STUDY, runner)
    assert (tmp_path / "data_docs" / "index.html").exists()
    assert len(res.findings) == 1
    assert not suite_check_result(res.runs, check_name="raw_conformance").passed
    everything = "".join(p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file()
                         and p.suffix in (".html", ".json", ".yml"))
    assert "cafebabe" not in everything
    assert "mrn_pseudonym" not in everything and "patient_name" not in everything


def test_importing_the_gx_modules_leaves_the_environment_alone(tmp_path):
    code = ("import os; before = dict(os.environ); import quality.gx_runner, quality.gx_findings; "
            "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_rules_catalog_covers_every_rule():
    ids = set(rules.RULES)
    assert set(INGEST_RULES) <= ids
    used = set()
    for suite in build_suites(qs.STUDY).values():
        used |= {e.meta["rule"] for e in suite.expectations}
    assert used <= ids
    assert all(len(r.hint) > 10 and len(r.description) > 10 for r in rules.RULES.values())
    assert "| `date_format` |" in rules.rules_markdown()
    assert rules.hint_for("number_format", "45,5") == "use a decimal point: 45.5"
