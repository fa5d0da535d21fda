"""Assemble every outcome from the marts (for tests and a CLI; the Dagster assets call the functions directly).

    python -m analysis.outcomes --warehouse $SSC_HOME/warehouse.duckdb [--out outcomes.json] [--enrolled N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Mapping

import pandas as pd

from analysis.adverse_events import adverse_events
from analysis.cohort import cohort_flow
from analysis.continuous import haq_di_outcome, mrss_outcome
from analysis.hrct import hrct_ild
from analysis.lung_function import lung_function
from analysis.mixed_model import mrss_mixed_model
from analysis.pah import pah
from analysis.responders import mrss_responders
from analysis.survival import overall_survival
from analysis.table1 import table1
from analysis.vascular import vascular

MARTS = ("adsl", "adbds", "adtte", "adae", "adex")
CONTRACT_KEYS = ("overall_survival", "mrss", "hrct_ild", "pah", "haq_di", "vascular", "adverse_events")


def compute_outcomes(marts: Mapping[str, pd.DataFrame], enrolled: int | None = None) -> dict:
    """Every outcome: the contract's keys, then table1, mrss_mixed_model, mrss_responders, lung_function,
    cohort_flow. ``marts`` maps adsl, adbds, adtte, adae, adex to DataFrames."""
    adsl, adbds, adtte = marts["adsl"], marts["adbds"], marts["adtte"]
    adae, adex = marts.get("adae"), marts.get("adex")
    return assert_jsonable({
        "overall_survival": overall_survival(adtte),
        "mrss": mrss_outcome(adbds),
        "hrct_ild": hrct_ild(adsl, adbds),
        "pah": pah(adsl, adbds, adtte),
        "haq_di": haq_di_outcome(adbds),
        "vascular": vascular(adbds),
        "adverse_events": adverse_events(adae, adex, adtte),
        "table1": table1(adsl),
        "mrss_mixed_model": mrss_mixed_model(adbds),
        "mrss_responders": mrss_responders(adbds),
        "lung_function": lung_function(adsl, adbds),
        "cohort_flow": cohort_flow(adsl, adbds, adtte, enrolled),
    })


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
