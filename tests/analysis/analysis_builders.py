"""Small builders of mart DataFrames with the marts' ADaM variables (docs/architecture.md), for the analysis tests."""

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

ADBDS_COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "SRCDOM", "SRCVAR", "SRCSEQ", "VISIT", "repeat_instance", "ADT",
                 "ADY", "AVISIT", "AVISITN", "AWTARGET", "ANL01FL", "ABLFL", "AVAL", "BASE", "CHG", "PCHG"]

_rows = itertools.count(2)


def bds(record_id, param, timepoint, value, *, analysed=True, study_day=None, source_row=None, instrument=None):
    """One adbds row (ANL01FL 'Y' when ``analysed``; ABLFL on an analysed baseline). study_day (ADY) defaults to
    the window's target day; source_row (SRCSEQ) to a fresh row number."""
    if study_day is None and timepoint is not None:
        study_day = TARGET_DAY[timepoint]
    return {
        "USUBJID": record_id, "PARAMCD": param, "PARAM": param, "SRCDOM": instrument or INSTRUMENT.get(param, param),
        "SRCVAR": param, "SRCSEQ": next(_rows) if source_row is None else source_row, "VISIT": None,
        "repeat_instance": None,
        "ADT": None if study_day is None else DAY0 + timedelta(days=int(study_day)),
        "ADY": study_day, "AVISIT": timepoint,
        "AVISITN": WINDOW_ORDER.get(timepoint), "AWTARGET": TARGET_DAY.get(timepoint),
        "ANL01FL": "Y" if analysed else None, "ABLFL": "Y" if analysed and timepoint == "baseline" else None,
        "AVAL": value, "BASE": None, "CHG": None, "PCHG": None,
    }


def adbds(rows) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=ADBDS_COLUMNS)
    frame["AVAL"] = frame["AVAL"].astype("float64")
    frame["ADY"] = frame["ADY"].astype("Int64")
    return frame


def series(record_id, param, values: dict, **kw) -> list[dict]:
    """Analysed rows of one patient and parameter: {timepoint: value}."""
    return [bds(record_id, param, tp, v, **kw) for tp, v in values.items()]


ADSL_DEFAULTS = {
    "subject_pseudonym": "x", "SEX": "F", "sex_label": "Female", "AGE": 40, "AGEU": "YEARS",
    "ssc_subtype": "Diffuse cutaneous SSc", "enrollment_date": DAY0 - timedelta(days=30), "TRTSDT": DAY0,
    "n_infusions": 1, "disease_duration_years": 3.0, "raynaud_duration_years": 5.0, "acr_eular_2013_score": 15,
    "ab_scl70": True, "ab_centromere": False, "ab_rnapol3": False, "ab_u1rnp": False, "ab_ana": True,
    "ild_baseline": False, "pah_baseline": False, "digital_ulcers_baseline": False,
    "prior_cyclophosphamide": False, "prior_mmf": False, "prior_methotrexate": False,
    "prior_glucocorticoids": False, "prior_other": False, "vital_status": "Alive", "DTHFL": None, "DTHDT": None,
    "death_date_recorded": None, "death_conflict": None, "day0_conflict": None,
    "DTHCAUS": None, "death_treatment_related": None, "last_contact_date": None, "last_assessment_date": None,
    "LSTALVDT": None, "lost_to_follow_up": False, "baseline_mrss": 20.0, "baseline_fvc": 80.0,
    "baseline_dlco": 60.0, "baseline_pasp": 30.0, "baseline_haq_di": 1.0,
}


def adsl(patients) -> pd.DataFrame:
    """patients: record ids, or dicts with USUBJID and overrides of ADSL_DEFAULTS."""
    rows = []
    for p in patients:
        p = {"USUBJID": p} if not isinstance(p, dict) else p
        rows.append({"USUBJID": p["USUBJID"], **ADSL_DEFAULTS, **{k: v for k, v in p.items()}})
    frame = pd.DataFrame(rows)
    for col in ("ild_baseline", "pah_baseline", "lost_to_follow_up"):
        frame[col] = frame[col].astype("boolean")
    return frame


