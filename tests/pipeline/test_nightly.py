"""The nightly job end to end, as its users run it: real drops, real DuckDB, dbt, GX and Dagster runs.

Each test runs the job in a fresh SSC_HOME in a subprocess (``python -m orchestration.nightly``, what
``make run`` calls; the demo test calls ``make run`` itself) and checks what a user would look at.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from browser import chromium, needs_chromium, png_colours
from plan_by_hand import analyse, records_file
from study.generate import main as generate_main

REPO = Path(__file__).resolve().parents[2]
DEMO_INBOX = REPO / "demo" / "inbox"
PUBLISHED_STRINGS = ("92.7%", "18.68 (7.26)", "12.39", "72.0%", "5/8")
CANARIES = (b"CANARYMRN", b"Canaryname", b"+99 CANARY")

pytestmark = pytest.mark.slow


def environment(home: Path, inbox: Path) -> dict:
    """The environment of a test run: no SSC_* setting of the caller's; test drops may use the demo key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSC_", "DAGSTER_", "DBT_"))}
    env.update(SSC_HOME=str(home), SSC_INBOX=str(inbox), DAGSTER_HOME=str(home / "dagster"),
               DBT_LOG_PATH=str(home / "logs" / "dbt"), DO_NOT_TRACK="1", DAGSTER_DISABLE_TELEMETRY="1",
               SSC_ALLOW_DEMO_KEY="1")
    return env


def run_nightly(home: Path, inbox: Path, **extra_env) -> subprocess.CompletedProcess:
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    return subprocess.run([sys.executable, "-m", "orchestration.nightly"], cwd=REPO, capture_output=True,
                          text=True, env={**environment(home, inbox), **extra_env}, timeout=600)


def generate(inbox: Path, *args: str) -> Path:
    assert generate_main(["--out", str(inbox), *args]) in (0, None)
    (drop,) = [p for p in inbox.iterdir() if p.is_dir()]
    return drop


def outcomes(home: Path) -> dict:
    return json.loads((home / "reports" / "outcomes.json").read_text())


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def figures_of(path: Path) -> bytes:
    """A published file as it matters for "untouched": the report without its status line (a blocked night
    rewrites that line, and only that line, to say the figures were not updated)."""
    return re.sub(rb"<!--ssc:status-->.*?<!--/ssc:status-->", b"", path.read_bytes(), flags=re.S)


def worklist_counts(home: Path) -> dict:
    """{"error": n, "warning": n}: the rows of the steward worklist by severity, as its headline says them
    ("13 problems (18 findings): 2 errors (5 findings) and 11 warnings (13 findings)")."""
    page = (home / "reports" / "steward.html").read_text(encoding="utf-8")
    (headline,) = re.findall(r'<p class="counts">(.*?)</p>', page, re.S)
    found = dict((sev, int(n)) for n, sev in re.findall(r"(\d+) (error|warning)s? \(", headline))
    return {sev: found.get(sev, 0) for sev in ("error", "warning")}


def verdicts_shown(home: Path, stdout: str) -> dict:
    """The run's verdict as each reader meets it: the console's last line, the steward page's banner, the report's
    status line (HTML unescaped) and the Dagster run's ``ssc/verdict`` tag."""
    import dagster as dg

    run_id = re.findall(r"nightly: run (\S+) started", stdout)[-1]
    report = (home / "reports" / "report.html").read_text(encoding="utf-8")
    steward = (home / "reports" / "steward.html").read_text(encoding="utf-8")
    (status,) = re.findall(r"<!--ssc:status--><div[^>]*>(.*?)</div><!--/ssc:status-->", report, re.S)
    (banner,) = re.findall(r'id="status"[^>]*>(.*?)</div>', steward, re.S)
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        tag = instance.get_run_by_id(run_id).tags.get("ssc/verdict")
    return {"console": stdout.strip().splitlines()[-1].removeprefix("nightly: "), "tag": tag,
            "steward": html.unescape(" ".join(banner.split())).removeprefix("Final status of this run: "),
            "report": html.unescape(" ".join(status.split()))}


