"""A held-out drop with known injected defects, end to end.

Every injected defect must appear in quality.findings with its record, event and field; the run completes;
and the outcomes equal the plan computed by hand on the same drop with the unusable values taken out.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from plan_by_hand import analyse, records_file
from test_nightly import generate, outcomes, query, run_nightly, verdicts_shown, worklist_counts

pytestmark = pytest.mark.slow

CELL_DEFECTS = {"out_of_range", "non_choice_code", "malformed_date", "impossible_date", "comma_decimal"}
ROW_DEFECTS = {"duplicate_row", "unknown_event", "missing_record_id"}


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects")
    drop = generate(root / "inbox", "--patients", "150", "--seed", "424242", "--defects", "--defect-rate", "0.02",
                    "--canaries")
    defects = pd.read_csv(root / "inbox" / f"{drop.name}.injected_defects.csv", dtype=str, keep_default_na=False)
    home = root / "home"
    result = run_nightly(home, root / "inbox")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    findings = pd.DataFrame(query(home, "select source_row, record_id, event, field, rule, action from quality.findings"),
                            columns=["source_row", "record_id", "event", "field", "rule", "action"])
    return {"home": home, "drop": drop, "defects": defects, "findings": findings, "root": root, "result": result}


def test_a_drop_with_errors_has_one_verdict_everywhere(defect_run):
    """The N of "published with N errors" is the worklist's error rows, on every page (a cause with its
    consequences is one row; the findings behind them are more)."""
    home = defect_run["home"]
    shown = verdicts_shown(home, defect_run["result"].stdout)
    counts = worklist_counts(home)
    (error_findings,) = query(home, "select count(*) from quality.findings where severity = 'error'")[0]
    assert 0 < counts["error"] < error_findings
    said = f"published with {counts['error']} errors for the stewards"
    assert shown["console"] == shown["tag"] == shown["steward"] == said
    assert shown["report"].startswith(f"Status: {said}. Drop {defect_run['drop'].name} (exported ")
    assert f"; {counts['error']} open errors and {counts['warning']} warnings in the steward worklist." in shown["report"]


def test_the_drop_has_every_kind_of_defect(defect_run):
    kinds = set(defect_run["defects"]["defect"])
    assert CELL_DEFECTS | ROW_DEFECTS | {"missing_enrollment", "date_after_death"} <= kinds


def test_every_injected_defect_is_a_finding_with_its_record_event_and_field(defect_run):
    findings = defect_run["findings"]
    missed = []
    for defect in defect_run["defects"].itertuples():
        if defect.defect == "missing_enrollment":
            hits = findings[(findings.record_id == defect.record_id) & (findings.rule == "record_without_enrollment")]
        else:
            at_row = findings[findings.source_row == int(defect.source_row)]
            hits = at_row[(at_row.field == defect.field) | (at_row.action == "quarantined")]
            if defect.defect != "missing_record_id":  # that row has no record id to report
                hits = hits[(hits.record_id == defect.record_id) & (hits.event == defect.event)]
        if hits.empty:
            missed.append(f"{defect.defect} row {defect.source_row} {defect.record_id} {defect.event} {defect.field}")
    assert not missed, "defects without a finding:\n" + "\n".join(missed)


def test_every_export_row_is_accounted_for(defect_run):
    for export, loaded, quarantined in query(defect_run["home"], "select export_rows, loaded_rows, quarantined_rows "
                                                                 "from quality.reconciliation"):
        assert export == loaded + quarantined
    assert query(defect_run["home"], "select quarantined_rows from quality.reconciliation where instrument is null")[0][0] > 0


def without_unusable_values(drop: Path, defects: pd.DataFrame, out: Path) -> Path:
    """The drop as the plan should see it: bad cells blank, unplaceable rows and records gone."""
    with open(records_file(drop), newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    keep = [True] * len(body)
    gone_records = set()
    for defect in defects.itertuples():
        index = int(defect.source_row) - 2 if defect.source_row else None
        if defect.defect in CELL_DEFECTS | {"date_after_death"} and defect.field != "dob":
            if defect.field == "ae_onset_date":
                keep[index] = False  # an adverse event dated after death is left out whole
            else:
                body[index][header.index(defect.field)] = ""
        elif defect.defect in ROW_DEFECTS:
            keep[index] = False
        elif defect.defect == "missing_enrollment":
            gone_records.add(defect.record_id)
    body = [row for row, k in zip(body, keep) if k and row[0] not in gone_records]
    frame = pd.DataFrame(body, columns=header)
    # a record without an enrollment or a valid first infusion cannot be placed
    enrolled = set(frame.loc[frame.enrollment_date != "", "record_id"])
    infused = set(frame.loc[(frame.redcap_repeat_instrument == "infusion") & (frame.infusion_date != ""), "record_id"])
    frame = frame[frame.record_id.isin(enrolled & infused)]
    path = out / "SSC_DATA_2026-11-24_0200.csv"
    frame.to_csv(path, index=False)
    return path


def test_outcomes_equal_the_clean_data_minus_the_unusable_values(defect_run, tmp_path):
    expected = analyse(without_unusable_values(defect_run["drop"], defect_run["defects"], tmp_path))
    o = outcomes(defect_run["home"])
    assert (o["overall_survival"]["n"], o["overall_survival"]["deaths"]) == (expected["n"], expected["deaths"])
    by_timepoint = {r["timepoint"]: r for r in o["mrss"]["by_timepoint"]}
    for timepoint, (mean, sd, n) in expected["mrss"].items():
        assert by_timepoint[timepoint]["n"] == n, timepoint
        assert by_timepoint[timepoint]["mean"] == pytest.approx(mean, abs=1e-9), timepoint
    assert {k: o["hrct_ild"][k] for k in ("improved", "stable", "worsened")} == expected["hrct"]
    assert {k: o["pah"][k] for k in ("stable", "worsened", "not_evaluable")} == expected["pah"]
    assert o["adverse_events"]["n_events"] == expected["n_ae"]
