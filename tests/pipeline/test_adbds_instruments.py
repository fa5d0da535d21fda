"""Each outcome reads only its instruments' rows of marts.adbds (analysis.results.Analysis.adbds_instruments,
orchestration.assets.outcomes.read_marts), and the cohort flow only its columns (COHORT_FLOW_ADBDS): on the
demo's marts each gives, to the last bit, the ARD rows it gives on the whole of adbds; so does the study report,
which reads 8 of its columns (REPORT_ADBDS). A new parameter an analysis
starts to read from another instrument makes this fail until its instruments are named."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.results import ANALYSES, cohort_flow_results
from orchestration.assets.outcomes import COHORT_FLOW_ADBDS, read_marts
from orchestration.assets.reports import REPORT_ADBDS
from orchestration.resources import Warehouse
from report.study_report import render_study_report

pytestmark = pytest.mark.slow
LIMITED = [a for a in ANALYSES if a.adbds_instruments]


def test_the_analyses_that_read_adbds_name_their_instruments():
    assert sorted(a.name for a in ANALYSES if "adbds" in a.marts and not a.adbds_instruments) == []
    assert len(LIMITED) == 8


@pytest.mark.parametrize("analysis", LIMITED, ids=[a.name for a in LIMITED])
def test_an_analysis_gives_the_same_rows_on_its_instruments_as_on_the_whole_of_adbds(demo_run, analysis):
    home, _ = demo_run
    warehouse = Warehouse(database=str(home / "warehouse.duckdb"))
    whole = warehouse.read_tables(*(f"marts.{m}" for m in analysis.marts))
    limited = read_marts(warehouse, analysis)
    assert set(limited["adbds"]["SRCDOM"]) == set(analysis.adbds_instruments)
    assert 0 < len(limited["adbds"]) < len(whole["adbds"])
    pd.testing.assert_frame_equal(analysis.results(*(limited[m] for m in analysis.marts)),
                                  analysis.results(*(whole[m] for m in analysis.marts)), check_exact=True)


def test_the_cohort_flow_on_its_five_adbds_columns_is_the_cohort_flow_on_the_whole_mart(demo_run):
    home, _ = demo_run
    warehouse = Warehouse(database=str(home / "warehouse.duckdb"))
    marts = warehouse.read_tables("marts.adsl", "marts.adbds", "marts.adtte")
    read = warehouse.read_part("marts.adbds", COHORT_FLOW_ADBDS)
    pd.testing.assert_frame_equal(cohort_flow_results(marts["adsl"], read, marts["adtte"], 41),
                                  cohort_flow_results(marts["adsl"], marts["adbds"], marts["adtte"], 41),
                                  check_exact=True)


def test_the_report_on_what_it_reads_of_adbds_is_the_report_on_the_whole_mart(demo_run):
    home, _ = demo_run
    warehouse = Warehouse(database=str(home / "warehouse.duckdb"))
    results = warehouse.read_tables("analysis.results")["results"]
    quality = warehouse.read_tables("quality.findings", "quality.reconciliation")
    shown = {"drop_id": "2026-11-24T0200", "export_datetime": "2026-11-24T02:00:00", "code_version": "test",
             "run_id": "run", "records_file": "records.csv", "records_sha256": "0" * 64}
    whole = warehouse.read_tables("marts.adbds")["adbds"]
    read = warehouse.read_part(**REPORT_ADBDS)
    assert len(read.columns) < len(whole.columns)
    assert render_study_report(results, read, quality, shown) == render_study_report(results, whole, quality, shown)