def km_by_hand(times: list[float], events: list[int], t: float) -> float:
    survival = 1.0
    for u in sorted({x for x, e in zip(times, events) if e and x <= t}):
        at_risk = sum(1 for x in times if x >= u)
        survival *= 1 - sum(1 for x, e in zip(times, events) if x == u and e) / at_risk
    return survival


# ---- the demo drop, as `make run` runs it --------------------------------------------------------------


def test_make_run_reproduces_the_published_figures(demo_run):
    home, _ = demo_run
    o = outcomes(home)
    five = next(e for e in o["overall_survival"]["estimates"] if e["year"] == 5)
    assert (o["overall_survival"]["n"], o["overall_survival"]["deaths"]) == (41, 3)
    assert f"{100 * five['survival']:.1f}" == "92.7" and five["at_risk"] == 38
    assert five["ci_lower"] < five["survival"] < five["ci_upper"]
    published = {"baseline": ("18.68", "7.26", 41), "month_12": ("13.95", "8.49", 41),
                 "month_36": ("13.29", "7.67", 38), "month_60": ("12.39", "8.49", 38)}
    by_timepoint = {r["timepoint"]: r for r in o["mrss"]["by_timepoint"]}
    for timepoint, expected in published.items():
        row = by_timepoint[timepoint]
        assert (f"{row['mean']:.2f}", f"{row['sd']:.2f}", row["n"]) == expected, timepoint
    assert {k: o["hrct_ild"][k] for k in ("n_ild", "n_evaluable")} == {"n_ild": 25, "n_evaluable": 25}
    assert o["hrct_ild"]["improved"] + o["hrct_ild"]["stable"] == 18
    assert f"{o['hrct_ild']['improved_or_stable_pct']:.1f}" == "72.0"
    assert (o["pah"]["n"], o["pah"]["stable"]) == (8, 5)
    assert o["adverse_events"]["related"] == 0 and o["adverse_events"]["n_events"] > 0
    changes = {r["timepoint"]: r for r in o["mrss"]["change_from_baseline"]}
    assert changes["month_60"]["n_paired"] == 38 and changes["month_60"]["t_test_p"] < 0.05


def test_make_run_publishes_every_output(demo_run):
    home, result = demo_run
    assert "succeeded" in result.stdout
    report = (home / "reports" / "report.html").read_text()
    for text in PUBLISHED_STRINGS:
        assert text in report, text
    assert "DEMO pseudonym key" in report  # make run without SSC_PSEUDONYM_KEY says so
    assert "SSC_PSEUDONYM_KEY is not set" in result.stdout + result.stderr
    assert (home / "reports" / "steward.html").stat().st_size > 1000
    assert (home / "data_docs" / "index.html").exists()
    assert outcomes(home)["provenance"]["records_sha256"] == query(home, "select records_sha256 from raw.current_drop")[0][0]
    (drop_total,) = query(home, "select export_rows, loaded_rows, quarantined_rows from quality.reconciliation "
                                "where instrument is null")
    assert drop_total[0] == drop_total[1] + drop_total[2] == 495


def test_a_clean_drop_has_one_verdict_everywhere(demo_run):
    home, result = demo_run
    shown = verdicts_shown(home, result.stdout)
    assert shown["console"] == shown["tag"] == shown["steward"] == "published"
    drop = outcomes(home)["provenance"]["drop_id"]
    counts = worklist_counts(home)
    assert counts["error"] == 0 and counts["warning"] > 0
    assert shown["report"] == (f"Status: published. Drop {drop} (exported 2026-11-24 02:00): every quality gate "
                               f"passed; no open errors and {counts['warning']} warnings in the steward worklist.")


