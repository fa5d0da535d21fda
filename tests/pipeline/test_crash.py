"""Killed runs recover without hands, and SSC_HOME has one writer: real `make run` processes
(``python -m orchestration.nightly``) on the demo drop, started together, killed with SIGKILL mid-run, rerun.

The first test (in `make test`) kills at conformance and at the marts; the stages of the issue left (raw load, dbt
staging, plausibility, gate, outcomes, report) are killed one per test, marked ``crash`` and run by
`make test-crash` (CI, after `make test`): each is a killed run and a full rerun."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from kill_at_step import dagster_yaml
from orchestration.assets.reports import STAGING, outcomes_json, study_report
from orchestration.definitions import ASSETS, build_definitions
from test_nightly import DEMO_INBOX, REPO, environment

pytestmark = pytest.mark.slow


def _start(home: Path, name: str, **extra_env: str) -> tuple[subprocess.Popen, Path]:
    """``make run``'s process on the demo drop, its console going to ``home/../<name>.out``."""
    env = {**environment(home, DEMO_INBOX), **extra_env}
    del env["SSC_ALLOW_DEMO_KEY"]  # as demo_run: the bundled demo runs on the demo key without being allowed to
    console = home.parent / f"{name}.out"
    with open(console, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "orchestration.nightly"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT), console


def _wait_for(what: str, found, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _run_id(console: Path) -> str | None:
    started = re.search(r"^nightly: run (\S+) started;", console.read_text(), re.M)
    return started and started[1]


def _kill_at(process: subprocess.Popen, console: Path, home: Path, step: str, after: float = 0.0) -> str:
    """SIGKILL ``process`` once its run's log says ``step`` started (and ``after`` seconds more); its run id."""
    run_id = _wait_for("the run to start", lambda: _run_id(console))
    log = home / "logs" / f"nightly-{run_id}.log"
    _wait_for(f"step {step}", lambda: log.exists() and f'Started execution of step "{step}"' in log.read_text())
    time.sleep(after)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    return run_id


def _died_line(run_id: str, pid: int, step: str) -> str:
    (op,) = [asset.op for asset in ASSETS if asset.op.name == step]  # a step in the pool holds its one slot
    slot = "its warehouse slot freed" if op.pool == "warehouse" else "it held no warehouse slot"
    return f"nightly: run {run_id} died (pid {pid} gone) at step {step}: marked failed, {slot}\n"


def _figures(home: Path) -> dict:
    document = json.loads((home / "reports" / "outcomes.json").read_text())
    document.pop("provenance")
    return document


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    (home / "dagster").mkdir(parents=True)
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    return home


@pytest.fixture
def start(home):
    """start(name): a `make run` process on ``home`` and its console file; any left running are killed after."""
    processes = []

    def start(name: str, **extra_env: str) -> tuple[subprocess.Popen, Path]:
        processes.append(_start(home, name, **extra_env))
        return processes[-1]

    yield start
    for process, _ in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_two_starts_give_one_run_and_killed_runs_are_recovered_by_the_next_one(home, start, demo_run):
    # two `make run` at once: one runs, the other says which run holds the home and leaves
    started = [start("first"), start("second")]
    refused, refused_out = _wait_for("one start to be refused", lambda: next(
        ((p, out) for p, out in started if p.poll() is not None), None))
    (running, running_console), = [(p, out) for p, out in started if p is not refused]
    assert refused.returncode == 1
    run_id = _wait_for("the run to start", lambda: _run_id(running_console))
    assert refused_out.read_text().splitlines()[-1] == (
        f"nightly: not started: run {run_id} (pid {running.pid}) holds {home / '.lock'}: "
        "one writer of the warehouse at a time")
    assert {log.name for log in (home / "logs").glob("nightly-*.log")} <= {f"nightly-{run_id}.log"}

    # killed early (conformance); the rerun says so in one line, and is killed late (dbt building the marts)
    early = _kill_at(running, running_console, home, "quality__conformance")
    rerun, rerun_console = start("rerun")
    late = _kill_at(rerun, rerun_console, home, "dbt_analysis_and_marts", after=2.0)
    assert _died_line(early, running.pid, "quality__conformance") in rerun_console.read_text()

    # the next run recovers the late one, publishes, and its figures equal a clean run's
    last, last_console = start("last")
    assert last.wait(timeout=300) == 0, last_console.read_text()[-3000:]
    console = last_console.read_text()
    assert _died_line(late, rerun.pid, "dbt_analysis_and_marts") in console
    assert console.splitlines()[-1] == "nightly: published"
    assert _figures(home) == _figures(demo_run[0])
    assert len(list((home / "logs").glob("nightly-*.log"))) == 3  # the refused start ran nothing


PUBLISHED = ("outcomes.json", "ard.csv", "report.html")
# the stages of the issue the first test does not kill at: {stage: (its step, seconds into the step to kill at)}
STAGES = {"raw load": ("raw__records", 0.0), "dbt staging": ("dbt_staging_and_timeline", 2.0),
          "plausibility": ("quality__plausibility", 0.0), "gate": ("quality__findings", 0.0),
          "outcomes": ("outcomes__overall_survival", 0.0), "report": ("reports__study_report", 0.0)}


@pytest.mark.crash
@pytest.mark.parametrize("stage", STAGES)
def test_a_run_killed_at_a_stage_leaves_the_published_set_and_the_next_run_publishes_a_clean_runs_figures(
        stage, home, start, demo_run):
    """kill -9 at the stage, from inside the run's process (kill_at_step.py: sub-second steps such as one outcome
    or the report cannot be timed from outside), on a home that published the demo; then a plain rerun."""
    step, after = STAGES[stage]
    shutil.copytree(demo_run[0], home, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock", "logs",
                                                                                      "data_docs", "dagster.yaml"))
    published = {name: (home / "reports" / name).read_bytes() for name in PUBLISHED}
    config = home / "dagster" / "dagster.yaml"
    plain = config.read_text()
    config.write_text(dagster_yaml(plain, step, after))

    killed, killed_console = start("killed", PYTHONPATH=str(Path(__file__).parent))
    assert killed.wait(timeout=600) == -signal.SIGKILL, killed_console.read_text()[-3000:]
    run_id = _run_id(killed_console)
    assert {name: (home / "reports" / name).read_bytes() for name in PUBLISHED} == published

    config.write_text(plain)
    rerun, rerun_console = start("rerun")
    assert rerun.wait(timeout=600) == 0, rerun_console.read_text()[-3000:]
    console = rerun_console.read_text()
    assert _died_line(run_id, killed.pid, step) in console
    assert console.splitlines()[-1] == "nightly: published"
    assert _figures(home) == _figures(demo_run[0])


