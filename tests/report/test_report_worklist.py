"""The steward worklist as problems: grouping by record × problem, a cause once with its consequences under it,
the order, the labels, the CSV. Small hand-made findings on a hand-made three-event study."""

from __future__ import annotations

import csv
import io

import pytest

from quality.findings import REDACTED, findings_frame
from quality.rules import ON_THE_FIELD, RULES
from report.worklist import (CSV_COLUMNS, csv_safe, instrument_label, row_ranges, rule_title, worklist_csv,
                             worklist_items)
from study.definition import Event, Study, load_study

# events.csv order: baseline, month 6, month 12 (alphabetically month_12 would sort before month_6)
STUDY = Study(fields=(), form_events=(), events=(
    Event("baseline_arm_1", "Baseline", 0, 90, 0), Event("month_6_arm_1", "Month 6", 182, 45, 90),
    Event("month_12_arm_1", "Month 12", 365, 90, 180)))


def finding(rule: str, record: str | None = None, event: str | None = None, instrument: str | None = None,
            field: str | None = None, row: int | None = None, value: str | None = None, message: str = ""):
    """A finding of a catalog rule with the catalog's severity, action and hint."""
    return RULES[rule].finding(message or f"{rule} {record} {field} row {row}", record_id=record, event=event,
                               instrument=instrument, field=field, source_row=row, value=value)


def items_of(*found):
    return worklist_items(findings_frame(list(found)), STUDY)


def test_the_rows_of_a_record_without_enrollment_are_one_problem():
    events = ["baseline_arm_1", "month_6_arm_1", "month_12_arm_1", "month_6_arm_1", "baseline_arm_1"]
    found = [finding("record_without_enrollment", "30", events[i % 5], field="enrollment_date", row=318 + i,
                     message="record 30 has no enrollment assessment: its rows are not loaded") for i in range(10)]
    (item,) = items_of(*reversed(found))
    assert (item.record_id, item.rule, item.n_findings, item.rows) == ("30", "record_without_enrollment", 10,
                                                                       list(range(318, 328)))
    assert item.count_line == "10 export rows not loaded: rows 318–327"
    assert item.summary == ("record 30 has no enrollment assessment: its rows are not loaded; "
                            "10 export rows not loaded: rows 318–327")
    assert [label for _, label in item.events] == ["Baseline", "Month 6", "Month 12"]  # the study's order
    assert item.title == "Record without enrollment" and item.action_words.startswith("Export row not loaded")


def test_a_problem_is_one_record_rule_severity_and_action():
    items = items_of(finding("date_format", "7", "baseline_arm_1", "pft", "pft_date", 3),
                     finding("date_format", "7", "month_6_arm_1", "echo", "echo_date", 9),
                     finding("date_format", "8", "baseline_arm_1", "pft", "pft_date", 12),
                     finding("number_format", "7", "baseline_arm_1", "pft", "fvc_pct_pred", 3))
    assert [(it.record_id, it.rule, len(it.cells)) for it in items] == [
        ("7", "date_format", 2), ("7", "number_format", 1), ("8", "date_format", 1)]
    assert items[0].count_line == "2 values set to missing: rows 3, 9"
    assert [label for _, label in items[0].instruments] == ["PFT", "Echo"]


def test_a_missing_column_is_one_problem_with_its_consequences_under_it():
    column = finding("records_column_missing", instrument="pft", field="pft_date",
                     message="SSC_DATA.csv, line 1: column pft_date is missing from the records export")
    dateless = [finding("assessment_date_missing", r, e, "pft", "pft_date", row)
                for r, e, row in (("1", "baseline_arm_1", 2), ("1", "month_6_arm_1", 5), ("2", "baseline_arm_1", 9))]
    other_field = finding("clinical_outlier", "2", "baseline_arm_1", "pft", "fvc_pct_pred", 9)
    other_instrument = finding("expected_visit_missing", "1", "month_12_arm_1", "skin_score", "mrss_date")
    items = items_of(*dateless, other_field, column, other_instrument)

    cause = items[0]
    assert (cause.rule, cause.record_id, len(cause.cells), len(cause.consequences)) == ("records_column_missing",
                                                                                         "", 1, 3)
    assert cause.summary == ("SSC_DATA.csv, line 1: column pft_date is missing from the records export "
                             "(3 consequences: assessment date missing on 3 PFT rows)")
    assert cause.related_records == ["1", "2"] and cause.n_findings == 4
    assert [(c.record_id, c.source_row) for c in cause.consequences] == [("1", 2), ("1", 5), ("2", 9)]
    # what does not follow from the missing column stays a problem of its own
    assert sorted(it.rule for it in items[1:]) == ["clinical_outlier", "expected_visit_missing"]
    assert sum(it.n_findings for it in items) == 6  # every finding counted once


