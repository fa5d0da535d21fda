"""What the GX runner stores and what findings read back are what GX itself would give.

:func:`quality.gx_runner.serialized` replaces GX's ``ValidationResultsStore.serialize`` while a Checkpoint runs
(the same text without GX's repeated copies): the text stored by a real file context must equal GX's own
``serialize`` of the same result. While it runs, each expectation's configuration is built once
(:func:`quality.gx_runner._configurations_kept`): each result must hold the configuration GX builds, and GX gets
its property back. Findings read date cells one at a time (:class:`quality.gx_findings._Cells`):
their values are checked by hand."""

from __future__ import annotations

import json

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from great_expectations.data_context.store.validation_results_store import ValidationResultsStore
from great_expectations.expectations.expectation import Expectation
from quality.gx_findings import findings_from_run
from quality.gx_runner import _GX_CONFIGURATION as GX_CONFIGURATION
from quality.gx_runner import GXRunner


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "_source_row": np.arange(2, 10, dtype="int64"),
        "record_id": [f"SSC-{i:04d}" for i in range(8)],
        "code": ["1", "2", "x", None, "1", "<b>&'", "9", "1"],
        "number": [5.0, 5.5, np.nan, 11.25, -1.0, 1e3, 0.1, 4.0],
        "count": pd.array([1, 2, None, 40, 5, 6, 70, 8], dtype="Int32"),
        "mixed": ["a", 1, True, None, 2.5, "b", np.int64(7), "d"],
        "start": pd.to_datetime(["2021-01-01", "2021-02-01 10:30", None, "2021-01-05", "2021-01-01",
                                 "2021-01-01", "2021-03-01", "2021-01-01"], format="mixed"),
        "start_utc": pd.to_datetime(["2021-01-01", "2021-02-01 10:30", None, "2021-01-05", "2021-01-01", "2021-01-01",
                                     "2021-03-01", "2021-01-01"], format="mixed").tz_localize("UTC"),
        "end": pd.to_datetime(["2021-01-02", "2021-01-01", "2021-01-01", None, "2021-01-01", "2021-01-02",
                               "2021-01-02", "2021-01-02"]).astype("datetime64[us]"),
    })


def suite(name: str) -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=name, meta={"finding_columns": {"record_id": "record_id",
                                                                    "source_row": "_source_row"}}, expectations=[
        gxe.ExpectColumnValuesToBeInSet(column="code", value_set=["1", "2"]),
        gxe.ExpectColumnValuesToBeBetween(column="number", min_value=0, max_value=10),
        gxe.ExpectColumnValuesToBeBetween(column="count", min_value=0, max_value=10),
        gxe.ExpectColumnValuesToBeInSet(column="mixed", value_set=["a", "b", "d"]),
        gxe.ExpectColumnValuesToNotBeNull(column="start"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end", column_B="start", or_equal=True,
                                                    ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnValuesToBeInSet(column="start_utc", value_set=[pd.Timestamp("2021-01-01", tz="UTC")]),
    ])


def stored_texts(context) -> list[str]:
    store = context.validation_results_store
    return [store._store_backend.get(store.key_to_tuple(key)) for key in store.list_keys()]


def test_the_stored_result_is_the_text_gx_itself_serialises(tmp_path):
    for prefilter in (True, False):
        runner = GXRunner(tmp_path / f"gx{prefilter}", tmp_path / f"docs{prefilter}", run_name="drop-1",
                          prefilter=prefilter)
        run = runner.validate(suite("mixed_values"), frame(), index_columns=["_source_row"])
        assert not run.success and len(run.failed()) == 7
        (text,) = stored_texts(runner.context)
        assert text == ValidationResultsStore.serialize(runner.context.validation_results_store, run.result)
        document = json.loads(text)
        assert [r["result"]["unexpected_index_list"] for r in document["results"]][0] == [
            {"_row": 2, "_source_row": 4, "code": "x"}, {"_row": 5, "_source_row": 7, "code": "<b>&'"},
            {"_row": 6, "_source_row": 8, "code": "9"}]
        assert runner.context.validation_results_store.serialize.__func__ is ValidationResultsStore.serialize
        runner.build_docs()
        assert (tmp_path / f"docs{prefilter}" / "index.html").exists()


def test_findings_show_dates_of_the_rows_that_fail():
    run = GXRunner().validate(suite("dates"), frame(), index_columns=["_source_row"])
    by_rule = {}
    for f in findings_from_run(run):
        by_rule.setdefault((f.field, f.record_id), f.value)
    assert by_rule[("start", "SSC-0002")] is None  # the missing start date
    assert by_rule[("end", "SSC-0001")] == "2021-01-01"  # end before start 2021-02-01 10:30
    assert by_rule[("start_utc", "SSC-0001")] == "2021-02-01T10:30:00+00:00"
    assert by_rule[("start_utc", "SSC-0006")] == "2021-03-01"  # midnight: the date
    assert ("start_utc", "SSC-0000") not in by_rule


def test_each_result_holds_the_configuration_gx_builds_and_gx_gets_its_property_back():
    expectations = suite("configurations").expectations
    run = GXRunner().validate(suite("configurations"), frame(), index_columns=["_source_row"])
    assert Expectation.configuration is GX_CONFIGURATION  # GX's own property again after the Checkpoint run
    built = {e.expectation_type: [] for e in expectations}
    for e in expectations:
        built[e.expectation_type].append(e.configuration.to_json_dict())
    for r in run.result.results:
        config = r.expectation_config.to_json_dict()
        config.pop("id")
        config["kwargs"].pop("batch_id")
        assert any(config == {k: v for k, v in b.items() if k != "id"} for b in built[r.expectation_config.type])
