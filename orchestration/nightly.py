"""``make run``: run the nightly job once, now, on the Dagster instance in SSC_HOME (the UI shows the run).

The console shows, after the run: one line per problem (a warning, a failed check, a failed step: what and
where, never a traceback), where the outputs are, where the run's full log is, and last the run's verdict
(orchestration/verdict.py): ``published``, ``published with N errors for the stewards``, ``BLOCKED at <gate>:
<reason>`` or ``FAILED at <step>: <error>``. Everything the run writes while it runs (Dagster's events at DEBUG
level with their tracebacks, dbt's and Great Expectations' output) goes to ``SSC_HOME/logs/nightly-<run_id>.log``;
each dbt command's own log is under ``SSC_HOME/logs/dbt/<step>-<run>-<id>/dbt.log``.

When the run ends, the steward worklist is rewritten with the verdict as its banner (from quality.findings of
the drop when the quality gate ran, else from what ingest published), the published report's status line says the
same (report/status.py: on a blocked night, "not updated since <drop>: the <drop> drop was BLOCKED at …"), and the
verdict is tagged on the run (``ssc/verdict``) for the Dagster UI. Exits 0 when published, 1 when blocked or failed.

One writer: the run holds ``SSC_HOME/.lock`` (an OS lock, released when the process ends however it ends); a second
``make run`` says which run and pid hold it and exits 1, touching nothing. A nightly run still recorded as started
whose process is gone (killed, power loss) is marked failed and its ``warehouse`` pool slot freed, in one line, and
the new run proceeds. Runs the Dagster daemon (the schedule, the inbox sensor) or the UI launch hold the same lock for
their whole execution (:func:`run_holds_home`, taken by the nightly job's executor, orchestration/jobs.py), and the
schedule and the sensor recover dead runs before they request one (:func:`recover_before_request`).

A night whose newest drop, code and settings are those of the last published run does not run again: it says
"no new drop since <export time>" and records that it looked (orchestration/unchanged.py; ``--force``, ``make run
FORCE=1``, runs anyway).

``--drop <id>`` (``make run DROP=<id>``) replays an archived drop into ``SSC_HOME/replays/<id>/`` instead
(orchestration/replay.py); an id that is not archived is refused in one line listing the archived ids (exit 2).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import dagster as dg

if TYPE_CHECKING:
    from orchestration.resources import StudyLocations

LOCK_FILE = ".lock"  # in SSC_HOME: held (fcntl.flock) by the one process writing this home
# A QUEUED run has no process yet: the daemon's queue starts it after this one (max_concurrent_runs: 1)
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
FULL_LOG = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}


class HomeBusy(Exception):
    """Another process writes this SSC_HOME; the message names it (its run) and its pid (one line)."""


@contextmanager
def home_lock(home: Path, holder: str) -> Iterator[None]:
    """Hold ``home/.lock`` (an exclusive ``fcntl.flock``, non-blocking) meanwhile, with ``"<holder> (pid <n>)"``
    written in it (``holder``: who, for people: ``"run <run id>"``). The OS releases it when this process ends,
    however it ends (kill -9 too), so a free lock proves that no nightly run is alive on this home. A second
    holder in the same process is refused like one in another process (each takes its own open file). Raises
    HomeBusy ("<holder> (pid <n>) holds <path>") when it is held, having changed nothing."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by child processes (dbt)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        who = os.read(fd, 300).decode("utf-8", "replace").strip()
        os.close(fd)
        raise HomeBusy(f"{who or 'another process'} holds {path}") from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{holder} (pid {os.getpid()})\n".encode())
        yield
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _where_it_was(instance: dg.DagsterInstance, run_id: str) -> tuple[int | None, str | None]:
    """(pid of the process that last wrote the run's events, the step started last and not ended), from its log."""
    pid, open_steps = None, []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        pid = event.pid or pid
        if event.event_type == dg.DagsterEventType.STEP_START:
            open_steps.append(event.step_key)
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            open_steps = [step for step in open_steps if step != event.step_key]
    return pid, (open_steps[-1] if open_steps else None)


