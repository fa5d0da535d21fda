"""What a person sees when a run ends: the console's last line is the verdict, each problem is one line with no
traceback, the full log is on disk, and the steward worklist and the Dagster run carry the same verdict."""

from __future__ import annotations

import html
import re
import shutil
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.publishing import publish_steward_report, published_steward_inputs, warehouse_steward_inputs
from orchestration.resources import StudyLocations, Warehouse
from orchestration.version import code_version
from pipeline.test_nightly import DEMO_INBOX, run_nightly
from quality.findings import Finding, findings_frame
from quality.store import combine_findings, write_findings, write_reconciliation
from report.worklist import open_problems

DATE_ERROR = Finding(rule="date_format", severity="error", category="conformance", action="nulled",
                     message="enrollment_date '12/7/2016' is not YYYY-MM-DD", record_id="7", event="baseline_arm_1",
                     instrument="enrollment", field="enrollment_date", value="12/7/2016", source_row=3)
OUTLIER = Finding(rule="clinical_outlier", severity="warning", category="plausibility", record_id="9",
                  message="mrss_total 50 is unusual", field="mrss_total", value="50", source_row=8)


def locations(home: Path) -> StudyLocations:
    return StudyLocations(inbox=str(home / "inbox"), home=str(home))


def banner(page: Path) -> str:
    return html.unescape(re.search(r'id="status">([^<]*)<', page.read_text())[1])


@pytest.mark.slow
def test_a_refused_drop_ends_with_the_verdict_and_no_traceback(tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(DEMO_INBOX, inbox)
    (records,) = inbox.glob("*/SSC_DATA_*.csv")
    header, rest = records.read_text(encoding="utf-8-sig").split("\n", 1)
    assert header.startswith("record_id,")
    records.write_text("Record ID" + header[len("record_id"):] + "\n" + rest, encoding="utf-8")
    home = tmp_path / "home"

    result = run_nightly(home, inbox)
    console = result.stdout + result.stderr
    assert result.returncode == 1, console[-3000:]
    for wrapper in ("Traceback", "dagster._core", "Stack Trace", "DagsterExecutionStepExecutionError"):
        assert wrapper not in console, wrapper
    lines = result.stdout.strip().splitlines()
    verdict = lines[-1].removeprefix("nightly: ")
    assert verdict.startswith("BLOCKED at raw/records: ") and records.name in verdict
    assert "field labels instead of variable names" in verdict
    assert not [line for line in lines if line.startswith("nightly: BLOCKED: ")]  # said once, as the verdict
    (full_log,) = [Path(line.removeprefix("nightly: full log: ")) for line in lines if "full log:" in line[:25]]
    assert full_log.parent == home / "logs" and "STEP_FAILURE" in full_log.read_text()
    assert banner(home / "reports" / "steward.html") == f"Final status of this run: {verdict}"
    (run,) = dg.DagsterInstance.from_config(str(home / "dagster")).get_runs()
    assert run.tags["ssc/verdict"] == verdict


def test_the_end_of_run_page_shows_the_current_drop_of_the_warehouse_under_the_verdict(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.drops as select * from (values "
                     "('old', 'a.csv', 'aa', timestamp '2026-11-24 02:00'), ('new', 'b.csv', 'bb', timestamp "
                     "'2026-11-25 02:00')) as t(drop_id, records_file, records_sha256, export_datetime)")
        conn.execute("create view raw.current_drop as select * from raw.drops where drop_id = 'new'")
        write_findings(conn, "ingest", findings_frame([DATE_ERROR]), "old")
        write_findings(conn, "conformance", findings_frame([DATE_ERROR, OUTLIER]), "new")
        combine_findings(conn)
        write_reconciliation(conn, pd.DataFrame(
            [{"drop_id": d, "instrument": None, "export_rows": n, "loaded_rows": n, "quarantined_rows": 0}
             for d, n in (("old", 10), ("new", 12))]))

    inputs = warehouse_steward_inputs(Warehouse(database=str(path)))
    assert set(inputs.findings["drop_id"]) == {"new"} and open_problems(inputs.findings)[0] == 1
    assert inputs.reconciliation["export_rows"].tolist() == [12]
    assert inputs.provenance == {"drop_id": "new", "records_file": "b.csv", "records_sha256": "bb",
                                 "export_datetime": "2026-11-25 02:00:00"}

    verdict = {"outcome": "blocked", "text": "BLOCKED at no_death_before_day0: record 7 died before day 0",
               "errors": open_problems(inputs.findings)[0]}
    page = Path(publish_steward_report(locations(tmp_path), inputs.findings, gate_results=[
        {"gate": "structure_matches_study", "passed": True, "message": "ok"}], reconciliation=inputs.reconciliation,
        provenance=inputs.provenance, verdict=verdict))
    assert banner(page) == f"Final status of this run: {verdict['text']}"
    assert "Run passed" not in page.read_text() and 'class="banner bad"' in page.read_text()


def test_what_a_step_published_is_kept_for_the_end_of_run_rewrite(tmp_path):
    before = time.time()
    publish_steward_report(locations(tmp_path), [DATE_ERROR], gate_results=[
        {"gate": "readable_drop", "passed": False, "message": "x.csv, line 1: the first column is 'Record ID'"}],
        provenance={"drop_id": "2026-11-25T0200"})
    kept = published_steward_inputs(locations(tmp_path), since=before)
    assert kept.findings[["rule", "record_id", "field", "source_row"]].values.tolist() == [
        ["date_format", "7", "enrollment_date", 3]]
    assert open_problems(kept.findings)[0] == 1 and kept.provenance == {"drop_id": "2026-11-25T0200", "code_version": code_version(),
                                                    "export_datetime": "2026-11-25 02:00"}  # the drop's name says
    assert published_steward_inputs(locations(tmp_path), since=time.time() + 60) is None  # an older run's page


@pytest.mark.parametrize("outcome, errors, css", [("published", 0, "ok"), ("published", 3, "warn"),
                                                  ("failed", 0, "bad")])
def test_the_banner_colour_follows_the_verdict(tmp_path, outcome, errors, css):
    page = Path(publish_steward_report(locations(tmp_path), [], gate_results=[],
                                       verdict={"outcome": outcome, "text": "x", "errors": errors}))
    assert f'class="banner {css}" id="status"' in page.read_text()
