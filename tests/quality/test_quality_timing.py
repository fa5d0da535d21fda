"""Time the conformance suites on a synthetic drop of 2,000 patients (~30,000 rows x ~115 columns)."""

from __future__ import annotations

import random
import time

import pandas as pd

import quality_synth as qs
from quality.conformance import run_conformance
from quality.gx_runner import GXRunner

ALL_VISITS = ("month_1", "month_3", "month_6", "month_12", "month_24", "month_36", "month_48", "month_60")


def test_conformance_on_2000_patients_is_fast(tmp_path, capsys):
    t0 = time.perf_counter()
    base = qs.cohort(2000, visits=ALL_VISITS)
    # extra adverse events to reach ~30,000 rows
    rng = random.Random(3)
    ae = base[base["redcap_repeat_instrument"] == "adverse_event"]
    more = pd.concat([ae.assign(redcap_repeat_instance=str(k)) for k in (2, 3)], ignore_index=True)
    df = pd.concat([base, more], ignore_index=True)
    df["_source_row"] = range(2, len(df) + 2)
    for _ in range(200):  # sprinkle defects
        i = rng.randrange(len(df))
        df.loc[i, rng.choice(["mrss_face", "echo_pasp_mmhg", "haq_date", "sex", "rcs"])] = rng.choice(
            ["7", "45,5", "2021-02-30", None])
    built = time.perf_counter() - t0
    runner = GXRunner(tmp_path / "gx", tmp_path / "data_docs", run_name="timing")
    t1 = time.perf_counter()
    res = run_conformance(df, qs.STUDY, runner)
    seconds = time.perf_counter() - t1
    with capsys.disabled():
        print(f"\nconformance timing: {len(df)} rows x {df.shape[1]} columns, {len(res.runs)} suites, "
              f"{sum(s['evaluated_expectations'] for s in res.summaries.values())} expectations, "
              f"{len(res.findings)} findings: {seconds:.1f} s (frame built in {built:.1f} s; "
              f"Data Docs included)")
        for name, s in res.summaries.items():
            print(f"  {name:<22} rows {s['rows']:>6}  expectations {s['evaluated_expectations']:>3}  "
                  f"{s['seconds']:.2f} s")
    assert len(df) >= 29_000 and df.shape[1] >= 110
    assert len(res.kept) + len(res.quarantine) == len(df)
    assert seconds < 60
