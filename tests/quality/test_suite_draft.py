"""quality.gx_runner.SuiteDraft: a suite made in one step holds what GX's add_expectation would have kept, and
building it writes nothing to the project's store, even when a suite of that name was saved on an earlier night."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from quality.gx_runner import GXRunner, SuiteDraft


def _expectations():
    return [gxe.ExpectColumnValuesToNotBeNull(column="record_id", meta={"rule": "a"}),
            gxe.ExpectColumnValuesToBeBetween(column="mrss_total", min_value=0, max_value=51),
            gxe.ExpectColumnValuesToNotBeNull(column="record_id", meta={"rule": "b"}),  # same but for its meta
            gxe.ExpectColumnValuesToBeBetween(column="mrss_total", min_value=0, max_value=50)]


def test_the_suite_keeps_what_add_expectation_keeps():
    gx.get_context(mode="ephemeral")
    by_gx = gx.ExpectationSuite(name="by_gx")
    for expectation in _expectations():
        by_gx.add_expectation(expectation)
    draft = SuiteDraft(name="drafted", meta={"stage": "conformance"})
    for expectation in _expectations():
        draft.add_expectation(expectation)
    suite = draft.suite()
    assert suite.name == "drafted" and suite.meta["stage"] == "conformance"
    assert [e.configuration.to_json_dict() for e in suite.expectations] == \
        [e.configuration.to_json_dict() for e in by_gx.expectations]
    assert len(suite.expectations) == 3


def test_building_a_suite_already_in_the_store_writes_nothing_to_it(tmp_path):
    runner = GXRunner(tmp_path / "gx", tmp_path / "docs", run_name="night 1")
    first = SuiteDraft(name="raw_skin_score")
    first.add_expectation(_expectations()[0])
    runner.context.suites.add_or_update(first.suite())
    stored = list((tmp_path / "gx").rglob("raw_skin_score.json"))
    assert len(stored) == 1
    before = stored[0].stat().st_mtime_ns, stored[0].read_bytes()

    draft = SuiteDraft(name="raw_skin_score")  # the next night: the same name, already saved
    for expectation in _expectations():
        draft.add_expectation(expectation)
    assert len(draft.suite().expectations) == 3
    assert (stored[0].stat().st_mtime_ns, stored[0].read_bytes()) == before
