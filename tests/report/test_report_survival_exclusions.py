"""The survival section names the patients left out of the survival analysis and points to the worklist."""

import pandas as pd
from report_builders import paper_ard

from analysis import ard
from report.study_report import render_study_report


def _survival_section(results: pd.DataFrame) -> str:
    html = render_study_report(results, None, {}, {})
    start = html.index('id="survival"')
    return html[start:html.index("</section>", start)]


def _left_out(excluded: dict[str, str], recorded_dead: list[str]) -> pd.DataFrame:
    """The paper's ARD with these patients left out of overall survival and these recorded as dead (not placed)."""
    results = paper_ard()
    results.loc[(results["analysis"] == "overall_survival") & (results["statistic"] == "n_excluded"),
                "value"] = len(excluded)
    rows = [ard.row("overall_survival", "reason", reason, parameter="OS", group=rid, source="marts.adtte")
            for rid, reason in excluded.items()]
    rows += [ard.row("deaths", statistic, value, group=rid, source="marts.adsl, marts.adtte")
             for rid in recorded_dead for statistic, value in (("placed", False), ("time_years", None))]
    return ard.concat([results, ard.frame(rows)])


def test_the_report_names_who_was_left_out_and_where_to_look():
    section = _survival_section(_left_out({"SSC-0041": "death date before day 0"}, ["SSC-0041"]))
    assert "1 patient recorded as dead was left out: SSC-0041, death date before day 0 — see the steward worklist." \
        in section
    assert "SSC-0041 | " not in section  # not among the placed deaths
    assert "left out" not in _survival_section(paper_ard())


def test_patients_not_all_recorded_as_dead_are_named_with_their_reasons():
    section = _survival_section(_left_out({
        "SSC-0001": "recorded as dead without a usable death date",
        "SSC-0002": "first infusion (day 0) more than 90 days before enrollment"}, ["SSC-0001"]))
    assert ("2 patients were left out: SSC-0001, recorded as dead without a usable death date; SSC-0002, first "
            "infusion (day 0) more than 90 days before enrollment — see the steward worklist.") in section
