"""HRCT in patients with ILD at baseline: category of the latest scan on study days 1..2007."""

from __future__ import annotations

import pandas as pd

from analysis._common import EPS, fnum, num, percent, population, truthy

FIRST_DAY, LAST_DAY = 1, 2007
RECORDED = {1: "improved", 2: "stable", 3: "worsened"}
THRESHOLD = 5.0  # points of hrct_extent_pct


def categorise_extent_change(delta: float | None) -> str | None:
    """≥ +5 points worsened, ≤ −5 improved, otherwise stable; None when the change is unknown."""
    if delta is None:
        return None
    if delta >= THRESHOLD - EPS:
        return "worsened"
    if delta <= -THRESHOLD + EPS:
        return "improved"
    return "stable"


def _scan_values(hrct: pd.DataFrame, param: str) -> dict:
    """(record_id, source_row) → non-null numeric value of ``param`` on that scan."""
    rows = hrct[hrct["param"] == param]
    values = num(rows["value"])
    rows = rows.assign(value=values)[values.notna()]
    return {(r.record_id, r.source_row): float(r.value) for r in rows.itertuples(index=False)}


def hrct_ild(adsl: pd.DataFrame, adbds: pd.DataFrame, *,
             first_day: int = FIRST_DAY, last_day: int = LAST_DAY) -> dict:
    """{n_ild, n_evaluable, improved, stable, worsened, uncategorised, improved_or_stable_pct, patients}.

    A scan is an HRCT assessment (record_id, source_row) in adbds, analysed or not. ``patients`` lists every
    ILD patient: record_id, evaluable, category ('improved' | 'stable' | 'worsened' | None), source
    ('recorded' | 'derived' | None), latest_scan_day, extent_change.
    """
    ild = population(adsl, "ild_baseline")
    hrct = adbds[(adbds["instrument"] == "hrct") & adbds["record_id"].isin(ild)] if adbds is not None and not adbds.empty \
        else pd.DataFrame(columns=["record_id", "source_row", "study_day", "param", "value", "timepoint", "analysed"])
    changes = _scan_values(hrct, "hrct_change")
    extents = _scan_values(hrct, "hrct_extent_pct")

    base = hrct[(hrct["timepoint"] == "baseline") & truthy(hrct["analysed"])]
    baseline_scan = {r.record_id: r.source_row
                     for r in base.sort_values("source_row").drop_duplicates("record_id", keep="last").itertuples()}

    days = num(hrct["study_day"])
    follow = hrct[(days >= first_day) & (days <= last_day)].assign(study_day=days)
    latest = (follow[["record_id", "source_row", "study_day"]].drop_duplicates()
              .sort_values(["record_id", "study_day", "source_row"]).drop_duplicates("record_id", keep="last"))
    latest_scan = {r.record_id: (r.source_row, r.study_day) for r in latest.itertuples(index=False)}

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
                entry["category"] = categorise_extent_change(delta)
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
