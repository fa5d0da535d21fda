"""Two drops, one after the other, in one SSC_HOME: the report of the second says what it added since the first
and each headline figure then and now; analysis.headline_history holds one set per published drop; outcomes.json
keeps its keys. The first night is the session's demo run (its report says there is no previous drop); the
second is the demo drop with one patient more, a copy of a patient who died in year 2 or 3 under a new record id
and MRN (one run, ~35 s on a quiet machine)."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
from pathlib import Path

import pytest

from field_cases import column, dead_records, demo_rows, write_drop
from test_nightly import query, run_nightly

pytestmark = [pytest.mark.slow, pytest.mark.long]

FIRST, SECOND = "2026-11-24T0200", "2026-11-25T0200"
NEW_RECORD = "SSC-0042"


def section_of(home: Path) -> str:
    page = (home / "reports" / "report.html").read_text(encoding="utf-8")
    (section,) = re.findall(r'<section id="since-previous">.*?</section>', page, re.S)
    return section


def table_rows(section: str, caption: str) -> dict[str, list[str]]:
    (table,) = [t for t in re.findall(r"<table.*?</table>", section, re.S) if caption in t]
    cells = [[htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>.*?</td>", r, re.S)]
             for r in re.findall(r"<tr>.*?</tr>", table, re.S)]
    return {row[0]: row[1:] for row in cells if row}


@pytest.fixture(scope="module")
def second_night(demo_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("night_to_night")
    home = root / "home"
    shutil.copytree(demo_run[0], home, ignore=shutil.ignore_patterns("*.lock", "logs", "data_docs"))
    header, rows = demo_rows()
    dead, _ = dead_records(header, rows)[0]
    mrn = column(header, "mrn")
    added = [[NEW_RECORD] + r[1:mrn] + ["HN9990042"] + r[mrn + 1:] for r in rows if r[0] == dead]
    write_drop(root / "inbox", header, rows + added, name=SECOND)
    result = run_nightly(home, root / "inbox")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return home, header, added


def test_the_first_drop_says_there_is_no_previous_one(demo_run):
    section = section_of(demo_run[0])
    assert f"There is no previous drop: drop {FIRST}" in htmllib.unescape(section) and "<table" not in section


def test_the_second_drop_says_what_it_added_and_each_headline_figure_then_and_now(second_night):
    home, header, added = second_night
    section = htmllib.unescape(section_of(home))
    assert f"This report is of drop {SECOND}" in section and f"the previous published drop is drop {FIRST}" in section
    rows = table_rows(section, "What the drop added")
    assert rows["Patients enrolled"] == ["41", "42", "+1"] and rows["Deaths"] == ["3", "4", "+1"]
    mrss_rows = sum(1 for r in added if r[column(header, "mrss_date")])
    skin = rows["Assessments: Skin score"]
    assert int(skin[1]) - int(skin[0]) == mrss_rows and skin[2] == f"+{mrss_rows}"
    headline = table_rows(section, "Headline figures, then and now")
    assert headline["5-year overall survival"] == ["92.7%", "90.5%", "-2.2 points"]  # 38/41 → 38/42: no censoring
    assert headline["mRSS at baseline, mean"][0] == "18.68"  # the demo's, as published
    assert headline["UC-MSC-related adverse events"] == ["0", "0", "no change"]


def test_the_history_holds_one_set_per_published_drop_and_outcomes_json_keeps_its_keys(second_night, demo_run):
    home, _, _ = second_night
    sets = query(home, "select drop_id, count(*), count(distinct run_id) from analysis.headline_history "
                       "group by drop_id order by drop_id")
    assert [(drop, runs) for drop, _, runs in sets] == [(FIRST, 1), (SECOND, 1)] and sets[0][1] == sets[1][1]
    value = query(home, f"select value from analysis.headline_history where drop_id = '{SECOND}' and key = 'patients'")
    assert value == [(42.0,)]
    keys = [set(json.loads((h / "reports" / "outcomes.json").read_text())) for h in (home, demo_run[0])]
    assert keys[0] == keys[1]