def test_a_run_started_by_the_schedule_or_the_ui_is_finished_by_the_sensor(demo_run, tmp_path):
    """The run-status sensor gives runs that `make run` did not start (no ssc/finished_by tag) the same end: the
    verdict tag, the report's status line and the steward banner; it leaves `make run`'s own runs alone."""
    import dagster as dg
    from dagster._record import copy

    from orchestration.resources import Alerts, StudyLocations, Warehouse
    from orchestration.run_end import nightly_verdict_on_success

    home = tmp_path / "home"
    shutil.copytree(demo_run[0], home)
    report = home / "reports" / "report.html"
    report.write_text(report.read_text(encoding="utf-8").replace("Status: published", "Status: stale"),
                      encoding="utf-8")
    resources = {"locations": StudyLocations(home=str(home), inbox=str(DEMO_INBOX)),
                 "warehouse": Warehouse(database=str(home / "warehouse.duckdb")), "alerts": Alerts()}
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        (run,) = instance.get_runs()
        (success,) = [e.dagster_event for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)]

        def evaluate(dagster_run):
            return nightly_verdict_on_success(dg.build_run_status_sensor_context(
                sensor_name="nightly_verdict_on_success", dagster_event=success, dagster_instance=instance,
                dagster_run=dagster_run, resources=resources)).skip_message

        assert evaluate(run) == f"run {run.run_id} is finished by make run"
        assert "Status: stale" in report.read_text(encoding="utf-8")
        log = home / "logs" / f"nightly-{run.run_id}.log"
        log.unlink()
        assert evaluate(copy(run, tags={})) == f"run {run.run_id}: published"  # as the schedule's run would be
    assert "Status: published. Drop 2026-11-24T0200" in report.read_text(encoding="utf-8")
    night = log.read_text(encoding="utf-8")  # the night's log, as make run writes it
    assert night.splitlines()[-1] == "nightly: published" and "\x1b[" not in night
    assert " raw__records - STEP_SUCCESS" in night and f"nightly: full log: {log}" in night


@needs_chromium
def test_the_published_report_renders_in_a_browser_with_its_figures(demo_run, tmp_path):
    report = (demo_run[0] / "reports" / "report.html").as_uri()
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,6000", report)
    assert shot.exists() and png_colours(shot) > 100
    dom = chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", report).stdout
    assert dom.count("<svg") >= 5  # KM, mRSS, HAQ-DI, RCS, ulcers at least
    for text in PUBLISHED_STRINGS + ("Number at risk", "Table 1", "Wilcoxon"):
        assert text in dom, text


