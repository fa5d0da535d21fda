"""The contract's analysis plan implemented by hand: plain pandas over the records CSV.

Nothing of the pipeline is used (no study.*, no SQL, no analysis.*): windows, closest-to-target, day 0, the
mRSS rule, KM, HRCT and PAH are written again here from the contract's text, so the pipeline and this check
cannot share a mistake. Used by the demo tests and by the end-to-end tests on cohorts the pipeline never saw.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "demo" / "inbox" / "2026-11-24T0200"
EXPORT = dt.date(2026, 11, 24)

# contract: window -> (min, max, target) in study days
WINDOWS = {
    "baseline": (-90, 0, 0), "month_1": (1, 60, 30), "month_3": (61, 136, 91), "month_6": (137, 273, 182),
    "month_12": (274, 547, 365), "month_24": (548, 912, 730), "month_36": (913, 1277, 1095),
    "month_48": (1278, 1642, 1460), "month_60": (1643, 2007, 1825),
}
SITES = ["mrss_face", "mrss_chest", "mrss_abdomen", "mrss_fingers_r", "mrss_fingers_l", "mrss_hand_r",
         "mrss_hand_l", "mrss_forearm_r", "mrss_forearm_l", "mrss_upperarm_r", "mrss_upperarm_l", "mrss_thigh_r",
         "mrss_thigh_l", "mrss_leg_r", "mrss_leg_l", "mrss_foot_r", "mrss_foot_l"]
DATE_FIELDS = {"skin_score": "mrss_date", "hrct": "hrct_date", "echo": "echo_date", "pft": "pft_date",
               "haq": "haq_date", "vascular": "vasc_date", "labs": "lab_date"}


def window(day: int) -> str | None:
    return next((w for w, (lo, hi, _) in WINDOWS.items() if lo <= day <= hi), None)


def records_file(drop: Path) -> Path:
    (path,) = drop.glob("SSC_DATA_*.csv")
    return path


def analyse(path: Path) -> dict:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    inf = df[df.redcap_repeat_instrument == "infusion"]
    day0 = inf.groupby("record_id").infusion_date.min().map(dt.date.fromisoformat).to_dict()
    enrol = df[(df.redcap_repeat_instrument == "") & (df.enrollment_date != "")].set_index("record_id")
    plain = df[df.redcap_repeat_instrument == ""].copy()

    def assessments(form: str, value_cols: list[str]) -> pd.DataFrame:
        date_col = DATE_FIELDS[form]
        a = plain[plain[date_col] != ""].copy()
        a["date"] = a[date_col].map(dt.date.fromisoformat)
        a["day"] = [(d - day0[r]).days for d, r in zip(a.date, a.record_id)]
        a["window"] = a.day.map(window)
        return a[["record_id", "date", "day", "window", "redcap_event_name"] + value_cols]

    def analysed(a: pd.DataFrame) -> pd.DataFrame:
        """Per patient and window, the assessment closest to target; a tie goes to the later one."""
        a = a[a.window.notna()].copy()
        a["dist"] = [abs(d - WINDOWS[w][2]) for d, w in zip(a.day, a.window)]
        a = a.sort_values(["record_id", "window", "dist", "day"], ascending=[True, True, True, False])
        return a.groupby(["record_id", "window"], as_index=False).first()

    # --- mRSS ---------------------------------------------------------------------------------------
    skin = assessments("skin_score", ["mrss_total"] + SITES)

    def mrss_value(row) -> float | None:
        sites = [row[s] for s in SITES]
        total = row["mrss_total"]
        site_sum = sum(int(s) for s in sites) if all(s != "" for s in sites) else None
        if total != "":
            if site_sum is not None and site_sum != int(total):
                return None  # reported, not analysed
            return float(total)
        return float(site_sum) if site_sum is not None else None

    skin["value"] = skin.apply(mrss_value, axis=1)
    skin = skin[skin.value.notna()]
    chosen = analysed(skin)
    mrss = {}
    for w, g in chosen.groupby("window"):
        mrss[w] = (g.value.mean(), g.value.std(ddof=1), len(g))

    # --- survival -----------------------------------------------------------------------------------
    vital = plain[plain.redcap_event_name == "end_of_follow_up_arm_1"].set_index("record_id")
    dated = []
    for form, col in DATE_FIELDS.items():
        dated.append(plain.loc[plain[col] != "", ["record_id", col]].rename(columns={col: "d"}))
    ae = df[df.redcap_repeat_instrument == "adverse_event"]
    dated.append(ae[["record_id", "ae_onset_date"]].rename(columns={"ae_onset_date": "d"}))
    dated = pd.concat(dated)
    latest = dated.groupby("record_id").d.max().map(dt.date.fromisoformat).to_dict()
    times, events = [], []
    for rid, d0 in day0.items():
        v = vital.loc[rid]
        if v.death_date:
            end, event = dt.date.fromisoformat(v.death_date), 1
        else:
            end, event = max(dt.date.fromisoformat(v.last_contact_date), latest[rid]), 0
        times.append((end - d0).days / 365.25)
        events.append(event)
    surv = 1.0
    for t in sorted({t for t, e in zip(times, events) if e and t <= 5}):
        at_risk = sum(1 for x in times if x >= t)
        deaths = sum(1 for x, e in zip(times, events) if x == t and e)
        surv *= 1 - deaths / at_risk

    # --- HRCT in ILD --------------------------------------------------------------------------------
    hrct = assessments("hrct", ["hrct_extent_pct", "hrct_change"])
    base_hrct = analysed(hrct[hrct.window == "baseline"]).set_index("record_id")
    ild = [r for r in day0 if enrol.loc[r].ild_baseline == "1"]
    cats = {"improved": 0, "stable": 0, "worsened": 0}
    evaluable = 0
    for rid in ild:
        scans = hrct[(hrct.record_id == rid) & (hrct.day >= 1) & (hrct.day <= 2007)]
        if scans.empty:
            continue
        evaluable += 1
        last = scans.sort_values("day").iloc[-1]
        if last.hrct_change:
            cat = {"1": "improved", "2": "stable", "3": "worsened"}[last.hrct_change]
        elif rid not in base_hrct.index or not base_hrct.loc[rid].hrct_extent_pct or not last.hrct_extent_pct:
            continue  # evaluable, but no baseline extent to derive a category from
        else:
            delta = float(last.hrct_extent_pct) - float(base_hrct.loc[rid].hrct_extent_pct)
            cat = "worsened" if delta >= 5 else "improved" if delta <= -5 else "stable"
        cats[cat] += 1

    # --- PAH ----------------------------------------------------------------------------------------
    echo = analysed(assessments("echo", ["echo_pasp_mmhg"])).set_index(["record_id", "window"])
    pah = {"stable": 0, "worsened": 0, "not_evaluable": 0}
    for rid in (r for r in day0 if enrol.loc[r].pah_baseline == "1"):
        v = vital.loc[rid]
        if v.death_date and (dt.date.fromisoformat(v.death_date) - day0[rid]).days / 365.25 <= 5:
            pah["worsened"] += 1
        elif (rid, "baseline") in echo.index and (rid, "month_60") in echo.index:
            rise = float(echo.loc[(rid, "month_60")].echo_pasp_mmhg) - float(echo.loc[(rid, "baseline")].echo_pasp_mmhg)
            pah["stable" if rise < 10 else "worsened"] += 1
        else:
            pah["not_evaluable"] += 1

    return {
        "n": len(day0), "deaths": sum(events), "s5": surv, "times": times, "events": events, "mrss": mrss,
        "n_ild": len(ild), "evaluable": evaluable, "hrct": cats, "pah": pah,
        "related": int(ae.ae_relation.isin(["3", "4", "5"]).sum()), "n_ae": len(ae), "df": df,
        "chosen_skin": chosen, "skin": skin,
    }


def assert_published(r: dict) -> None:
    assert r["n"] == 41
    assert r["deaths"] == 3
    assert r["s5"] == pytest.approx(38 / 41)
    assert f"{100 * r['s5']:.1f}" == "92.7"
    expected = {"baseline": (18.68, 7.26, 41), "month_12": (13.95, 8.49, 41), "month_36": (13.29, 7.67, 38),
                "month_60": (12.39, 8.49, 38)}
    for w, (mean, sd, n) in expected.items():
        m, s, k = r["mrss"][w]
        assert (f"{m:.2f}", f"{s:.2f}", k) == (f"{mean:.2f}", f"{sd:.2f}", n), w
    assert r["n_ild"] == 25 and r["evaluable"] == 25
    assert r["hrct"] == {"improved": 7, "stable": 11, "worsened": 7}
    pct = 100 * (r["hrct"]["improved"] + r["hrct"]["stable"]) / r["evaluable"]
    assert f"{pct:.1f}" == "72.0"
    assert r["pah"] == {"stable": 5, "worsened": 3, "not_evaluable": 0}
    assert r["n_ae"] > 0 and r["related"] == 0


