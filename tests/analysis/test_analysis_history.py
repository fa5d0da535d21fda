"""Night to night (analysis.history): the figures of a drop from its outcomes.json and reconciliation, the history
table in a real DuckDB file (one set per drop, a re-run replacing it, the previous drop being the one before), the
comparison, and the report's section "Since the previous drop" on small hand-made cases."""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from analysis.history import HISTORY_COLUMNS, HISTORY_TABLE, Snapshot, compare, previous, record, snapshot
from report.study_report import render_study_report


def document(*, enrolled=41, deaths=3, survival_5=38 / 41, mrss=(18.6829, 12.3947), hrct=(72.0, 25),
             pah=(8, 5, 0), ae=(40, 0)) -> dict:
    """The part of outcomes.json the history reads, with hand-set figures."""
    return {
        "cohort_flow": {"enrolled": enrolled, "deaths": deaths},
        "overall_survival": {"estimates": [{"year": 1, "survival": 1.0}, {"year": 5, "survival": survival_5}]},
        "mrss": {"by_timepoint": [{"timepoint": "baseline", "mean": mrss[0]}, {"timepoint": "month_12", "mean": 14.0},
                                  {"timepoint": "month_60", "mean": mrss[1]}]},
        "hrct_ild": {"improved_or_stable_pct": hrct[0], "n_evaluable": hrct[1]},
        "pah": {"n": pah[0], "stable": pah[1], "not_evaluable": pah[2]},
        "adverse_events": {"n_events": ae[0], "related": ae[1]},
    }


def reconciliation(**loaded: int) -> pd.DataFrame:
    """quality.reconciliation: the drop's row (instrument NULL), then one per instrument with its loaded rows."""
    rows = [{"drop_id": "d", "instrument": None, "export_rows": 999, "loaded_rows": 999, "quarantined_rows": 0}]
    rows += [{"drop_id": "d", "instrument": form, "export_rows": n + 1, "loaded_rows": n, "quarantined_rows": 1}
             for form, n in loaded.items()]
    return pd.DataFrame(rows)


FIRST = snapshot(document(), reconciliation(skin_score=300, pft=120), "2026-11-24T0200", "2026-11-24 02:00:00")
SECOND = snapshot(document(enrolled=43, deaths=4, survival_5=0.9, mrss=(18.5, 12.4), hrct=(75.0, 24),
                           pah=(9, 5, 1), ae=(42, 0)),
                  reconciliation(skin_score=310, echo=5), "2026-11-25T0200", "2026-11-25 02:00:00")


def test_the_figures_of_a_drop_are_read_from_its_outcomes_and_reconciliation():
    assert FIRST.values == {
        "patients": 41, "deaths": 3, "overall_survival.year_5": 38 / 41, "mrss.baseline.mean": 18.6829,
        "mrss.month_60.mean": 12.3947, "hrct_ild.improved_or_stable_pct": 72.0, "hrct_ild.n_evaluable": 25,
        "pah.stable": 5, "pah.evaluable": 8, "adverse_events.n_events": 40, "adverse_events.related": 0,
        "assessments.skin_score": 300, "assessments.pft": 120}
    missing = snapshot(document(survival_5=None, pah=(None, None, None)), None, "d", None)
    assert missing.values["overall_survival.year_5"] is None and missing.values["pah.evaluable"] is None
    assert not any(k.startswith("assessments.") for k in missing.values)
    with pytest.raises(KeyError):
        snapshot({"cohort_flow": {"enrolled": 1, "deaths": 0}}, None, "d", None)


def test_the_first_drop_has_no_previous_one():
    changes = compare(None, FIRST)
    assert changes.previous is None
    assert all(c.then is None and c.difference is None for c in changes.added + changes.headline)
    assert [c.now for c in changes.added] == [41, 3, 120, 300]  # patients, deaths, then instruments by code


def test_each_figure_then_and_now():
    changes = compare(FIRST, SECOND)
    added = {c.key: (c.then, c.now, c.difference) for c in changes.added}
    assert added == {"patients": (41, 43, 2), "deaths": (3, 4, 1), "assessments.echo": (0, 5, 5),
                     "assessments.pft": (120, 0, -120), "assessments.skin_score": (300, 310, 10)}
    headline = {c.key: (c.then, c.now) for c in changes.headline}
    assert headline["pah.evaluable"] == (8, 8) and headline["hrct_ild.n_evaluable"] == (25, 24)
    assert [c.key for c in changes.headline][:3] == ["overall_survival.year_5", "mrss.baseline.mean",
                                                     "mrss.month_60.mean"]