def test_a_missing_date_column_takes_the_visits_it_leaves_unplaced():
    items = items_of(finding("records_column_missing", instrument="skin_score", field="mrss_date"),
                     finding("assessment_date_missing", "4", "baseline_arm_1", "skin_score", "mrss_date", 20),
                     finding("assessment_date_missing", "4", "month_6_arm_1", "skin_score", "mrss_date", 21),
                     finding("expected_visit_missing", "4", "month_6_arm_1", "skin_score", "mrss_date"),
                     finding("expected_visit_missing", "4", "month_12_arm_1", "skin_score", "mrss_date"))
    (cause,) = items
    assert cause.summary.endswith("(4 consequences: assessment date missing on 2 Skin score rows; expected visit "
                                  "missing: 2 in 1 record)")


def test_a_cause_in_a_record_takes_what_follows_on_the_same_event_and_field_only():
    items = items_of(finding("date_format", "5", "month_6_arm_1", "skin_score", "mrss_date", 40, "2021-02-30"),
                     finding("assessment_date_missing", "5", "month_6_arm_1", "skin_score", "mrss_date", 40),
                     finding("expected_visit_missing", "5", "month_6_arm_1", "skin_score", "mrss_date"),
                     finding("expected_visit_missing", "5", "month_12_arm_1", "skin_score", "mrss_date"),
                     finding("expected_visit_missing", "6", "month_6_arm_1", "skin_score", "mrss_date"))
    assert [(it.record_id, it.rule, len(it.consequences)) for it in items] == [
        ("5", "date_format", 2), ("5", "expected_visit_missing", 0), ("6", "expected_visit_missing", 0)]
    assert {c.rule for c in items[0].consequences} == {"assessment_date_missing", "expected_visit_missing"}
    assert [label for _, label in items[1].events] == ["Month 12"]


def test_a_form_entered_under_the_wrong_event_takes_the_visit_it_leaves_missing_there():
    # the demo's SSC-0007: the forms of one export row entered under month 12 are dated in the month 6 window, so
    # the month 12 skin score is missing: its finding is on the same record, event and field as the skin score's
    mismatch = [finding("event_window_mismatch", "7", "month_12_arm_1", form, date, 79, "2018-07-29",
                        f"{form} of record 7 dated 2018-07-29 falls in month_6 but was entered under the month_12 "
                        "event") for form, date in (("skin_score", "mrss_date"), ("pft", "pft_date"))]
    items = items_of(finding("expected_visit_missing", "7", "month_12_arm_1", "skin_score", "mrss_date"),
                     finding("expected_visit_missing", "7", "month_6_arm_1", "skin_score", "mrss_date"),
                     finding("expected_visit_missing", "8", "month_12_arm_1", "skin_score", "mrss_date"), *mismatch)
    assert [(it.record_id, it.rule, len(it.cells), len(it.consequences)) for it in items] == [
        ("7", "expected_visit_missing", 1, 0), ("7", "event_window_mismatch", 2, 1),
        ("8", "expected_visit_missing", 1, 0)]
    assert [label for _, label in items[0].events] == ["Month 6"]  # another window's missed visit stays apart
    (visit,) = items[1].consequences
    assert (visit.rule, visit.record_id, visit.event, visit.field) == ("expected_visit_missing", "7",
                                                                       "month_12_arm_1", "mrss_date")
    assert items[1].summary.endswith("(1 consequence: expected visit missing: 1 in 1 record)")


def test_order_errors_first_then_structure_records_naturally_events_of_the_study_then_rule():
    items = items_of(finding("clinical_outlier", "2", "baseline_arm_1", "labs", "esr_mm_h", 4),
                     finding("value_out_of_range", "10", "baseline_arm_1", "labs", "esr_mm_h", 30),
                     finding("value_out_of_range", "2", "month_12_arm_1", "labs", "esr_mm_h", 6),
                     finding("number_format", "2", "month_6_arm_1", "labs", "crp_mg_l", 5),
                     finding("date_format", "2", "month_6_arm_1", "labs", "lab_date", 5),
                     finding("export_resaved", message="re-saved"),
                     finding("records_column_missing", instrument="labs", field="hemoglobin_g_l"))
    assert [(it.severity, it.record_id, it.rule) for it in items] == [
        ("error", "", "records_column_missing"),  # not tied to a record: first
        ("error", "2", "date_format"), ("error", "2", "number_format"),  # month 6, then by rule
        ("error", "2", "value_out_of_range"),  # month 12 after month 6
        ("error", "10", "value_out_of_range"),  # "2" before "10"
        ("warning", "", "export_resaved"), ("warning", "2", "clinical_outlier")]


