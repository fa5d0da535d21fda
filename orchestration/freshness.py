"""Freshness: is the newest export recent enough? (issue 11, "Freshness and volume", "Alerts")

- Check ``drop_fresh`` on ``raw/records`` (severity WARN, non-blocking: the night goes on): the drop loaded
  (``raw.current_drop.export_datetime``) was exported at most ``SSC_MAX_DROP_AGE_HOURS`` (default 26) ago.
- Sensor ``stale_inbox_sensor`` (on by default, every 10 minutes in the daemon): when the inbox's newest drop is
  older than that, one alert (orchestration/alerts.py, :func:`~orchestration.alerts.stale_inbox_message`) names
  it and its age; it is sent once per stale period (the cursor keeps the drop alerted for; a newer drop ends the
  period). A sensor rather than the 02:00 schedule: the schedule's run on a stale inbox loads the same drop again
  and is published as before (the volume gate compares the drop with itself and passes), so nothing else would
  say it; and a sensor says it within minutes of the limit, whether or not the schedule is on.

The export time is the drop's (REDCap's file name, else the drop folder's name ``YYYY-MM-DDTHHMM``: ingest/drops.py),
a wall-clock time without a zone: it is taken in ``SSC_TIMEZONE`` (the schedule's, default UTC).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from ingest.drops import DropError, newest_drop
from orchestration.alerts import send_alerts, stale_inbox_message
from orchestration.resources import Alerts, StudyLocations, Warehouse
from orchestration.settings import schedule_timezone

RAW_RECORDS = dg.AssetKey(["raw", "records"])
SENSOR_INTERVAL_SECONDS = 600


def local_now(now: float | None = None) -> datetime:
    """``now`` (POSIX seconds; default: the time) as a wall-clock time in SSC_TIMEZONE, without its zone."""
    zone = ZoneInfo(schedule_timezone(os.environ))
    return datetime.fromtimestamp(time.time() if now is None else now, zone).replace(tzinfo=None)


def age_hours(export: datetime, now: datetime) -> float:
    """Hours from the export time to ``now`` (both wall-clock times of one zone); negative for a future time."""
    return (now - export).total_seconds() / 3600


@dataclass(frozen=True)
class Freshness:
    """The newest drop's age against the limit (``max_hours``, SSC_MAX_DROP_AGE_HOURS)."""

    drop_id: str
    export: datetime
    age_hours: float
    max_hours: int

    @property
    def stale(self) -> bool:
        return self.age_hours > self.max_hours

    def describe(self) -> str:
        said = (f"drop {self.drop_id} was exported {self.export:%Y-%m-%d %H:%M}, {self.age_hours:.1f} hours ago")
        if not self.stale:
            return f"{said}, within SSC_MAX_DROP_AGE_HOURS ({self.max_hours})"
        return (f"{said}, more than SSC_MAX_DROP_AGE_HOURS ({self.max_hours}): no newer export has arrived; "
                "check that REDCap's scheduled export runs and reaches the inbox")


@dg.asset_check(
    asset=RAW_RECORDS,
    name="drop_fresh",
    blocking=False,
    description="Warns (non-blocking) when the drop loaded was exported longer ago than SSC_MAX_DROP_AGE_HOURS "
                "(default 26): no newer export has arrived.",
)
def drop_fresh(warehouse: Warehouse, locations: StudyLocations) -> dg.AssetCheckResult:
    drop = warehouse.read("select drop_id, export_datetime from raw.current_drop").iloc[0]
    export = pd.Timestamp(drop["export_datetime"]).to_pydatetime()
    fresh = Freshness(drop["drop_id"], export, age_hours(export, local_now()), locations.max_drop_age_hours)
    return dg.AssetCheckResult(
        passed=not fresh.stale, severity=dg.AssetCheckSeverity.WARN, description=fresh.describe(),
        metadata={"drop": fresh.drop_id, "export_datetime": f"{fresh.export:%Y-%m-%d %H:%M}",
                  "age_hours": round(fresh.age_hours, 1), "SSC_MAX_DROP_AGE_HOURS": fresh.max_hours})


def stale_inbox(inbox: Path, max_hours: int, now: datetime, cursor: str | None) -> tuple[Freshness | None, str, str]:
    """What the stale-inbox sensor does at wall-clock time ``now``, given its ``cursor`` (JSON ``{"alerted": drop
    id}`` or None): ``(the newest drop's freshness when an alert is due, else None; why, one line; the new
    cursor)``. Due once per stale period: when the newest drop is stale and was not alerted for yet."""
    alerted = json.loads(cursor).get("alerted") if cursor else None
    try:
        drop = newest_drop(inbox)
    except DropError as error:  # no drop yet, or one whose files are still being copied: the inbox sensor's
        return None, f"no drop to judge: {error}", cursor or ""
    fresh = Freshness(drop.drop_id, drop.export_datetime, age_hours(drop.export_datetime, now), max_hours)
    if not fresh.stale:
        return None, fresh.describe(), json.dumps({"alerted": None})
    if alerted == drop.drop_id:
        return None, f"{fresh.describe()} (alerted already)", cursor or ""
    return fresh, fresh.describe(), json.dumps({"alerted": drop.drop_id})


@dg.sensor(
    name="stale_inbox_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (e-mail and/or webhook, once until a new drop arrives) when the newest drop in SSC_INBOX "
                "is older than SSC_MAX_DROP_AGE_HOURS (default 26). Starts no run.",
)
def stale_inbox_sensor(context: dg.SensorEvaluationContext, locations: StudyLocations, alerts: Alerts):
    inbox = Path(locations.inbox).expanduser()
    due, reason, cursor = stale_inbox(inbox, locations.max_drop_age_hours, local_now(), context.cursor)
    if due is not None:
        sent = send_alerts(alerts, *stale_inbox_message(due.drop_id, due.export, due.age_hours, due.max_hours,
                                                        inbox.resolve()))
        reason = f"{reason}; alert: {sent or 'no channel configured'}"
    context.update_cursor(cursor)
    return dg.SkipReason(reason)
