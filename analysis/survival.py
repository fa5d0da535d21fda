"""Overall survival: Kaplan–Meier with the log(−log) (exponential Greenwood) 95% CI, as the plan asks.

Every function reads adtte's analysed rows only (ANL01FL 'Y'; the time AVAL in years, the event 1 − CNSR): a
patient who cannot be placed in time (no ANL01FL, ``exclusion_reason``) is reported, never censored as alive."""

from __future__ import annotations

import math
import warnings
from typing import Iterable

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from analysis._common import flagged, fnum, num
from analysis.settings import value

YEARS = value("survival.years")  # S(t) is read at these times (years from day 0)


def _os(adtte: pd.DataFrame | None) -> pd.DataFrame:
    """The OS rows of adtte (PARAMCD 'OS')."""
    if adtte is None or adtte.empty:
        return pd.DataFrame(columns=["USUBJID", "PARAMCD", "AVAL", "CNSR", "ANL01FL", "exclusion_reason"])
    return adtte[adtte["PARAMCD"] == "OS"]


def _excluded(adtte: pd.DataFrame | None) -> pd.Series:
    """True on the OS rows left out of the analysis (no ANL01FL)."""
    return ~flagged(_os(adtte)["ANL01FL"])


def _os_rows(adtte: pd.DataFrame) -> pd.DataFrame:
    """Analysed OS rows with a usable time: time_years (AVAL, float), event (1 − CNSR: 1 death, 0 censored)."""
    rows = _os(adtte)
    rows = rows[~_excluded(adtte)]
    out = pd.DataFrame({
        "time_years": num(rows["AVAL"]),
        "event": (1 - num(rows["CNSR"])).fillna(0).astype(int),
    })
    return out[out["time_years"].notna()].reset_index(drop=True)


def excluded_patients(adtte: pd.DataFrame | None) -> list[dict]:
    """[{record_id (USUBJID), reason}] of the patients adtte leaves out of the survival analysis (no ANL01FL,
    ``exclusion_reason``), by record_id."""
    rows = _os(adtte)
    rows = rows[_excluded(adtte)]
    return [{"record_id": str(rid), "reason": None if pd.isna(reason) else str(reason)}
            for rid, reason in sorted(zip(rows["USUBJID"], rows["exclusion_reason"]), key=lambda pair: str(pair[0]))]


def _fit(rows: pd.DataFrame, *, reverse: bool = False) -> KaplanMeierFitter:
    events = 1 - rows["event"] if reverse else rows["event"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KaplanMeierFitter(alpha=0.05).fit(rows["time_years"], event_observed=events)


def _step_at(frame: pd.DataFrame, t: float) -> pd.Series:
    """The row of a step function (indexed by time) in force at t, events at exactly t included."""
    return frame.loc[frame.index <= t].iloc[-1]


def overall_survival(adtte: pd.DataFrame, years: Iterable[float] = YEARS) -> dict:
    """n, deaths, n_excluded, median (None if not reached), S(t) with its 95% CI and the number at risk at each of
    ``years`` (from day 0; setting ``survival.years``), and excluded: [{record_id, reason}].

    Only analysed rows enter (adtte ANL01FL 'Y'): a patient who cannot be
    placed in time (e.g. recorded as dead without a usable death date) is counted in n_excluded, never
    censored. S(t) is the KM step function at t (a death at exactly t counts). Beyond the last observed time
    the estimate is undefined unless the curve has reached 0: then survival and CI are None.
    """
    rows = _os_rows(adtte)
    excluded = excluded_patients(adtte)
    n = int(len(rows))
    deaths = int(rows["event"].sum())
    result: dict = {"n": n, "deaths": deaths, "n_excluded": len(excluded), "median_years": None,
                    "estimates": [], "excluded": excluded}
    if n == 0:
        result["estimates"] = [{"year": _year(t), "survival": None, "ci_lower": None, "ci_upper": None,
                                "at_risk": 0} for t in years]
        return result
    kmf = _fit(rows)
    result["median_years"] = fnum(kmf.median_survival_time_)
    sf, ci = kmf.survival_function_, kmf.confidence_interval_
    t_max = float(rows["time_years"].max())
    for t in years:
        s = float(_step_at(sf, t).iloc[0])
        lo, hi = (float(v) for v in _step_at(ci, t).iloc[:2])
        if t > t_max and s > 0:
            s_out, lo, hi = None, None, None
        else:
            s_out = fnum(s)
        result["estimates"].append({
            "year": _year(t), "survival": s_out, "ci_lower": fnum(lo), "ci_upper": fnum(hi),
            "at_risk": int((rows["time_years"] >= t).sum()),
        })
    return result


def _year(t: float) -> int | float:
    return int(t) if float(t).is_integer() else float(t)


def km_curve(adtte: pd.DataFrame) -> pd.DataFrame:
    """The KM step function for plotting: time_years, survival, ci_lower, ci_upper, at_risk, n_censored (one row
    per distinct time, starting at 0 with S = 1; at_risk counts time ≥ t, n_censored the censorings at t)."""
    columns = ["time_years", "survival", "ci_lower", "ci_upper", "at_risk", "n_censored"]
    rows = _os_rows(adtte)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    kmf = _fit(rows)
    ci = kmf.confidence_interval_
    events = kmf.event_table.reindex(kmf.survival_function_.index)
    return pd.DataFrame({
        "time_years": kmf.survival_function_.index.to_numpy(dtype=float),
        "survival": kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float),
        "ci_lower": ci.iloc[:, 0].to_numpy(dtype=float),
        "ci_upper": ci.iloc[:, 1].to_numpy(dtype=float),
        "at_risk": events["at_risk"].to_numpy(dtype=int),
        "n_censored": events["censored"].to_numpy(dtype=int),
    }, columns=columns)


