"""The analysis results dataset: rows typed by statistic, unique keys, read back by key; CSV and DuckDB keep every
value and the order; outcomes.json read back from it equals what the analysis functions return."""

import io
import math

import duckdb
import pandas as pd
import pytest
from analysis_builders import adbds, cohort, series

from analysis import ard
from analysis.adverse_events import adverse_events
from analysis.cohort import cohort_flow
from analysis.continuous import haq_di_outcome, mrss_outcome
from analysis.hrct import hrct_ild
from analysis.lung_function import lung_function
from analysis.mixed_model import mrss_mixed_model
from analysis.outcomes import outcomes_document
from analysis.pah import pah
from analysis.responders import mrss_responders
from analysis.results import analysis_results, vascular_rows
from analysis.survival import overall_survival
from analysis.table1 import table1
from analysis.vascular import vascular


def test_a_row_stores_its_value_by_the_statistic_kind():
    assert ard.row("x", "n", 41, source="marts.adsl")["value"] == 41.0
    text = ard.row("x", "reason", "death date before day 0", group="SSC-0041", source="marts.adtte")
    assert (text["value"], text["value_text"], text["group"]) == (None, "death date before day 0", "SSC-0041")
    assert ard.row("x", "converged", True, source="s")["value"] == 1.0
    assert ard.row("x", "mean", math.nan, source="s")["value"] is None
    assert ard.row("x", "sd", None, n=3.0, source="s")["n"] == 3
    with pytest.raises(KeyError):
        ard.row("x", "no_such_statistic", 1, source="s")


def test_a_repeated_key_is_refused():
    rows = ard.Rows("mrss", "marts.adbds")
    rows.add("n", 41, parameter="mrss_total", timepoint="baseline")
    rows.add("n", 40, parameter="mrss_total", timepoint="baseline")
    with pytest.raises(ValueError, match="repeated key"):
        ard.frame(rows)


def test_results_read_by_key_typed_and_in_order():
    rows = ard.Rows("pah", "marts.adsl")
    rows.add("n", 8, parameter="echo_pasp_mmhg")
    rows.counts({"stable": 5, "worsened": 2, "not_evaluable": 1}, 8, parameter="echo_pasp_mmhg")
    rows.add("category", "stable", parameter="echo_pasp_mmhg", group="SSC-0003")
    r = ard.Results(ard.frame(rows))
    assert r.value("pah", "n", parameter="echo_pasp_mmhg") == 8 and type(r.value("pah", "n",
                                                                                   parameter="echo_pasp_mmhg")) is int
    assert r.value("pah", "pct", parameter="echo_pasp_mmhg", group="stable") == 62.5
    assert r.rows("pah", "pct", parameter="echo_pasp_mmhg", group="worsened")[0]["n"] == 8
    assert r.groups("pah", "n", parameter="echo_pasp_mmhg") == ["stable", "worsened", "not_evaluable"]
    assert r.value("pah", "category", parameter="echo_pasp_mmhg", group="SSC-0003") == "stable"
    assert r.get("pah", "n", parameter="rcs") is None
    with pytest.raises(KeyError):
        r.value("pah", "n", parameter="rcs")


def test_category_counts_come_with_their_percentage():
    bds = adbds(series("A", "medsger_pv", {"baseline": 3, "month_12": 1}) + series("B", "medsger_pv", {"baseline": 3})
                + series("C", "medsger_pv", {"baseline": 2}))
    r = ard.Results(ard.frame(vascular_rows(vascular(bds))))
    grade3 = {"parameter": "medsger_pv", "timepoint": "baseline", "group": "3"}
    assert (r.value("vascular", "n", **grade3), r.value("vascular", "pct", **grade3)) == (2, pytest.approx(200 / 3))
    assert r.rows("vascular", "pct", **grade3)[0]["n"] == 3
    assert r.value("vascular", "pct", parameter="medsger_pv", timepoint="month_12", group="1") == 100.0


