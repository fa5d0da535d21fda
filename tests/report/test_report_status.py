"""The report's status line: the run's verdict at the top of the report, rewritten in place when a night is blocked."""

from __future__ import annotations

import pytest

from report.status import END, START, drop_meta, report_drop, restamp, status_html, status_text, with_status

SHOWN = {"drop_id": "2026-11-24T0200", "export": "2026-11-24 02:00:00", "run_id": "run-a"}


def page(slot: str) -> str:
    return f"<html><head>{drop_meta(SHOWN)}</head><body><h1>Report</h1>{slot}<p>mRSS 18.68 &rarr; 12.39</p></body></html>"


def test_a_published_run_says_its_drop_gates_and_open_items():
    assert status_text({"outcome": "published", "text": "published with 3 errors for the stewards", "errors": 3,
                        "warnings": 1, "run_id": "run-a"}, SHOWN) == (
        "warn", "Status: published with 3 errors for the stewards. Drop 2026-11-24T0200 (exported 2026-11-24 "
                "02:00): every quality gate passed; 3 open errors and 1 warning in the steward worklist.")
    assert status_text({"outcome": "published", "text": "published"}, SHOWN) == (
        "ok", "Status: published. Drop 2026-11-24T0200 (exported 2026-11-24 02:00): every quality gate passed; "
              "nothing open in the steward worklist.")


def test_a_blocked_night_says_the_figures_were_not_updated_and_why():
    blocked = {"outcome": "blocked", "text": "BLOCKED at patients_present: no patient could be placed",
               "run_id": "run-b", "drop_id": "2026-11-25T0200", "export": "2026-11-25 02:00:00"}
    assert status_text(blocked, SHOWN) == (
        "bad", "Not updated since drop 2026-11-24T0200 (exported 2026-11-24 02:00): the drop 2026-11-25T0200 "
               "(exported 2026-11-25 02:00) was BLOCKED at patients_present: no patient could be placed. The "
               "figures below are those of drop 2026-11-24T0200.")
    again = {**blocked, "drop_id": SHOWN["drop_id"]}
    assert "this drop, loaded again, was BLOCKED at" in status_text(again, SHOWN)[1]


def test_a_run_that_failed_after_publishing_the_report_says_it_did_not_finish():
    css, text = status_text({"outcome": "failed", "text": "FAILED at reports/outcomes_json: OSError: disk full",
                             "run_id": "run-a"}, SHOWN)
    assert css == "bad" and text.endswith("but the run that produced them did not finish.")


def test_the_slot_is_escaped_and_replaced_alone():
    slot = status_html({"outcome": "blocked", "text": "BLOCKED at x: <script>", "run_id": "run-b"}, SHOWN)
    assert "<script>" not in slot and "&lt;script&gt;" in slot
    before = page(status_html({"outcome": "published", "text": "published"}, SHOWN))
    after = with_status(before, slot)
    assert after.replace(slot, "") == before.replace(before[before.index(START):before.index(END) + len(END)], "")
    assert report_drop(after) == SHOWN
    with pytest.raises(ValueError, match="no status slot"):
        with_status("<html></html>", slot)


def test_restamp_rewrites_the_published_report_and_keeps_the_rest(tmp_path):
    path = tmp_path / "report.html"
    assert restamp(path, {"outcome": "blocked", "text": "BLOCKED at g: r", "run_id": "run-b"}) is False
    path.write_text(page(status_html({"outcome": "published", "text": "published"}, SHOWN)), encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    assert restamp(path, {"outcome": "blocked", "text": "BLOCKED at g: r", "run_id": "run-b", "drop_id": "D2"})
    after = path.read_text(encoding="utf-8")
    assert "Not updated since drop 2026-11-24T0200" in after and "the drop D2 was BLOCKED at g: r" in after
    assert after.split(START)[0] == before.split(START)[0] and after.split(END)[1] == before.split(END)[1]
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left behind
    old = tmp_path / "old.html"
    old.write_text("<html>rendered before the slot existed</html>")
    assert restamp(old, {"outcome": "blocked", "text": "BLOCKED"}) is False


def test_a_replay_says_so_first():
    """make run DROP=<id>: the replay's report, if forwarded, does not pass for the study's published report."""
    assert status_text({"outcome": "published", "text": "published", "replay": "2026-11-24T0200"}, SHOWN) == (
        "ok", "Replay of drop 2026-11-24T0200 (make run DROP=2026-11-24T0200), not the published report. Status: "
              "published. Drop 2026-11-24T0200 (exported 2026-11-24 02:00): every quality gate passed; nothing open "
              "in the steward worklist.")