def risk_table_years(adtte: pd.DataFrame, at_least: float = max(YEARS)) -> list[int]:
    """Whole years 0, 1, … up to the last observed time (rounded up), and at least to ``at_least``: the ticks of
    the survival figure's axis and its numbers at risk."""
    rows = _os_rows(adtte)
    last = float(rows["time_years"].max()) if len(rows) else 0.0
    return list(range(0, int(math.ceil(max(last, at_least, 1))) + 1))


def at_risk_table(adtte: pd.DataFrame, years: Iterable[float] = (0, 1, 2, 3, 4, 5)) -> pd.DataFrame:
    """Number at risk (time ≥ t) and cumulative deaths (event with time ≤ t) at each t, for under the plot."""
    rows = _os_rows(adtte)
    years = list(years)
    return pd.DataFrame({
        "year": years,
        "at_risk": [int((rows["time_years"] >= t).sum()) for t in years],
        "deaths": [int(((rows["time_years"] <= t) & (rows["event"] == 1)).sum()) for t in years],
    })


def deaths(adsl: pd.DataFrame, adtte: pd.DataFrame) -> list[dict]:
    """Listing of the patients recorded as dead (adsl DTHFL 'Y': vital status Dead, or a death date recorded):
    [{record_id, placed (a usable death date: adsl DTHDT), time_years (adtte AVAL, placed deaths only), cause
    (DTHCAUS), treatment_related}], placed deaths by death date first, then the others, by record_id.

    Requires adsl USUBJID, DTHFL, DTHDT, DTHCAUS, death_treatment_related; adtte USUBJID, PARAMCD, AVAL."""
    if adsl is None or adsl.empty:
        return []
    dead = adsl[flagged(adsl["DTHFL"])]
    dead = dead.assign(key=dead["USUBJID"].astype(str)).sort_values(["DTHDT", "key"], na_position="last")
    times = {}
    if adtte is not None and not adtte.empty:
        times = dict(zip(_os(adtte)["USUBJID"].astype(str), num(_os(adtte)["AVAL"])))
    out = []
    for r in dead.to_dict("records"):
        placed = not pd.isna(r["DTHDT"])
        out.append({"record_id": r["key"], "placed": placed,
                    "time_years": fnum(times.get(r["key"])) if placed else None,
                    "cause": None if pd.isna(r["DTHCAUS"]) else str(r["DTHCAUS"]),
                    "treatment_related": None if pd.isna(r["death_treatment_related"])
                    else bool(r["death_treatment_related"])})
    return out


def median_follow_up(adtte: pd.DataFrame) -> dict:
    """Median follow-up by the reverse Kaplan–Meier method (censoring as the event; deaths censored), and the
    simple median of the observation times, in years."""
    rows = _os_rows(adtte)
    if rows.empty:
        return {"reverse_km_years": None, "simple_median_years": None}
    return {
        "reverse_km_years": fnum(_fit(rows, reverse=True).median_survival_time_),
        "simple_median_years": fnum(np.median(rows["time_years"])),
    }
