"""Findings night after night (quality/history.py) and the acknowledgements register (quality/acknowledgements.py),
on real DuckDB files and real register files."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from quality.acknowledgements import (ACKNOWLEDGED, COLUMNS, LAPSED, REGISTER, AcknowledgementRefused, add, match,
                                      read_register)
from quality.findings import findings_frame
from quality.history import (KEY_COLUMNS, drop_history, finding_key, identify, key_table, problem_id, record_drop,
                             value_fingerprint)
from quality.rules import RULES

REPO = Path(__file__).resolve().parents[2]
D1, D2, D3 = "2026-01-05T0200", "2026-01-06T0200", "2026-01-07T0200"


def finding(rule: str, record: str | None, field: str | None, value: str | None = None, *, event: str | None =
            "month_6_arm_1", instrument: str | None = "skin_score", instance: int | None = None, row: int = 2):
    return RULES[rule].finding(f"{rule} on {field}", record_id=record, event=event, instrument=instrument,
                               instance=instance, field=field, value=value, source_row=row)


def test_key_is_the_cell_and_rule_not_the_value_or_row():
    a = finding("clinical_outlier", "7", "mrss_total", "49", row=10)
    b = finding("clinical_outlier", "7", "mrss_total", "51", row=99)  # same cell, another value and export row
    c = finding("clinical_outlier", "7", "mrss_total", "49", event="month_12_arm_1")
    frame = identify(findings_frame([a, b, c]))
    keys = list(frame["finding_key"])
    assert keys[0] == keys[1] != keys[2]
    assert keys[0] == finding_key("7", "month_6_arm_1", "skin_score", None, "mrss_total", "clinical_outlier")
    # a missing part is "", an instance 2.0 read back from a file is 2
    assert finding_key("7", None, "ae", 2.0, "ae_term", "r") == finding_key("7", "", "ae", 2, "ae_term", "r")
    assert finding_key("7", "", "ae", 1, "ae_term", "r") != finding_key("7", "", "ae", 2, "ae_term", "r")
    assert len(keys[0]) == 16 and set(keys[0]) <= set("0123456789abcdef")
    # the row id: one per record × rule × severity × action; a finding without a record by its key
    ids = list(frame["problem_id"])
    assert ids[0] == ids[1] == ids[2] == problem_id("7", "clinical_outlier", RULES["clinical_outlier"].severity,
                                                    RULES["clinical_outlier"].action, "")
    structural = identify(findings_frame([finding("records_column_missing", None, "mrss_total"),
                                          finding("records_column_missing", None, "haq_total")]))["problem_id"]
    assert structural[0] != structural[1] and len(structural[0]) == 8


def test_fingerprint_tells_a_changed_value_and_hides_it():
    key = finding_key("7", "month_6_arm_1", "skin_score", None, "mrss_total", "clinical_outlier")
    other = finding_key("8", "month_6_arm_1", "skin_score", None, "mrss_total", "clinical_outlier")
    assert value_fingerprint(key, "49") == value_fingerprint(key, ["49"]) != value_fingerprint(key, "51")
    assert value_fingerprint(key, "49") != value_fingerprint(other, "49")  # salted by the key
    assert "49" not in value_fingerprint(key, "49")
    table = key_table(findings_frame([finding("clinical_outlier", "7", "mrss_total", "49")]))
    assert "value" not in table.columns and list(table.columns[:7]) == ["finding_key", *KEY_COLUMNS]


def _night(conn, findings, drop_id):
    record_drop(conn, findings, drop_id, open_errors=int((findings["severity"] == "error").sum()),
                open_warnings=int((findings["severity"] == "warning").sum()))


def test_history_over_three_drops_and_a_rerun(tmp_path):
    fixed = finding("date_format", "3", "mrss_date", "2021-13-01")  # an error, fixed after drop 2
    stays = finding("clinical_outlier", "7", "mrss_total", "49")           # open all three nights
    new = finding("pasp_trv_inconsistent", "9", "echo_pasp_mmhg", "80", instrument="echo")  # from drop 3
    nights = {D1: [fixed, stays], D2: [fixed, stays], D3: [stays, new]}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        assert drop_history(conn, findings_frame(nights[D1]), D1).open_since == {}  # nothing recorded yet
        for drop_id, found in nights.items():
            _night(conn, findings_frame(found), drop_id)
        _night(conn, findings_frame(nights[D2]), D2)  # drop 2 run again: replaces, does not count twice
        history = conn.execute("select * from quality.findings_history order by rule").df().set_index("rule")
        trend = conn.execute("select drop_id, open_errors, open_warnings from quality.findings_trend "
                             "order by drop_id").fetchall()
        view = drop_history(conn, findings_frame(nights[D3]), D3)
    assert trend == [(D1, 1, 1), (D2, 1, 1), (D3, 0, 2)]
    assert history.loc["clinical_outlier", ["first_seen_drop", "last_seen_drop", "nights_open"]].tolist() == [D1, D3, 3]
    assert pd.isna(history.loc["clinical_outlier", "resolved_drop"])
    assert history.loc["date_format", ["first_seen_drop", "last_seen_drop", "resolved_drop", "nights_open"]
                       ].tolist() == [D1, D2, D3, 2]
    assert history.loc["pasp_trv_inconsistent", ["first_seen_drop", "nights_open"]].tolist() == [D3, 1]
    assert "value" not in history.columns and "2021-13-01" not in history.to_csv()
    key = lambda f: finding_key(f.record_id, f.event, f.instrument, f.instance, f.field, f.rule)  # noqa: E731
    assert view.previous_drop == D2
    assert view.open_since == {key(stays): (D1, 3)}  # the new one is not in it: new tonight
    assert view.resolved["finding_key"].tolist() == [key(fixed)]
    assert view.trend == trend


def test_a_finding_back_after_a_night_away_is_open_since_it_came_back(tmp_path):
    flap = finding("clinical_outlier", "7", "mrss_total", "49")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        _night(conn, findings_frame([flap]), D1)
        _night(conn, findings_frame([]), D2)
        _night(conn, findings_frame([flap]), D3)
        row = conn.execute("select first_seen_drop, resolved_drop, nights_open from quality.findings_history"
                           ).fetchone()
        assert drop_history(conn, findings_frame([flap]), D3).open_since == {}  # absent from D2: new again
    assert row == (D3, None, 1)


def _register_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_acknowledging_a_warning_and_its_lapse(tmp_path):
    warning = finding("clinical_outlier", "7", "mrss_total", "49")
    found = identify(findings_frame([warning]))
    finding_id = found["problem_id"][0]
    path = tmp_path / REGISTER
    added = add(path, found, finding_id.upper(), "verified_correct", "checked  the\nsource", "A.B.",
                today="2026-01-06")
    assert len(added) == 1
    rows = _register_rows(path)
    assert tuple(rows[0]) == COLUMNS and rows[0]["finding_id"] == finding_id
    assert rows[0]["reason"] == "checked the source" and rows[0]["date"] == "2026-01-06"
    hashes = ("finding_key", "finding_id", "value_fingerprint")
    assert not any("49" in text for column, text in rows[0].items() if column not in hashes)  # no value kept
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    register = read_register(path)
    assert {k: a.state for k, a in match(findings_frame([warning]), register).items()} == {
        found["finding_key"][0]: ACKNOWLEDGED}
    changed = findings_frame([finding("clinical_outlier", "7", "mrss_total", "52")])
    assert [a.state for a in match(changed, register).values()] == [LAPSED]
    # acknowledged again on the new value: the latest row of a key counts
    add(path, identify(changed), finding_id, "cannot_be_fixed", "source lost", "C.D.")
    assert len(_register_rows(path)) == 2
    assert [(a.state, a.decision) for a in match(changed, read_register(path)).values()] == [
        (ACKNOWLEDGED, "cannot_be_fixed")]


def test_an_error_cannot_be_acknowledged(tmp_path):
    error = finding("date_format", "3", "mrss_date", "2021-13-01")
    found = identify(findings_frame([error]))
    path = tmp_path / REGISTER
    with pytest.raises(AcknowledgementRefused) as refused:
        add(path, found, found["problem_id"][0], "verified_correct", "looks fine", "A.B.")
    message = str(refused.value)
    assert "date_format" in message and "cannot be acknowledged" in message and "fix it in REDCap" in message
    assert "2021-13-01" not in message and not path.exists()
    # and a register row that says otherwise (edited by hand) does not hide an error
    register = pd.DataFrame([{**{c: "" for c in COLUMNS}, "finding_key": found["finding_key"][0],
                              "value_fingerprint": key_table(found)["value_fingerprint"][0]}])
    assert match(findings_frame([error]), register) == {}


@pytest.mark.parametrize("args, words", [
    (["ffffffff", "verified_correct", "r", "w"], "no finding with id ffffffff"),
    (["{id}", "fine", "r", "w"], "decision must be one of"),
    (["{id}", "verified_correct", " ", "w"], "give a reason"),
])
def test_entries_that_are_refused(tmp_path, args, words):
    found = identify(findings_frame([finding("clinical_outlier", "7", "mrss_total", "49")]))
    args = [a.replace("{id}", found["problem_id"][0]) for a in args]
    with pytest.raises(AcknowledgementRefused, match=words):
        add(tmp_path / REGISTER, found, *args)


def test_the_command_line(tmp_path):
    """``python -m quality.acknowledgements add`` against the worklist's inputs as publishing writes them."""
    from orchestration.publishing import publish_steward_report
    from orchestration.resources import StudyLocations

    home = tmp_path / "home"
    (home / "reports").mkdir(parents=True)
    warning, error = finding("clinical_outlier", "7", "mrss_total", "49"), finding("date_format", "3", "mrss_date", "x")
    publish_steward_report(StudyLocations(home=str(home)), [warning, error], provenance={"drop_id": D1})
    ids = identify(findings_frame([warning, error]))["problem_id"]

    def cli(*argv):
        return subprocess.run([sys.executable, "-m", "quality.acknowledgements", "add", *argv], cwd=REPO,
                              env={**os.environ, "SSC_HOME": str(home)}, capture_output=True, text=True, timeout=60)

    done = cli(ids[0], "--decision", "verified_correct", "--reason", "checked in the chart", "--by", "A.B.")
    assert done.returncode == 0, done.stderr
    assert f"{ids[0]} acknowledged" in done.stdout
    refused = cli(ids[1], "--decision", "verified_correct", "--reason", "r", "--by", "A.B.")
    assert refused.returncode == 1 and "date_format" in refused.stderr and "fix it in REDCap" in refused.stderr
    assert [r["finding_id"] for r in _register_rows(home / REGISTER)] == [ids[0]]
