"""The steward worklist: banner, counts, reconciliation, ordering, escaping, scale."""

from __future__ import annotations

import re
import time

import pandas as pd
from report_builders import PROVENANCE, assert_self_contained, make_findings, make_reconciliation

from report.steward import render_steward_report

PASSED = [{"gate": "conformance", "passed": True, "message": "ok"}, {"gate": "marts", "passed": True, "message": "ok"}]


def test_passed_banner_counts_and_links():
    html = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), PASSED)
    assert "The 2 quality gates passed; the run goes on" in html
    assert 'href="../data_docs/index.html"' in html
    assert "Findings by rule" in html and "Findings by instrument" in html
    assert "skin_score" in html and "value_range" in html
    assert "500 export rows = 497 loaded + 3 quarantined" in html
    assert "balanced" in html
    assert "Correct mrss_total in REDCap (0–51)" in html  # the hint
    assert "Value set to missing in the analysis" in html  # the action in words
    assert_self_contained(html)


def test_blocked_banner_names_gate_and_reason():
    gates = PASSED[:1] + [{"gate": "marts", "passed": False, "message": "adsl.record_id is not unique"}]
    html = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), gates)
    assert "Run BLOCKED at gate “marts”: adsl.record_id is not unique" in html


def test_no_gate_results():
    html = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), None)
    assert "Gate results were not recorded" in html


def test_structural_first_then_records_by_errors():
    html = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), PASSED)
    structural = html.index('id="structural"')
    assert html.index("records_header") > html.index('id="counts"')
    first_record = html.index("<summary>Record ")
    assert structural < html.index("Column &#39;foo&#39; is not in the dictionary") < first_record
    order = re.findall(r"<summary>Record (.*?) <span", html)
    assert order[0] == "2"  # record 2 has the most errors
    counts = [int(m) for m in re.findall(r"— (\d+) errors?", html)]
    assert counts == sorted(counts, reverse=True)


def test_escaping():
    html = render_steward_report(make_findings(), make_reconciliation(), dict(PROVENANCE), PASSED)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>9</b>" not in html
    assert_self_contained(html)


def test_mismatch_and_empty_inputs():
    recon = make_reconciliation()
    recon.loc[0, "loaded_rows"] = 490
    html = render_steward_report(make_findings().iloc[0:0], recon, {}, [])
    assert "MISMATCH" in html
    assert "0</strong> findings" in html
    html = render_steward_report(None, None, {}, None)
    assert "Reconciliation: not available in this export." in html


def test_five_thousand_findings_quickly():
    one = make_findings()
    big = pd.concat([one.assign(record_id=one["record_id"].where(one["record_id"].isna(), str(i)))
                     for i in range(250)], ignore_index=True)
    big = pd.concat([big, big.iloc[: 5000 - len(big)]], ignore_index=True) if len(big) < 5000 else big.iloc[:5000]
    assert len(big) == 5000
    start = time.perf_counter()
    html = render_steward_report(big, make_reconciliation(), dict(PROVENANCE), PASSED)
    assert time.perf_counter() - start < 10
    assert html.count('<tr class="f ') == 5000
    assert "<details class=\"rec group\"" in html and " open>" not in html  # large worklists start collapsed