def history_rows(conn) -> list[tuple]:
    return conn.execute(f"select drop_id, run_id, count(*) from {HISTORY_TABLE} group by all order by all").fetchall()


def test_the_history_keeps_one_set_per_published_drop_and_compares_with_the_drop_before(tmp_path):
    published = datetime(2026, 11, 25, 3, 0, tzinfo=timezone(timedelta(hours=1)))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        assert previous(conn, FIRST.drop_id) is None  # no table yet
        record(conn, FIRST, "run-1", "abc1234", published)
        assert previous(conn, FIRST.drop_id) is None  # the drop itself is not its previous drop
        assert previous(conn, SECOND.drop_id) == FIRST
        record(conn, SECOND, "run-2", "abc1234", published)
        record(conn, SECOND, "run-3", "abc1235", published)  # the same drop run again: replaced
        assert history_rows(conn) == [(FIRST.drop_id, "run-1", 13), (SECOND.drop_id, "run-3", 13)]
        assert previous(conn, SECOND.drop_id) == FIRST and previous(conn, "2026-11-26T0200") == SECOND
        assert previous(conn, "2026-11-23T0200") is None  # an older drop replayed has nothing before it
        columns = [c[0] for c in conn.execute(f"select * from {HISTORY_TABLE} limit 0").description]
        assert tuple(columns) == HISTORY_COLUMNS
        assert conn.execute(f"select distinct published_at, export_datetime from {HISTORY_TABLE} "
                            "where drop_id = ?", [FIRST.drop_id]).fetchall() == [
            (datetime(2026, 11, 25, 2, 0), datetime(2026, 11, 24, 2, 0))]  # published_at in UTC


def since_section(changes) -> str:
    page = render_study_report(None, None, None, {"drop_id": changes.current.drop_id}, changes=changes)
    (section,) = re.findall(r'<section id="since-previous">.*?</section>', page, re.S)
    assert 'href="#since-previous"' in page  # in the contents
    return section


def table_rows(section: str, caption: str) -> list[list[str]]:
    (table,) = [t for t in re.findall(r"<table.*?</table>", section, re.S) if caption in t]
    return [[htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", r,
                                                                                      re.S)]
            for r in re.findall(r"<tr>.*?</tr>", table, re.S)]


def test_the_report_says_what_the_drop_added_and_each_headline_figure_then_and_now():
    section = since_section(compare(FIRST, SECOND))
    assert "the previous published drop is drop 2026-11-24T0200 (exported 2026-11-24 02:00)" in section
    added = table_rows(section, "What the drop added")
    assert added[0] == ["", "Drop 2026-11-24T0200", "Drop 2026-11-25T0200", "Added"]
    assert added[1:3] == [["Patients enrolled", "41", "43", "+2"], ["Deaths", "3", "4", "+1"]]
    assert added[3][1:] == ["0", "5", "+5"] and added[4][1:] == ["120", "0", "-120"]  # echo, pft (by code)
    headline = {row[0]: row[1:] for row in table_rows(section, "Headline figures, then and now")[1:]}
    assert headline["5-year overall survival"] == ["92.7%", "90.0%", "-2.7 points"]
    assert headline["mRSS at baseline, mean"] == ["18.68", "18.50", "-0.18"]
    assert headline["mRSS at 5 years, mean"] == ["12.39", "12.40", "+0.01"]
    assert headline["HRCT improved or stable (ILD), % of evaluable"] == ["72.0%", "75.0%", "+3.0 points"]
    assert headline["PAH evaluable patients"] == ["8", "8", "no change"]
    assert headline["UC-MSC-related adverse events"] == ["0", "0", "no change"]


def test_on_the_first_drop_the_report_says_there_is_no_previous_drop():
    section = since_section(compare(None, FIRST))
    assert "There is no previous drop: drop 2026-11-24T0200 (exported 2026-11-24 02:00) is the first" in section
    assert "<table" not in section
    assert 'id="since-previous"' not in render_study_report(None, None, None, None)  # not asked for: no section


def test_a_figure_missing_from_one_drop_shows_as_missing():
    now = Snapshot("2026-11-25T0200", None, dict(FIRST.values, **{"overall_survival.year_5": None}))
    headline = {row[0]: row[1:] for row in table_rows(since_section(compare(FIRST, now)), "Headline figures")[1:]}
    assert headline["5-year overall survival"] == ["92.7%", "–", "–"]