def recover_dead_runs(instance: dg.DagsterInstance, running: str | None = None) -> tuple[list[str], str | None]:
    """Call while holding :func:`home_lock`. Each nightly run recorded STARTING or STARTED (but ``running``, the
    run id of the caller's own run) whose process is gone (a ``make run`` run: the free lock proves it; a run the
    daemon or UI launched: its pid, from its event log, is not alive) is marked failed (a RUN_FAILURE event, so the
    run-status sensors see it) and its pool slots (``warehouse``) are freed. Returns (one line per such run: "run X
    died (pid N gone) at step Y: marked failed, its warehouse slot freed"; the one-line description of a run whose
    process is still alive (launched, not yet at its lock), or None)."""
    from orchestration.run_end import FINISHED_BY, FINISHED_HERE

    said, alive, storage = [], None, instance.event_log_storage
    for record in instance.get_run_records(dg.RunsFilter(job_name="nightly", statuses=IN_PROGRESS)):
        run = record.dagster_run
        if run.run_id == running:
            continue
        pid, step = _where_it_was(instance, run.run_id)
        made_here = all(run.tags.get(key) == value for key, value in FINISHED_HERE.items())
        if not made_here and (pid is None or _alive(pid)):
            alive = alive or f"run {run.run_id} ({f'pid {pid}' if pid else 'no process yet'}) is in progress"
            continue
        holds_slot = run.run_id in storage.get_concurrency_run_ids()
        where = f"at step {step}" if step else "before its first step"
        # tagged first, so the verdict sensors leave it alone: its finish would rewrite the pages of the live run
        instance.add_run_tags(run.run_id, {FINISHED_BY: "nobody: its process died; the next run recovered it"})
        instance.report_run_failed(run, f"The run's process (pid {pid}) is gone: it died {where} (found by the "
                                        "next run, which marked it failed and freed its pool slots).")
        storage.free_concurrency_slots_for_run(run.run_id)
        said.append(f"run {run.run_id} died (pid {pid or 'unknown'} gone) {where}: marked failed, "
                    + ("its warehouse slot freed" if holds_slot else "it held no warehouse slot"))
    return said, alive


@contextmanager
def run_holds_home(instance: dg.DagsterInstance, home: Path, run_id: str, log) -> Iterator[None]:
    """The lock of a run the daemon or the UI launched (its executor takes it before the first step and holds it
    until the last has ended): ``home/.lock`` held for ``run <run_id>``, then the dead runs recovered
    (:func:`recover_dead_runs`, one WARNING line each on ``log``, the run's Dagster log). A held lock: the run is
    tagged so that nothing finishes it (``ssc/finished_by``) or retries it, says "nightly: not started: run X (pid
    N) holds <path>: …" as one ERROR line and raises HomeBusy (the run fails at once, no step run). ``make run``
    does not come here: it holds the lock around its in-process run already (execute_in_process runs the job on
    Dagster's own in-process executor, not the job's)."""
    from orchestration.run_end import FINISHED_BY

    with ExitStack() as held:
        try:
            held.enter_context(home_lock(home, f"run {run_id}"))
        except HomeBusy as busy:
            # the run-status sensors (orchestration/run_end.py) leave the published outputs of the run that holds
            # the home alone; the daemon does not retry it (dagster/max_retries, should run retries be switched on)
            instance.add_run_tags(run_id, {FINISHED_BY: "nobody: it did not start, SSC_HOME was held",
                                           "dagster/max_retries": "0"})
            log.error(f"nightly: not started: {busy}: one writer of the warehouse at a time")
            raise
        for line in recover_dead_runs(instance, running=run_id)[0]:
            log.warning(f"nightly: {line}")
        yield


def recover_before_request(instance: dg.DagsterInstance, home: Path, who: str) -> tuple[list[str], str | None]:
    """For the schedule and the inbox sensor (``who``, e.g. "the inbox_sensor sensor"), before they request a run:
    with ``home/.lock`` held for a moment, the dead runs recovered (:func:`recover_dead_runs`; a dead run left
    STARTED would hold the daemon's one run slot and the queued run would never start). Returns (one line per run
    recovered; why not to request now, one line: the lock's holder, or a run in progress, or None). With no run in
    progress it returns at once, without taking the lock (a ``make run`` starting then is not refused)."""
    if not instance.get_run_records(dg.RunsFilter(job_name="nightly", statuses=IN_PROGRESS), limit=1):
        return [], None
    try:
        with home_lock(home, who):
            return recover_dead_runs(instance)
    except HomeBusy as busy:
        return [], str(busy)