ADTTE_COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "ADY", "AVAL", "AVALU", "CNSR", "EVNTDESC",
                 "SRCDOM", "SRCVAR", "ANL01FL", "exclusion_reason"]


def adtte(rows) -> pd.DataFrame:
    """rows: (record_id, time_years, event): analysed OS rows, CNSR = 1 − event."""
    return pd.DataFrame([{"USUBJID": r, "PARAMCD": "OS", "PARAM": "Overall survival", "STARTDT": DAY0,
                          "ADT": None, "ADY": round(t * 365.25), "AVAL": float(t), "AVALU": "YEARS",
                          "CNSR": 1 - int(e), "EVNTDESC": "death" if e else "last contact", "SRCDOM": "ADSL",
                          "SRCVAR": "DTHDT" if e else "LSTALVDT", "ANL01FL": "Y", "exclusion_reason": None}
                         for r, t, e in rows], columns=ADTTE_COLUMNS)


def adae(rows) -> pd.DataFrame:
    """rows: (record_id, grade, serious (True/False/None), relation); AREL by the study's rule (3, 4, 5)."""
    return pd.DataFrame([{"USUBJID": r, "SRCDOM": "adverse_event", "SRCSEQ": i + 2, "VISIT": "x",
                          "repeat_instance": i + 1, "AETERM": "term", "ASTDT": None, "AENDT": None, "ASTDY": 10,
                          "AETOXGR": g, "AESER": {True: "Y", False: "N"}.get(s), "AEREL": None, "AERELN": rel,
                          "AREL": "RELATED" if rel in (3, 4, 5) else "NOT RELATED", "AEOUT": "Recovered",
                          "AEOUTN": 1}
                         for i, (r, g, s, rel) in enumerate(rows)],
                        columns=["USUBJID", "SRCDOM", "SRCSEQ", "VISIT", "repeat_instance", "AETERM", "ASTDT",
                                 "AENDT", "ASTDY", "AETOXGR", "AESER", "AEREL", "AERELN", "AREL", "AEOUT",
                                 "AEOUTN"])


def adex(rows) -> pd.DataFrame:
    """rows: (record_id, infusion_reaction)."""
    return pd.DataFrame([{"USUBJID": r, "SRCDOM": "infusion", "SRCSEQ": i + 2, "VISIT": "x", "repeat_instance": i + 1,
                          "ASTDT": DAY0, "ADY": 0, "EXDOSE": 1.0, "EXDOSU": "x10^6 cells/kg",
                          "infusion_weight_kg": 60.0, "infusion_reaction": x}
                         for i, (r, x) in enumerate(rows)],
                        columns=["USUBJID", "SRCDOM", "SRCSEQ", "VISIT", "repeat_instance", "ASTDT", "ADY", "EXDOSE",
                                 "EXDOSU", "infusion_weight_kg", "infusion_reaction"])


def cohort(n=12, seed=3) -> dict[str, pd.DataFrame]:
    """Every mart of a small random cohort: n patients, missed visits, one death, HRCT and AEs."""
    rng = np.random.default_rng(seed)
    ids = [f"{i + 1:03d}" for i in range(n)]
    sl = adsl([{"USUBJID": r, "ild_baseline": i % 2 == 0, "pah_baseline": i % 4 == 0} for i, r in enumerate(ids)])
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
    sl.loc[5, ["vital_status", "DTHFL", "DTHDT", "death_date_recorded"]] = ["Dead", "Y", DAY0 + timedelta(days=657),
                                                                             "2019-10-20"]
    ae = adae([(ids[0], 1, False, 1), (ids[1], 2, True, 2)])
    ex = adex([(r, False) for r in ids])
    return {"adsl": sl, "adbds": adbds(rows), "adtte": adtte(tte), "adae": ae, "adex": ex}
