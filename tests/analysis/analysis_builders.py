"""Small builders of mart DataFrames with the column names of docs/architecture.md, for the analysis tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pandas as pd

TARGET_DAY = {"baseline": 0, "month_1": 30, "month_3": 91, "month_6": 182, "month_12": 365, "month_24": 730,
              "month_36": 1095, "month_48": 1460, "month_60": 1825}
WINDOW_ORDER = {tp: i for i, tp in enumerate(TARGET_DAY)}
INSTRUMENT = {"mrss_total": "mrss", "haq_di": "haq", "pt_global": "globals", "md_global": "globals",
              "fvc_pct_pred": "pft", "dlco_pct_pred": "pft", "echo_pasp_mmhg": "echo", "echo_trv_ms": "echo",
              "echo_lvef_pct": "echo", "hrct_ild": "hrct", "hrct_extent_pct": "hrct", "hrct_change": "hrct",
              "rcs": "vascular", "du_active_count": "vascular", "medsger_pv": "vascular",
              "pitting_scars": "vascular", "gangrene": "vascular"}
DAY0 = date(2018, 1, 1)

ADBDS_COLUMNS = ["record_id", "param", "instrument", "source_row", "event_name", "repeat_instance",
                 "assessment_date", "study_day", "timepoint", "window_order", "target_day", "analysed", "value",
                 "baseline_value", "change_from_baseline", "pct_change_from_baseline"]

_rows = itertools.count(2)


def bds(record_id, param, timepoint, value, *, analysed=True, study_day=None, source_row=None, instrument=None):
    """One adbds row. study_day defaults to the window's target day; source_row to a fresh row number."""
    if study_day is None and timepoint is not None:
        study_day = TARGET_DAY[timepoint]
    return {
        "record_id": record_id, "param": param, "instrument": instrument or INSTRUMENT.get(param, param),
        "source_row": next(_rows) if source_row is None else source_row, "event_name": None,
        "repeat_instance": None,
        "assessment_date": None if study_day is None else DAY0 + timedelta(days=int(study_day)),
        "study_day": study_day, "timepoint": timepoint,
        "window_order": WINDOW_ORDER.get(timepoint), "target_day": TARGET_DAY.get(timepoint),
        "analysed": analysed, "value": value, "baseline_value": None, "change_from_baseline": None,
        "pct_change_from_baseline": None,
    }


def adbds(rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=ADBDS_COLUMNS)
    frame["value"] = frame["value"].astype("float64")
    frame["study_day"] = frame["study_day"].astype("Int64")
    frame["analysed"] = frame["analysed"].astype("boolean")
    return frame


def series(record_id, param, values: dict, **kw) -> list[dict]:
    """Analysed rows of one patient and parameter: {timepoint: value}."""
    return [bds(record_id, param, tp, v, **kw) for tp, v in values.items()]


ADSL_DEFAULTS = {
    "subject_pseudonym": "x", "sex": "Female", "age_years": 40, "ssc_subtype": "Diffuse cutaneous SSc",
    "enrollment_date": DAY0 - timedelta(days=30), "day0_date": DAY0, "n_infusions": 1,
    "disease_duration_years": 3.0, "raynaud_duration_years": 5.0, "acr_eular_2013_score": 15,
    "ab_scl70": True, "ab_centromere": False, "ab_rnapol3": False, "ab_u1rnp": False, "ab_ana": True,
    "ild_baseline": False, "pah_baseline": False, "digital_ulcers_baseline": False,
    "prior_cyclophosphamide": False, "prior_mmf": False, "prior_methotrexate": False,
    "prior_glucocorticoids": False, "prior_other": False, "vital_status": "Alive", "death_date": None,
    "death_date_recorded": None,
    "death_cause": None, "death_treatment_related": None, "last_contact_date": None, "last_assessment_date": None,
    "last_known_alive_date": None, "lost_to_follow_up": False, "baseline_mrss": 20.0, "baseline_fvc": 80.0,
    "baseline_dlco": 60.0, "baseline_pasp": 30.0, "baseline_haq_di": 1.0,
}


def adsl(patients) -> pd.DataFrame:
    """patients: record_ids, or dicts with record_id and overrides of ADSL_DEFAULTS."""
    rows = []
    for p in patients:
        p = {"record_id": p} if not isinstance(p, dict) else p
        rows.append({"record_id": p["record_id"], **ADSL_DEFAULTS, **{k: v for k, v in p.items()}})
    frame = pd.DataFrame(rows)
    for col in ("ild_baseline", "pah_baseline", "lost_to_follow_up"):
        frame[col] = frame[col].astype("boolean")
    return frame


