"""Night to night: the headline figures of every published drop (``analysis.headline_history``), and what changed
since the previous drop.

Each published run appends its drop's figures, one row per figure, to ``analysis.headline_history``
(:data:`HISTORY_COLUMNS`: drop_id, export_datetime, run_id, code_version, published_at in UTC, key, value
DOUBLE); a run on the same drop again replaces that drop's rows, so the table holds one set per drop. The
figures (:func:`snapshot`):

- ``patients`` (``cohort_flow.enrolled`` of outcomes.json), ``deaths`` (``cohort_flow.deaths``: deaths placed in
  time) and ``assessments.<instrument>`` (``loaded_rows`` per instrument of ``quality.reconciliation``: export
  rows holding an assessment of it, loaded): what a drop adds;
- the headline figures of the report, read from outcomes.json (:data:`HEADLINE`): 5-year overall survival (a
  proportion 0–1), mean mRSS at baseline and at 5 years (points), HRCT improved or stable (% of evaluable, and
  the evaluable), PAH stable and evaluable (patients), adverse events and UC-MSC-related adverse events.

The previous drop of a drop is the published one with the greatest ``drop_id`` below it (drop folders are named
YYYY-MM-DDTHHMM, so this is the one exported just before; a drop run again, or an older one replayed, compares
with the drop before it, never with itself). :func:`compare` pairs the two (pure); the report shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import duckdb
import pandas as pd

from analysis._common import fnum

HISTORY_TABLE = "analysis.headline_history"
HISTORY_COLUMNS = ("drop_id", "export_datetime", "run_id", "code_version", "published_at", "key", "value")
HISTORY_DDL = (f"create table if not exists {HISTORY_TABLE} (drop_id VARCHAR, export_datetime TIMESTAMP, "
               "run_id VARCHAR, code_version VARCHAR, published_at TIMESTAMP, key VARCHAR, value DOUBLE)")
ASSESSMENTS = "assessments."


def _at(rows: list[dict], timepoint: str, field: str, key: str = "timepoint") -> Any:
    return next((row.get(field) for row in rows if row.get(key) == timepoint), None)


def _evaluable_pah(pah: dict) -> Any:
    n, not_evaluable = fnum(pah.get("n")), fnum(pah.get("not_evaluable"))
    return None if n is None or not_evaluable is None else n - not_evaluable


@dataclass(frozen=True)
class Figure:
    """A figure of the history: ``key`` in the table, ``label`` for readers, ``kind`` how it is printed ('count',
    'proportion' 0–1, 'percent' 0–100, or a parameter such as 'mrss_total'), ``read`` from outcomes.json."""

    key: str
    label: str
    kind: str
    read: Callable[[dict], Any]


#: what a drop adds, from outcomes.json (the assessments come from quality.reconciliation)
ADDED = (
    Figure("patients", "Patients enrolled", "count", lambda d: d["cohort_flow"]["enrolled"]),
    Figure("deaths", "Deaths", "count", lambda d: d["cohort_flow"]["deaths"]),
)
#: the report's headline figures, from outcomes.json
HEADLINE = (
    Figure("overall_survival.year_5", "5-year overall survival", "proportion",
           lambda d: _at(d["overall_survival"]["estimates"], 5, "survival", key="year")),
    Figure("mrss.baseline.mean", "mRSS at baseline, mean", "mrss_total",
           lambda d: _at(d["mrss"]["by_timepoint"], "baseline", "mean")),
    Figure("mrss.month_60.mean", "mRSS at 5 years, mean", "mrss_total",
           lambda d: _at(d["mrss"]["by_timepoint"], "month_60", "mean")),
    Figure("hrct_ild.improved_or_stable_pct", "HRCT improved or stable (ILD), % of evaluable", "percent",
           lambda d: d["hrct_ild"]["improved_or_stable_pct"]),
    Figure("hrct_ild.n_evaluable", "HRCT evaluable patients (ILD)", "count", lambda d: d["hrct_ild"]["n_evaluable"]),
    Figure("pah.stable", "PAH stable, patients", "count", lambda d: d["pah"]["stable"]),
    Figure("pah.evaluable", "PAH evaluable patients", "count", lambda d: _evaluable_pah(d["pah"])),
    Figure("adverse_events.n_events", "Adverse events", "count", lambda d: d["adverse_events"]["n_events"]),
    Figure("adverse_events.related", "UC-MSC-related adverse events", "count",
           lambda d: d["adverse_events"]["related"]),
)


@dataclass(frozen=True)
class Snapshot:
    """One drop's figures: ``values`` by key (None: not available in that drop)."""

    drop_id: str
    export_datetime: str | None
    values: dict[str, float | None]


