"""GX glue: file context + Data Docs, findings from results, Dagster asset-check results, rules catalog."""

from __future__ import annotations


import dagster as dg
import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

import quality_synth as qs
from quality import rules
from quality.conformance import run_conformance
from quality.gx_glue import GXRunner, findings_from_run, rule_meta, to_asset_check_result
from quality.suites import build_suites

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


def test_file_context_writes_data_docs_and_accumulates(tmp_path):
    home = tmp_path / "ssc_home"
    for run_name in ("drop-1", "drop-2"):
        runner = GXRunner(home / "gx", home / "data_docs", run_name=run_name)
        runner.validate(_suite(), _frame(), index_columns=["_source_row"], finding_columns=FC)
        index = runner.build_docs()
    assert index == home / "data_docs" / "index.html" and index.exists()
    results = list((home / "data_docs" / "validations").rglob("*.html"))
    assert len(results) == 2  # one page per run, both kept
    assert (home / "gx" / "great_expectations.yml").exists()
    config = (home / "gx" / "great_expectations.yml").read_text()
    assert "analytics_enabled: false" in config
    html = index.read_text()
    assert "demo" in html


def test_findings_map_back_to_rows():
    runner = GXRunner()
    run = runner.validate(_suite(), _frame(), index_columns=["_source_row"], finding_columns=FC)
    found = {(f.rule, f.record_id, f.source_row, f.field, f.value, f.severity, f.action, f.instrument, f.event)
             for f in findings_from_run(run)}
    assert found == {
        ("choice_code_invalid", "2", 3, "sex", "7", "error", "nulled", "enrollment", "baseline_arm_1"),
        ("required_missing", "2", 3, "ssc_subtype", None, "warning", "none", "enrollment", "baseline_arm_1"),
    }
    summary = run.summary()
    assert summary["failures_by_rule"] == {"choice_code_invalid": 1, "required_missing": 1}
    assert summary["unexpected_by_rule"] == {"choice_code_invalid": 1, "required_missing": 1}


def test_asset_check_result():
    runner = GXRunner()
    bad = runner.validate(_suite("bad"), _frame(), finding_columns=FC)
    check = to_asset_check_result(bad, asset_key=dg.AssetKey("raw_records"), check_name="conformance",
                                  data_docs="/x/data_docs/index.html")
    assert isinstance(check, dg.AssetCheckResult)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    md = check.metadata
    assert md["evaluated_expectations"].value == 2
    assert md["failures_by_rule"].value == {"choice_code_invalid": 1, "required_missing": 1}
    assert "| bad |" in md["summary"].value
    # warnings only -> WARN
    frame = _frame().assign(sex=["1", "2", "1"])
    warn = to_asset_check_result(runner.validate(_suite("warn"), frame, finding_columns=FC))
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    ok = to_asset_check_result(runner.validate(_suite("ok"), frame.assign(ssc_subtype="1"), finding_columns=FC))
    assert ok.passed


def test_conformance_with_data_docs_and_no_identifiers(tmp_path):
    df = qs.cohort(2)
    df["mrn_pseudonym"] = "cafebabe" * 8
    df.loc[df.index[0], "sex"] = "5"
    runner = GXRunner(tmp_path / "gx", tmp_path / "data_docs", run_name="drop")
    res = run_conformance(df, qs.STUDY, runner)
    assert (tmp_path / "data_docs" / "index.html").exists()
    assert len(res.findings) == 1
    check = to_asset_check_result(res.runs, check_name="raw_conformance")
    assert not check.passed
    everything = "".join(p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file()
                         and p.suffix in (".html", ".json", ".yml"))
    assert "cafebabe" not in everything
    assert "mrn_pseudonym" not in everything and "patient_name" not in everything


def test_rules_catalog_covers_every_rule():
    ids = set(rules.RULES)
    assert set(INGEST_RULES) <= ids
    used = set()
    for suite in build_suites(qs.STUDY).values():
        used |= {e.meta["rule"] for e in suite.expectations}
    assert used <= ids
    frame = rules.rules_frame()
    assert frame["hint"].str.len().gt(10).all() and frame["description"].str.len().gt(10).all()
    assert "| `date_format` |" in rules.rules_markdown()
    assert rules.hint_for("number_format", "45,5") == "use a decimal point: 45.5"
