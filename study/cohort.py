"""A realistic synthetic SSc UC-MSC follow-up cohort, as REDCap records (see :mod:`study.export`).

Everything is drawn from :class:`random.Random` generators seeded per patient (``f"{seed}:{index}"``), so a
cohort is deterministic for a seed and patient ``n`` is the same whatever the cohort size.

The instrument helpers (``skin_values``, ``echo_values``, ...) are shared with the demo cohort
(:mod:`study.demo`), which fixes the analysed values and lets these helpers fill in the rest.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from study.definition import Study, load_study
from study.export import PatientRecord
from study.windows import Window, load_windows

BASELINE = "baseline_arm_1"
UNSCHEDULED = "unscheduled_arm_1"
END_OF_FOLLOW_UP = "end_of_follow_up_arm_1"
SCHEDULED = (
    "month_1_arm_1", "month_3_arm_1", "month_6_arm_1", "month_12_arm_1", "month_24_arm_1",
    "month_36_arm_1", "month_48_arm_1", "month_60_arm_1",
)

MRSS_SITES = (
    "mrss_face", "mrss_chest", "mrss_abdomen", "mrss_fingers_r", "mrss_fingers_l", "mrss_hand_r", "mrss_hand_l",
    "mrss_forearm_r", "mrss_forearm_l", "mrss_upperarm_r", "mrss_upperarm_l", "mrss_thigh_r", "mrss_thigh_l",
    "mrss_leg_r", "mrss_leg_l", "mrss_foot_r", "mrss_foot_l",
)
# How readily each site thickens (fingers and hands first, trunk last).
_SITE_WEIGHTS = (1.4, 0.7, 0.5, 3.0, 3.0, 2.6, 2.6, 2.0, 2.0, 1.1, 1.1, 0.8, 0.8, 1.2, 1.2, 1.0, 1.0)
_SITE_CUM = tuple(sum(_SITE_WEIGHTS[: i + 1]) for i in range(len(_SITE_WEIGHTS)))
_SITE_IDX = tuple(range(len(MRSS_SITES)))

HAQ_CATEGORIES = (
    "haq_dressing", "haq_arising", "haq_eating", "haq_walking", "haq_hygiene", "haq_reach", "haq_grip",
    "haq_activities",
)

AE_TERMS = (
    "Upper respiratory tract infection", "Headache", "Fever", "Fatigue", "Nausea", "Diarrhoea", "Pneumonia",
    "Urinary tract infection", "Herpes zoster", "Digital ulcer infection", "Anaemia", "Elevated liver enzymes",
    "Rash", "Myalgia", "Cough", "Hypertension", "Gastro-oesophageal reflux", "Dizziness", "Arthralgia",
)

FIRST_NAMES = (
    "Siti", "Nur", "Aisyah", "Mei Ling", "Priya", "Farah", "Lakshmi", "Hui Min", "Noraini", "Kavitha", "Aminah",
    "Ying", "Rohana", "Zainab", "Mary", "Ahmad", "Kumar", "Wei Jie", "Hassan", "Rajesh", "Daniel", "Azlan",
)
LAST_NAMES = (
    "Abdullah", "Tan", "Lim", "Ramasamy", "Ismail", "Wong", "Chong", "Rahman", "Subramaniam", "Ng", "Hamid",
    "Lee", "Othman", "Krishnan", "Yusof", "Chan", "Osman", "Goh", "Pillai", "Hashim",
)


def iso(day: dt.date) -> str:
    return day.isoformat()


def num(x: float, places: int = 1) -> str:
    return f"{x:.{places}f}"


def clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def window_of_event(event: str) -> str:
    return event.removesuffix("_arm_1")


def split_mrss(total: int, rng: random.Random) -> list[int]:
    """17 site scores (0-3) that add up to ``total``, fingers and hands thickening first."""
    total = clamp(int(total), 0, 51)
    scores = [0] * len(MRSS_SITES)
    left = total
    while left:
        i = rng.choices(_SITE_IDX, cum_weights=_SITE_CUM)[0]
        if scores[i] < 3:
            scores[i] += 1
            left -= 1
    return scores


# ---- instrument helpers -----------------------------------------------------------------------------


def skin_values(day: dt.date, total: int, rng: random.Random, mode: str = "sites") -> dict[str, str]:
    """mode ``sites`` (17 sites and their total), ``total`` (retrospective: total only) or ``sites_only``."""
    values = {"mrss_date": iso(day)}
    if mode in ("sites", "sites_only"):
        for name, score in zip(MRSS_SITES, split_mrss(total, rng)):
            values[name] = str(score)
    if mode in ("sites", "total"):
        values["mrss_total"] = str(int(total))
    return values


def hrct_values(day: dt.date, ild: bool, extent: float | None = None, pattern: int | None = None,
                change: int | None = None) -> dict[str, str]:
    values = {"hrct_date": iso(day), "hrct_ild": "1" if ild else "0"}
    if ild:
        if extent is not None:
            values["hrct_extent_pct"] = num(extent)
        if pattern is not None:
            values["hrct_pattern"] = str(pattern)
    if change is not None:
        values["hrct_change"] = str(change)
    return values


def echo_values(day: dt.date, pasp: int, rng: random.Random, lvef: float | None = None) -> dict[str, str]:
    """PASP and the tricuspid regurgitation velocity consistent with it (PASP = 4·TRV² + RAP, RAP 5-10)."""
    rap = rng.choice((5, 5, 8, 8, 10))
    trv = math.sqrt(max(pasp - rap, 4) / 4)
    lvef = lvef if lvef is not None else clamp(rng.gauss(62, 5), 40, 75)
    return {
        "echo_date": iso(day),
        "echo_pasp_mmhg": str(int(pasp)),
        "echo_trv_ms": num(trv, 2),
        "echo_lvef_pct": str(int(round(lvef))),
    }


def pft_values(day: dt.date, fvc: float, dlco: float) -> dict[str, str]:
    return {"pft_date": iso(day), "fvc_pct_pred": num(clamp(fvc, 20, 150)),
            "dlco_pct_pred": num(clamp(dlco, 10, 150))}


def haq_values(day: dt.date, severity: float, rng: random.Random) -> dict[str, str]:
    """HAQ-DI: 8 category scores 0-3 around ``severity`` (0-3), aids/help boxes, patient and physician global."""
    values = {"haq_date": iso(day)}
    skip = rng.randrange(8) if rng.random() < 0.05 else -1
    for i, name in enumerate(HAQ_CATEGORIES):
        score = int(clamp(round(severity + rng.gauss(0, 0.6)), 0, 3))
        if i != skip:
            values[name] = str(score)
        aid = (score >= 2 and rng.random() < 0.35) or rng.random() < 0.03
        values[f"haq_aids___{i + 1}"] = "1" if aid else "0"
    values["pt_global"] = num(clamp(severity * 2.8 + rng.gauss(0.8, 1.3), 0, 10))
    values["md_global"] = num(clamp(severity * 2.5 + rng.gauss(0.5, 1.0), 0, 10))
    return values


def vascular_values(day: dt.date, rng: random.Random, ulcer_prone: bool, activity: float) -> dict[str, str]:
    """RCS 0-10, active digital ulcers, pitting scars, gangrene and Medsger's vascular severity (0-4)."""
    ulcers = 0
    if ulcer_prone and rng.random() < 0.45 * activity + 0.1:
        ulcers = 1 + int(rng.random() * 3 * activity)
    scars = ulcer_prone or rng.random() < 0.25
    gangrene = ulcers > 0 and rng.random() < 0.03
    medsger = 4 if gangrene else 3 if ulcers else 2 if scars else (1 if rng.random() < 0.85 else 0)
    return {
        "vasc_date": iso(day),
        "rcs": num(clamp(rng.gauss(2.0 + 3.5 * activity, 1.5), 0, 10)),
        "du_active_count": str(ulcers),
        "pitting_scars": "1" if scars else "0",
        "gangrene": "1" if gangrene else "0",
        "medsger_pv": str(medsger),
    }