@pytest.fixture(scope="module")
def marts():
    return cohort()


@pytest.fixture(scope="module")
def results(marts):
    return analysis_results(marts, enrolled=14)


def test_csv_and_duckdb_keep_every_value_and_the_order(results, tmp_path):
    back = ard.read_csv(io.StringIO(ard.to_csv(results)))
    assert back.equals(results)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        ard.write_table(conn, results)
        stored = conn.execute("select * from analysis.results").df()
    assert list(stored.columns) == list(ard.COLUMNS)
    assert stored["value"].equals(results["value"])  # bit for bit, NULL where NULL
    assert stored["statistic"].tolist() == results["statistic"].tolist()


def test_outcomes_read_back_from_the_ard_are_the_analysis_functions_results(marts, results):
    sl, bds, tte, ae, ex = (marts[m] for m in ("adsl", "adbds", "adtte", "adae", "adex"))
    document = outcomes_document(results)
    assert document["overall_survival"] == overall_survival(tte)
    assert document["mrss"] == mrss_outcome(bds) and document["haq_di"] == haq_di_outcome(bds)
    assert document["hrct_ild"] == hrct_ild(sl, bds) and document["pah"] == pah(sl, bds, tte)
    assert document["vascular"] == vascular(bds) and document["lung_function"] == lung_function(sl, bds)
    assert document["mrss_mixed_model"] == mrss_mixed_model(bds)
    assert document["mrss_responders"] == mrss_responders(bds)
    assert document["cohort_flow"] == cohort_flow(sl, bds, tte, 14)
    rows = [{k: v for k, v in r.items() if k not in ("parameter", "group")} for r in table1(sl)["rows"]]
    assert [{k: v for k, v in r.items() if k != "value"} for r in document["table1"]["rows"]] == rows
    assert document["table1"]["rows"][1]["value"] == "40.0 (0.0); median 40.0 (40.0–40.0)"  # as first published

    events = adverse_events(ae, ex, tte)
    assert document["adverse_events"] == {
        "n_events": 2, "n_patients": 2, "serious": 1, "related": 0, "related_patients": 0,
        "by_grade": {"1": 1, "2": 1, "3": 0, "4": 0, "5": 0}, "by_relation": {"1": 1, "2": 1, "3": 0, "4": 0, "5": 0},
        "grade_missing": 0, "relation_missing": 0, "patient_years": events["patient_years"],
        "events_per_100_patient_years": events["events_per_100_patient_years"],
        "infusion_reactions": {"n_infusions": 12, "n_reactions": 0, "n_patients": 0}}


def test_every_key_is_unique_and_every_source_is_a_mart(results):
    assert not results.duplicated(list(ard.KEY)).any()
    assert results["source"].str.contains("marts.").all()
    assert set(results["statistic"]) <= set(ard.STATISTICS)


def test_tables_put_together_are_the_table_of_all_their_rows_in_order():
    first, second = ard.Rows("pah", "marts.adsl"), ard.Rows("mrss", "marts.adbds")
    first.add("n", 8, parameter="echo_pasp_mmhg")
    first.add("reason", None, parameter="echo_pasp_mmhg", group="SSC-0003")  # NULL text, NULL n
    second.add("mean", math.nan, parameter="mrss_total", timepoint="baseline", n=0)  # NULL value
    second.add("mean", 18.68, parameter="mrss_total", timepoint="month_60", n=25)
    together = ard.concat([ard.frame(first), ard.frame(), ard.frame(second)])
    expected = ard.frame(first, second)
    pd.testing.assert_frame_equal(together, expected, check_exact=True)
    assert [[type(v) for v in together[c]] for c in ard.COLUMNS] == [[type(v) for v in expected[c]]
                                                                      for c in ard.COLUMNS]
    assert ard.concat([ard.frame(), ard.frame()]).equals(ard.frame())
    with pytest.raises(ValueError, match="repeated key"):
        ard.concat([ard.frame(second), ard.frame(second)])
