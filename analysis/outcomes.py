"""The analysis results dataset → ``outcomes.json`` (the contract's keys and the extras), and a CLI.

    python -m analysis.outcomes --warehouse $SSC_HOME/warehouse.duckdb [--out outcomes.json] [--enrolled N]

Each reader below builds one key of outcomes.json from the ARD rows ``analysis.results`` writes for it (the
shapes are those of the analysis functions; see ``docs/contract.md`` for the contract's keys).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Mapping

import pandas as pd

from analysis.ard import Results
from analysis.results import (AE_TABLES, CHANGE, EFFECT, HRCT_CATEGORIES, MODEL, PAH_CATEGORIES, PROGRESSION,
                              RESPONSE, SUMMARY, analysis_results)
from analysis.table1 import shown

MARTS = ("adsl", "adbds", "adtte", "adae", "adex")
CONTRACT_KEYS = ("overall_survival", "mrss", "hrct_ild", "pah", "haq_di", "vascular", "adverse_events")
EXTRA_KEYS = ("table1", "mrss_mixed_model", "mrss_responders", "lung_function", "cohort_flow")


def _year(timepoint: str) -> int | float:
    value = float(timepoint.removeprefix("year_"))
    return int(value) if value.is_integer() else value


def by_timepoint(r: Results, analysis: str, parameter: str) -> list[dict]:
    """[{timepoint, n, mean, sd, median}] of one parameter."""
    return [{"timepoint": tp, **r.record(analysis, SUMMARY, parameter=parameter, timepoint=tp)}
            for tp in r.timepoints(analysis, "mean", parameter=parameter)]


def change_from_baseline(r: Results, analysis: str, parameter: str) -> list[dict]:
    """[{timepoint, n_paired, mean_change, sd_change, t_test_p, wilcoxon_p}] of one parameter."""
    return [{"timepoint": tp, **r.record(analysis, CHANGE, parameter=parameter, timepoint=tp)}
            for tp in r.timepoints(analysis, "mean_change", parameter=parameter)]


def overall_survival(r: Results) -> dict:
    a, p = "overall_survival", "OS"
    return {
        "n": r.value(a, "n", parameter=p), "deaths": r.value(a, "deaths", parameter=p),
        "n_excluded": r.value(a, "n_excluded", parameter=p), "median_years": r.value(a, "median_years", parameter=p),
        "estimates": [{"year": _year(tp), **r.record(a, ("survival", "ci_lower", "ci_upper", "at_risk"),
                                                      parameter=p, timepoint=tp)}
                      for tp in r.timepoints(a, "survival", parameter=p)],
        "excluded": [{"record_id": g, "reason": r.value(a, "reason", parameter=p, group=g)}
                     for g in r.groups(a, "reason", parameter=p)],
    }


def mrss(r: Results) -> dict:
    return {"by_timepoint": by_timepoint(r, "mrss", "mrss_total"),
            "change_from_baseline": change_from_baseline(r, "mrss", "mrss_total")}


def haq_di(r: Results) -> dict:
    return {"by_timepoint": by_timepoint(r, "haq_di", "haq_di"),
            "change_from_baseline": change_from_baseline(r, "haq_di", "haq_di")}


def hrct_ild(r: Results) -> dict:
    a, p = "hrct_ild", "hrct_change"
    return {
        "n_ild": r.value(a, "n", parameter=p), "n_evaluable": r.value(a, "n", parameter=p, group="evaluable"),
        **{c: r.value(a, "n", parameter=p, group=c) for c in HRCT_CATEGORIES},
        "improved_or_stable_pct": r.value(a, "pct", parameter=p, group="improved_or_stable"),
        "patients": [{"record_id": g, "evaluable": r.value(a, "evaluable", parameter=p, group=g),
                      "category": r.value(a, "category", parameter=p, group=g),
                      "source": r.value(a, "category_source", parameter=p, group=g),
                      "latest_scan_day": r.value(a, "latest_scan_day", parameter=p, group=g),
                      "extent_change": r.value(a, "extent_change", parameter=p, group=g)}
                     for g in r.groups(a, "evaluable", parameter=p)],
    }


def pah(r: Results) -> dict:
    a, p = "pah", "echo_pasp_mmhg"
    return {
        "n": r.value(a, "n", parameter=p), **{c: r.value(a, "n", parameter=p, group=c) for c in PAH_CATEGORIES},
        "patients": [{"record_id": g, "category": r.value(a, "category", parameter=p, group=g),
                      "reason": r.value(a, "reason", parameter=p, group=g),
                      "baseline_pasp": r.value(a, "baseline_value", parameter=p, group=g),
                      "final_pasp": r.value(a, "final_value", parameter=p, group=g),
                      "rise": r.value(a, "rise", parameter=p, group=g)}
                     for g in r.groups(a, "category", parameter=p)],
    }


def vascular(r: Results) -> dict:
    a = "vascular"
    return {
        "rcs_by_timepoint": by_timepoint(r, a, "rcs"),
        "digital_ulcers_by_timepoint": [
            {"timepoint": tp, "n": r.value(a, "n", parameter="du_active_count", timepoint=tp),
             "patients_with_active_ulcers": r.value(a, "n", parameter="du_active_count", timepoint=tp,
                                                    group="active")}
            for tp in r.timepoints(a, "n", parameter="du_active_count", group=None)],
        "medsger_by_timepoint": [
            {"timepoint": tp, "n": r.value(a, "n", parameter="medsger_pv", timepoint=tp),
             "counts": {g: r.value(a, "n", parameter="medsger_pv", timepoint=tp, group=g)
                        for g in r.groups(a, "n", parameter="medsger_pv", timepoint=tp)}}
            for tp in r.timepoints(a, "n", parameter="medsger_pv", group=None)],
    }


def adverse_events(r: Results) -> dict:
    a = "adverse_events"
    tables = {key: {g: r.value(a, "n_events", parameter=p, group=g) for g in r.groups(a, "n_events", parameter=p)}
              for p, key in AE_TABLES}
    return {
        "n_events": r.value(a, "n_events"), "n_patients": r.value(a, "n_patients"),
        "serious": tables["by_seriousness"]["serious"], "related": tables["by_relatedness"]["related"],
        "related_patients": r.value(a, "n_patients", parameter="AREL", group="related"),
        "by_grade": {g: k for g, k in tables["by_grade"].items() if g != "not_recorded"},
        "by_relation": {g: k for g, k in tables["by_relation"].items() if g != "not_recorded"},
        "grade_missing": tables["by_grade"]["not_recorded"], "relation_missing": tables["by_relation"]["not_recorded"],
        "events_per_100_patient_years": r.value(a, "rate_per_100py"), "patient_years": r.value(a, "patient_years"),
        "infusion_reactions": {
            "n_infusions": r.value(a, "n_infusions", parameter="infusion_reaction"),
            "n_reactions": r.value(a, "n_infusions", parameter="infusion_reaction", group="reaction"),
            "n_patients": r.value(a, "n_patients", parameter="infusion_reaction", group="reaction")},
    }


def table1(r: Results) -> dict:
    """{n, rows: [{characteristic, value (the row's text, as first published), n, raw}]}."""
    a, rows = "table1", []
    for line in r.rows(a, "label"):
        keys = {"parameter": line["parameter"], "group": line["group"]}
        raw = {row["statistic"]: r.value(a, row["statistic"], **keys)
               for row in r.rows(a, **keys) if row["statistic"] != "label"}
        rows.append({"characteristic": line["value_text"], "n": int(line["n"]), "raw": raw,
                     "value": shown(keys["parameter"], raw)})
    return {"n": r.value(a, "count"), "rows": rows}


def _model(r: Results, analysis: str) -> dict:
    return {**r.record(analysis, MODEL, parameter="mrss_total"),
            "warnings": [r.value(analysis, "warning", parameter="mrss_total", group=g)
                         for g in r.groups(analysis, "warning", parameter="mrss_total")]}


def mrss_mixed_model(r: Results) -> dict:
    a, c, p = "mrss_mixed_model", "mrss_mixed_model_by_timepoint", "mrss_total"
    return {
        **_model(r, a),
        "fixed_effects": [{"term": g, **r.record(a, EFFECT + ("p_value",), parameter=p, group=g)}
                          for g in r.groups(a, "estimate", parameter=p)],
        "by_timepoint": {**_model(r, c),
                         "estimates": [{"timepoint": tp, **r.record(c, ("n_observations",) + EFFECT, parameter=p,
                                                                     timepoint=tp)}
                                       for tp in r.timepoints(c, "estimate", parameter=p)]},
    }


def mrss_responders(r: Results) -> list[dict]:
    a, p = "mrss_responders", "mrss_total"
    return [{"timepoint": tp, "n_paired": r.value(a, "n_paired", parameter=p, timepoint=tp),
             **{c: r.value(a, "n", parameter=p, timepoint=tp, group=c) for c in RESPONSE},
             "improved_pct": r.value(a, "pct", parameter=p, timepoint=tp, group="improved"),
             "progressed_pct": r.value(a, "pct", parameter=p, timepoint=tp, group="progressed")}
            for tp in r.timepoints(a, "n_paired", parameter=p)]


def _progression(r: Results, timepoint: str) -> dict:
    a, p = "lung_function", "ild_progression"
    return {"n_evaluable": r.value(a, "n", parameter=p, timepoint=timepoint),
            **{c: r.value(a, "n", parameter=p, timepoint=timepoint, group=c) for c in PROGRESSION}}


def lung_function(r: Results) -> dict:
    a, p = "lung_function", "ild_progression"
    out = {}
    for which, parameter in (("fvc", "fvc_pct_pred"), ("dlco", "dlco_pct_pred")):
        out[f"{which}_by_timepoint"] = by_timepoint(r, a, parameter)
        out[f"{which}_change_from_baseline"] = change_from_baseline(r, a, parameter)
    out["ild_progression"] = {
        "n_ild": r.value(a, "n", parameter=p),
        "by_timepoint": [{"timepoint": tp, **_progression(r, tp)}
                         for tp in r.timepoints(a, "n", parameter=p, group=None) if tp not in (None, "latest")],
        "latest": _progression(r, "latest"),
        "patients": [{"record_id": line["group"], "timepoint": line["timepoint"],
                      **r.record(a, ("study_day", "fvc_decline_pct", "dlco_decline_pct", "category"), parameter=p,
                                 timepoint=line["timepoint"], group=line["group"])}
                     for line in r.rows(a, "category", parameter=p)],
    }
    return out


def cohort_flow(r: Results) -> dict:
    a = "cohort_flow"
    return {
        **r.record(a, ("enrolled", "infused", "deaths", "lost_to_follow_up")),
        "assessed_by_timepoint": [{"timepoint": tp, "n_any": r.value(a, "n", timepoint=tp),
                                   "n_mrss": r.value(a, "n", parameter="mrss_total", timepoint=tp)}
                                  for tp in r.timepoints(a, "n", parameter=None)],
        **r.record(a, ("median_follow_up_years", "median_observation_years"), parameter="OS"),
        "median_follow_up_method": r.value(a, "method", parameter="OS"),
    }


READERS = {"overall_survival": overall_survival, "mrss": mrss, "hrct_ild": hrct_ild, "pah": pah, "haq_di": haq_di,
           "vascular": vascular, "adverse_events": adverse_events, "table1": table1,
           "mrss_mixed_model": mrss_mixed_model, "mrss_responders": mrss_responders, "lung_function": lung_function,
           "cohort_flow": cohort_flow}


def outcomes_document(ard: pd.DataFrame) -> dict:
    """outcomes.json without its provenance: the contract's keys, then the extras, read from the ARD
    (KeyError when a row they need is missing). Plain JSON types, unrounded."""
    results = Results(ard)
    return assert_jsonable({key: READERS[key](results) for key in CONTRACT_KEYS + EXTRA_KEYS})


def compute_outcomes(marts: Mapping[str, pd.DataFrame], enrolled: int | None = None) -> dict:
    """outcomes.json (without provenance) straight from the marts: :func:`analysis.results.analysis_results`,
    read back by :func:`outcomes_document`."""
    return outcomes_document(analysis_results(marts, enrolled))


def assert_jsonable(obj: Any, path: str = "$") -> Any:
    """Raise TypeError unless ``obj`` is made only of dict (str keys), list, str, bool, int, finite float, None.
    Returns ``obj``."""
    if obj is None or isinstance(obj, (str, bool)) or type(obj) is int:
        return obj
    if type(obj) is float:
        if not math.isfinite(obj):
            raise TypeError(f"{path}: non-finite float {obj!r}")
        return obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: non-string key {key!r}")
            assert_jsonable(value, f"{path}.{key}")
        return obj
    if isinstance(obj, list):
        for i, value in enumerate(obj):
            assert_jsonable(value, f"{path}[{i}]")
        return obj
    raise TypeError(f"{path}: {type(obj).__name__} is not a plain JSON type ({obj!r})")


def read_marts(warehouse: str, schema: str = "marts") -> dict[str, pd.DataFrame]:
    import duckdb

    with duckdb.connect(warehouse, read_only=True) as con:
        return {name: con.execute(f'select * from "{schema}"."{name}"').df() for name in MARTS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, help="path of warehouse.duckdb")
    parser.add_argument("--out", help="write outcomes.json here (default: stdout)")
    parser.add_argument("--enrolled", type=int, default=None, help="number enrolled, for the cohort flow")
    args = parser.parse_args(argv)
    outcomes = compute_outcomes(read_marts(args.warehouse), enrolled=args.enrolled)
    text = json.dumps(outcomes, indent=2, allow_nan=False, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
