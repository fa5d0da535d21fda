"""Runs on arrival: a sensor on the inbox (``SSC_INBOX``) that starts ``nightly`` when a new drop is complete.

The newest drop (:func:`ingest.drops.scan_inbox`, :func:`ingest.drops.open_drop`) is complete when its records and
data dictionary files are both there and

- the drop folder holds a ``.ready`` file (written by the export script once it has copied both files), or
- neither file changed (size and modification time) for ``SSC_DROP_SETTLE_SECONDS`` (default 120): a copy still
  under way is not read half-written.

The sensor cursor remembers, for the newest drop, the sizes and times last seen and since when they have not
changed (JSON: ``{"drop_id", "files": {name: [bytes, mtime_ns]}, "since": POSIX seconds}``). The run key is the
drop id and the records file's SHA-256, so Dagster starts a drop once: the same export copied into the inbox again
starts nothing. The 02:00 schedule (orchestration/jobs.py) stays as the catch-up. The sensor is on by default and
runs in the Dagster daemon (``make ui``, ``make daemon``). Before it requests a run it marks failed the runs whose
process died (one line each in the tick's log), and while a run holds ``SSC_HOME`` it requests none
(orchestration.jobs.request_after_recovery): the drop is requested at a later tick.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from ingest.drops import DropError, open_drop, scan_inbox, sha256_of
from orchestration.jobs import nightly_job, request_after_recovery
from orchestration.resources import StudyLocations

READY_MARKER = ".ready"
DROP_TAG = "ssc/drop_id"
STARTED_BY_TAG = "ssc/started_by"
MINIMUM_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class Arrival:
    """What the sensor decided: ``run_key`` (None: nothing to start, ``reason`` says why), the drop and the new
    cursor."""

    run_key: str | None
    reason: str
    cursor: str
    drop_id: str | None = None


def arrival(inbox: Path, cursor: str | None, settle_seconds: float, now: float) -> Arrival:
    """Whether the newest drop of ``inbox`` is complete (see the module), given the previous ``cursor`` (None at
    first), the settling time in seconds and the time ``now`` (POSIX seconds)."""
    try:
        drops = scan_inbox(inbox).drops
        drop = open_drop(drops[-1]) if drops else None
    except DropError as error:  # a drop whose files are not (all) there yet, or an inbox that is not there
        return Arrival(None, f"waiting: {error}", cursor or "")
    if drop is None:
        return Arrival(None, f"the inbox {inbox} holds no drop folder yet", cursor or "")
    seen = {path.name: [path.stat().st_size, path.stat().st_mtime_ns]
            for path in (drop.records_file, drop.dictionary_file)}
    before = json.loads(cursor) if cursor else {}
    unchanged = before.get("drop_id") == drop.drop_id and before.get("files") == seen
    since = before["since"] if unchanged else now
    state = json.dumps({"drop_id": drop.drop_id, "files": seen, "since": since}, sort_keys=True)
    ready = (drop.records_file.parent / READY_MARKER).is_file()
    if not ready and now - since < settle_seconds:
        return Arrival(None, f"drop {drop.drop_id}: waiting until its files have not changed for {settle_seconds:g} s "
                             f"(SSC_DROP_SETTLE_SECONDS) or it holds {READY_MARKER}", state, drop.drop_id)
    run_key = f"{drop.drop_id}:{sha256_of(drop.records_file)}"
    return Arrival(run_key, f"drop {drop.drop_id} is complete", state, drop.drop_id)


@dg.sensor(
    name="inbox_sensor",
    job=nightly_job,
    minimum_interval_seconds=MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts nightly when a new export drop in SSC_INBOX is complete: its records and dictionary files "
                "unchanged for SSC_DROP_SETTLE_SECONDS (default 120) or a .ready file in the drop folder. Once per "
                "drop (run key: drop id and the records file's SHA-256).",
)
def inbox_sensor(context: dg.SensorEvaluationContext, locations: StudyLocations):
    decided = arrival(Path(locations.inbox).expanduser(), context.cursor, locations.drop_settle_seconds, time.time())
    context.update_cursor(decided.cursor)
    if decided.run_key is None:
        return dg.SkipReason(decided.reason)
    return request_after_recovery(context, locations.home_dir, dg.RunRequest(
        run_key=decided.run_key, tags={DROP_TAG: decided.drop_id, STARTED_BY_TAG: "inbox_sensor"}), "inbox_sensor")


SENSORS = [inbox_sensor]
