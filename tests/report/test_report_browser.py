"""Render both reports in headless Chromium: the page paints (screenshot not blank) and the figures are in
the rendered DOM. Skipped only when /usr/bin/chromium is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from browser import chromium, needs_chromium, png_colours
from report_builders import PROVENANCE, make_findings, make_marts, make_reconciliation, paper_ard

from report.publish import publish_text
from report.steward import render_steward_report
from report.study_report import render_study_report

pytestmark = [pytest.mark.browser, needs_chromium]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    reports = tmp_path_factory.mktemp("home") / "reports"
    publish_text(reports / "report.html", render_study_report(paper_ard(), make_marts()["adbds"],
                                                              {"findings": make_findings(),
                                                               "reconciliation": make_reconciliation()},
                                                              dict(PROVENANCE)))
    publish_text(reports / "steward.html", render_steward_report(make_findings(), make_reconciliation(),
                                                                 dict(PROVENANCE),
                                                                 [{"gate": "marts", "passed": True, "message": "ok"}]))
    return reports


@pytest.mark.parametrize("page, min_figures", [("report.html", 7), ("steward.html", 0)])
def test_screenshot_is_not_blank(published, tmp_path, page, min_figures):
    png = tmp_path / f"{page}.png"
    result = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,4000", (published / page).as_uri())
    assert png.exists() and png.stat().st_size > 10_000, result.stderr[-2000:]
    assert png_colours(png) > 50  # text, tables and figures, not a blank or single-colour page


@pytest.mark.parametrize("page, min_figures", [("report.html", 7), ("steward.html", 0)])
def test_dom_holds_the_figures(published, tmp_path, page, min_figures):
    result = chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", (published / page).as_uri())
    dom = result.stdout
    assert "</html>" in dom, result.stderr[-2000:]
    n_figures = len(re.findall(r"<svg\b", dom)) + len(re.findall(r"<img\b", dom))
    assert n_figures >= min_figures
    if page == "report.html":
        assert "92.7%" in dom and "18.68 (7.26) → 12.39 (8.49)" in dom and "72.0% (18/25)" in dom
        assert len(re.findall(r"<text\b", dom)) > 50  # axis labels and numbers at risk are real text
    else:
        assert 'findings shown' in dom or 'findings</span>' in dom  # the inline filter script ran
        assert "quality gates passed" in dom


def test_the_report_prints_with_a_footer_on_every_page(published, tmp_path):
    """Printed to PDF (A4), the report runs over several pages, each with the drop, run and code version and
    "Page N of M" (read back with pdftotext when it is installed; otherwise the PDF's page count and the CSS
    margin boxes that put them there)."""
    pdf = tmp_path / "report.pdf"
    result = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", (published / "report.html").as_uri())
    assert pdf.exists() and pdf.stat().st_size > 10_000, result.stderr[-2000:]
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
    assert pages > 1
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout.split("\f")
        printed = [page for page in text if page.strip()]
        assert len(printed) == pages
        for number, page in enumerate(printed, start=1):
            assert "Export drop: 2026-11-24T0200 · Run id: run-1234 · Code version: 0e4ef04" in page, number
            assert f"Page {number} of {pages}" in page, number
    else:
        html = (published / "report.html").read_text(encoding="utf-8")
        assert "@bottom-left { content: \"Export drop: 2026-11-24T0200" in html
        assert 'counter(page) " of " counter(pages)' in html
