"""The survival section names the patients left out of the survival analysis and points to the worklist."""

from report_builders import contract_outcomes, make_marts

from report.study_report import render_study_report


def _survival_section(outcomes: dict, marts: dict) -> str:
    html = render_study_report(outcomes, marts, {}, {})
    start = html.index('id="survival"')
    return html[start:html.index("</section>", start)]


def test_the_report_names_who_was_left_out_and_where_to_look():
    marts = make_marts()
    adsl = marts["adsl"].copy()
    rid = str(adsl["record_id"].iloc[0])
    adsl.loc[adsl.index[0], ["vital_status", "death_date"]] = ["Dead", None]
    out = dict(contract_outcomes()["overall_survival"])
    out.update(n_excluded=1, excluded=[{"record_id": rid, "reason": "death date before day 0"}])
    section = _survival_section({"overall_survival": out}, {**marts, "adsl": adsl})
    assert f"1 patient recorded as dead was left out: {rid}, death date before day 0 — see the steward worklist." \
        in section
    assert "left out" not in _survival_section({"overall_survival": contract_outcomes()["overall_survival"]}, marts)


def test_patients_not_all_recorded_as_dead_are_named_with_their_reasons():
    marts = make_marts()
    adsl = marts["adsl"].copy()
    a, b = (str(r) for r in adsl["record_id"].iloc[:2])
    adsl.loc[adsl.index[0], ["vital_status", "death_date"]] = ["Dead", None]
    adsl.loc[adsl.index[1], ["vital_status", "death_date"]] = ["Alive", None]
    out = dict(contract_outcomes()["overall_survival"])
    out.update(n_excluded=2, excluded=[
        {"record_id": a, "reason": "recorded as dead without a usable death date"},
        {"record_id": b, "reason": "first infusion (day 0) more than 90 days before enrollment"}])
    section = _survival_section({"overall_survival": out}, {**marts, "adsl": adsl})
    assert (f"2 patients were left out: {a}, recorded as dead without a usable death date; {b}, first infusion "
            f"(day 0) more than 90 days before enrollment — see the steward worklist.") in section