@pytest.mark.parametrize("form, label", [("skin_score", "Skin score"), ("pft", "PFT"), ("hrct", "HRCT"),
                                         ("haq", "HAQ"), ("echo", "Echo"), ("adverse_event", "Adverse event"),
                                         ("vital_status", "Vital status")])
def test_instrument_labels_are_derived_from_the_form_name(form, label):
    assert instrument_label(form) == label


def test_event_labels_and_order_come_from_the_study_definition():
    items = worklist_items(findings_frame([finding("clinical_outlier", "1", e, "labs", "esr_mm_h", i)
                                           for i, e in enumerate(["month_12_arm_1", "month_6_arm_1"])]),
                           load_study())
    assert items[0].events == [("month_6_arm_1", "Month 6"), ("month_12_arm_1", "Month 12")]


def test_every_rule_has_a_title_and_its_consequences_are_rules_of_the_catalog():
    for rule in RULES.values():
        assert rule.title and len(rule.title) <= 45, rule.rule
        assert set(rule.consequences) <= set(RULES) | {ON_THE_FIELD}, rule.rule
    assert rule_title("date_format") == "Not a valid date"
    assert rule_title("some_new_rule") == "Some new rule"  # not (yet) in the catalog


def test_row_ranges():
    assert row_ranges([5, 2, 3, 4, 9, 11, 12]) == "2–5, 9, 11–12"
    assert row_ranges([1, 3, 5, 7], limit=2) == "1, 3, …"
    assert row_ranges([]) == ""


def test_the_csv_has_one_row_per_problem_with_codes_labels_and_export_rows():
    items = items_of(finding("records_column_missing", instrument="pft", field="pft_date"),
                     finding("assessment_date_missing", "1", "baseline_arm_1", "pft", "pft_date", 2),
                     finding("assessment_date_missing", "1", "month_6_arm_1", "pft", "pft_date", 3),
                     finding("dob_invalid", "3", "baseline_arm_1", "enrollment", "dob", 7, REDACTED),
                     finding("number_format", "3", "month_12_arm_1", "labs", "crp_mg_l", 8, "=HYPERLINK(1)"))
    rows = list(csv.DictReader(io.StringIO(worklist_csv(items))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(items) == 3
    column, dob, crp = rows
    assert (column["rule"], column["rule_title"], column["consequences"], column["consequence_records"],
            column["consequence_export_rows"], column["findings"]) == (
        "records_column_missing", "Column missing from the records file", "2", "1", "2-3", "3")
    assert (dob["events"], dob["event_labels"], dob["instruments"], dob["instrument_labels"], dob["values"],
            dob["export_rows"]) == ("baseline_arm_1", "Baseline", "enrollment", "Enrollment", REDACTED, "7")
    assert crp["values"] == "'=HYPERLINK(1)"  # a spreadsheet does not run it


@pytest.mark.parametrize("cell, safe", [
    ("=1+1", "'=1+1"), ("+SUM(A1:A9)", "'+SUM(A1:A9)"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"),
    ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"), ("-1_000", "'-1_000"), ("- 1", "'- 1"),
    ("-1.5", "-1.5"), ("+2", "+2"), ("-.5", "-.5"), ("-2.5e-3", "-2.5e-3"),  # plain numbers stay numbers
    ("1.5–4.5", "1.5–4.5"), ("a=b", "a=b"), ("", "")])
def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_neutralised(cell, safe):
    assert csv_safe(cell) == safe


def test_a_negative_value_stays_a_number_in_the_csv():
    items = items_of(finding("value_out_of_range", "4", "baseline_arm_1", "labs", "esr_mm_h", 6, "-1.5"),
                     finding("number_format", "5", "baseline_arm_1", "labs", "crp_mg_l", 9, "-cmd|' /C calc'!A0"))
    rows = list(csv.DictReader(io.StringIO(worklist_csv(items))))
    assert [r["values"] for r in rows] == ["-1.5", "'-cmd|' /C calc'!A0"]
