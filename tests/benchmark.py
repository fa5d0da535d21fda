"""``make bench``: time the nightly job on a generated drop (default 2,000 patients), step by step.

    python tests/benchmark.py --patients 2000 [--defects] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/benchmark.py")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--defects", action="store_true")
    parser.add_argument("--keep", type=Path, help="folder to keep inbox and SSC_HOME in (default: a temp dir)")
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="ssc-bench-"))
    inbox, home = root / "inbox", root / "home"
    shutil.rmtree(inbox, ignore_errors=True), shutil.rmtree(home, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "study.generate", "--patients", str(args.patients), "--seed",
                    str(args.seed), "--out", str(inbox)] + (["--defects"] if args.defects else []), check=True)
    generated = time.perf_counter() - started

    (home / "dagster").mkdir(parents=True)
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    env = {**os.environ, "SSC_HOME": str(home), "SSC_INBOX": str(inbox), "DAGSTER_HOME": str(home / "dagster"),
           "SSC_ALLOW_DEMO_KEY": "1"}  # a generated drop: the demo key is fine
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "orchestration.nightly"], cwd=REPO, env=env, capture_output=True,
                         text=True)
    total = time.perf_counter() - started
    print(run.stdout)
    if run.returncode != 0:
        print(run.stderr[-5000:], file=sys.stderr)
        print(f"{args.patients} patients: the nightly run failed (exit {run.returncode})", file=sys.stderr)
        return 1

    # per-step durations from the Dagster event log of the run
    sys.path.insert(0, str(REPO))
    os.environ.update(env)
    import dagster as dg

    instance = dg.DagsterInstance.get()
    (record,) = instance.get_run_records(limit=1)
    steps = instance.get_run_step_stats(record.dagster_run.run_id)
    durations = sorted(((s.step_key, (s.end_time or 0) - (s.start_time or 0)) for s in steps), key=lambda x: -x[1])
    print(f"{args.patients} patients: generated in {generated:.1f} s; nightly run {total:.1f} s "
          f"({'succeeded' if run.returncode == 0 else 'FAILED'})")
    for step, seconds in durations:
        print(f"  {step:40s} {seconds:7.1f} s")
    print(json.dumps({"patients": args.patients, "run_seconds": round(total, 1),
                      "steps": {k: round(v, 2) for k, v in durations}}))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