def test_outcomes_json_and_ard_csv_wait_for_the_report_and_the_three_are_published_as_one_set(
        tmp_path, demo_run, monkeypatch):
    """A run that stops after reports/outcomes_json (killed, or the report failing) publishes nothing: the three
    files stay those of the last published run until the report's step publishes the new set."""
    home = tmp_path / "home"
    shutil.copytree(demo_run[0], home, ignore=shutil.ignore_patterns("*.lock", "logs", "data_docs"))
    reports = home / "reports"
    names = PUBLISHED
    before = {name: (reports / name).read_bytes() for name in names}
    files = {name: (reports / name).stat().st_ino for name in names}
    settings = {"SSC_HOME": str(home), "SSC_INBOX": str(DEMO_INBOX)}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)  # the resources read them as dg.EnvVar when they run
    resources = build_definitions(settings).resources

    staged = dg.materialize(ASSETS, selection=[outcomes_json], resources=resources)
    assert staged.success
    assert {name: (reports / name).read_bytes() for name in names} == before
    assert (reports / STAGING / staged.run_id / "outcomes.json").exists()

    published = dg.materialize(ASSETS, selection=[outcomes_json, study_report], resources=resources)
    assert published.success
    # each replaced by a new file (report.publish.publish_files); the report's provenance names the run (outcomes.json
    # names none: the same drop gives the same file)
    assert all((reports / name).stat().st_ino != files[name] for name in names)
    assert published.run_id.encode() in (reports / "report.html").read_bytes()
    assert (reports / "ard.csv").read_bytes() == before["ard.csv"]  # the same drop: the same results
    assert not (reports / STAGING).exists()
