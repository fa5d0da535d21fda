"""The steward worklist's fast paths give what the plain ones give: the worklist built column by column from a
findings frame is the one built from its records and from steward.json read back, and pausing the garbage collector
leaves it as it was."""

from __future__ import annotations

import gc
import json

import pandas as pd
import pytest

from orchestration.publishing import STEWARD_INPUTS, publish_steward_report
from orchestration.resources import StudyLocations
from quality.findings import findings_frame
from quality.rules import RULES
from report._common import records
from report.publish import dumps_json
from report.worklist import gc_paused, worklist_items
from study.definition import Event, Study

STUDY = Study(fields=(), form_events=(), events=(
    Event("baseline_arm_1", "Baseline", 0, 90, 0), Event("month_6_arm_1", "Month 6", 182, 45, 90)))
REST = {"reconciliation": [{"drop_id": "d1", "export_rows": 12, "loaded_rows": 10, "quarantined_rows": 2}],
        "provenance": {"drop_id": "d1", "code_version": "abc", "nested": {"b": [1, 2.5, None], "a": "x"}},
        "gate_results": [{"gate": "conformance", "passed": False, "message": "2 rows \"quarantined\"\n"}]}


def finding(rule, record=None, event=None, instrument=None, field=None, row=None, value=None, instance=None):
    return RULES[rule].finding(f"{rule} {record} {field} row {row}", record_id=record, event=event,
                               instrument=instrument, field=field, source_row=row, value=value, instance=instance)


def findings() -> pd.DataFrame:
    """Findings with missing parts, a repeat instance, a column missing from the file (a cause with consequences
    in every record) and values that JSON escapes."""
    return findings_frame([
        finding("records_column_missing", field="mrss_date"),
        finding("assessment_date_missing", "2", "baseline_arm_1", "skin_score", "mrss_date", 318),
        finding("assessment_date_missing", "10", "month_6_arm_1", "skin_score", "mrss_date", 330),
        finding("clinical_outlier", "2", "month_6_arm_1", "pft", "fvc_pct_pred", 319, "34.4", instance=2),
        finding("clinical_outlier", "2", "baseline_arm_1", "pft", "fvc_pct_pred", 320, 'a "quoted"\\ value\n\x01 – é 😀'),
        finding("record_without_enrollment", "30", "baseline_arm_1", field="enrollment_date", row=400),
    ])


def test_the_published_steward_json_is_what_it_was_rendered_from(tmp_path):
    locations = StudyLocations(home=str(tmp_path), inbox=str(tmp_path / "inbox"))
    frame = findings()
    publish_steward_report(locations, frame, gate_results=REST["gate_results"],
                           reconciliation=pd.DataFrame(REST["reconciliation"]), provenance={"drop_id": "d1"})
    text = (locations.reports / STEWARD_INPUTS).read_text(encoding="utf-8")
    provenance = json.loads(text)["provenance"]  # with the time it was generated and the code version
    assert provenance["drop_id"] == "d1" and provenance["generated_at"]
    assert text == dumps_json({"findings": records(frame), "reconciliation": REST["reconciliation"],
                               "provenance": provenance, "gate_results": REST["gate_results"]})


def _shape(items):
    return [(it.severity, it.rule, it.record_id, it.action, it.cells, it.consequences) for it in items]


def test_the_worklist_of_a_frame_is_the_worklist_of_its_records():
    frame = findings()
    from_frame = worklist_items(frame, STUDY)
    assert _shape(from_frame) == _shape(worklist_items(records(frame), STUDY))
    # read back from steward.json, export rows and instances are floats (NaN when missing): the same worklist
    read_back = pd.DataFrame(json.loads(dumps_json({"findings": records(frame), **REST}))["findings"])
    assert read_back["source_row"].dtype == float
    assert _shape(worklist_items(read_back, STUDY)) == _shape(from_frame)
    cause = next(it for it in from_frame if it.rule == "records_column_missing")
    assert {(c.record_id, c.source_row) for c in cause.consequences} == {("2", 318), ("10", 330)}
    outlier = next(c for it in from_frame for c in it.cells if c.instance == 2)
    assert (outlier.record_id, outlier.source_row, outlier.value) == ("2", 319, "34.4")


def test_gc_paused_pauses_the_collector_and_restores_it():
    was = gc.isenabled()
    try:
        gc.enable()
        with gc_paused():
            assert not gc.isenabled()
            with gc_paused():  # nested: the outer block restores it
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled()
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError("a failure in the block")
        assert gc.isenabled()

        @gc_paused()
        def state():
            return gc.isenabled()

        assert state() is False and gc.isenabled()
        gc.disable()  # paused already: left paused
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
