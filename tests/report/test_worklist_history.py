"""The steward worklist night after night: three successive drops in one SSC_HOME (a real warehouse file and a real
acknowledgements register), a finding fixed, one new, one acknowledged and then its value changed."""

from __future__ import annotations

import csv
import io
import re

import duckdb
import pytest

from quality.acknowledgements import REGISTER, add
from quality.findings import findings_frame
from quality.history import identify
from quality.rules import RULES
from report.steward import render_steward, trend_figure
from report.worklist import night_progress, worklist_view
from study.definition import load_study

from browser import needs_chromium, open_offline

D1, D2, D3 = "2026-01-05T0200", "2026-01-06T0200", "2026-01-07T0200"
PASSED = [{"gate": "rows_reconcile", "passed": True, "message": ""}]


def finding(rule, record, field, value, event="month_6_arm_1", instrument="skin_score"):
    return RULES[rule].finding(f"{field} = {value}", record_id=record, event=event, instrument=instrument,
                               field=field, value=value, source_row=5)


ERROR = finding("date_format", "3", "mrss_date", "2021-13-01")             # fixed before drop 3
STAYS = finding("clinical_outlier", "7", "mrss_total", "49")               # open the three nights
ACKED = finding("pasp_trv_inconsistent", "9", "echo_pasp_mmhg", "80", "month_12_arm_1", "echo")
CHANGED = finding("pasp_trv_inconsistent", "9", "echo_pasp_mmhg", "85", "month_12_arm_1", "echo")
NEW = finding("clinical_outlier", "12", "mrss_total", "50")                # new in drop 2
NIGHTS = {D1: [ERROR, STAYS, ACKED], D2: [ERROR, STAYS, ACKED, NEW], D3: [STAYS, NEW, CHANGED]}


def _id(f) -> str:
    return identify(findings_frame([f]))["problem_id"][0]


def _section(html: str, ident: str) -> str:
    return re.search(rf'<details id="{ident}">(.*?)</details>', html, re.S).group(1)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """{drop: (view, html, csv rows)} of the three nights, run one after the other in one SSC_HOME."""
    home = tmp_path_factory.mktemp("home")
    study = load_study()
    out = {}
    for drop_id, found in NIGHTS.items():
        findings = findings_frame(found)
        with duckdb.connect(str(home / "warehouse.duckdb")) as conn:
            progress = night_progress(conn, findings, drop_id, home / REGISTER, record=True, study=study)
        html, table = render_steward(findings, None, {"drop_id": drop_id}, PASSED, study=study, progress=progress)
        out[drop_id] = (worklist_view(findings, study, progress), html, list(csv.DictReader(io.StringIO(table))))
        if drop_id == D1:  # the steward checks the PASP warning after the first night
            add(home / REGISTER, identify(findings), _id(ACKED), "verified_correct", "echo report checked", "A.B.",
                today="2026-01-05")
    return out


def _status(view) -> dict:
    return {it.finding_id: (it.status, it.first_seen, it.nights, it.lapsed) for it in view.items}


def test_first_night_everything_is_new(nights):
    view, html, rows = nights[D1]
    assert _status(view) == {_id(ERROR): ("new", D1, 0, False), _id(STAYS): ("new", D1, 0, False),
                             _id(ACKED): ("new", D1, 0, False)}
    assert view.previous_drop is None and view.resolved == [] and view.acknowledged == []
    assert "No earlier drop was recorded" in _section(html, "resolved")
    assert html.count('<span class="status new">new tonight</span>') == 3
    assert {r["finding_id"]: (r["status"], r["first_seen"]) for r in rows} == {
        _id(ERROR): ("new", D1), _id(STAYS): ("new", D1), _id(ACKED): ("new", D1)}


def test_second_night_new_open_and_acknowledged(nights):
    view, html, rows = nights[D2]
    assert _status(view) == {_id(ERROR): ("open", D1, 2, False), _id(STAYS): ("open", D1, 2, False),
                             _id(NEW): ("new", D2, 0, False)}
    assert [(it.finding_id, ack.decision, ack.who) for it, ack in view.acknowledged] == [
        (_id(ACKED), "verified_correct", "A.B.")]
    assert view.resolved == []
    acknowledged = _section(html, "acknowledged")
    assert "Acknowledged (1)" in html and "echo report checked" in acknowledged and _id(ACKED) in acknowledged
    assert f"still open since {D1} (2 nights)" in html and html.count("new tonight</span>") == 1
    assert _id(ACKED) not in {r["finding_id"] for r in rows}  # off the worklist and its CSV
    assert {r["finding_id"]: (r["status"], r["first_seen"]) for r in rows} == {
        _id(ERROR): ("open", D1), _id(STAYS): ("open", D1), _id(NEW): ("new", D2)}