def labs_values(day: dt.date, rng: random.Random, inflammation: float = 0.5) -> dict[str, str]:
    return {
        "lab_date": iso(day),
        "esr_mm_h": str(int(clamp(rng.lognormvariate(math.log(15 + 25 * inflammation), 0.5), 1, 140))),
        "crp_mg_l": num(clamp(rng.lognormvariate(math.log(2 + 6 * inflammation), 0.8), 0.2, 250)),
        "hemoglobin_g_l": str(int(clamp(rng.gauss(124 - 8 * inflammation, 12), 70, 175))),
        "creatinine_umol_l": str(int(clamp(rng.gauss(68, 14), 35, 180))),
    }


def infusion_values(day: dt.date, weight: float, dose: float, reaction: bool) -> dict[str, str]:
    return {"infusion_date": iso(day), "infusion_weight_kg": num(weight), "cell_dose_per_kg": num(dose, 2),
            "infusion_reaction": "1" if reaction else "0"}


def ae_values(onset: dt.date, end: dt.date | None, term: str, grade: int, serious: bool, relation: int,
              outcome: int) -> dict[str, str]:
    return {
        "ae_term": term, "ae_onset_date": iso(onset), "ae_end_date": iso(end) if end else "",
        "ae_grade": str(grade), "ae_serious": "1" if serious else "0", "ae_relation": str(relation),
        "ae_outcome": str(outcome),
    }