@contextmanager
def output_to(path: Path):
    """Everything written to stdout and stderr meanwhile, by this process and its children, goes to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush(), sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])


def definitions() -> dg.Definitions:
    """The code location (imported on first use): a setting that cannot be used raises ValueError naming it."""
    from orchestration.definitions import defs

    return defs


def configured(name: str):
    """Resource ``name`` of the code location with its configuration resolved (environment variables read)."""
    return definitions().resources[name].process_config_and_initialize()


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(prog="python -m orchestration.nightly", description=__doc__.split("\n")[0])
    arguments.add_argument("--drop", default="", metavar="ID",
                           help="replay the archived drop ID into SSC_HOME/replays/ID/ (make run DROP=ID)")
    arguments.add_argument("--force", action="store_true",
                           help="run even when the newest drop was published unchanged (make run FORCE=1)")
    parsed = arguments.parse_args(argv)
    drop = parsed.drop
    if not drop and not parsed.force:  # before the code location loads: an unchanged night costs a second or two
        from orchestration.settings import DEFAULT_INBOX, home_dir
        from orchestration.unchanged import unchanged_since

        said = unchanged_since(home_dir(os.environ), Path(os.environ.get("SSC_INBOX") or DEFAULT_INBOX), os.environ)
        if said:
            print(f"nightly: {said}")
            return 0
    try:  # the code location is imported here: an unusable setting (environment or study/analysis_settings.toml)
        locations = configured("locations")
    except ValueError as error:  # says which, in one line, without a traceback
        print(f"nightly: not started: {error}", file=sys.stderr)
        return 2
    if drop:
        return replay(locations, drop)
    print(f"nightly: inbox {Path(locations.inbox).resolve()}\nnightly: state {locations.home_dir}", flush=True)
    run_id = str(uuid.uuid4())
    try:
        with home_lock(locations.home_dir, f"run {run_id}"):
            return run_locked(locations, run_id)
    except HomeBusy as busy:
        print(f"nightly: not started: {busy}: one writer of the warehouse at a time")
        return 1


def run_locked(locations: StudyLocations, run_id: str) -> int:
    """The nightly run ``run_id``, with this home's lock held: dead runs recovered first (one line each), then
    the job, its end (orchestration/run_end.py) and the console's summary. Returns the exit code."""
    from orchestration.instance import open_instance
    from orchestration.run_end import FINISHED_HERE, finish, summary

    try:
        instance = open_instance()
    except FileNotFoundError as error:
        print(f"nightly: not started: {error}", file=sys.stderr)
        return 2
    recovered, busy = recover_dead_runs(instance)
    for line in recovered:
        print(f"nightly: {line}", flush=True)
    if busy:
        print(f"nightly: not started: {busy} on this SSC_HOME (started by the schedule or the UI)")
        return 1
    log_path = locations.logs / f"nightly-{run_id}.log"
    print(f"nightly: run {run_id} started; full log: {log_path}", flush=True)
    started, started_at = time.perf_counter(), time.time()
    with output_to(log_path):
        result = definitions().get_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False, run_id=run_id, run_config=FULL_LOG, tags=FINISHED_HERE)
    seconds = time.perf_counter() - started
    verdict = finish(instance, run_id, locations, configured("warehouse"), started_at, configured("alerts"))

    lines = summary(verdict, locations, run_id, log_path,
                    f"{'succeeded' if result.success else 'stopped'} in {seconds:.1f} s")
    with open(log_path, "a", encoding="utf-8") as log:
        log.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return verdict.exit_code


def replay(locations: StudyLocations, drop_id: str) -> int:
    """``make run DROP=<id>``: the archived drop run again, as a nightly run of its own home
    ``SSC_HOME/replays/<id>/`` (orchestration/replay.py says what it shares with this home: the drop's files and
    the pseudonym key). Exit code of that run; 2 (one line) when the drop cannot be replayed, 1 when a replay of
    it is running."""
    from orchestration.replay import ReplayRefused, archived_drop, prepare_replay, replay_home

    try:
        drop = archived_drop(locations, configured("warehouse"), drop_id)
        with home_lock(replay_home(locations, drop.drop_id), f"the replay of drop {drop.drop_id}"):
            env = prepare_replay(locations, drop, os.environ, keep=LOCK_FILE)
    except ReplayRefused as refused:
        print(f"nightly: not started: {refused}", file=sys.stderr)
        return 2
    except HomeBusy as busy:
        print(f"nightly: not started: {busy}: one replay of a drop at a time")
        return 1
    print(f"nightly: replay of drop {drop_id} into {env['SSC_HOME']}; the reports of {locations.home_dir} "
          "are not touched", flush=True)
    try:
        return subprocess.run([sys.executable, "-m", "orchestration.nightly"], env=env).returncode
    finally:  # the copy of the export (identifiers) does not stay in the replay's home
        shutil.rmtree(env["SSC_INBOX"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
