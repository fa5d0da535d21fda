"""The steward worklist page: the verdict banner and the drop first, then the worklist (one table, one row per
record × problem, labels with their codes on hover, filters), then gates, counts, reconciliation, provenance;
escaping; and the CSV published beside the page with drop, export time, code version and run on the page."""

from __future__ import annotations

import codecs
import csv
import html as htmllib
import io
import re

import pandas as pd
from report_builders import PROVENANCE, assert_self_contained, make_findings, make_reconciliation

from orchestration.publishing import CSV_BOM, publish_steward_report
from orchestration.resources import StudyLocations
from orchestration.version import code_version
from quality.findings import findings_frame
from quality.rules import RULES
from report.steward import NO_INSTRUMENT, WORKLIST_CSV, dates_unbroken, render_steward, render_steward_report

PASSED = [{"gate": "conformance", "passed": True, "message": "ok"}, {"gate": "marts", "passed": True, "message": "ok"}]


def nocol_findings(n_rows: int = 5) -> pd.DataFrame:
    """A records file without its pft_date column: the structural finding, an assessment_date_missing per pft row
    (records 1.., events baseline and month 6), and two findings that do not follow from it."""
    found = [RULES["records_column_missing"].finding(
        "SSC_DATA.csv, line 1: column pft_date is missing from the records export", instrument="pft",
        field="pft_date")]
    found += [RULES["assessment_date_missing"].finding(
        "pft assessment without pft_date: it cannot be placed in time and is not analysed", record_id=str(1 + i // 2),
        event=("baseline_arm_1", "month_6_arm_1")[i % 2], instrument="pft", field="pft_date", source_row=2 + i)
        for i in range(n_rows)]
    found += [RULES["clinical_outlier"].finding("esr_mm_h = 128 is outside the clinical soft limits 1–120 (ESR)",
                                                record_id="2", event="month_12_arm_1", instrument="labs",
                                                field="esr_mm_h", value="128", source_row=40),
              RULES["expected_visit_missing"].finding(
                  "record 10: no skin score (mRSS) in window month_6 (study days 137..273, target 2019-08-23)",
                  record_id="10", event="month_6_arm_1", instrument="skin_score", field="mrss_date")]
    return findings_frame(found)


def without_enrollment(record: str = "30", first_row: int = 318, n: int = 10) -> pd.DataFrame:
    events = ["baseline_arm_1", "month_1_arm_1", "month_3_arm_1", "month_6_arm_1", "month_12_arm_1"]
    return findings_frame([RULES["record_without_enrollment"].finding(
        f"record {record} has no enrollment assessment: its rows are not loaded", record_id=record,
        event=events[i % len(events)], field="enrollment_date", source_row=first_row + i) for i in range(n)])


def item_rows(page: str) -> list[str]:
    return re.findall(r'<tr class="item .*?</tr>', page, re.S)


def text_of(fragment: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_the_banner_and_the_drop_come_first_then_the_worklist_then_gates_counts_reconciliation_provenance():
    verdict = {"outcome": "published", "text": "published with 3 errors for the stewards", "errors": 3}
    page = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE, export_datetime=
                                 "2026-11-24 02:00"), PASSED, verdict)
    banner = re.search(r'<div class="banner warn" id="status">([^<]*)</div>', page)[1]
    assert htmllib.unescape(banner) == "Final status of this run: published with 3 errors for the stewards"
    drop_line = text_of(re.search(r'<p class="provline" id="drop">.*?</p>', page, re.S)[0])
    assert drop_line.startswith("Drop 2026-11-24T0200 · exported 2026-11-24 02:00 · code 0e4ef04 · run run-1234")
    order = [page.index(f'id="{section}"') for section in ("status", "drop", "worklist", "gates", "counts",
                                                             "reconciliation", "provenance")]
    assert order == sorted(order)
    assert_self_contained(page)


def test_one_table_one_row_per_record_and_problem():
    findings = pd.concat([without_enrollment(), make_findings()], ignore_index=True)
    page = render_steward_report(findings, make_reconciliation(), dict(PROVENANCE), PASSED)
    (worklist,) = re.findall(r'<table class="worklist".*?</table>', page, re.S)
    rows = item_rows(page)
    assert item_rows(worklist) == rows  # every problem is a row of the one table
    (quarantined,) = [r for r in rows if 'title="record_without_enrollment"' in r]
    assert "10 export rows not loaded: rows 318–327" in text_of(quarantined)
    assert len(re.findall(r"<li>", quarantined)) == 10 and "<details>" in quarantined  # the cells, collapsed
    assert "318–327" in re.search(r'<td class="rows"[^>]*>([^<]*)</td>', quarantined)[1]
    # the builders' findings: record 2 has 6 findings of 2 rules, each with one severity and action per rule...
    assert len([r for r in rows if re.search(r'<td class="id">2</td>', r)]) == len(
        make_findings().query("record_id == '2'").groupby(["rule", "severity", "action"]))