def test_third_night_resolved_and_a_lapsed_acknowledgement(nights):
    view, html, rows = nights[D3]
    assert _status(view) == {_id(STAYS): ("open", D1, 3, False), _id(NEW): ("open", D2, 2, False),
                             _id(CHANGED): ("open", D1, 3, True)}
    assert view.acknowledged == []
    assert [(r["record_id"], r["rule"], r["first_seen"], r["nights"]) for r in view.resolved] == [
        ("3", "date_format", D1, 2)]
    resolved = _section(html, "resolved")
    assert "Resolved since the last drop (1)" in html and "mrss_date" in resolved and f"drop {D2}" in resolved
    assert "2021-13-01" not in resolved  # the history keeps no value
    assert html.count("acknowledgement lapsed: value changed") == 1 and "Acknowledged (0)" in html
    # the trend: open problems of each recorded drop (the acknowledged warning not counted on drop 2)
    assert view.trend == [(D1, 1, 2), (D2, 1, 2), (D3, 0, 3)]
    assert '<svg class="trend" role="img" aria-labelledby="trend-title"' in html
    numbers = re.search(r'<details id="trend-numbers">(.*?)</details>', html, re.S).group(1)
    assert re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td></tr>",
                      numbers) == [(D3, "0", "3"), (D2, "1", "2"), (D1, "1", "2")]
    assert f"drop {D3}: 3 warnings open" in html  # a point's tooltip


def test_trend_figure_scales_to_a_round_top():
    figure = trend_figure([("a", 3, 7), ("b", 0, 12)])
    assert [g["label"] for g in figure["grid"]] == [0, 10, 20]
    errors, warnings = figure["series"]
    assert [d["y"] for d in errors["dots"]][1] == figure["grid"][0]["y"]  # 0 on the axis
    assert warnings["dots"][1]["y"] < warnings["dots"][0]["y"]  # 12 above 7
    assert trend_figure([]) is None
    assert [g["label"] for g in trend_figure([("a", 0, 0)])["grid"]] == [0, 1]


def test_without_a_history_the_page_shows_none(nights):
    html, table = render_steward(findings_frame(NIGHTS[D1]), None, {"drop_id": D1}, PASSED)
    assert 'id="history"' not in html and "new tonight" not in html
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {r["status"] for r in rows} == {""} and all(r["finding_id"] for r in rows)


@needs_chromium
def test_page_in_chromium_status_filter_and_figure(nights, tmp_path):
    """Drop 2's page in headless Chromium, offline: the status filter keeps the new row only; the trend figure is
    drawn (a point per drop and series) with no script error and no request."""
    page = tmp_path / "steward.html"
    page.write_text(nights[D2][1], encoding="utf-8")
    expression = """(() => {
      const status = document.getElementById("f-status");
      status.value = "new"; status.dispatchEvent(new Event("change"));
      const shown = [...document.querySelectorAll("#items tr.item")].filter(r => r.style.display !== "none");
      return {shown: shown.map(r => r.querySelector("code.fid").textContent),
              width: document.querySelector("svg.trend").getBoundingClientRect().width,
              points: document.querySelectorAll("svg.trend circle").length,
              title: document.querySelector("svg.trend > title").textContent};
    })()"""
    [report] = open_offline(tmp_path, [page.as_uri()], expression)
    assert report["exceptions"] == [] and report["failed"] == []
    assert report["value"]["shown"] == [_id(NEW)]
    assert report["value"]["width"] > 300 and report["value"]["points"] == 2 * 2
    assert report["value"]["title"].startswith("Open problems on the worklist over the last 2 drops")


def test_a_blocked_night_is_not_recorded_and_resolves_nothing(tmp_path):
    """A drop the run did not publish (record=False) is compared with the history but not added to it: what it
    lacks is not counted as resolved, and the next published drop is compared with the last recorded one."""
    study = load_study()
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        for drop_id in (D1, D2):
            night_progress(conn, findings_frame(NIGHTS[drop_id]), drop_id, tmp_path / REGISTER, record=True,
                           study=study)
        partial = findings_frame([NEW])  # a partial export: most of drop 2's problems are simply not in it
        blocked = night_progress(conn, partial, D3, tmp_path / REGISTER, record=False, study=study)
        assert night_progress(conn, partial, None, tmp_path / REGISTER, record=False) is None
        drops = [d for (d,) in conn.execute("select distinct drop_id from quality.findings_by_drop order by 1"
                                            ).fetchall()]
    view = worklist_view(partial, study, blocked)
    assert drops == [D1, D2] and view.trend == [(D1, 1, 2), (D2, 1, 3)]
    assert view.resolved == [] and len(blocked.history.resolved) == 3  # the history knows; the page says none
    assert _status(view) == {_id(NEW): ("open", D2, 2, False)}
    html, _ = render_steward(partial, None, {"drop_id": D3}, PASSED, study=study, progress=blocked)
    assert "Resolved since the last drop (not counted)" in html and "Not counted: this drop is not recorded" in html
