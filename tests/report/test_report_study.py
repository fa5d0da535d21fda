"""The study report renders the analysis results dataset: printed figures by the rounding rule, sections, graceful
degradation, self-containment, determinism; and the real analysis output renders."""

from __future__ import annotations

import re

import pytest
from report_builders import (PROVENANCE, assert_self_contained, make_findings, make_marts, make_reconciliation,
                             paper_ard, without)

from analysis.results import analysis_results
from report.study_report import render_study_report

ANALYSES = ("overall_survival", "overall_survival_curve", "deaths", "mrss", "hrct_ild", "pah", "haq_di", "vascular",
            "adverse_events", "adverse_event_listing", "table1", "mrss_mixed_model", "mrss_responders",
            "lung_function", "cohort_flow")


def _render(results=None, adbds=None, quality=None, provenance=None) -> str:
    return render_study_report(results if results is not None else paper_ard(),
                               adbds if adbds is not None else make_marts()["adbds"],
                               quality if quality is not None else {"findings": make_findings(),
                                                                    "reconciliation": make_reconciliation()},
                               provenance if provenance is not None else dict(PROVENANCE))


@pytest.fixture(scope="module")
def html() -> str:
    return _render()


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def _cells(html: str) -> str:
    """The table cells as 'a | b | c' lines, to check printed figures row by row."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return "\n".join(" | ".join(re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)) for r in rows)


def test_the_fixed_ard_prints_its_figures_by_the_rounding_rule(html):
    """Every number the hand-written ARD holds, printed once: counts whole, percentages 1 decimal, p-values 3
    decimals or <0.001, everything else 2 decimals, ties half up (1.125 → 1.13)."""
    head = _section(html, "headline")
    assert "92.7%" in head and "95% CI 78.9–97.6; 3 deaths among 41 patients" in head
    assert "18.68 (7.26) → 12.39 (8.49)" in head and "n = 41 → 38; paired t-test p = 0.012" in head
    assert "72.0% (18/25)" in head and "27 with ILD at baseline" in head
    # stable of the evaluable: the not evaluable patient is listed apart, never in the denominator
    assert "5/7" in head and "worsened 2; not evaluable 1 of 8 with PAH at baseline" in head
    assert re.search(r'class="value">0</div>', head) and "of 30 adverse events in 15 patients; 4 serious" in head

    cells = _cells(html)
    for line in ("Age (years) | 41.2 (10.3); median 40.0 (33.0–49.0) | 41", "Female | 37 (90.2%) | 41",
                 "1 | 100.0% | 100.0–100.0 | 41", "5 | 92.7% | 78.9–97.6 | 38",
                 "SSC-0007 | 1.40 | Pneumonia | No", "SSC-0019 | 1.40 | – | –".replace("1.40", "2.90"),
                 "Baseline | 41 | 18.68 (7.26) | 18.00", "Month 12 | 41 | -4.73 (5.10) | &lt;0.001 | &lt;0.001",
                 "Month 60 | 38 | -6.20 (6.00) | 0.012 | 0.020", "Evaluable (HRCT after day 0) | 25 (92.6%)",
                 "Improved | 6 (24.0%)", "Improved or stable, % of evaluable | 72.0%", "Stable at 5 years | 5 (62.5%)",
                 "Baseline | 40 | 1.20 (0.60) | 1.13", "Baseline | 41 | 12 (29.3%)",
                 "Baseline | 40 | 2 (5.0%) | 17 (42.5%) | 11 (27.5%) | 10 (25.0%) | 0 (0.0%)",
                 "Adverse events | 30 | 13.47", "Serious adverse events | 4 | 1.80",
                 "Patients with a UC-MSC-related adverse event | 0 | –", "5 – Death | 1 | 1 | 0.45",
                 "Not recorded | 2 | 2 | 0.90", "Fatal | 1 | 1 | 0.45",
                 "SSC-0003 | Pneumonia &lt;severe&gt; | 400 | 3 – Severe | Yes | Not related | Recovered",
                 "Infusions with an infusion reaction | 3 (4.5%)", "Patients with an infusion reaction | 3 (7.3%)",
                 "Intercept (mean mRSS at day 0) | 18.10 | 1.10 | 15.90 to 20.30 | &lt;0.001",
                 "Change per year | -1.20 | 0.20 | -1.60 to -0.80 | &lt;0.001", "Converged | Yes",
                 "Baseline | 41 | 18.60 | 1.10 | 16.40 to 20.80", "Month 60 | 38 | 20 (52.6%) | 14 (36.8%) | 4 (10.5%)",
                 "Month 60 | 30 | 75.50 (13.00) | 74.00", "Month 60 | 30 | -2.50 (6.00) | 0.030 | 0.040",
                 "Latest assessment | 22 | 5 (22.7%) | 15 (68.2%) | 2 (9.1%)", "Month 60 | 38 | 38"):
        assert line in cells, line
    assert "Not recorded | 0" not in cells  # an empty 'not recorded' category is left out
    assert "median survival = not reached" in html
    assert "Follow-up: 222.64 patient-years" in html
    assert "median follow-up 5.40 years (reverse Kaplan-Meier); median observation time 5.20 years" in html
    assert "Population: 27 patients with ILD at baseline." in html


def test_sections_present(html):
    for anchor in ("cohort", "table1", "survival", "mrss", "hrct", "pah", "haq", "vascular", "safety", "beyond",
                   "mixed-model", "responders", "lung-function", "quality", "provenance"):
        assert f'id="{anchor}"' in html, anchor
    assert "Month 12" in html and "Baseline" in html and "month_12" not in html.replace('id="', "")
    assert "Number at risk" in html and "5 years: 92.7%" in html  # the curve and its mark, from the ARD


def test_figures_are_inline_svg_and_ids_are_unique(html):
    svgs = re.findall(r"<svg\b", html)
    assert len(svgs) >= 7  # KM, mRSS, HAQ-DI, RCS, ulcers, FVC, DLCO
    ids = re.findall(r'\bid="([^"]+)"', html)
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, sorted(dupes)[:10]
    for ref in re.findall(r'href="#([^"]+)"', html) + re.findall(r"url\(#([^)]+)\)", html):
        assert ref in ids, ref


def test_self_contained(html):
    assert_self_contained(html)
    assert 'href="steward.html"' in html and 'href="../data_docs/index.html"' in html
    assert "<script" not in html


def test_provenance_and_quality(html):
    for text in ("2026-11-24T0200", "SScUMSCT_DATA_2026-11-24_0200.csv", "ab" * 32, "run-1234", "0e4ef04",
                 "2026-11-24T03:12:00+00:00"):
        assert text in html
    quality = html[html.index('id="quality"'):html.index('id="provenance"')]
    assert "rows quarantined: <strong>3</strong>" in quality
    assert "every export row is loaded or quarantined" in quality
    assert "Plausibility" in quality and "Conformance" in quality
    assert "All categories | 14 | 6 | 20" in _cells(quality)  # 18 on records (12 errors), header, xss


def test_deterministic():
    assert _render() == _render()


@pytest.mark.parametrize("missing", [("overall_survival", "overall_survival_curve", "deaths"), ("mrss",),
                                     ("hrct_ild",), ("pah",), ("haq_di",), ("vascular",),
                                     ("adverse_events", "adverse_event_listing"), ("table1",),
                                     ("mrss_mixed_model", "mrss_mixed_model_by_timepoint"), ("mrss_responders",),
                                     ("lung_function",), ("cohort_flow",)])
def test_each_missing_analysis_degrades_gracefully(missing):
    html = _render(results=without(paper_ard(), *missing))
    assert "not available in this export" in html.lower()
    assert_self_contained(html)


def test_the_marts_only_add_the_patients_lines():
    with_lines, without_lines = _render(), _render(adbds=make_marts()["adbds"].iloc[0:0])
    assert "Individual patients" in with_lines and "Individual patients" not in without_lines
    assert _cells(with_lines) == _cells(without_lines)  # every printed figure comes from the ARD


def test_nothing_at_all_renders():
    html = render_study_report(None, None, None, None)
    assert html.count("not available in this export") >= 5
    assert "<svg" not in html
    assert "not recorded" in html
    assert_self_contained(html)


def test_headline_without_five_year_data():
    results = paper_ard()
    results = results[~results["timepoint"].isin(["month_60", "year_5"])]
    head = _section(_render(results=results), "headline")
    assert head.count("Not available in this export") == 2


def test_escapes_values():
    results = paper_ard()
    results.loc[results["statistic"] == "term", "value_text"] = "<script>alert(1)</script>"
    out = _render(results=results)
    assert "<script>alert(1)" not in out and "&lt;script&gt;alert(1)" in out


def test_renders_real_analysis_output():
    """The analysis package's own results dataset on the report's test marts renders, and prints its figures."""
    marts = make_marts()
    results = analysis_results(marts, enrolled=14)
    assert set(ANALYSES) <= set(results["analysis"])
    html = _render(results=results, adbds=marts["adbds"])
    assert_self_contained(html)
    assert html.count("<svg") == 6 and "Number at risk" in html  # the test marts have no digital ulcers
    assert re.findall(r'<p class="na">(.*?)</p>', html) == [
        "Figure 5. Patients with active digital ulcers: figure not available in this export.",
        "Digital ulcers by timepoint: not available in this export."]
    cells = _cells(html)
    assert "Patients | 12 | 12" in cells and "Female | 10 (83.3%) | 12" in cells
    assert "Serious adverse events | 2 |" in cells  # two serious events among the five of adae
    assert "Sepsis" in html and "Headache" not in html  # listed: serious or related only
    assert "Infusions with an infusion reaction | 1 (4.2%)" in cells


@pytest.mark.parametrize("bad", ['<img src="//cdn.example/x.png">', '<link rel="stylesheet" href="a.css">',
                                 '<a href="other.html">x</a>', '<div style="background:url(x.png)"></div>',
                                 '<script src="a.js"></script>', "<p>https://example.org</p>"])
def test_the_self_containment_check_catches_external_references(bad):
    with pytest.raises(AssertionError):
        assert_self_contained(f"<html><body>{bad}</body></html>")
