"""HRCT in patients with ILD at baseline: category of the latest scan on study days ``hrct.first_day`` ..
``hrct.last_day``, derived from the extent where no change is recorded (``hrct.extent_change``); the settings are
in study/analysis_settings.toml."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, flagged, fnum, num, percent, population
from analysis.settings import value

FIRST_DAY, LAST_DAY = value("hrct.first_day"), value("hrct.last_day")
RECORDED = {1: "improved", 2: "stable", 3: "worsened"}
THRESHOLD = value("hrct.extent_change")  # percentage points of hrct_extent_pct


def categorise_extent_change(delta: float | None, threshold: float = THRESHOLD) -> str | None:
    """A change of at least +``threshold`` points worsened, at most −``threshold`` improved, otherwise stable;
    None when the change is unknown."""
    if delta is None:
        return None
    if delta >= threshold - EPS:
        return "worsened"
    if delta <= -threshold + EPS:
        return "improved"
    return "stable"


def _scan_values(hrct: pd.DataFrame, param: str) -> dict:
    """(USUBJID, SRCSEQ) → non-null numeric AVAL of ``param`` (PARAMCD) on that scan."""
    rows = hrct[hrct["PARAMCD"] == param]
    values = num(rows["AVAL"])
    rows = rows.assign(AVAL=values)[values.notna()]
    return {(r.USUBJID, r.SRCSEQ): float(r.AVAL) for r in rows.itertuples(index=False)}


def hrct_ild(adsl: pd.DataFrame, adbds: pd.DataFrame, *,
             first_day: int = FIRST_DAY, last_day: int = LAST_DAY, threshold: float = THRESHOLD) -> dict:
    """{n_ild, n_evaluable, improved, stable, worsened, uncategorised, improved_or_stable_pct, patients}.

    A scan is an HRCT assessment (USUBJID, SRCSEQ; SRCDOM 'hrct') in adbds, analysed or not; the baseline scan is
    the ABLFL one. ``patients`` lists every
    ILD patient: record_id, evaluable, category ('improved' | 'stable' | 'worsened' | None), source
    ('recorded' | 'derived' | None), latest_scan_day, extent_change.
    """
    ild = population(adsl, "ild_baseline")
    hrct = adbds[(adbds["SRCDOM"] == "hrct") & adbds["USUBJID"].isin(ild)] if adbds is not None and not adbds.empty \
        else pd.DataFrame(columns=["USUBJID", "SRCSEQ", "ADY", "PARAMCD", "AVAL", "ABLFL"])
    changes = _scan_values(hrct, "hrct_change")
    extents = _scan_values(hrct, "hrct_extent_pct")

    base = hrct[flagged(hrct["ABLFL"])]
    baseline_scan = {r.USUBJID: r.SRCSEQ
                     for r in base.sort_values("SRCSEQ").drop_duplicates("USUBJID", keep="last").itertuples()}

    days = num(hrct["ADY"])
    follow = hrct[(days >= first_day) & (days <= last_day)].assign(ADY=days)
    latest = (follow[["USUBJID", "SRCSEQ", "ADY"]].drop_duplicates()
              .sort_values(["USUBJID", "ADY", "SRCSEQ"]).drop_duplicates("USUBJID", keep="last"))
    latest_scan = {r.USUBJID: (r.SRCSEQ, r.ADY) for r in latest.itertuples(index=False)}

    counts = {"improved": 0, "stable": 0, "worsened": 0}
    patients = []
    uncategorised = 0
    for rid in ild:
        entry = {"record_id": rid, "evaluable": rid in latest_scan, "category": None, "source": None,
                 "latest_scan_day": None, "extent_change": None}
        if rid in latest_scan:
            row, day = latest_scan[rid]
            entry["latest_scan_day"] = int(day)
            recorded = changes.get((rid, row))
            if recorded is not None and int(recorded) in RECORDED and recorded == int(recorded):
                entry["category"], entry["source"] = RECORDED[int(recorded)], "recorded"
            else:
                later = extents.get((rid, row))
                earlier = extents.get((rid, baseline_scan[rid])) if rid in baseline_scan else None
                delta = later - earlier if later is not None and earlier is not None else None
                entry["extent_change"] = fnum(delta)
                entry["category"] = categorise_extent_change(delta, threshold)
                entry["source"] = "derived" if entry["category"] else None
            if entry["category"]:
                counts[entry["category"]] += 1
            else:
                uncategorised += 1
        patients.append(entry)

    n_evaluable = sum(p["evaluable"] for p in patients)
    return {
        "n_ild": len(ild),
        "n_evaluable": n_evaluable,
        **counts,
        "uncategorised": uncategorised,
        "improved_or_stable_pct": percent(counts["improved"] + counts["stable"], n_evaluable),
        "patients": patients,
    }
