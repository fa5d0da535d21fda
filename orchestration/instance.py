"""The Dagster instance's storage, created by one process before the services open it.

A fresh ``DAGSTER_HOME`` gets its SQLite run, event-log and schedule storage from the first process that opens the
instance. Two processes doing that at the same moment (``systemctl enable --now`` starting the daemon and the
webserver together, or a test opening the instance while ``dagster-daemon`` starts) can both stamp the schedule
storage's alembic revision; every later open then fails in ``alembic.get_current_revision`` ("more than one head"),
and the daemon's sensors and schedules never tick. Seen in CI on 2026-11-30.

``make ui``, ``make daemon`` and ``make webserver`` run ``python -m orchestration.instance`` first, and ``make run``
opens its instance with :func:`open_instance`: both hold an exclusive ``fcntl.flock`` on ``DAGSTER_HOME/.storage.lock``
while the instance opens, so a second creator waits and then finds the storage made.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import dagster as dg

LOCK_FILE = ".storage.lock"


def open_instance(dagster_home: Path | None = None) -> dg.DagsterInstance:
    """The Dagster instance in ``dagster_home`` (default: ``$DAGSTER_HOME``), opened under an exclusive lock that
    makes its storage's creation one process's work; existing storage is left as it is (no schema migration).

    Raises :class:`FileNotFoundError` naming the folder when it holds no ``dagster.yaml`` (``make home`` copies it;
    without it the instance would run with Dagster's defaults: telemetry on, no run or pool limits), or when no
    folder is given and ``DAGSTER_HOME`` is unset."""
    if dagster_home is None and not os.environ.get("DAGSTER_HOME"):
        raise FileNotFoundError("DAGSTER_HOME is not set: run this through make (make run, make ui, make daemon, "
                                "make webserver), which sets it to SSC_HOME/dagster")
    home = Path(dagster_home if dagster_home is not None else os.environ["DAGSTER_HOME"])
    if not (home / "dagster.yaml").is_file():
        raise FileNotFoundError(f"{home}/dagster.yaml is missing: run `make home` (it copies "
                                "orchestration/dagster.yaml there) or set DAGSTER_HOME to the instance's folder")
    with open(home / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return dg.DagsterInstance.from_config(str(home))


def main() -> int:
    try:
        open_instance().dispose()
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
