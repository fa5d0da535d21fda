"""Each quality gate passes on good input and fails, naming what failed, on bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from orchestration.assets.quality import GATES, evaluate_gates
from quality.findings import findings_frame
from quality.rules import RULES


def recon(export=100, loaded=98, quarantined=2, instruments=()):
    rows = [{"drop_id": "d", "instrument": None, "export_rows": export, "loaded_rows": loaded,
             "quarantined_rows": quarantined}]
    rows += [{"drop_id": "d", "instrument": i, "export_rows": e, "loaded_rows": l, "quarantined_rows": q}
             for i, e, l, q in instruments]
    return pd.DataFrame(rows)


def gates(findings=(), reconciliation=None, patients=10, share=0.05):
    result = evaluate_gates(findings_frame(list(findings)), reconciliation if reconciliation is not None else recon(),
                            patients, share)
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
    duplicate = RULES["duplicate_key"].finding("2 rows share a key", record_id="7", source_row=12)
    result = gates([duplicate])
    assert result["no_duplicate_keys"]["passed"] is False and "12" in result["no_duplicate_keys"]["message"]
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
