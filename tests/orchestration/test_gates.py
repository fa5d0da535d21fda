"""Each quality gate passes on good input and fails, naming what failed, on bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.assets.quality import GATES
from quality.findings import findings_frame
from quality.gates import evaluate_gates, reconciliation
from quality.rules import RULES
from study.definition import load_study

STUDY = load_study()


def recon(export=100, loaded=98, quarantined=2, instruments=()):
    rows = [{"drop_id": "d", "instrument": None, "export_rows": export, "loaded_rows": loaded,
             "quarantined_rows": quarantined}]
    rows += [{"drop_id": "d", "instrument": i, "export_rows": e, "loaded_rows": l, "quarantined_rows": q}
             for i, e, l, q in instruments]
    return pd.DataFrame(rows)


def gates(findings=(), reconciliation=None, patients=10, share=0.05):
    result = evaluate_gates(findings_frame(list(findings)), reconciliation if reconciliation is not None else recon(),
                            patients, study=STUDY, max_quarantine_share=share, max_field_share=0.2, min_filled=20)
    return {g["gate"]: g for g in result}


def test_every_gate_is_evaluated_and_passes_on_a_good_drop():
    result = gates()
    assert set(result) == set(GATES)
    assert all(g["passed"] is True for g in result.values())


def test_structure_gate_names_the_field():
    missing = RULES["dictionary_field_missing"].finding("dictionary.csv: field mrss_total is missing",
                                                        field="mrss_total")
    gate = gates([missing])["structure_matches_study"]
    assert gate["passed"] is False and "mrss_total" in gate["message"]


def test_a_duplicate_key_blocks_but_is_not_a_structural_problem():
    duplicate = [RULES["duplicate_key"].finding("2 rows share a key", record_id="7", event="month_12_arm_1",
                                                source_row=row) for row in (12, 19)]
    result = gates(duplicate)
    assert result["no_duplicate_keys"]["passed"] is False
    assert result["no_duplicate_keys"]["message"] == (
        "2 loaded rows share a record/event/instance key with another row: record 7 at month_12_arm_1 (rows 12, 19). "
        + RULES["duplicate_key"].hint)
    assert result["structure_matches_study"]["passed"] is True


@pytest.mark.parametrize("quarantined, passed", [(5, True), (6, False)])
def test_quarantine_share_limit(quarantined, passed):
    gate = gates(reconciliation=recon(100, 100 - quarantined, quarantined), share=0.05)["quarantine_within_limit"]
    assert gate["passed"] is passed and f"{quarantined} of 100" in gate["message"]


def test_no_patients_blocks():
    assert gates(patients=0)["patients_present"]["passed"] is False


def test_rows_that_do_not_reconcile_name_the_instrument():
    gate = gates(reconciliation=recon(instruments=[("skin_score", 10, 8, 1)]))["rows_reconcile"]
    assert gate["passed"] is False and "skin_score" in gate["message"]


def test_reconciliation_counts_the_drop_and_each_instrument():
    """Three readable rows (an enrollment, two skin scores, one of them quarantined) and one unreadable row."""
    records = pd.DataFrame({"_source_row": [2, 3, 4], "record_id": ["1", "1", "2"],
                            "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": None,
                            "enrollment_date": ["2020-01-01", None, None],
                            "mrss_date": [None, "2020-01-02", "2020-01-03"]})
    recon = reconciliation(records, {4}, {"drop_id": "d", "export_rows": 4, "unreadable_rows": 1}, STUDY)
    counts = {i: (e, l, q) for i, e, l, q in recon[["instrument", "export_rows", "loaded_rows",
                                                     "quarantined_rows"]].itertuples(index=False)}
    assert counts.pop(None) == (4, 2, 2)
    assert counts.pop("enrollment") == (1, 1, 0) and counts.pop("skin_score") == (2, 1, 1)
    assert set(counts) == set(STUDY.forms) - {"enrollment", "skin_score"}
    assert set(counts.values()) == {(0, 0, 0)}
    assert gates(reconciliation=recon)["rows_reconcile"]["passed"] is True


def test_a_blocked_quarantine_gate_names_the_records_behind_it():
    """Most quarantined rows come from few records (a record without enrollment quarantines all its rows): the
    message names them, most rows first, with the rule, and says where to fix them."""
    stray = [RULES["record_without_enrollment"].finding("no enrollment", record_id="SSC-0006", source_row=row)
             for row in range(50, 58)]
    blank = [RULES["record_id_missing"].finding("no record id", source_row=49)]
    gate = gates(stray + blank, reconciliation=recon(100, 91, 9), share=0.05)["quarantine_within_limit"]
    assert gate["passed"] is False
    assert gate["message"] == (
        "9 of 100 export rows quarantined (9.0%; limit 5%, SSC_MAX_QUARANTINE_SHARE): most from record SSC-0006 "
        f"(8 rows: {RULES['record_without_enrollment'].title}), rows without a record id (1 row: "
        f"{RULES['record_id_missing'].title}); fix these records in REDCap (steward worklist)")