def test_a_missing_column_is_one_row_with_its_consequences_collapsed_under_it():
    page = render_steward_report(nocol_findings(), make_reconciliation(), dict(PROVENANCE), PASSED)
    rows = item_rows(page)
    assert len(rows) == 3  # the column, the outlier, the missed visit
    first = text_of(rows[0])
    assert "column pft_date is missing from the records export (5 consequences: assessment date missing on 5 PFT " \
           "rows)" in first
    assert "the 5 consequences (Assessment date missing)" in first and len(re.findall(r"<li>", rows[0])) == 5
    assert re.search(r'<strong>3 problems \(8 findings\)</strong>: 1 error \(6 findings\) and 2 warnings '
                     r'\(2 findings\)', page)
    # the filters know the consequences: record 3 and the rule assessment_date_missing select the column's row
    assert 'data-rec="|1|2|3|"' in rows[0] and 'data-rule="|records_column_missing|assessment_date_missing|"' in rows[0]


def test_labels_for_events_instruments_and_rules_with_their_codes_on_hover():
    page = render_steward_report(nocol_findings(), None, dict(PROVENANCE), PASSED)
    outlier = next(r for r in item_rows(page) if "esr_mm_h" in r)
    assert '<td class="ev" title="month_12_arm_1">Month 12</td>' in outlier
    assert '<td title="labs">Labs</td>' in outlier
    assert '<strong title="clinical_outlier">Outside clinical soft limits</strong>' in outlier
    assert "month_12_arm_1</td>" not in outlier  # the code is on hover, not in the cell


def test_filters_are_built_from_the_items_and_hidden_without_script():
    page = render_steward_report(nocol_findings(), None, dict(PROVENANCE), PASSED)
    assert '<div class="tools noprint" id="filters" hidden>' in page  # shown by the script; without it, no filter
    options = dict(re.findall(r'<select id="(f-[a-z]+)">(.*?)</select>', page, re.S))
    assert re.findall(r'value="([^"]*)"', options["f-sev"]) == ["", "error", "warning"]
    assert re.findall(r'value="([^"]*)"', options["f-inst"]) == ["", "labs", "pft", "skin_score"]
    assert re.findall(r'<option value="([^"]*)">', options["f-rule"]) == [
        "", "assessment_date_missing", "records_column_missing", "expected_visit_missing", "clinical_outlier"]
    assert re.findall(r'<option value="([^"]*)">', re.search(r'<datalist id="records">(.*?)</datalist>', page)[1]) \
        == ["1", "2", "3", "10"]
    assert "3 of 3 problems shown, with 8 of 8 findings" in page
    print_css = re.findall(r"@media print \{(.*?)\n\}", page, re.S)[-1]  # the page's own, after _base.css
    assert ".tools { display: none !important; }" in print_css
    assert "table.worklist tr.item { display: table-row !important; }" in print_css  # a filter never hides a row


def test_a_narrow_window_scrolls_the_table_sideways_and_print_opens_every_collapsed_list():
    page = render_steward_report(nocol_findings(), None, dict(PROVENANCE), PASSED)
    assert re.search(r'<div class="scroll-x">\s*<table class="worklist" id="items">', page)
    assert "table.worklist { width: 100%; min-width: 1200px;" in page  # the text columns keep their width
    assert "@media screen and (max-width: 1263px) { .scroll-x { overflow-x: auto; }" in page
    print_css = re.findall(r"@media print \{(.*?)\n\}", page, re.S)[-1]
    assert "details::details-content { content-visibility: visible; display: contents; }" in print_css
    assert "table.worklist ul.cells { max-height: none; overflow: visible; }" in print_css
    assert ".scroll-x { overflow: visible; }" in print_css and "min-width: 0;" in print_css


def test_dates_do_not_break_across_lines():
    assert str(dates_unbroken("target 2019-08-23 <b>")) == 'target <span class="nw">2019-08-23</span> &lt;b&gt;'


def test_blocked_banner_names_gate_and_reason_without_a_verdict():
    gates = PASSED[:1] + [{"gate": "marts", "passed": False, "message": "adsl.record_id is not unique"}]
    page = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), gates)
    assert "Run BLOCKED at gate “marts”: adsl.record_id is not unique" in page
    assert "Gate results were not recorded" in render_steward_report(make_findings(), None, {}, None)
    assert "The 2 quality gates passed; the run goes on" in render_steward_report(make_findings(), None, {}, PASSED)


def test_counts_and_reconciliation_name_instruments_by_label_with_the_form_on_hover():
    resaved = findings_frame([RULES["export_resaved"].finding("SSC_DATA.csv was re-saved by a spreadsheet program")])
    findings = pd.concat([nocol_findings(), resaved], ignore_index=True)
    page = render_steward_report(findings, make_reconciliation(), dict(PROVENANCE), PASSED)
    by_instrument = re.search(r"<caption>Findings by instrument</caption>.*?</table>", page, re.S)[0]
    assert re.findall(r"<tr><td(?: title=\"([^\"]*)\")?>([^<]*)</td>", by_instrument) == [
        ("pft", "PFT"), ("labs", "Labs"), ("skin_score", "Skin score"), ("", NO_INSTRUMENT)]
    assert "(none)" not in page and "<span class=\"muted code\">" not in page
    recon = re.search(r"<caption>Reconciliation of the records file</caption>.*?</table>", page, re.S)[0]
    assert re.findall(r"<td>(all rows|<span title=\"\w+\">[^<]*</span>)</td>", recon) == [
        "all rows", '<span title="skin_score">Skin score</span>']


