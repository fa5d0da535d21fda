"""GX validates only the rows that could fail (quality.gx_prefilter): the same results as on every row.

Each suite here is validated twice by real GX runners, once on every row and once prefiltered, and every
expectation's result (success, unexpected values and rows, counts and percentages, raised exceptions) must be
the same."""

from __future__ import annotations

import json

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pytest

from quality.gx_findings import findings_from_run
from quality.gx_prefilter import CannotPrefilter, rows_that_could_fail
from quality.gx_runner import GXRunner


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "_source_row": list(range(2, 12)),
        "record_id": [f"SSC-{i:04d}" for i in range(10)],
        "visit_date": ["2021-02-28", "2021-02-30", None, "2021-2-3", "21-02-03", "2021-02-03 ", "2020-02-29",
                       "2019-02-29", "abc", "2021-12-31"],
        "code": ["1", "2", "3", None, "1", " 1", "1.0", "2", "9", "1"],
        "number": [" 5", "5.5", "x", None, "-1", "1e3", "12", "7", "3", "4"],
        "number__num": [5.0, 5.5, np.nan, np.nan, -1.0, 1000.0, 12.0, 7.0, 3.0, 4.0],
        "flag": [True, True, False, True, True, True, True, True, True, True],
        "total": [10.0, 11.0, np.nan, 4.0, np.nan, 6.0, 7.0, 8.0, 9.0, 10.0],
        "total__sum": [10.0, 12.0, 3.0, np.nan, np.nan, 6.0, 7.5, 8.0, 9.0, 10.0],
        "start": pd.to_datetime(["2021-01-01", "2021-02-01", None, "2021-01-05", "2021-01-01", "2021-01-01",
                                 "2021-01-01", "2021-01-01", "2021-01-01", "2021-01-01"]),
        "end": pd.to_datetime(["2021-01-02", "2021-01-01", "2021-01-01", None, "2021-01-01", "2021-01-02",
                               "2021-01-02", "2021-01-02", "2021-01-02", "2021-01-02"]),
        "mixed": ["a", 1, True, None, 2.5, "b", "c", "d", "e", "f"],
        "count": pd.array([1, 2, None, 4, 5, 6, 7, 8, 9, 10], dtype="Int32"),
        "count__sum": pd.array([1, 3, 3, None, 5, 6, 7, 8, 9, 10], dtype="Int32"),
    })


def suite(name: str, *expectations) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=name, meta={"finding_columns": {"record_id": "record_id",
                                                                    "source_row": "_source_row"}},
                               expectations=list(expectations))


EVERY_TYPE = (
    gxe.ExpectColumnValuesToMatchRegex(column="visit_date", regex=r"^\d{4}-\d{1,2}-\d{1,2}$"),
    gxe.ExpectColumnValuesToMatchStrftimeFormat(column="visit_date", strftime_format="%Y-%m-%d"),
    gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["1", "2", "3"]),
    gxe.ExpectColumnValuesToMatchRegex(column="number", regex=r"^\s*-?\d+(\.\d+)?\s*$"),
    gxe.ExpectColumnValuesToBeBetween(column="number__num", min_value=0, max_value=10),
    gxe.ExpectColumnValuesToBeBetween(column="number__num", min_value=0, max_value=10, strict_max=True),
    gxe.ExpectColumnValuesToNotBeNull(column="code"),
    gxe.ExpectColumnValuesToBeInSet(column="flag", value_set=[True]),
    gxe.ExpectColumnPairValuesToBeEqual(column_A="total", column_B="total__sum",
                                        ignore_row_if="either_value_is_missing"),
    gxe.ExpectColumnPairValuesToBeEqual(column_A="total", column_B="total__sum"),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end", column_B="start", or_equal=True),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end", column_B="start"),
)


def results(run) -> list:
    return sorted((r.expectation_config.type, json.dumps(r.expectation_config.kwargs, sort_keys=True, default=str),
                   r.success, json.dumps(r.result, sort_keys=True, default=str),
                   bool((r.exception_info or {}).get("raised_exception")))
                  for r in run.result.results)


def both_ways(tmp_path, *expectations, stored: bool = False):
    """The suite validated on every row and prefiltered: (run, run); in file contexts under tmp_path if
    ``stored``, else in memory."""
    runs = {}
    for prefilter in (False, True):
        runner = (GXRunner(tmp_path / f"gx_{prefilter}", tmp_path / f"docs_{prefilter}", run_name="drop",
                           prefilter=prefilter) if stored else GXRunner(prefilter=prefilter))
        runs[prefilter] = runner.validate(suite("prefilter_case", *[e.copy() for e in expectations]), frame(),
                                          index_columns=["_source_row"])
    return runs[False], runs[True]


def test_every_expectation_type_gives_the_same_results_on_the_rows_that_could_fail(tmp_path):
    full, pre = both_ways(tmp_path, *EVERY_TYPE)
    assert results(pre) == results(full)
    assert not full.success
    assert findings_from_run(pre) == findings_from_run(full)
    rows = pre.result.meta["rows"]
    assert rows["in_frame"] == 10
    assert 0 < rows["validated_by_gx"] < 10  # SSC-0000, SSC-0006 and SSC-0009 meet every condition


def test_the_stored_result_says_the_same_as_on_every_row(tmp_path):
    both_ways(tmp_path, *EVERY_TYPE, stored=True)
    stored = {}
    for prefilter in (False, True):
        context = gx.get_context(mode="file", context_root_dir=str(tmp_path / f"gx_{prefilter}"))
        (key,) = context.validation_results_store.list_keys()
        result = context.validation_results_store.get(key)
        stored[prefilter] = sorted(json.dumps(r.result, sort_keys=True, default=str) for r in result.results)
    assert stored[True] == stored[False]


@pytest.mark.parametrize("odd", [
    gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["1", "2"], mostly=0.5),
    gxe.ExpectTableRowCountToBeBetween(min_value=1, max_value=5),
    gxe.ExpectColumnValuesToBeUnique(column="code"),
    gxe.ExpectColumnValuesToNotBeNull(column="no_such_column"),
    gxe.ExpectColumnValuesToMatchStrftimeFormat(column="mixed", strftime_format="%Y"),  # GX raises on non-text
    gxe.ExpectColumnValuesToBeBetween(column="mixed", min_value=0, max_value=3),  # raises: str vs int
    # nullable integers (DuckDB's .df() of an INTEGER column with nulls): A == B is NA on a row with one value
    gxe.ExpectColumnPairValuesToBeEqual(column_A="count", column_B="count__sum"),
], ids=["mostly", "table-level", "unique", "missing-column", "strftime-on-non-text", "between-raises",
        "pair-of-nullable-integers"])
def test_a_suite_it_cannot_vouch_for_is_validated_on_every_row(tmp_path, odd):
    with pytest.raises(CannotPrefilter):
        rows_that_could_fail([odd], frame())
    full, pre = both_ways(tmp_path, *EVERY_TYPE, odd)
    assert "rows" not in pre.result.meta
    assert results(pre) == results(full)


def test_a_frame_that_meets_every_condition_leaves_gx_no_rows_and_the_same_verdict(tmp_path):
    full, pre = both_ways(tmp_path, gxe.ExpectColumnValuesToBeInSet(column="flag", value_set=[True, False]),
                          gxe.ExpectColumnValuesToNotBeNull(column="record_id"))
    assert pre.result.meta["rows"]["validated_by_gx"] == 0
    assert pre.success and full.success
    assert results(pre) == results(full)
