"""The demo cohort: 41 patients whose analysis by the contract's plan reproduces Alip et al. 2024 exactly.

    python -m study.demo --out DIR [--seed 2024] [--drop-name 2026-11-24T0200] [--no-bom] [--canaries]

Published figures (Clin Rheumatol 2024;43:1073-1082) and how the cohort is built to hit them:

* 5-year overall survival 38/41: 3 deaths on study days 560-880 (after the month_12 visit, before day 913);
  the 38 survivors are seen at month_60 and last contacted after study day 1900, so KM S(5) = 38/41.
* mRSS (integer totals) mean (sample SD, n): 18.68 (7.26, 41) baseline, 13.95 (8.49, 41) month_12,
  13.29 (7.67, 38) month_36, 12.39 (8.49, 38) month_60. For each timepoint :func:`solve_scores` draws
  plausible integer scores and then moves them by ±1 (keeping the sum whose mean rounds to the target) until
  the sum of squares puts the SD within 0.004 of the target; scores are handed to patients by rank of a
  latent severity plus noise, so each patient's course is coherent.
* HRCT in ILD (25 patients with ild_baseline = 1, all evaluable): latest scan improved 7, stable 11,
  worsened 7 -> 18/25 = 72.0 %. Some latest scans carry hrct_change, others only hrct_extent_pct (the plan
  derives the category against the baseline scan, changes kept >= 7 points or <= 2.5 points from baseline);
  one stable patient's recorded "stable" goes with a +6.0 point extent change (the recorded value wins).
* PAH (8 patients with pah_baseline = 1): 5 stable (month_60 PASP within -8..+6 mmHg of baseline), 3
  worsened (death before 5 years, or PASP up >= 13 mmHg).
* Adverse events: relation only 1 (not related) or 2 (unlikely).

The plan's rules are exercised on purpose: a screening skin score in the baseline window farther from day 0
than the baseline visit; a month_12 tie (scheduled visit 365 - d, unscheduled visit 365 + d: the later one is
analysed); a month_36 visit entered under the month_48 event label (the window goes by date); skin scores
with the total only (retrospective) and one with the 17 sites but no total (the total is their sum).

The seed changes the patients, never the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import statistics
import sys
from pathlib import Path

from study.cohort import (
    BASELINE, END_OF_FOLLOW_UP, SCHEDULED, clamp, echo_values, enrollment_values, haq_values, hrct_values,
    identity, infusion_values, labs_values, pft_values, ae_values, AE_TERMS, record_id, skin_values,
    vascular_values, vital_values,
)
from study.definition import load_study
from study.export import PatientRecord, cohort_rows, default_drop_name, parse_drop_name, write_drop

DEFAULT_SEED = 2024
DEFAULT_EXPORT = dt.datetime(2026, 11, 24, 2, 0)
N_PATIENTS = 41
N_DEATHS = 3
N_ILD = 25
HRCT_CATEGORIES = {1: 7, 2: 11, 3: 7}  # improved, stable, worsened
N_PAH = 8
PAH_STABLE = 5
# timepoint -> (mean, sd, n) of mRSS as published
MRSS_TARGETS = {
    "baseline": (18.68, 7.26, 41),
    "month_12": (13.95, 8.49, 41),
    "month_36": (13.29, 7.67, 38),
    "month_60": (12.39, 8.49, 38),
}
TARGET_DAY = {"baseline": 0, "month_1": 30, "month_3": 91, "month_6": 182, "month_12": 365, "month_24": 730,
              "month_36": 1095, "month_48": 1460, "month_60": 1825}
JITTER = {"month_1": 3, "month_3": 6, "month_6": 10, "month_12": 18, "month_24": 20, "month_36": 25,
          "month_48": 25, "month_60": 25}


def solve_scores(rng: random.Random, n: int, mean: float, sd: float, lo: int = 0, hi: int = 51,
                 tolerance: float = 0.004) -> list[int]:
    """``n`` integers in lo..hi whose mean and sample SD round (2 decimals) to ``mean`` and ``sd``."""
    total = round(mean * n)
    if round(total / n, 2) != round(mean, 2):
        raise ValueError(f"no integer total of {n} scores has mean {mean}")
    q_lo = (sd - tolerance) ** 2 * (n - 1) + total * total / n
    q_hi = (sd + tolerance) ** 2 * (n - 1) + total * total / n
    q_mid = (q_lo + q_hi) / 2
    for _attempt in range(50):
        xs = [int(clamp(round(rng.gauss(mean, sd)), lo, hi)) for _ in range(n)]
        while sum(xs) != total:
            i = rng.randrange(n)
            step = 1 if sum(xs) < total else -1
            if lo <= xs[i] + step <= hi:
                xs[i] += step
        q = sum(x * x for x in xs)
        for _ in range(200_000):
            if q_lo <= q <= q_hi:
                break
            i, j = rng.randrange(n), rng.randrange(n)
            if i == j:
                continue
            if xs[i] < xs[j]:
                i, j = j, i
            # widen (i up, j down) or narrow (i down, j up) the spread; the sum stays
            if q < q_lo:
                a, b, dq = xs[i] + 1, xs[j] - 1, 2 * (xs[i] - xs[j]) + 2
            else:
                if xs[i] == xs[j]:
                    continue
                a, b, dq = xs[i] - 1, xs[j] + 1, -2 * (xs[i] - xs[j]) + 2
            if not (lo <= a <= hi and lo <= b <= hi) or abs(q + dq - q_mid) >= abs(q - q_mid):
                continue
            xs[i], xs[j], q = a, b, q + dq
        if q_lo <= q <= q_hi:
            m, s = statistics.fmean(xs), statistics.stdev(xs)
            if f"{m:.2f}" == f"{mean:.2f}" and f"{s:.2f}" == f"{sd:.2f}":
                return xs
    raise RuntimeError(f"could not solve scores for mean {mean}, sd {sd}, n {n}")


def assign_by_rank(values: list[int], patients: list[int], latent: dict[int, float], rng: random.Random,
                   noise: float = 0.3) -> dict[int, int]:
    """Hand sorted values to patients sorted by latent severity plus noise (coherent individual courses)."""
    keyed = sorted(patients, key=lambda p: latent[p] + rng.gauss(0, noise))
    return dict(zip(keyed, sorted(values)))


@functools.lru_cache(maxsize=1)
def _designated() -> dict[str, frozenset[str]]:
    study = load_study()
    return {ev: frozenset(study.forms_of_event(ev)) for ev in (BASELINE,) + SCHEDULED}


def build_demo(seed: int = DEFAULT_SEED, export_dt: dt.datetime = DEFAULT_EXPORT,
               canaries: bool = False) -> list[PatientRecord]:
    rng = random.Random(f"ssc-demo:{seed}")
    last_day = export_dt.date() - dt.timedelta(days=1)
    ids = list(range(1, N_PATIENTS + 1))

    dead = sorted(rng.sample(ids, N_DEATHS))
    survivors = [i for i in ids if i not in dead]
    ild = set(rng.sample(ids, N_ILD))
    pah = set(rng.sample(ids, N_PAH))

    # --- mRSS at the published timepoints --------------------------------------------------------
    latent = {i: rng.gauss(0, 1) for i in ids}
    mrss: dict[str, dict[int, int]] = {}
    for tp, (mean, sd, n) in MRSS_TARGETS.items():
        population = ids if n == N_PATIENTS else survivors
        lo = 5 if tp == "baseline" else 1
        values = solve_scores(rng, n, mean, sd, lo=lo, hi=45)
        mrss[tp] = assign_by_rank(values, population, latent, rng)

    # --- HRCT categories of the latest scan, PAH outcome -------------------------------------------
    ild_ids = sorted(ild)
    categories = [c for c, k in HRCT_CATEGORIES.items() for _ in range(k)]
    rng.shuffle(categories)
    hrct_category = dict(zip(ild_ids, categories))
    pah_ids = sorted(pah)
    pah_dead = [i for i in pah_ids if i in dead]
    pah_alive = [i for i in pah_ids if i not in dead]
    rng.shuffle(pah_alive)
    pah_worse_alive = set(pah_alive[: N_PAH - PAH_STABLE - len(pah_dead)])

    # --- the plan's rules, exercised on survivors --------------------------------------------------
    special = rng.sample(survivors, 5)
    screening_patient, tie_patient, relabel_patient, sites_only_a, sites_only_b = special
    stable_alive_ild = [i for i in ild_ids if i in survivors and hrct_category[i] == 2]
    recorded_stable_wide = rng.choice(stable_alive_ild)
    # latest scans without hrct_change: about a third of ILD patients, at least one per category
    extent_only = set()
    for c in (1, 2, 3):
        extent_only.add(rng.choice([i for i in ild_ids if hrct_category[i] == c and i != recorded_stable_wide]))
    extent_only |= {i for i in ild_ids if rng.random() < 0.25 and i != recorded_stable_wide}

    patients = []
    for i in ids:
        prng = random.Random(f"ssc-demo:{seed}:{i}")
        patients.append(_patient(
            i, prng, canaries=canaries, last_day=last_day, dead=i in dead, ild=i in ild, pah=i in pah,
            mrss={tp: mrss[tp].get(i) for tp in MRSS_TARGETS}, hrct_category=hrct_category.get(i),
            extent_only=i in extent_only, recorded_stable_wide=i == recorded_stable_wide,
            pah_worse=i in pah_worse_alive, screening=i == screening_patient, tie=i == tie_patient,
            relabel=i == relabel_patient,
            sites_only={sites_only_a: "month_60", sites_only_b: "baseline"}.get(i),
        ))
    return patients


def _patient(i: int, rng: random.Random, *, canaries: bool, last_day: dt.date, dead: bool, ild: bool, pah: bool,
             mrss: dict, hrct_category: int | None, extent_only: bool, recorded_stable_wide: bool,
             pah_worse: bool, screening: bool, tie: bool, relabel: bool, sites_only: str | None) -> PatientRecord:
    p = PatientRecord(record_id(i))
    ident = identity(rng, i, canaries)
    day0 = dt.date(2015, 1, 5) + dt.timedelta(days=rng.randint(0, (dt.date(2020, 12, 31) - dt.date(2015, 1, 5)).days))

    def on(study_day: int) -> dt.date:
        return day0 + dt.timedelta(days=study_day)

    base = mrss["baseline"]
    subtype = 1 if base >= 14 or rng.random() < 0.3 else 2
    sex = 1 if rng.random() < 0.85 else 2
    ulcer_prone = rng.random() < 0.35
    death_day = rng.randint(560, 880) if dead else None

    # --- visit days (study days) -------------------------------------------------------------------
    visit_day = {"baseline": -rng.randint(0, 10)}
    for tp, jitter in JITTER.items():
        d = TARGET_DAY[tp] + int(clamp(round(rng.gauss(0, jitter / 2)), -jitter, jitter))
        visit_day[tp] = d
    if tie:
        d = rng.randint(5, 9)
        visit_day["month_12"] = 365 - d
    keep = {"baseline", "month_12"}
    if not dead:
        keep |= {"month_36", "month_60"}
    visits = []
    for tp in ("baseline", "month_1", "month_3", "month_6", "month_12", "month_24", "month_36", "month_48",
               "month_60"):
        if dead and visit_day[tp] >= death_day - 10:
            continue
        if tp not in keep and rng.random() < 0.08:
            continue
        if relabel and tp == "month_48":
            continue
        visits.append(tp)
    enrol_day = visit_day["baseline"] - rng.randint(0, 30)
    if screening:
        enrol_day = -rng.randint(50, 70)

    # --- skin course -------------------------------------------------------------------------------
    m12 = mrss["month_12"]
    m36 = mrss["month_36"] if not dead else None
    m60 = mrss["month_60"] if not dead else None

    def skin_at(tp: str) -> int:
        if tp in ("baseline", "month_12", "month_36", "month_60"):
            return mrss[tp]
        noise = rng.gauss(0, 1.5)
        if tp == "month_1":
            v = base - 0.1 * (base - m12)
        elif tp == "month_3":
            v = base - 0.45 * (base - m12)
        elif tp == "month_6":
            v = base - 0.75 * (base - m12)
        elif tp == "month_24":
            v = (m12 + m36) / 2 if m36 is not None else m12
        else:  # month_48
            v = (m36 + m60) / 2
        return int(clamp(round(v + noise), 0, 51))

    # --- HRCT course (ILD) -------------------------------------------------------------------------
    hrct_tps = [tp for tp in ("baseline", "month_12", "month_24", "month_36", "month_48", "month_60") if tp in visits]
    extent0 = round(rng.uniform(14, 35), 1)
    if hrct_category == 1:
        delta = -rng.uniform(7, 11)
    elif hrct_category == 3:
        delta = rng.uniform(7, 14)
    else:
        delta = rng.uniform(-2.5, 2.5)
    if recorded_stable_wide:
        delta = 6.0
    pattern = rng.choices((1, 2, 3), weights=(75, 15, 10))[0]

    # --- echo course ---------------------------------------------------------------------------------
    pasp0 = rng.randint(40, 58) if pah else rng.randint(20, 32)
    if pah:
        pasp_end = pasp0 + (rng.randint(13, 25) if pah_worse else rng.randint(-8, 6))
    else:
        pasp_end = pasp0 + rng.randint(-3, 5)

    fvc0 = rng.gauss(70 if ild else 90, 10)
    dlco0 = rng.gauss(55 if ild else 74, 10)
    lung_trend = rng.gauss(0.6, 1.2)
    sev0 = clamp(0.35 + base / 22 + rng.gauss(0, 0.25), 0.1, 2.6)

    designated = _designated()
    visit_dates = {}
    for tp in visits:
        event = "baseline_arm_1" if tp == "baseline" else f"{tp}_arm_1"
        label = "month_48_arm_1" if (relabel and tp == "month_36") else event
        vd = visit_day[tp]
        day = on(vd)
        visit_dates[label] = day
        years = max(vd, 0) / 365.25
        frac = min(max(vd, 0) / 1825, 1)
        forms: dict[str, dict[str, str]] = {}
        total = skin_at(tp)
        mode = "sites"
        if sites_only == tp:
            mode = "sites_only"
        elif rng.random() < 0.15:
            mode = "total"
        forms["skin_score"] = skin_values(day, total, rng, mode)
        if "hrct" in designated[event]:
            hd = on(vd - rng.randint(0, 5)) if tp == "baseline" else on(vd + rng.randint(0, 4))
            if tp == "baseline":
                hd = on(min(vd - rng.randint(0, 20), 0))
            if ild and tp in hrct_tps:
                latest = tp == hrct_tps[-1]
                if tp == "baseline":
                    forms["hrct"] = hrct_values(hd, True, extent0, pattern)
                else:
                    if latest:
                        extent = extent0 + delta
                        change = None if extent_only else hrct_category
                    else:
                        extent = extent0 + delta * frac + rng.gauss(0, 0.8)
                        d_ext = round(extent, 1) - extent0
                        change = (3 if d_ext >= 5 else 1 if d_ext <= -5 else 2) if rng.random() < 0.7 else None
                    forms["hrct"] = hrct_values(hd, True, round(clamp(extent, 0.5, 90), 1), pattern, change)
            elif tp == "baseline":
                forms["hrct"] = hrct_values(hd, False)
        if "echo" in designated[event] and (tp in ("baseline", "month_60") or rng.random() < 0.9):
            pasp = pasp0 if tp == "baseline" else pasp_end if tp == "month_60" else \
                int(round(pasp0 + (pasp_end - pasp0) * frac + rng.gauss(0, 2)))
            ed = on(min(vd, 0) if tp == "baseline" else vd)
            forms["echo"] = echo_values(ed, pasp, rng)
        if "pft" in designated[event] and rng.random() < 0.9:
            forms["pft"] = pft_values(day, fvc0 + lung_trend * years + rng.gauss(0, 2.5),
                                      dlco0 + lung_trend * years + rng.gauss(0, 3.5))
        if "haq" in designated[event] and rng.random() < 0.92:
            forms["haq"] = haq_values(day, clamp(sev0 * (0.45 + 0.55 * total / max(base, 1)), 0, 3), rng)
        if "vascular" in designated[event] and rng.random() < 0.92:
            forms["vascular"] = vascular_values(day, rng, ulcer_prone, clamp(0.9 - 0.5 * frac, 0.2, 1))
        if "labs" in designated[event] and rng.random() < 0.95:
            forms["labs"] = labs_values(day, rng, sev0 / 2.6)
        for form, values in forms.items():
            if rng.random() < 0.04:
                values[f"{form}_complete"] = "1"
            p.add_form(label, form, values)

    # --- enrollment, infusions ---------------------------------------------------------------------
    p.add_form(BASELINE, "enrollment", enrollment_values(
        ident, rng, sex=sex, enrollment_date=on(enrol_day), subtype=subtype, day0=day0, ild=ild, pah=pah,
        ulcers=ulcer_prone))
    weight = clamp(rng.gauss(56 if sex == 1 else 66, 8), 40, 95)
    n_inf = rng.choices((1, 2, 3), weights=(55, 30, 15))[0]
    inf_day = 0
    for k in range(n_inf):
        if k:
            inf_day += rng.randint(26, 32)
        p.add_repeat(BASELINE, "infusion", infusion_values(on(inf_day), weight + rng.gauss(0, 0.5), 1.0,
                                                           rng.random() < 0.05))

    # --- unscheduled visits that test the plan's choice of the analysed assessment -----------------
    if screening:
        sd_ = on(enrol_day)
        p.unscheduled.append({"skin_score": skin_values(sd_, int(clamp(base + rng.randint(1, 3), 0, 51)), rng)})
    if tie:
        d = 365 - visit_day["month_12"]
        ud = on(365 + d)
        # the scheduled visit keeps a different score; the later unscheduled one is the analysed one
        other = int(clamp(m12 + rng.choice((-2, 2)), 0, 51))
        p.forms["month_12_arm_1"]["skin_score"] = skin_values(on(365 - d), other, rng, "sites")
        p.unscheduled.append({"skin_score": {**skin_values(ud, m12, rng, "sites")},
                              "labs": labs_values(ud, rng, sev0 / 2.6)})

    # --- end of follow-up ----------------------------------------------------------------------------
    last_visit = max(visit_dates.values())
    if dead:
        death = on(death_day)
        cause = 2 if pah else 1 if ild else rng.choice((3, 5, 7))
        contact = max(last_visit, death - dt.timedelta(days=rng.randint(0, 14)))
        p.add_form(END_OF_FOLLOW_UP, "vital_status", vital_values(contact, 2, death, cause, False))
        limit = death
    else:
        contact = min(last_day, on(1850 + rng.randint(60, 400)))
        p.add_form(END_OF_FOLLOW_UP, "vital_status", vital_values(contact, 1))
        limit = contact

    # --- adverse events: none related (relation 1 or 2) -----------------------------------------------
    ordered = sorted(visit_dates.items(), key=lambda kv: kv[1])
    follow = (limit - day0).days
    aes = []
    for _ in range(rng.choices((0, 1, 2, 3), weights=(35, 35, 20, 10))[0]):
        onset = on(rng.randint(0, max(follow - 1, 1)))
        grade = rng.choices((1, 2, 3), weights=(55, 35, 10))[0]
        outcome = rng.choices((1, 2, 4), weights=(85, 8, 7))[0]
        end = onset + dt.timedelta(days=rng.randint(3, 30)) if outcome != 2 else None
        if end is not None and end > limit:
            end, outcome = None, 2
        aes.append(ae_values(onset, end, rng.choice(AE_TERMS), grade, grade == 3 and rng.random() < 0.6,
                             rng.choices((1, 2), weights=(75, 25))[0], outcome))
    if dead and cause == 1 and rng.random() < 0.5:
        aes.append(ae_values(death - dt.timedelta(days=rng.randint(5, 12)), death, "Pneumonia", 5, True, 1, 5))
    for values in sorted(aes, key=lambda v: v["ae_onset_date"]):
        onset = dt.date.fromisoformat(values["ae_onset_date"])
        event = next((e for e, d in ordered if d >= onset), ordered[-1][0])
        p.add_repeat(event, "adverse_event", values)
    return p


def write_demo(out: Path, seed: int = DEFAULT_SEED, drop_name: str | None = None, bom: bool = True,
               canaries: bool = False) -> Path:
    export_dt = (parse_drop_name(drop_name) if drop_name else None) or DEFAULT_EXPORT
    drop_name = drop_name or default_drop_name(export_dt)
    study = load_study()
    rows = cohort_rows(build_demo(seed, export_dt, canaries), study)
    return write_drop(rows, Path(out), drop_name, export_dt, bom=bom, study=study)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m study.demo", description="Write the 41-patient demo drop.")
    ap.add_argument("--out", type=Path, required=True, help="inbox folder; the drop is written under it")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--drop-name", default=None, help="default 2026-11-24T0200 (also the export datetime)")
    ap.add_argument("--no-bom", action="store_true", help="write the records file without a UTF-8 BOM")
    ap.add_argument("--canaries", action="store_true", help="identifier values become canary strings")
    args = ap.parse_args(argv)
    path = write_demo(args.out, args.seed, args.drop_name, bom=not args.no_bom, canaries=args.canaries)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