def assessments(reconciliation: pd.DataFrame | None) -> dict[str, float]:
    """``{"assessments.<instrument>": loaded rows}`` from quality.reconciliation (its rows with an instrument)."""
    if reconciliation is None or reconciliation.empty:
        return {}
    per_form = reconciliation[reconciliation["instrument"].notna()]
    return {f"{ASSESSMENTS}{form}": float(n) for form, n in zip(per_form["instrument"], per_form["loaded_rows"])}


def snapshot(document: dict, reconciliation: pd.DataFrame | None, drop_id: str,
             export_datetime: str | None) -> Snapshot:
    """The figures of a drop from its outcomes.json ``document`` (KeyError when a key of the contract is missing)
    and its ``reconciliation``."""
    values = {f.key: fnum(f.read(document)) for f in ADDED + HEADLINE}
    return Snapshot(drop_id, export_datetime, values | assessments(reconciliation))


def record(conn: duckdb.DuckDBPyConnection, current: Snapshot, run_id: str, code_version: str,
           published_at: datetime) -> None:
    """Write ``current`` (a published drop) to ``analysis.headline_history``, replacing any rows of its drop;
    ``published_at`` is stored in UTC (a naive time is taken as UTC)."""
    if published_at.tzinfo is not None:
        published_at = published_at.astimezone(timezone.utc).replace(tzinfo=None)
    conn.execute("create schema if not exists analysis")
    conn.execute(HISTORY_DDL)
    conn.execute(f"delete from {HISTORY_TABLE} where drop_id = ?", [current.drop_id])
    conn.executemany(f"insert into {HISTORY_TABLE} values (?, cast(? as timestamp), ?, ?, ?, ?, ?)",
                     [[current.drop_id, current.export_datetime, run_id, code_version, published_at, key, value]
                      for key, value in current.values.items()])


def previous(conn: duckdb.DuckDBPyConnection, drop_id: str) -> Snapshot | None:
    """The published drop before ``drop_id`` (the greatest drop_id below it) from ``analysis.headline_history``;
    None when there is none (the first drop, or no history yet)."""
    exists = conn.execute("select 1 from information_schema.tables where table_schema = 'analysis' "
                          "and table_name = 'headline_history'").fetchall()
    if not exists:
        return None
    rows = conn.execute(f"""
        select drop_id, cast(export_datetime as varchar), key, value from {HISTORY_TABLE}
        where drop_id = (select max(drop_id) from {HISTORY_TABLE} where drop_id < ?)""", [drop_id]).fetchall()
    if not rows:
        return None
    return Snapshot(rows[0][0], rows[0][1], {key: value for _, _, key, value in rows})


@dataclass(frozen=True)
class Change:
    """One figure then (the previous drop) and now; ``difference`` now − then (None when either is missing)."""

    key: str
    label: str
    kind: str
    then: float | None
    now: float | None

    @property
    def difference(self) -> float | None:
        return None if self.then is None or self.now is None else self.now - self.then


@dataclass(frozen=True)
class Changes:
    """What changed since the previous drop: ``previous`` None on the first drop; ``added`` patients, deaths and
    the assessments of each instrument (``label`` the instrument's code, ``key`` assessments.<code>), ``headline``
    the headline figures, in :data:`HEADLINE` order."""

    previous: Snapshot | None
    current: Snapshot
    added: list[Change]
    headline: list[Change]


def compare(before: Snapshot | None, current: Snapshot) -> Changes:
    """Pair each figure of ``current`` with ``before``'s (pure). Assessments of an instrument only one of them
    has count as 0 in the other; the other figures missing from one show as None."""
    then = before.values if before else {}
    forms = sorted({k for k in (*then, *current.values) if k.startswith(ASSESSMENTS)})

    def change(key: str, label: str, kind: str, default: float | None = None) -> Change:
        return Change(key, label, kind, then.get(key, default) if before else None,
                      current.values.get(key, default))

    added = [change(f.key, f.label, f.kind) for f in ADDED]
    added += [change(key, key.removeprefix(ASSESSMENTS), "count", 0.0) for key in forms]
    return Changes(before, current, added, [change(f.key, f.label, f.kind) for f in HEADLINE])
