"""Small hand-built raw.records frames for the quality tests (valid unless a test corrupts them)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pandas as pd

from ingest.land import AGE_COLUMN, PSEUDONYM_COLUMN
from study.definition import load_study

STUDY = load_study()
REPLACED = {"mrn": PSEUDONYM_COLUMN, "dob": AGE_COLUMN}  # what ingest puts in place of these identifiers


def raw_columns(study=STUDY) -> list[str]:
    """raw.records columns: provenance, then the export columns with identifiers replaced or dropped."""
    cols = ["_drop_id", "_source_row"]
    for c in study.export_columns:
        if c in study.identifiers:
            if c in REPLACED:
                cols.append(REPLACED[c])
            continue
        cols.append(c)
    return cols


def empty_row(study=STUDY) -> dict:
    return {c: None for c in raw_columns(study)}


def frame(rows: list[dict], study=STUDY) -> pd.DataFrame:
    """A raw.records-shaped frame; ``_source_row`` numbered from 2 unless given."""
    out = []
    for i, r in enumerate(rows):
        row = empty_row(study)
        row.update(r)
        row["_drop_id"] = row["_drop_id"] or "2026-11-24T0200"
        row["_source_row"] = row["_source_row"] if row["_source_row"] is not None else i + 2
        out.append(row)
    df = pd.DataFrame(out, columns=raw_columns(study))
    df["_source_row"] = df["_source_row"].astype("int64")
    return df


def _d(day0: date, days: int) -> str:
    return (day0 + timedelta(days=days)).isoformat()


def _checkboxes(field: str, study=STUDY, ticked=()) -> dict:
    f = study.by_name[field]
    return {c: ("1" if code in ticked else "0") for c, code in zip(f.export_columns, f.choice_codes)}


def patient_rows(record_id: str, day0: date = date(2020, 3, 2), visits=("month_1", "month_3", "month_6",
                 "month_12"), rng: random.Random | None = None, with_ae: bool = True, with_vital: bool = True,
                 study=STUDY) -> list[dict]:
    """The export rows of one valid patient: baseline (enrollment + every baseline form), two infusions,
    the given scheduled visits, an adverse event and an end-of-follow-up row."""
    rng = rng or random.Random(hash(record_id) & 0xFFFF)
    sites = [f.name for f in study.fields_of("skin_score") if f.field_type == "radio"]
    haq = [f.name for f in study.fields_of("haq") if f.field_type == "radio"]

    def skin(day):
        vals = {s: str(rng.randint(0, 3)) for s in sites}
        return {"mrss_date": _d(day0, day), **vals, "mrss_total": str(sum(int(v) for v in vals.values())),
                "skin_score_complete": "2"}

    def forms_at(event, day):
        row = {}
        forms = study.forms_of_event(event)
        if "skin_score" in forms:
            row.update(skin(day))
        if "hrct" in forms:
            row.update({"hrct_date": _d(day0, day), "hrct_ild": "1", "hrct_extent_pct": "12.5",
                        "hrct_pattern": "1", "hrct_complete": "2"})
            if event != "baseline_arm_1":
                row["hrct_change"] = "2"
        if "echo" in forms:
            trv = round(rng.uniform(2.2, 3.0), 1)
            row.update({"echo_date": _d(day0, day), "echo_trv_ms": str(trv),
                        "echo_pasp_mmhg": str(round(4 * trv * trv + 8)), "echo_lvef_pct": "60",
                        "echo_complete": "2"})
        if "pft" in forms:
            row.update({"pft_date": _d(day0, day), "fvc_pct_pred": "82.5", "dlco_pct_pred": "64",
                        "pft_complete": "2"})
        if "haq" in forms:
            row.update({"haq_date": _d(day0, day), **{h: str(rng.randint(0, 2)) for h in haq},
                        **_checkboxes("haq_aids", study, ticked=("2",)), "pt_global": "4.5", "md_global": "3",
                        "haq_complete": "2"})
        if "vascular" in forms:
            row.update({"vasc_date": _d(day0, day), "rcs": "3.5", "du_active_count": "1", "pitting_scars": "0",
                        "gangrene": "0", "medsger_pv": "1", "vascular_complete": "2"})
        if "labs" in forms:
            row.update({"lab_date": _d(day0, day), "esr_mm_h": "22", "crp_mg_l": "4.1",
                        "hemoglobin_g_l": "128", "creatinine_umol_l": "71", "labs_complete": "2"})
        return row

    rows = []
    base = {"record_id": record_id, "redcap_event_name": "baseline_arm_1",
            "mrn_pseudonym": "ab" * 32, "age_at_day0": "47", "sex": "1", "enrollment_date": _d(day0, -30),
            "ssc_subtype": "1", "raynaud_onset_date": _d(day0, -1500), "first_non_raynaud_date": _d(day0, -700),
            "acr_eular_2013_score": "14", **_checkboxes("autoantibodies", study, ticked=("1", "5")),
            "ild_baseline": "1", "pah_baseline": "0", "digital_ulcers_baseline": "1",
            **_checkboxes("prior_therapy", study, ticked=("2",)), "enrollment_complete": "2"}
    base.update(forms_at("baseline_arm_1", -7))
    rows.append(base)
    for inst, day in ((1, 0), (2, 7)):
        rows.append({"record_id": record_id, "redcap_event_name": "baseline_arm_1",
                     "redcap_repeat_instrument": "infusion", "redcap_repeat_instance": str(inst),
                     "infusion_date": _d(day0, day), "infusion_weight_kg": "61.5", "cell_dose_per_kg": "1",
                     "infusion_reaction": "0", "infusion_complete": "2"})
    offsets = {e.unique_name: e.day_offset for e in study.events}
    for v in visits:
        ev = f"{v}_arm_1"
        row = {"record_id": record_id, "redcap_event_name": ev}
        row.update(forms_at(ev, offsets[ev]))
        rows.append(row)
    if with_ae:
        rows.append({"record_id": record_id, "redcap_event_name": "month_1_arm_1",
                     "redcap_repeat_instrument": "adverse_event", "redcap_repeat_instance": "1",
                     "ae_term": "Headache", "ae_onset_date": _d(day0, 3), "ae_end_date": _d(day0, 5),
                     "ae_grade": "1", "ae_serious": "0", "ae_relation": "2", "ae_outcome": "1",
                     "adverse_event_complete": "2"})
    if with_vital:
        rows.append({"record_id": record_id, "redcap_event_name": "end_of_follow_up_arm_1",
                     "last_contact_date": _d(day0, 400), "vital_status": "1", "vital_status_complete": "2"})
    return rows


def cohort(n_patients: int = 3, visits=("month_1", "month_3", "month_6", "month_12"), seed: int = 7,
           **kwargs) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n_patients):
        day0 = date(2019, 1, 7) + timedelta(days=rng.randint(0, 900))
        rows.extend(patient_rows(f"{i + 1:04d}", day0=day0, visits=visits, rng=rng, **kwargs))
    return frame(rows)
