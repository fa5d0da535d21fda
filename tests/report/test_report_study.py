"""The study report renders the analysis results dataset: printed figures by the rounding rule, sections, graceful
degradation, self-containment, determinism; and the real analysis output renders."""

from __future__ import annotations

import re
from html import escape

import pytest
from report_builders import (PROVENANCE, assert_self_contained, make_findings, make_marts, make_reconciliation,
                             paper_ard, without)

from analysis.ard import Results
from analysis.formatting import rule
from analysis.results import analysis_results
from analysis.settings import documented
from report import study_report
from report.study_report import definition, render_study_report

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


@pytest.fixture(scope="module")
def analysed() -> tuple[dict, object]:
    """The report's test marts and the analysis package's own results dataset of them."""
    marts = make_marts()
    return marts, analysis_results(marts, enrolled=14)


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def _cells(html: str) -> str:
    """The table cells as 'a | b | c' lines, to check printed figures row by row."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    return "\n".join(" | ".join(re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)) for r in rows)


def test_the_fixed_ard_prints_its_figures_by_the_rounding_rule(html):
    """Every number the hand-written ARD holds, printed once: counts whole, percentages 1 decimal, p-values 3
    decimals or <0.001, a parameter's values to its decimals (mRSS 2 and its medians without trailing zeros, FVC
    and DLCO 1, HAQ-DI 2: 1.125 → 1.13 half up), everything else 2 decimals; every proportion with its
    denominator."""
    head = _section(html, "headline")
    assert "92.7%" in head and "95% CI 78.9–97.6; 3 deaths among 41 patients" in head
    assert "18.68 (7.26) → 12.39 (8.49)" in head and "n = 41 → 38; mean change -6.20 in the 38 with both (paired t-test p = 0.012)" in head
    assert "72.0% (18/25)" in head and "not evaluable 2 of 27 with ILD at baseline" in head
    # stable of the evaluable: the not evaluable patient is listed apart, never in the denominator
    assert "5/7" in head and "worsened 2; not evaluable 1 of 8 with PAH at baseline" in head
    assert re.search(r'class="value">0</div>', head) and "of 30 adverse events in 15 patients; 4 serious" in head

    cells = _cells(html)
    for line in ("Age (years) | 41.2 (10.3); median 40.0 (33.0–49.0) | 41", "Female | 37 (90.2%) | 41",
                 "1 | 100.0% | 100.0–100.0 | 41", "5 | 92.7% | 78.9–97.6 | 38",
                 "SSC-0007 | 1.40 | Pneumonia | No", "SSC-0019 | 2.90 | – | –",
                 "Baseline | 41 | 18.68 (7.26) | 18", "Month 36 | 38 | 13.29 (7.67) | 12.5",
                 "Month 12 | 41 | -4.73 (5.10) | &lt;0.001 | &lt;0.001", "Month 60 | 38 | -6.20 (6.00) | 0.012 | 0.020",
                 "Patients with ILD at baseline | 27", "Evaluable: an HRCT after day 0 | 25/27 (92.6%)",
                 "Not evaluable: no HRCT after day 0 | 2/27 (7.4%)", "Improved | 6/25 (24.0%)",
                 "Improved or stable | 18/25 (72.0%)", "Evaluable: stable or worsened | 7/8 (87.5%)",
                 "Not evaluable | 1/8 (12.5%)", "Stable at 5 years | 5/7 (71.4%)",
                 "Worsened (or died) by 5 years | 2/7 (28.6%)",
                 "Baseline | 40 | 1.20 (0.60) | 1.13", "Baseline | 41 | 12/41 (29.3%)",
                 "Baseline | 40 | 2 (5.0%) | 17 (42.5%) | 11 (27.5%) | 10 (25.0%) | 0 (0.0%)",
                 "Adverse events | 30 | 13.47", "Patients with at least one adverse event | 15/41 (36.6%) | –",
                 "Serious adverse events | 4 | 1.80",
                 "Patients with a UC-MSC-related adverse event | 0/41 (0.0%) | –",
                 "5 – Death | 1 | 1 (2.4%) | 0.45", "Not recorded | 2 | 2 (4.9%) | 0.90",
                 "Fatal | 1 | 1 (2.4%) | 0.45",
                 "SSC-0003 | Pneumonia &lt;severe&gt; | 400 | 3 – Severe | Yes | Not related | Recovered",
                 "Infusions with an infusion reaction | 3/67 (4.5%)",
                 "Patients with an infusion reaction | 3/41 (7.3%)",
                 "Intercept (mean mRSS at day 0) | 18.10 | 1.10 | 15.90 to 20.30 | &lt;0.001",
                 "Change per year | -1.20 | 0.20 | -1.60 to -0.80 | &lt;0.001", "Residual variance | 12.30",
                 "Baseline | 42 | 41 | 18.60 | 1.10 | 16.40 to 20.80",
                 "Month 60 | 38/41 | 20/38 (52.6%) | 14/38 (36.8%) | 4/38 (10.5%) | 3/41 (7.3%)",
                 "Month 60 | 30 | 75.5 (13.0) | 74.0", "Month 60 | 30 | -2.5 (6.0) | 0.030 | 0.040",
                 "Month 12 | 20/27 | 3/20 (15.0%) | 15/20 (75.0%) | 2/20 (10.0%) | 7/27 (25.9%)",
                 "Latest assessment | 22/27 | 5/22 (22.7%) | 15/22 (68.2%) | 2/22 (9.1%) | 5/27 (18.5%)",
                 "Month 60 | 38 | 38", "Month 12 | 274 to 547 | 365"):
        assert line in cells, line
    assert "Not recorded | 0" not in cells  # an empty 'not recorded' category is left out
    assert "median survival = not reached" in html
    assert "Follow-up: 222.64 patient-years" in html
    assert "median follow-up 5.40 years (reverse Kaplan-Meier); median observation time 5.20 years" in html
    assert "Population: 27 patients with ILD at baseline" in html
    assert "The fit converged." in html


def test_sections_present(html):
    for anchor in ("cohort", "table1", "survival", "mrss", "hrct", "pah", "haq", "vascular", "safety", "beyond",
                   "mixed-model", "responders", "lung-function", "methods", "quality", "provenance"):
        assert f'id="{anchor}"' in html, anchor
    results = html[:html.index('<section id="methods">')]  # the Methods list the settings file as it is written
    assert "Month 12" in results and "Baseline" in results and "month_12" not in results.replace('id="', "")
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


def test_renders_real_analysis_output(analysed):
    """The analysis package's own results dataset on the report's test marts renders, and prints its figures."""
    marts, results = analysed
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
    assert "Infusions with an infusion reaction | 1/24 (4.2%)" in cells


@pytest.mark.parametrize("bad", ['<img src="//cdn.example/x.png">', '<link rel="stylesheet" href="a.css">',
                                 '<a href="other.html">x</a>', '<div style="background:url(x.png)"></div>',
                                 '<script src="a.js"></script>', "<p>https://example.org</p>"])
def test_the_self_containment_check_catches_external_references(bad):
    with pytest.raises(AssertionError):
        assert_self_contained(f"<html><body>{bad}</body></html>")


# ------------------------------------------------------------------------------ what a clinician needs on paper


def _tables(html: str) -> list[str]:
    return re.findall(r"<table\b.*?</table>", html, re.S)


#: what a right-aligned (numeric) cell may hold: numbers, percentages, fractions, intervals, '–', '<0.001'
NUMERIC_CELL = re.compile(r"^(?:[\d.,%()/\s–\-−]|&lt;|to|median|;)*$")


@pytest.mark.parametrize("which", ["paper", "analysis"])
def test_numbers_right_text_left_and_no_empty_header_band(which, analysed):
    """Every right-aligned cell of every table holds a number; text (a cause, Yes/No, 'balanced') is left-aligned;
    no table has a header row with nothing in it."""
    marts, results = analysed
    html = _render() if which == "paper" else _render(results=results, adbds=marts["adbds"])
    for t in _tables(html):
        for cell in re.findall(r'<td class="num">(.*?)</td>', t, re.S):
            assert NUMERIC_CELL.match(cell.strip()), (cell, t[:300])
        for head in re.findall(r"<thead>(.*?)</thead>", t, re.S):
            assert re.sub(r"<[^>]+>|\s", "", head), t[:300]


def test_deaths_in_time_order_with_text_left(analysed):
    """The deaths table lists deaths by time from day 0, then record, as the ARD orders them (analysis.results)."""
    r = Results(analysed[1])
    listed = r.groups("deaths", "placed")
    times = [r.get("deaths", "time_years", group=g) for g in listed]
    assert listed and times == sorted(times)
    deaths = _section(_render(), "survival")
    table = next(t for t in _tables(deaths) if "Deaths, by time" in t)
    assert '<td class="num">1.40</td>' in table and "<td>Pneumonia</td>" in table and "<td>No</td>" in table


def test_each_derived_category_is_defined_under_its_table_with_the_settings_numbers(monkeypatch):
    """The definitions print the study's settings (analysis.settings), never numbers typed in the report: change a
    setting and the printed definition follows."""
    html = _render()
    for anchor, category in (("hrct", "hrct"), ("pah", "pah"), ("responders", "responders"),
                             ("lung-function", "ild_progression")):
        assert escape(definition(category)) in _section(html, anchor), category
    assert "mRSS fell by more than 5 points and by at least 25% of the baseline mRSS" in definition("responders")
    assert "+5 points or more worsened, −5 or less improved" in definition("hrct")
    assert "PASP rose by 10 mmHg or more" in definition("pah") and "died within 5 years" in definition("pah")
    assert "by 10% or more of its baseline value, or by 5 to <10% with DLCO falling by 15%" in definition(
        "ild_progression")
    settings = {"responders.min_points": 4.0, "responders.min_fraction": 0.2, "hrct.extent_change": 7.5}
    real = study_report.setting
    monkeypatch.setattr(study_report, "setting", lambda name: settings.get(name, real(name)))
    assert "more than 4 points and by at least 20%" in definition("responders")
    assert "+7.5 points or more worsened" in definition("hrct")


def test_methods_list_every_setting_and_the_rounding_rule(html):
    methods = _section(html, "methods")
    for entry in documented():
        assert f"<td>{escape(entry['name'])}</td>" in methods, entry["name"]
    assert escape(rule()) in methods and "Analysis windows" in methods


def test_mixed_model_says_why_there_are_more_observations_than_patients(html):
    section = _section(html, "mixed-model")
    assert "Baseline | 42 | 41 |" in _cells(section)
    assert "every mRSS assessment in the window, not only the one analysed" in section
    assert "Baseline 42 observations from 41 patients" in section


def test_grade_5_is_explained_beside_the_deaths(html):
    note = _section(html, "safety")
    assert ("Grade 5 – Death counts the adverse events recorded with grade 5 on the adverse-event form (1). Deaths "
            "are recorded on the vital-status form: 3 patients recorded as dead") in note


def test_one_set_of_provenance_labels(html):
    """The header line and the provenance section say the same fields with the same labels and values."""
    header = re.search(r'<p class="provline">(.*?)</p>', html, re.S).group(1)
    shown_in_header = dict(re.findall(r"(?:^|· )([A-Z][\w -]+): (?:<strong>)?([^<·]+?)(?:</strong>)?\s*(?=·|$)",
                                      header.strip()))
    section = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", _section(html, "provenance")))
    assert set(shown_in_header) == {"Export drop", "Run id", "Code version", "Generated at"}
    assert all(section[label] == value for label, value in shown_in_header.items())
    assert "Pseudonym key is demo" not in html  # said once, by "Pseudonym key" and the banner


def test_every_printed_page_has_its_footer_and_number():
    """@page margin boxes: the drop, run and code version bottom left, 'Page N of M' bottom right; a value cannot
    break out of the CSS string."""
    html = _render()
    assert 'content: "Export drop: 2026-11-24T0200 · Run id: run-1234 · Code version: 0e4ef04"' in html
    assert 'content: "Page " counter(page) " of " counter(pages)' in html
    odd = _render(provenance={**PROVENANCE, "drop_id": 'x"</style><script>'})
    assert "</style><script>" not in odd and r'content: "Export drop: x\22 \3c /style\3e \3c script\3e ' in odd


def test_links_say_where_they_work_when_the_file_travels_alone(html):
    quality = _section(html, "quality")
    assert 'href="steward.html"' in quality and 'href="../data_docs/index.html"' in quality
    assert quality.count("SSC_HOME/reports/steward.html and SSC_HOME/data_docs/index.html") == 1
    assert "ask the data team for the steward worklist and the Data Docs of drop 2026-11-24T0200" in quality


def test_new_denominator_rows_of_the_analysis_add_up(analysed):
    """The rows the report's denominators come from (analysis.results): not evaluable + evaluable = population."""
    r = Results(analysed[1])
    for tp in r.timepoints("mrss_responders", "n_paired", parameter="mrss_total"):
        keys = {"parameter": "mrss_total", "timepoint": tp}
        assert r.get("mrss_responders", "n_paired", **keys) + r.get(
            "mrss_responders", "n", group="not_evaluable", **keys) == r.get("mrss_responders", "n", **keys)
    p = {"parameter": "ild_progression"}
    for tp in r.timepoints("lung_function", "n", group=None, **p):
        if tp is not None:
            assert r.get("lung_function", "n", timepoint=tp, **p) + r.get(
                "lung_function", "n", timepoint=tp, group="not_evaluable", **p) == r.get("lung_function", "n", **p)
    p = {"parameter": "hrct_change"}
    assert r.get("hrct_ild", "n", group="evaluable", **p) + r.get("hrct_ild", "n", group="not_evaluable", **p) == \
        r.get("hrct_ild", "n", **p)
    p = {"parameter": "echo_pasp_mmhg"}
    assert r.rows("pah", "n", group="stable", **p)[0]["n"] == r.get("pah", "n", group="evaluable", **p)
    for tp in r.timepoints("mrss_mixed_model_by_timepoint", "estimate", parameter="mrss_total"):
        keys = {"parameter": "mrss_total", "timepoint": tp}
        assert 0 < r.get("mrss_mixed_model_by_timepoint", "n_patients", **keys) <= r.get(
            "mrss_mixed_model_by_timepoint", "n_observations", **keys)
    infused = r.get("adverse_events", "n_patients", parameter="infusion_reaction")
    assert r.get("adverse_events", "pct_patients") == pytest.approx(100 * r.get("adverse_events", "n_patients")
                                                                    / infused)