def adtte(rows) -> pd.DataFrame:
    """rows: (record_id, time_years, event)."""
    frame = pd.DataFrame([{"record_id": r, "param": "OS", "day0_date": DAY0, "end_date": None, "event": int(e),
                           "time_days": round(t * 365.25), "time_years": float(t),
                           "censor_reason": "death" if e else "last contact"} for r, t, e in rows],
                         columns=["record_id", "param", "day0_date", "end_date", "event", "time_days",
                                  "time_years", "censor_reason"])
    return frame


def adae(rows) -> pd.DataFrame:
    """rows: (record_id, grade, serious, relation)."""
    return pd.DataFrame([{"record_id": r, "source_row": i + 2, "repeat_instance": i + 1, "event_name": "x",
                          "ae_term": "term", "ae_onset_date": None, "ae_end_date": None, "onset_study_day": 10,
                          "ae_grade": g, "ae_serious": s, "ae_relation": rel,
                          "related": None if rel is None else rel in (3, 4, 5), "ae_outcome": 1}
                         for i, (r, g, s, rel) in enumerate(rows)],
                        columns=["record_id", "source_row", "repeat_instance", "event_name", "ae_term",
                                 "ae_onset_date", "ae_end_date", "onset_study_day", "ae_grade", "ae_serious",
                                 "ae_relation", "related", "ae_outcome"])


def adex(rows) -> pd.DataFrame:
    """rows: (record_id, infusion_reaction)."""
    return pd.DataFrame([{"record_id": r, "repeat_instance": i + 1, "infusion_date": DAY0, "study_day": 0,
                          "infusion_weight_kg": 60.0, "cell_dose_per_kg": 1e6, "infusion_reaction": x}
                         for i, (r, x) in enumerate(rows)],
                        columns=["record_id", "repeat_instance", "infusion_date", "study_day",
                                 "infusion_weight_kg", "cell_dose_per_kg", "infusion_reaction"])


def cohort(n=12, seed=3) -> dict[str, pd.DataFrame]:
    """Every mart of a small random cohort: n patients, missed visits, one death, HRCT and AEs."""
    rng = np.random.default_rng(seed)
    ids = [f"{i + 1:03d}" for i in range(n)]
    sl = adsl([{"record_id": r, "ild_baseline": i % 2 == 0, "pah_baseline": i % 4 == 0} for i, r in enumerate(ids)])
    rows, tte = [], []
    for i, r in enumerate(ids):
        dead = i == 5
        for tp in list(TARGET_DAY)[: 4 if dead else None]:
            if rng.random() < 0.1 and tp != "baseline":
                continue  # missed visit
            sr = int(rng.integers(1, 10 ** 6))
            rows.append(bds(r, "mrss_total", tp, float(rng.integers(5, 30)), source_row=sr))
            for p, v in (("haq_di", float(rng.uniform(0, 3))), ("rcs", float(rng.integers(0, 10))),
                         ("du_active_count", float(rng.integers(0, 3))), ("medsger_pv", float(rng.integers(0, 5))),
                         ("fvc_pct_pred", float(rng.uniform(50, 100))), ("dlco_pct_pred", float(rng.uniform(40, 90))),
                         ("echo_pasp_mmhg", float(rng.uniform(20, 50)))):
                rows.append(bds(r, p, tp, v if rng.random() > 0.1 else None))
            if tp in ("baseline", "month_12", "month_60"):
                s = int(rng.integers(1, 10 ** 6))
                rows += [bds(r, "hrct_extent_pct", tp, float(rng.uniform(5, 40)), source_row=s),
                         bds(r, "hrct_change", tp, None if tp == "baseline" else float(rng.integers(1, 4))
                             if rng.random() < 0.5 else None, source_row=s)]
        tte.append((r, 1.8 if dead else 5.6, 1 if dead else 0))
    sl.loc[5, ["vital_status", "death_date", "death_date_recorded"]] = ["Dead", DAY0 + timedelta(days=657),
                                                                      "2019-10-20"]
    ae = adae([(ids[0], 1, False, 1), (ids[1], 2, True, 2)])
    ex = adex([(r, False) for r in ids])
    return {"adsl": sl, "adbds": adbds(rows), "adtte": adtte(tte), "adae": ae, "adex": ex}