def test_a_stopped_run_says_which_gates_did_not_run():
    ran = PASSED + [{"gate": "adsl_critical_expectations", "passed": False, "message": "AGE out of range"},
                    {"gate": "adae_critical_expectations", "passed": True, "message": "passed"}]
    blocked = {"outcome": "blocked", "text": "BLOCKED at adsl_critical_expectations: AGE out of range"}
    page = render_steward_report(make_findings(), None, dict(PROVENANCE), ran, blocked)
    (row,) = re.findall(r'<tr id="not-run">.*?</tr>', page, re.S)
    assert text_of(row) == ("the gates after adae_critical_expectations not run The run stopped at “adsl_critical_"
                            "expectations”: the study's later gates were not evaluated on this drop.")
    assert page.index('id="not-run"') > page.index("adae_critical_expectations")  # below the gates that ran
    refused = [{"gate": "raw/records", "passed": False, "message": "no records file"}]
    page = render_steward_report(None, None, {}, refused, {"outcome": "blocked", "text": "BLOCKED at raw/records"})
    assert "The run stopped at “raw/records”" in text_of(re.search(r'<tr id="not-run">.*?</tr>', page, re.S)[0])
    # without a verdict (the gate step's own page): a failed gate stops the run; passed gates do not
    assert 'id="not-run"' in render_steward_report(make_findings(), None, {}, ran)
    assert 'id="not-run"' not in render_steward_report(make_findings(), None, {}, PASSED)
    published = {"outcome": "published", "text": "published", "errors": 0}
    assert 'id="not-run"' not in render_steward_report(make_findings(), None, {}, PASSED, published)


def test_counts_reconciliation_and_provenance_below():
    page = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), PASSED)
    assert "Findings by rule" in page and "Findings by instrument" in page
    assert "500 export rows = 497 loaded + 3 quarantined" in page and "balanced" in page
    assert "Correct mrss_total in REDCap (0–51)" in page  # the hint
    assert "Value set to missing in the analysis" in page  # the action in words
    assert "<dt>Code version</dt><dd>0e4ef04</dd>" in page


def test_escaping():
    page = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), PASSED)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>9</b>" not in page
    assert_self_contained(page)


def test_mismatch_and_empty_inputs():
    recon = make_reconciliation()
    recon.loc[0, "loaded_rows"] = 490
    page = render_steward_report(make_findings().iloc[0:0], recon, {}, [])
    assert "MISMATCH" in page and "Nothing to do: no findings for this drop." in page
    assert '<table class="worklist"' not in page
    page = render_steward_report(None, None, {}, None)
    assert "Reconciliation: not available in this export." in page
    assert "Drop <strong class=\"nw\">not recorded</strong>" in page
    refused = render_steward_report(None, None, {}, [], {"outcome": "blocked", "text": "BLOCKED at raw/records: x"})
    assert "the run stopped before the drop could be checked" in refused and "Nothing to do" not in refused


def test_the_page_the_csv_and_the_inputs_are_published_together_naming_drop_export_code_and_run(tmp_path):
    locations = StudyLocations(inbox=str(tmp_path / "inbox"), home=str(tmp_path))
    page = publish_steward_report(locations, nocol_findings(), gate_results=PASSED,
                                  provenance={"drop_id": "2026-11-25T0200", "run_id": "run-9"})
    reports = tmp_path / "reports"
    assert sorted(p.name for p in reports.iterdir()) == ["steward.html", "steward.json", WORKLIST_CSV]
    text = (reports / "steward.html").read_text(encoding="utf-8")
    assert page == str(reports / "steward.html") and f'href="{WORKLIST_CSV}"' in text
    drop_line = text_of(re.search(r'<p class="provline" id="drop">.*?</p>', text, re.S)[0])
    assert drop_line.startswith(f"Drop 2026-11-25T0200 · exported 2026-11-25 02:00 · code {code_version()} · "
                                "run run-9")
    assert "not recorded" not in drop_line
    raw = (reports / WORKLIST_CSV).read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) and CSV_BOM.encode("utf-8") == codecs.BOM_UTF8  # Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["rule"] for r in rows] == ["records_column_missing", "clinical_outlier", "expected_visit_missing"]
    assert rows[0]["consequence_export_rows"] == "2-6"
    assert "the clinical soft limits 1–120 (ESR)" in rows[1]["summary"]


def test_render_gives_the_page_and_its_csv_from_the_same_items():
    page, table = render_steward(without_enrollment(), None, dict(PROVENANCE), PASSED)
    (row,) = list(csv.DictReader(io.StringIO(table)))
    assert (row["record_id"], row["export_rows"], row["findings"]) == ("30", "318-327", "10")
    assert len(item_rows(page)) == 1