def random_ae(rng: random.Random, onset: dt.date, limit: dt.date, related_ok: bool = True) -> dict[str, str]:
    """One adverse event starting on ``onset``; nothing after ``limit`` (the export date or death)."""
    grade = rng.choices((1, 2, 3, 4), weights=(50, 35, 12, 3))[0]
    serious = grade >= 3 and rng.random() < 0.7
    if related_ok:
        relation = rng.choices((1, 2, 3, 4), weights=(70, 26, 3, 1))[0]
    else:
        relation = rng.choices((1, 2), weights=(72, 28))[0]
    outcome = rng.choices((1, 2, 3, 4, 6), weights=(78, 8, 4, 6, 4))[0]
    end = onset + dt.timedelta(days=rng.randint(2, 45)) if outcome in (1, 4) else None
    if end is not None and end > limit:
        end, outcome = None, 2
    return ae_values(onset, end, rng.choice(AE_TERMS), grade, serious, relation, outcome)


@dataclass
class Identity:
    mrn: str
    patient_name: str
    phone: str
    dob: dt.date


def identity(rng: random.Random, index: int, canaries: bool) -> Identity:
    dob = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, (dt.date(1995, 12, 31) - dt.date(1950, 1, 1)).days))
    fake = Identity(
        mrn=f"HN{rng.randint(1000000, 9999999)}",
        patient_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        phone=f"+60 1{rng.randint(0, 9)}-{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        dob=dob,
    )
    if canaries:  # drawn all the same, so canaries change the identifiers and nothing else
        return Identity(f"CANARYMRN{index}", f"Canaryname Zq{index}", f"+99 CANARY {index}", dob)
    return fake


def registry_mrn(seed: int, index: int) -> str:
    """The hospital number of patient ``index`` of a generated registry: ``HN`` and 7 digits, distinct for every
    index below 9,000,000 (an affine map of the index, 7919 being prime to 9,000,000), shifted by the seed. Drawn at
    random, 7-digit numbers repeat about 20 times among 20,000 patients (the birthday bound), and one MRN in two
    records is one patient counted twice, which the pipeline stops (gate one_record_per_patient). The draw in
    :func:`identity` is still made, so every other value of a patient is as before."""
    return f"HN{1000000 + (index * 7919 + seed * 104729) % 9000000}"


def enrollment_values(ident: Identity, rng: random.Random, *, sex: int, enrollment_date: dt.date, subtype: int,
                      day0: dt.date, ild: bool, pah: bool, ulcers: bool) -> dict[str, str]:
    disease_years = rng.uniform(0.5, 6.0) if subtype == 1 else rng.uniform(1.0, 12.0)
    first_non_raynaud = day0 - dt.timedelta(days=int(disease_years * 365.25))
    raynaud = first_non_raynaud - dt.timedelta(days=int(rng.uniform(0.1, 1.5 if subtype == 1 else 8.0) * 365.25))
    antibodies = {
        1: rng.random() < (0.55 if subtype == 1 else 0.15),
        2: rng.random() < (0.05 if subtype == 1 else 0.5),
        3: rng.random() < (0.15 if subtype == 1 else 0.03),
        4: rng.random() < 0.08,
        5: rng.random() < 0.93,
    }
    prior = {1: rng.random() < (0.4 if ild else 0.15), 2: rng.random() < 0.35, 3: rng.random() < 0.3,
             4: rng.random() < 0.6, 5: rng.random() < 0.1}
    values = {
        "mrn": ident.mrn, "patient_name": ident.patient_name, "phone": ident.phone, "dob": iso(ident.dob),
        "sex": str(sex), "enrollment_date": iso(enrollment_date), "ssc_subtype": str(subtype),
        "raynaud_onset_date": iso(raynaud), "first_non_raynaud_date": iso(first_non_raynaud),
        "acr_eular_2013_score": str(rng.randint(9, 14) if subtype != 1 else rng.randint(13, 24)),
        "ild_baseline": "1" if ild else "0", "pah_baseline": "1" if pah else "0",
        "digital_ulcers_baseline": "1" if ulcers else "0",
    }
    for code, positive in antibodies.items():
        values[f"autoantibodies___{code}"] = "1" if positive else "0"
    for code, given in prior.items():
        values[f"prior_therapy___{code}"] = "1" if given else "0"
    return values


