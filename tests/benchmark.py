"""``make bench``: the nightly job timed on generated drops of 2,000, 20,000 and 100,000 patients.

    python tests/benchmark.py [--patients 2000 --patients 20000 ...] [--runs 3] [--nights 2] [--seed 2000]
                              [--defects] [--keep]

Each drop is generated once (``python -m study.generate``) and kept under ``SSC_HOME/bench/drops/<patients>-<seed>``
(``-defects`` added with --defects); ``<that>.json`` beside it records its export rows and is written last, so a
drop whose generation was interrupted is generated again. Each run is ``make run`` in a subprocess with its own
SSC_HOME (``SSC_HOME/bench/runs/<patients>-<seed>-<n>``, removed afterwards unless --keep): a first night on an
empty home, and with ``--nights 2`` then a later night, ``make run FORCE=1`` on the same home (the whole job again,
as on the next night's drop, with what a home keeps between nights: dbt's partial parse, the saved GX Checkpoints,
the findings history, the published drop the volume gate compares with). Per run and night:

- process wall: ``make run`` started to exited (seconds); CPU: user + system time of the whole process tree (dbt
  and every other descendant included; ``os.wait4`` of the ``make`` process); peak RSS: the largest single
  process of the tree (its ``ru_maxrss``, GB);
- from the run's Dagster event log (its DAGSTER_HOME, read after the run): job wall (RUN_START to
  RUN_SUCCESS/RUN_FAILURE), each step's own time (STEP_START to STEP_SUCCESS/STEP_FAILURE), the orchestration
  overhead (job wall minus the sum of the step times) and outside the job (process wall minus job wall:
  start-up, code location load and the run's end).

With ``--runs N`` each figure is the median of N runs, for each night. The table is printed and written to
``SSC_HOME/bench/<UTC time>.json`` and ``.txt`` (with the machine's load average before and after: the benchmark
measures a quiet machine only if nothing else runs). Exit 1 when a run is not published.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

REPO = Path(__file__).resolve().parents[1]
SIZES = (2000, 20000, 100000)
JOB_EVENTS = {dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE,
              dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
STEP_END = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
RUN_END = {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE}
# figures of a run, in the table's order: (key, label, format)
FIGURES = [("export_rows", "export rows", "{:,.0f}"), ("process_wall_s", "process wall (s)", "{:.1f}"),
           ("cpu_s", "CPU user+sys, process tree (s)", "{:.1f}"), ("peak_rss_gb", "peak RSS, largest process (GB)",
                                                                    "{:.2f}"),
           ("job_wall_s", "job wall (s)", "{:.1f}"), ("overhead_s", "orchestration overhead (s)", "{:.1f}"),
           ("outside_job_s", "outside the job: start-up, run end (s)", "{:.1f}")]


def stage_times(dagster_home: Path, run_id: str | None = None) -> dict:
    """The job's times from the event log of run ``run_id`` (default: the instance's latest run) in the Dagster
    instance at ``dagster_home``: ``{"run_id", "status", "job_wall_s", "steps": {step key: seconds, in start
    order}, "overhead_s"}`` (overhead: job wall minus the steps' sum; the nightly job runs one step at a time).
    A step started and never ended counts to the run's end. ValueError when the instance has no such run, or the
    run has not ended."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        if run_id is None:
            records = instance.get_run_records(limit=1)
            if not records:
                raise ValueError(f"{dagster_home}: the Dagster instance holds no run")
            run_id = records[0].dagster_run.run_id
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise ValueError(f"{dagster_home}: no run {run_id}")
        entries = instance.all_logs(run_id, of_type=JOB_EVENTS)
    run_start = next((e.timestamp for e in entries if e.dagster_event_type == dg.DagsterEventType.RUN_START), None)
    run_end = next((e.timestamp for e in entries if e.dagster_event_type in RUN_END), None)
    if run_start is None or run_end is None:
        raise ValueError(f"{dagster_home}: run {run_id} has not ended ({run.status.value})")
    started, steps = {}, {}
    for entry in entries:
        if entry.dagster_event_type == dg.DagsterEventType.STEP_START:
            started[entry.step_key] = entry.timestamp
        elif entry.dagster_event_type in STEP_END and entry.step_key in started:
            steps[entry.step_key] = entry.timestamp - started[entry.step_key]
    steps.update({key: run_end - at for key, at in started.items() if key not in steps})
    steps = dict(sorted(steps.items(), key=lambda item: started[item[0]]))
    job_wall = run_end - run_start
    return {"run_id": run_id, "status": run.status.value, "job_wall_s": job_wall, "steps": steps,
            "overhead_s": job_wall - sum(steps.values())}


def run_measured(command: list[str], env: dict, cwd: Path, console: Path) -> dict:
    """Run ``command`` (stdout and stderr to ``console``) and wait for it: ``{"exit_code", "process_wall_s",
    "cpu_s": user + system seconds of the process and every descendant it waited for, "peak_rss_gb": ru_maxrss
    of the largest of them}`` (Linux: ru_maxrss in KiB)."""
    with open(console, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    return {"exit_code": process.returncode, "process_wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_gb": usage.ru_maxrss / 2**20}


def drop(bench: Path, patients: int, seed: int, defects: bool) -> tuple[Path, int]:
    """(the inbox holding the generated drop, its export rows): generated once, then taken from
    ``bench/drops``."""
    name = f"{patients}-{seed}" + ("-defects" if defects else "")
    inbox, meta = bench / "drops" / name, bench / "drops" / f"{name}.json"
    if meta.exists():
        return inbox, json.loads(meta.read_text(encoding="utf-8"))["export_rows"]
    shutil.rmtree(inbox, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "study.generate", "--patients", str(patients), "--seed", str(seed),
                    "--out", str(inbox)] + (["--defects"] if defects else []), cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    generated = time.perf_counter() - started
    (records,) = inbox.glob("*/SSC_DATA_*.csv")
    with duckdb.connect() as connection:
        rows = connection.execute("select count(*) from read_csv(?, all_varchar = true)", [str(records)]).fetchone()[0]
    meta.write_text(json.dumps({"patients": patients, "seed": seed, "defects": defects, "export_rows": rows,
                                "generated_s": round(generated, 1)}), encoding="utf-8")
    print(f"bench: generated {patients:,} patients ({rows:,} export rows) in {generated:.1f} s: {inbox}",
          flush=True)
    return inbox, rows


def one_run(bench: Path, inbox: Path, name: str, keep: bool, nights: int = 1) -> list[dict]:
    """``make run`` on ``inbox`` with its own SSC_HOME, ``nights`` times (the later ones ``FORCE=1``): for each
    night the figures of :func:`run_measured` and :func:`stage_times`."""
    home = bench / "runs" / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(SSC_HOME=str(home), SSC_INBOX=str(inbox), SSC_ALLOW_DEMO_KEY="1")  # generated: the demo key is fine
    measured = []
    for night in range(1, nights + 1):
        console = bench / "runs" / f"{name}{'' if night == 1 else f'-night{night}'}.console.txt"
        command = ["make", "--no-print-directory", "run", f"SSC_HOME={home}", f"SSC_INBOX={inbox}"]
        figures = run_measured(command + ([] if night == 1 else ["FORCE=1"]), env, REPO, console)
        try:
            figures.update(stage_times(home / "dagster"))
        except ValueError:
            pass  # the job did not run (a setting refused): the console says why
        figures["outside_job_s"] = figures["process_wall_s"] - figures.get("job_wall_s", 0.0)
        measured.append(figures)
        if figures["exit_code"] != 0:
            print(f"bench: {name}, night {night}: make run exited {figures['exit_code']}: "
                  f"{console.read_text(encoding='utf-8').strip().splitlines()[-1]} (console: {console})", flush=True)
            break
    if not keep:
        shutil.rmtree(home)
    return measured


def median_of(runs: list[dict]) -> dict:
    """Each figure's median over ``runs`` (steps: over the runs that have the step)."""
    keys = [key for key, _, _ in FIGURES if key != "export_rows" and all(key in run for run in runs)]
    steps = {step: statistics.median(run["steps"][step] for run in runs if step in run.get("steps", {}))
             for run in runs for step in run.get("steps", {})}
    return {**{key: statistics.median(run[key] for run in runs) for key in keys}, "steps": steps}


def table(sizes: list[dict]) -> str:
    """The figures as text: a row per figure and per step, a column per drop size and night (``median``: the
    first night's medians; ``later_median``, when measured: the later night's)."""
    columns = [(size, size[key], night) for size in sizes
               for key, night in (("median", "first"), ("later_median", "later")) if size.get(key)]
    steps = list(dict.fromkeys(step for _, median, _ in columns for step in median["steps"]))
    width = max([len(label) for _, label, _ in FIGURES] + [len(s) + 2 for s in steps])
    lines = [f"{'patients':{width}}" + "".join(f"{size['patients']:>12,}" for size, _, _ in columns)]
    if any(night == "later" for _, _, night in columns):
        lines.append(f"{'night':{width}}" + "".join(f"{night:>12}" for _, _, night in columns))
    for key, label, form in FIGURES:
        cells = [size["export_rows"] if key == "export_rows" else median.get(key) for size, median, _ in columns]
        lines.append(f"{label:{width}}" + "".join(f"{form.format(c) if c is not None else '-':>12}" for c in cells))
    lines.append("each step's own time (s)")
    for step in steps:
        cells = [median["steps"].get(step) for _, median, _ in columns]
        lines.append(f"  {step:{width - 2}}" + "".join(f"{f'{c:.1f}' if c is not None else '-':>12}" for c in cells))
    later = any(s.get("later_median") for s in sizes)
    runs = ", ".join(f"{size['patients']:,}{f' {night} night' if later else ''}: "
                     f"{len(size['runs'] if night == 'first' else size['later_runs'])}" for size, _, night in columns)
    lines.append(f"(each figure the median of the runs of its column: {runs}" + (
        "; first night: an empty SSC_HOME; later night: make run FORCE=1 on the same home)" if later else ")"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests/benchmark.py", description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, action="append", help=f"a drop size (repeatable; default {SIZES})")
    parser.add_argument("--runs", type=int, default=1, help="runs per size; each figure is their median")
    parser.add_argument("--nights", type=int, default=1, choices=(1, 2),
                        help="2: after each first night, a later night on the same home (make run FORCE=1)")
    parser.add_argument("--seed", type=int, default=2000)
    parser.add_argument("--defects", action="store_true", help="generate the drops with injected defects")
    parser.add_argument("--keep", action="store_true", help="keep each run's SSC_HOME under SSC_HOME/bench/runs")
    args = parser.parse_args(argv)

    home = Path(os.environ.get("SSC_HOME") or REPO / ".ssc_home").resolve()
    bench = home / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    load_before, sizes = os.getloadavg(), []
    for patients in args.patients or SIZES:
        inbox, rows = drop(bench, patients, args.seed, args.defects)
        runs, later = [], []
        for n in range(1, args.runs + 1):
            first, *others = one_run(bench, inbox, f"{patients}-{args.seed}-{n}", args.keep, args.nights)
            runs.append(first)
            later.extend(others)
            said = ", ".join(f"exit {night['exit_code']}, {night['process_wall_s']:.1f} s" for night in (first, *others))
            print(f"bench: {patients:,} patients, run {n}/{args.runs}: {said}", flush=True)
        sizes.append({"patients": patients, "seed": args.seed, "defects": args.defects, "export_rows": rows,
                      "runs": runs, "median": median_of(runs), "later_runs": later,
                      "later_median": median_of(later) if later else None})
    text = table(sizes)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    result = {"time": stamp, "cpus": os.cpu_count(), "load_average_before": load_before,
              "load_average_after": os.getloadavg(), "sizes": sizes, "table": text}
    (bench / f"{stamp}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    load = (f"load average {load_before[0]:.1f} before, {result['load_average_after'][0]:.1f} after "
            f"({os.cpu_count()} CPUs)")
    (bench / f"{stamp}.txt").write_text(f"{text}\n{load}\n", encoding="utf-8")
    print(text)
    print(f"bench: {load}; written to {bench / stamp}.json")
    return 0 if all(run["exit_code"] == 0 for size in sizes for run in size["runs"] + size["later_runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
