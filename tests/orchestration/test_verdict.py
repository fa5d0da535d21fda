"""The run's verdict: published, published with N errors for the stewards, BLOCKED at a gate, FAILED at a step;
one readable line per problem, never a Dagster class name or a traceback."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._utils.error import SerializableErrorInfo

from orchestration.verdict import (BLOCKED, CHECKS, DBT, ERROR, FAILED, FAILURE, LINE_LIMIT, PUBLISHED, CheckOutcome,
                                   RunEvents, StepFailure, decide, dbt_error_summary, failure_message, one_line,
                                   published_verdict, read_events)
from quality.findings import Finding, findings_frame

GATE_OK = CheckOutcome("rows_reconcile", "quality/findings", passed=True, blocking=True,
                       description="export = loaded + quarantined", step="quality__findings")
SUITE_FAILED = CheckOutcome("conformance_suites", "quality/conformance", passed=False, blocking=False,
                            description="unexpected values by rule: date_format 3", step="quality__conformance")
NO_PATIENTS = CheckOutcome("patients_present", "quality/findings", passed=False, blocking=True,
                           description="0 patients placed", step="quality__findings")
TOO_MANY = CheckOutcome("quarantine_within_limit", "quality/findings", passed=False, blocking=True,
                        description="495 of 495 export rows quarantined (100.0%; limit 5%)", step="quality__findings")
CHECKS_FAILED = StepFailure("quality__findings", "DagsterAssetCheckFailedError: 2 blocking asset checks failed",
                            kind=CHECKS)
DBT_PASSED = CheckOutcome("unique_adsl_USUBJID", "marts/adsl", passed=True, blocking=True,
                          step="dbt_analysis_and_marts", dbt_test=True, failed_rows=0)


def test_a_clean_run_is_published_and_lists_its_gates():
    verdict = decide(RunEvents(checks=(GATE_OK, DBT_PASSED)), error_findings=0)
    assert (verdict.outcome, verdict.text, verdict.exit_code, verdict.problems) == (PUBLISHED, "published", 0, ())
    assert verdict.gates == ({"gate": "rows_reconcile", "passed": True, "message": "export = loaded + quarantined"},)


@pytest.mark.parametrize("errors, text", [(1, "published with 1 error for the stewards"),
                                          (12, "published with 12 errors for the stewards")])
def test_published_with_errors_counts_the_error_findings(errors, text):
    verdict = decide(RunEvents(checks=(GATE_OK,)), error_findings=errors)
    assert (verdict.text, verdict.exit_code) == (text, 0)


def test_the_report_renders_the_verdict_the_end_of_the_run_will_give():
    """Open errors and warnings are rows of the worklist: the 3 quarantined rows of one record without
    enrollment are one error."""
    def finding(rule, severity, action, record, row):
        return Finding(rule=rule, severity=severity, category="conformance", message="m", action=action,
                       record_id=record, field="enrollment_date", source_row=row)

    findings = findings_frame([finding("record_without_enrollment", "error", "quarantined", "7", row)
                               for row in (4, 5, 6)] + [
        finding("date_format", "error", "nulled", "8", 9), finding("clinical_outlier", "warning", "none", "8", 9)])
    assert published_verdict(findings) == {"outcome": PUBLISHED, "errors": 2, "warnings": 1,
                                           "text": decide(RunEvents(checks=(GATE_OK,)), error_findings=2).text}
    assert published_verdict(findings_frame())["text"] == "published"


def test_a_failed_non_blocking_check_is_a_warning_not_a_block():
    verdict = decide(RunEvents(checks=(SUITE_FAILED, GATE_OK)), error_findings=3)
    assert verdict.outcome == PUBLISHED and verdict.exit_code == 0 and verdict.warnings == 1
    assert [str(p) for p in verdict.problems] == [
        "for the stewards: check conformance_suites on quality/conformance: unexpected values by rule: date_format 3"]
    assert all(g["gate"] != "conformance_suites" for g in verdict.gates)


def test_the_first_failed_blocking_check_is_the_gate_and_its_step_failure_says_nothing_more():
    events = RunEvents(checks=(SUITE_FAILED, GATE_OK, TOO_MANY, NO_PATIENTS), failures=(CHECKS_FAILED,),
                       warnings=("SSC_DATA.csv was re-saved by a spreadsheet program",))
    verdict = decide(events, error_findings=2681)
    assert verdict.outcome == BLOCKED and verdict.exit_code == 1
    assert verdict.text == "BLOCKED at quarantine_within_limit: 495 of 495 export rows quarantined (100.0%; limit 5%)"
    # the first block is the verdict (the console's last line), the others are listed above it
    assert [p.level for p in verdict.problems] == ["warning", "for the stewards", "BLOCKED"]
    assert verdict.problems[-1].text == "check patients_present on quality/findings: 0 patients placed"
    assert not any("Dagster" in p.text for p in verdict.problems)
    assert [(g["gate"], g["passed"]) for g in verdict.gates] == [
        ("rows_reconcile", True), ("quarantine_within_limit", False), ("patients_present", False)]


def test_a_long_description_is_one_line_cut_with_an_ellipsis():
    long = CheckOutcome("structure_matches_study", "quality/findings", passed=False, blocking=True,
                        description="dictionary.csv: field mrss_total is missing;\n" * 20)
    verdict = decide(RunEvents(checks=(long,)))
    assert len(verdict.reason) == LINE_LIMIT and verdict.reason.endswith("…") and "\n" not in verdict.reason
    assert verdict.reason.startswith("dictionary.csv: field mrss_total is missing; dictionary.csv")


def test_a_failed_dbt_test_names_test_model_rows_and_the_dbt_log():
    failed = CheckOutcome("value_between_adtte_ADY__0", "marts/adtte", passed=False, blocking=True,
                          step="dbt_analysis_and_marts", dbt_test=True, failed_rows=1)
    dbt_step = StepFailure("dbt_analysis_and_marts", "Failure in test value_between_adtte_ADY__0 "
                           "(models/marts/_marts.yml): Got 1 result", kind=DBT)
    log = "/home/logs/dbt/dbt_analysis_and_marts-1a2b3c4-5d6e7f8/dbt.log"
    verdict = decide(RunEvents(checks=(DBT_PASSED, failed), failures=(dbt_step,)),
                     dbt_logs={"dbt_analysis_and_marts": log})
    assert verdict.text == ("BLOCKED at dbt test value_between_adtte_ADY__0 on marts/adtte: 1 row fails the "
                            f"test; see the dbt log {log}")
    assert verdict.problems == ()  # the verdict says it; the dbt command's failure is this test's
    assert [g["gate"] for g in verdict.gates] == ["value_between_adtte_ADY__0"]


def test_a_dbt_model_that_does_not_build_blocks_at_its_step_with_dbt_s_error_and_log():
    broken = StepFailure("dbt_analysis_and_marts", "Runtime Error in model adtte (models/marts/adtte.sql): "
                         "Conversion Error: invalid date", kind=DBT)
    verdict = decide(RunEvents(checks=(DBT_PASSED,), failures=(broken,)), dbt_logs={"dbt_analysis_and_marts": "/l"})
    assert verdict.text == ("BLOCKED at dbt_analysis_and_marts: Runtime Error in model adtte "
                            "(models/marts/adtte.sql): Conversion Error: invalid date; see the dbt log /l")


def test_a_failure_raised_on_purpose_blocks_at_its_step():
    refused = StepFailure("raw__records", "The export drop cannot be loaded: SSC_DATA.csv, line 1: the first "
                          "column is 'Record ID', not record_id: export the raw data", kind=FAILURE)
    verdict = decide(RunEvents(failures=(refused,)))
    assert verdict.outcome == BLOCKED and verdict.gate == "raw/records"
    assert verdict.text.startswith("BLOCKED at raw/records: The export drop cannot be loaded: SSC_DATA.csv, line 1")
    assert verdict.gates == ({"gate": "raw/records", "passed": False, "message": refused.message},)


def test_an_unexpected_exception_is_a_failure_of_the_pipeline_pointing_to_the_full_log():
    bug = StepFailure("outcomes__mrss", "KeyError: 'mrss_total'", kind=ERROR)
    verdict = decide(RunEvents(failures=(bug,)), error_findings=4)
    assert verdict.outcome == FAILED and verdict.exit_code == 1
    assert verdict.text.startswith("FAILED at outcomes/mrss: KeyError: 'mrss_total' (an error in the pipeline")
    assert "full log" in verdict.text


def test_a_run_that_failed_outside_any_step_is_failed():
    verdict = decide(RunEvents(run_failure="Run was interrupted"))
    assert verdict.text == "FAILED at the run: Run was interrupted" and verdict.exit_code == 1


def test_failure_messages_without_dagster_wrappers():
    user = SerializableErrorInfo("KeyError: 'mrss_total'\n", ["  File ...\n"], "KeyError")
    wrapper = SerializableErrorInfo('dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while '
                                    'executing op "outcomes__mrss":\n', [], "DagsterExecutionStepExecutionError",
                                    cause=user)
    assert failure_message(wrapper, None) == ("KeyError: 'mrss_total'", ERROR)
    qualified = SerializableErrorInfo("ingest.reader.UnreadableFileError: x.csv, line 3: bad quote\nmore\n", [],
                                      "UnreadableFileError")
    assert failure_message(qualified, None)[0] == "UnreadableFileError: x.csv, line 3: bad quote"
    assert failure_message(None, "The export drop cannot be loaded: x.csv\nsecond line") == (
        "The export drop cannot be loaded: x.csv", FAILURE)
    checks = SerializableErrorInfo("dagster._core.errors.DagsterAssetCheckFailedError: 2 blocking asset checks "
                                   "failed with ERROR severity:\nquality/findings: a,b\n", [],
                                   "DagsterAssetCheckFailedError")
    assert failure_message(checks, None)[1] == CHECKS


def test_the_dbt_error_is_read_from_what_dagster_dbt_parsed():
    description = ("The dbt CLI process with command\n\n`dbt build --select marts`\n\nfailed with exit code `1`.\n\n"
                   "Errors parsed from dbt logs:\n\n30 of 30 FAIL 1 value_between_adtte_ADY__0 ....... "
                   "[\x1b[31mFAIL 1\x1b[0m in 0.02s]\n\n\x1b[31mFailure in test value_between_adtte_ADY__0 "
                   "(models/marts/_marts.yml)\x1b[0m\n\n  Got 1 result, configured to fail if != 0\n")
    assert dbt_error_summary(description) == ("Failure in test value_between_adtte_ADY__0 "
                                              "(models/marts/_marts.yml): Got 1 result, configured to fail if != 0")
    assert failure_message(None, description)[1] == DBT
    assert one_line("a\n\n  b\x1b[0m") == "a b"


# ---- real Dagster events ---------------------------------------------------------------------------------


@dg.asset(key=["quality", "findings"], check_specs=[
    dg.AssetCheckSpec("patients_present", asset=["quality", "findings"], blocking=True),
    dg.AssetCheckSpec("conformance_suites", asset=["quality", "findings"])])
def gated(context):
    context.log.warning("SSC_DATA.csv was re-saved by a spreadsheet program")
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="conformance_suites", passed=False, severity=dg.AssetCheckSeverity.WARN,
                              description="unexpected values by rule: date_format 3")
    yield dg.AssetCheckResult(check_name="patients_present", passed=False, description="0 patients placed")


@dg.asset(key=["marts", "adsl"], deps=[gated])
def downstream():
    return None


@dg.asset(key=["raw", "records"])
def refused():
    try:
        raise ValueError("x.csv, line 1: the first column is 'Record ID'")
    except ValueError as exc:
        raise dg.Failure(description=f"The export drop cannot be loaded: {exc}") from exc


@dg.asset(key=["outcomes", "mrss"])
def buggy():
    return {}["mrss_total"]


def run_events(*assets) -> RunEvents:
    with dg.instance_for_test() as instance:
        result = dg.materialize(list(assets), instance=instance, raise_on_error=False)
        return read_events(instance.all_logs(result.run_id))


def test_real_events_of_a_run_blocked_at_a_gate():
    events = run_events(gated, downstream)
    verdict = decide(events, error_findings=5)
    assert verdict.text == "BLOCKED at patients_present: 0 patients placed"
    assert "quality/findings" in events.materialized and "marts/adsl" not in events.materialized
    assert [str(p) for p in verdict.problems] == [
        "warning: SSC_DATA.csv was re-saved by a spreadsheet program",
        "for the stewards: check conformance_suites on quality/findings: unexpected values by rule: date_format 3"]


def test_real_events_of_a_refused_drop_and_of_a_bug():
    assert decide(run_events(refused)).text == (
        "BLOCKED at raw/records: The export drop cannot be loaded: x.csv, line 1: the first column is 'Record ID'")
    verdict = decide(run_events(buggy))
    assert verdict.outcome == FAILED and verdict.gate == "outcomes/mrss"
    assert verdict.reason.startswith("KeyError: 'mrss_total'") and "dagster" not in verdict.text.lower()