def vital_values(last_contact: dt.date, status: int, death_date: dt.date | None = None, cause: int | None = None,
                 related: bool = False) -> dict[str, str]:
    values = {"last_contact_date": iso(last_contact), "vital_status": str(status)}
    if status == 2:
        values.update(death_date=iso(death_date), death_cause=str(cause),
                      death_treatment_related="1" if related else "0")
    return values


DEATH_CAUSES = (1, 2, 3, 4, 5, 6, 7, 8)
DEATH_CAUSE_WEIGHTS = (30, 15, 15, 5, 15, 10, 5, 5)


def record_id(index: int) -> str:
    return f"SSC-{index:04d}"


# ---- the generic cohort -----------------------------------------------------------------------------


class CohortGenerator:
    """Draws patients one by one; ``patient(index)`` depends only on the seed and the index."""

    def __init__(self, seed: int, export_date: dt.date, canaries: bool = False, study: Study | None = None,
                 windows: tuple[Window, ...] | None = None):
        self.seed = seed
        self.export_date = export_date
        self.last_day = export_date - dt.timedelta(days=1)  # nothing is dated on or after the export day
        self.canaries = canaries
        self.study = study or load_study()
        self.windows = {w.timepoint: w for w in (windows or load_windows())}
        self.designated = {ev: set(self.study.forms_of_event(ev)) for ev in self.study.event_names}

    def rng(self, index: int) -> random.Random:
        return random.Random(f"ssc-cohort:{self.seed}:{index}")

    def day_in_window(self, rng: random.Random, day0: dt.date, event: str, sd: float) -> dt.date:
        w = self.windows[window_of_event(event)]
        jitter = int(round(rng.gauss(0, sd)))
        study_day = clamp(w.target_day + jitter, w.min_day + 1, w.max_day - 1)
        return day0 + dt.timedelta(days=study_day)

    def clip_to_window(self, day: dt.date, day0: dt.date, event: str, limit: dt.date) -> dt.date:
        w = self.windows[window_of_event(event)]
        lo, hi = day0 + dt.timedelta(days=w.min_day), day0 + dt.timedelta(days=w.max_day)
        return min(max(day, lo), hi, limit)

    def patient(self, index: int) -> PatientRecord:
        rng = self.rng(index)
        rid = record_id(index)
        p = PatientRecord(rid)
        ident = identity(rng, index, self.canaries)
        if not self.canaries:
            ident.mrn = registry_mrn(self.seed, index)
        sex = 1 if rng.random() < 0.84 else 2
        subtype = rng.choices((1, 2, 3), weights=(68, 27, 5))[0]
        ild = rng.random() < 0.6
        pah = rng.random() < 0.2
        ulcer_prone = rng.random() < 0.3
        # enrolment over ~8 years before the export, so follow-up varies from weeks to 8 years
        day0 = self.export_date - dt.timedelta(days=rng.randint(20, 8 * 365))
        enrol = day0 - dt.timedelta(days=rng.randint(10, 75))

        # death (~8 % by 5 years), loss to follow-up (~6 %)
        # relative hazards average ~1.28 over the cohort's PAH/ILD mix, hence the division
        hazard = -math.log(0.92) / 5 * (1.8 if pah else 1.0) * (1.3 if ild else 0.8) / 1.28
        death_day = int(rng.expovariate(hazard) * 365.25) + 30
        death = day0 + dt.timedelta(days=death_day)
        dead = death <= self.last_day
        ltfu_day = rng.randint(120, 2600) if rng.random() < 0.07 else None
        lost = ltfu_day is not None and day0 + dt.timedelta(days=ltfu_day) < min(death, self.last_day)
        end = min(self.last_day, death - dt.timedelta(days=1))
        if lost:
            end = min(end, day0 + dt.timedelta(days=ltfu_day))

        # skin course: baseline by subtype, then a patient-specific response
        if subtype == 1:
            base_mrss = clamp(round(rng.gauss(21, 7)), 6, 45)
        elif subtype == 2:
            base_mrss = clamp(round(rng.gauss(9, 4)), 2, 24)
        else:
            base_mrss = rng.randint(0, 4)
        response = clamp(rng.gauss(0.35, 0.25), -0.3, 0.9)
        severity = clamp(rng.gauss(0.9, 0.5) + base_mrss / 60, 0, 2.6)
        weight = clamp(rng.gauss(58 if sex == 1 else 68, 10), 38, 110)
        fvc0 = clamp(rng.gauss(72 if ild else 92, 14), 35, 130)
        dlco0 = clamp(rng.gauss(55 if ild else 75, 14), 20, 120)
        lung_slope = rng.gauss(0.5, 2.0)  # % predicted per year
        pasp0 = int(clamp(rng.gauss(48, 9), 36, 85)) if pah else int(clamp(rng.gauss(27, 4), 18, 35))
        pasp_slope = rng.gauss(1.2, 1.5) if pah else rng.gauss(0.2, 0.4)  # mmHg per year
        extent0 = clamp(rng.gauss(18, 9), 3, 55)
        extent_slope = rng.gauss(0.0, 1.8)  # points per year
        pattern = rng.choices((1, 2, 3), weights=(75, 15, 10))[0]

        def course(study_day: int) -> float:
            t = max(study_day, 0)
            return base_mrss * (1 - response * (1 - math.exp(-t / 300)))

        # infusions: day 0, some get a second/third a few weeks apart
        n_inf = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
        dose = rng.choice((1.0, 1.0, 1.0, 2.0))
        inf_day = day0
        for k in range(n_inf):
            if k:
                inf_day = inf_day + dt.timedelta(days=rng.randint(24, 35))
                if inf_day > end:
                    break
            p.add_repeat(BASELINE, "infusion",
                         infusion_values(inf_day, weight + rng.gauss(0, 0.6), dose, rng.random() < 0.05))

        # scheduled visits (the baseline visit lies between enrolment and day 0)
        visits: dict[str, dt.date] = {}
        visits[BASELINE] = day0 - dt.timedelta(days=rng.randint(0, min(30, (day0 - enrol).days)))
        sd = {"month_1_arm_1": 4, "month_3_arm_1": 7, "month_6_arm_1": 12, "month_12_arm_1": 18}
        for ev in SCHEDULED:
            day = self.day_in_window(rng, day0, ev, sd.get(ev, 25))
            if day > end:
                break
            if rng.random() < (0.06 if ev in sd else 0.09):
                continue
            visits[ev] = day

        visit_forms: dict[str, dict[str, dict[str, str]]] = {}
        for ev, vday in visits.items():
            t = (vday - day0).days
            years = max(t, 0) / 365.25
            limit = day0 if ev == BASELINE else end
            forms: dict[str, dict[str, str]] = {}

            def near(offset_max: int) -> dt.date:
                d = vday + dt.timedelta(days=rng.randint(0, offset_max))
                if ev == BASELINE:
                    return min(max(d, enrol, day0 - dt.timedelta(days=90)), day0)
                return self.clip_to_window(d, day0, ev, limit)

            designated = self.designated[ev]
            if "skin_score" in designated and rng.random() < 0.95:
                total = int(clamp(round(course(t) + rng.gauss(0, 2.2)), 0, 51))
                mode = rng.choices(("sites", "total"), weights=(96, 4))[0]
                forms["skin_score"] = skin_values(vday, total, rng, mode)
            if "hrct" in designated and (ild or ev == BASELINE) and rng.random() < 0.9:
                if ild:
                    extent = clamp(extent0 + extent_slope * years + rng.gauss(0, 1.2), 0, 95)
                    change = None
                    if ev != BASELINE and rng.random() < 0.8:
                        delta = extent - extent0
                        change = 3 if delta >= 5 else 1 if delta <= -5 else 2
                    forms["hrct"] = hrct_values(near(10), True, round(extent, 1), pattern, change)
                else:
                    forms["hrct"] = hrct_values(near(10), False)
            if "echo" in designated and rng.random() < 0.85:
                pasp = int(round(clamp(pasp0 + pasp_slope * years + rng.gauss(0, 2.5), 12, 120)))
                forms["echo"] = echo_values(near(14), pasp, rng)
            if "pft" in designated and rng.random() < 0.85:
                forms["pft"] = pft_values(near(7), fvc0 + lung_slope * years + rng.gauss(0, 3),
                                          dlco0 + lung_slope * years + rng.gauss(0, 4))
            if "haq" in designated and rng.random() < 0.85:
                forms["haq"] = haq_values(vday, clamp(severity * (course(t) / max(base_mrss, 1)) ** 0.5, 0, 3)
                                          if base_mrss else severity, rng)
            if "vascular" in designated and rng.random() < 0.9:
                forms["vascular"] = vascular_values(vday, rng, ulcer_prone, clamp(0.9 - 0.15 * years, 0.2, 1))
            if "labs" in designated and rng.random() < 0.93:
                forms["labs"] = labs_values(near(1) if ev != BASELINE else vday, rng, severity / 2.6)
            for values in forms.values():
                if rng.random() < 0.04:
                    values["_complete"] = "1"
            visit_forms[ev] = forms

        # occasionally a visit is entered under a neighbouring event's label (its dates stay where they are)
        order = [e for e in SCHEDULED if e in visit_forms]
        for ev in order:
            if rng.random() < 0.015:
                i = SCHEDULED.index(ev)
                neighbours = [SCHEDULED[j] for j in (i - 1, i + 1) if 0 <= j < len(SCHEDULED)]
                target = rng.choice(neighbours)
                if target not in visit_forms:
                    forms = visit_forms.pop(ev)
                    visit_forms[target] = {f: v for f, v in forms.items() if f in self.designated[target]}
                    visits[target] = visits.pop(ev)

        # finalize forms: rename the private completion key
        for ev, forms in visit_forms.items():
            for form, values in forms.items():
                status = values.pop("_complete", None)
                if status:
                    values[f"{form}_complete"] = status
                p.add_form(ev, form, values)

        p.add_form(BASELINE, "enrollment", enrollment_values(
            ident, rng, sex=sex, enrollment_date=enrol, subtype=subtype, day0=day0, ild=ild, pah=pah,
            ulcers=ulcer_prone))

        # unscheduled visits (flares, intercurrent problems): skin and labs, sometimes more
        follow_days = (end - day0).days
        if follow_days > 60 and rng.random() < 0.12:
            for _ in range(rng.choice((1, 1, 2))):
                uday = day0 + dt.timedelta(days=rng.randint(20, follow_days))
                t = (uday - day0).days
                forms = {"skin_score": skin_values(uday, int(clamp(round(course(t) + rng.gauss(1, 2.5)), 0, 51)),
                                                   rng),
                         "labs": labs_values(uday, rng, severity / 2.6)}
                if rng.random() < 0.3:
                    forms["echo"] = echo_values(uday, int(clamp(pasp0 + rng.gauss(2, 4), 12, 120)), rng)
                if rng.random() < 0.3:
                    forms["vascular"] = vascular_values(uday, rng, ulcer_prone, 0.8)
                p.unscheduled.append(forms)
            p.unscheduled.sort(key=lambda f: f["skin_score"]["mrss_date"])

        # adverse events, each recorded at the first visit on or after its onset
        n_ae = sum(1 for _ in range(6) if rng.random() < 0.2 + 0.1 * min(follow_days / 1825, 1))
        visit_list = sorted(visits.items(), key=lambda kv: kv[1])
        for _ in range(n_ae):
            if follow_days < 1:
                break
            onset = day0 + dt.timedelta(days=rng.randint(0, follow_days))
            ev = next((e for e, d in visit_list if d >= onset), visit_list[-1][0])
            p.add_repeat(ev, "adverse_event", random_ae(rng, onset, end))
        for ev, instruments in p.repeats.items():
            if "adverse_event" in instruments:
                instruments["adverse_event"].sort(key=lambda v: v["ae_onset_date"])

        # end of follow-up
        last_visit = max(visits.values())
        if dead:
            cause = rng.choices(DEATH_CAUSES, weights=DEATH_CAUSE_WEIGHTS)[0]
            vital = vital_values(max(last_visit, death - dt.timedelta(days=rng.randint(0, 20))), 2, death, cause)
        elif lost:
            vital = vital_values(min(last_visit + dt.timedelta(days=rng.randint(0, 60)), self.last_day), 3)
        else:
            contact = min(last_visit + dt.timedelta(days=rng.randint(0, 200)), self.last_day)
            vital = vital_values(contact, 1)
        p.add_form(END_OF_FOLLOW_UP, "vital_status", vital)
        return p

    def cohort(self, n: int) -> list[PatientRecord]:
        return [self.patient(i) for i in range(1, n + 1)]
