"""``make bench``'s figures (tests/benchmark.py) from real things: the step table read from the Dagster event log of
the demo's ``make run``, and the CPU and peak RSS of a real process tree."""

from __future__ import annotations

import os
import sys

import dagster as dg
import pytest

import benchmark

pytestmark = pytest.mark.slow


def test_step_times_are_read_from_the_demo_runs_event_log(demo_run):
    home, _ = demo_run
    times = benchmark.stage_times(home / "dagster")
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        record = instance.get_run_record_by_id(times["run_id"])
        dagster_own = {s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(times["run_id"])}

    assert times["status"] == "SUCCESS"
    assert set(times["steps"]) == set(dagster_own)
    for step, seconds in times["steps"].items():
        assert seconds == pytest.approx(dagster_own[step], abs=1e-6), step
    assert times["job_wall_s"] == pytest.approx(record.end_time - record.start_time, abs=0.05)
    # one step at a time: the steps fit in the job, what is left is Dagster's own
    assert 0 <= times["overhead_s"] < times["job_wall_s"]
    assert times["overhead_s"] == pytest.approx(times["job_wall_s"] - sum(times["steps"].values()))

    run = {"process_wall_s": times["job_wall_s"] + 1, "cpu_s": 1.0, "peak_rss_gb": 0.5, **times,
           "outside_job_s": 1.0}
    text = benchmark.table([{"patients": 41, "export_rows": 500, "runs": [run], "median": benchmark.median_of([run])}])
    assert all(step in text for step in times["steps"]) and "orchestration overhead" in text


def test_cpu_and_peak_rss_cover_the_whole_process_tree(tmp_path):
    # the grandchild holds 300 MiB (touched) and exits 3 through its parent; the benchmark waits for the parent only
    grandchild = "import sys; block = b'x' * (300 * 2**20); sys.exit(3)"
    child = f"import subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', {grandchild!r}]).returncode)"
    figures = benchmark.run_measured([sys.executable, "-c", child], env={}, cwd=tmp_path,
                                     console=tmp_path / "console.txt")
    assert figures["exit_code"] == 3
    assert 300 / 1024 <= figures["peak_rss_gb"] < 1
    assert 0 < figures["cpu_s"] <= figures["process_wall_s"] * os.cpu_count()


def test_median_of_runs():
    runs = [{"process_wall_s": w, "cpu_s": c, "peak_rss_gb": r, "steps": steps}
            for w, c, r, steps in [(10.0, 4.0, 1.0, {"a": 1.0, "b": 5.0}), (30.0, 2.0, 3.0, {"a": 3.0}),
                                   (20.0, 9.0, 2.0, {"a": 2.0, "b": 7.0})]]
    assert benchmark.median_of(runs) == {"process_wall_s": 20.0, "cpu_s": 4.0, "peak_rss_gb": 2.0,
                                         "steps": {"a": 2.0, "b": 6.0}}


def test_a_later_night_has_its_own_column_beside_the_first():
    def night(wall, step):
        return {"process_wall_s": wall, "cpu_s": wall, "peak_rss_gb": 1.0, "job_wall_s": wall - 1,
                "overhead_s": 0.5, "outside_job_s": 1.0, "steps": {"dbt": step}}

    first, later = [night(90.0, 9.0), night(94.0, 9.5)], [night(80.0, 7.0), night(84.0, 7.5)]
    text = benchmark.table([{"patients": 20000, "export_rows": 213747, "runs": first,
                             "median": benchmark.median_of(first), "later_runs": later,
                             "later_median": benchmark.median_of(later)}])
    lines = {line.split()[0]: line.split()[-2:] for line in text.splitlines() if line.strip()}
    assert lines["night"] == ["first", "later"]
    assert lines["process"] == ["92.0", "82.0"] and lines["dbt"] == ["9.2", "7.2"]
    assert "later night: make run FORCE=1 on the same home" in text