def test_a_second_run_on_the_same_drop_changes_nothing(demo_run, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(demo_run[0], home)
    before = query(home, "select * from raw.drops")
    first = outcomes(home)
    assert run_nightly(home, DEMO_INBOX).returncode == 0
    assert query(home, "select * from raw.drops") == before
    second = outcomes(home)
    first.pop("provenance"), second.pop("provenance")
    assert first == second


def test_a_drop_that_lost_a_field_stops_at_the_gate_and_publishes_nothing(demo_run, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(demo_run[0], home)
    published = {name: figures_of(home / "reports" / name) for name in ("outcomes.json", "report.html")}
    inbox = tmp_path / "inbox"
    shutil.copytree(DEMO_INBOX, inbox)
    newer = inbox / "2026-11-25T0200"
    shutil.copytree(inbox / "2026-11-24T0200", newer)
    for path in newer.glob("SSC_*.csv"):  # the newer export lost the field echo_pasp_mmhg
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
        if "DataDictionary" in path.name:
            rows = [r for r in rows if r[0] != "echo_pasp_mmhg"]
        else:
            drop_at = rows[0].index("echo_pasp_mmhg")
            rows = [r[:drop_at] + r[drop_at + 1:] for r in rows]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)

    result = run_nightly(home, inbox)
    assert result.returncode != 0
    assert "structure_matches_study" in result.stdout
    for name, content in published.items():
        assert figures_of(home / "reports" / name) == content, f"{name} changed after a blocked run"
    steward = (home / "reports" / "steward.html").read_text()
    assert "echo_pasp_mmhg" in steward and "BLOCKED" in steward


def test_an_unreadable_drop_fails_naming_file_and_line_and_still_reports(demo_run, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(demo_run[0], home)
    published = (home / "reports" / "outcomes.json").read_bytes()
    inbox = tmp_path / "inbox"
    shutil.copytree(DEMO_INBOX, inbox)
    broken = inbox / "2026-11-25T0200"
    shutil.copytree(inbox / "2026-11-24T0200", broken)
    (records,) = broken.glob("SSC_DATA_*.csv")
    records.write_text("Record ID,Event Name\n1,baseline\n")  # a "labels" export, not REDCap's raw format

    result = run_nightly(home, inbox)
    assert result.returncode != 0
    assert f"{records.name}, line 1" in result.stdout and "record_id" in result.stdout
    assert (home / "reports" / "outcomes.json").read_bytes() == published
    steward = (home / "reports" / "steward.html").read_text()
    assert "records_unreadable" in steward and records.name in steward


# ---- cohorts the pipeline has never seen --------------------------------------------------------------


@pytest.fixture(scope="module")
def unseen_run(tmp_path_factory):
    """A generated cohort with staggered enrollment (administrative censoring) and canary identifiers."""
    root = tmp_path_factory.mktemp("unseen")
    drop = generate(root / "inbox", "--patients", "120", "--seed", "20261124", "--canaries")
    home = root / "home"
    result = run_nightly(home, root / "inbox", SSC_PSEUDONYM_KEY="a-real-secret-for-this-test-0123456789")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home, drop


def test_outcomes_on_an_unseen_cohort_equal_the_plan_computed_by_hand(unseen_run):
    home, drop = unseen_run
    expected = analyse(records_file(drop))
    o = outcomes(home)
    survival = o["overall_survival"]
    assert (survival["n"], survival["deaths"]) == (expected["n"], expected["deaths"])
    assert 0 < sum(1 - e for e in expected["events"]) < expected["n"]  # there is censoring
    for estimate in survival["estimates"]:
        if estimate["survival"] is not None:
            by_hand = km_by_hand(expected["times"], expected["events"], estimate["year"])
            assert estimate["survival"] == pytest.approx(by_hand, abs=1e-12), estimate["year"]
    by_timepoint = {r["timepoint"]: r for r in o["mrss"]["by_timepoint"]}
    assert set(by_timepoint) == set(expected["mrss"])
    for timepoint, (mean, sd, n) in expected["mrss"].items():
        row = by_timepoint[timepoint]
        assert row["n"] == n and row["mean"] == pytest.approx(mean, abs=1e-9), timepoint
        if n > 1:
            assert row["sd"] == pytest.approx(sd, abs=1e-9), timepoint
    assert (o["hrct_ild"]["n_ild"], o["hrct_ild"]["n_evaluable"]) == (expected["n_ild"], expected["evaluable"])
    assert {k: o["hrct_ild"][k] for k in ("improved", "stable", "worsened")} == expected["hrct"]
    assert {k: o["pah"][k] for k in ("stable", "worsened", "not_evaluable")} == expected["pah"]
    assert (o["adverse_events"]["n_events"], o["adverse_events"]["related"]) == (expected["n_ae"], expected["related"])


def test_no_identifier_value_anywhere_under_ssc_home(unseen_run):
    home, drop = unseen_run
    assert "DEMO pseudonym key" not in (home / "reports" / "report.html").read_text()
    with open(records_file(drop), newline="", encoding="utf-8-sig") as handle:
        dobs = {row["dob"].encode() for row in csv.DictReader(handle) if row["dob"]}
    assert dobs and len(list(home.rglob("*"))) > 50
    for path in home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for canary in CANARIES:
                assert canary not in content, f"{canary!r} found in {path}"
            leaked = [d for d in dobs if d in content]
            assert not leaked, f"dates of birth found in {path}"


def test_an_unchanged_drop_is_not_run_again(demo_run):
    """`make run` again on the demo's home, same drop, code and settings: one line, no run, the look recorded
    (orchestration/unchanged.py). It writes only SSC_HOME/last_looked.json in the shared home."""
    from conftest import _make_run_demo

    home, _ = demo_run
    logs = sorted((home / "logs").glob("nightly-*.log"))
    again = _make_run_demo(home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1].startswith("nightly: no new drop since 2026-11-24 02:00: drop "
                                                    "2026-11-24T0200 was published by run ")
    assert sorted((home / "logs").glob("nightly-*.log")) == logs  # no run
    assert json.loads((home / "last_looked.json").read_text())["drop_id"] == "2026-11-24T0200"
