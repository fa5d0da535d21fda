"""The volume gate: a drop is not smaller than the last published one.

REDCap's records export is a full snapshot: from one night to the next it gains patients and assessments and does
not lose them. A drop with fewer records (distinct ``record_id`` of ``raw.records``), or fewer export rows of an
instrument (``export_rows`` of ``quality.reconciliation``, rows holding an assessment of it), than the last
published drop by more than ``SSC_MAX_VOLUME_LOSS`` (a share, default 0.05) is a partial export (a report or a
filter exported instead of the project, an export cut short) and must not be analysed.

- :func:`volume_gate`: the gate ``drop_volume_kept`` (``{"gate", "passed", "message"}``) from two
  :class:`DropVolume`; pure.
- :func:`check_volume`: this run's volume written to ``quality.drop_volume`` (run_id, drop_id, instrument: NULL
  for the records of the drop, count, computed_at) and judged against the last published run's: the run that
  :func:`quality.endpoints.mark_published` marked last in ``quality.endpoint_coverage``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from quality.endpoints import COVERAGE_TABLE
from quality.store import quality_tables

VOLUME_GATE = "drop_volume_kept"
VOLUME_TABLE = "quality.drop_volume"
VOLUME_DDL = (f"create table if not exists {VOLUME_TABLE} (run_id VARCHAR, drop_id VARCHAR, instrument VARCHAR, "
              "count INTEGER, computed_at TIMESTAMP)")
HINT = ("REDCap exports a full snapshot, which does not lose records: export the whole project again (all "
        "records, events and instruments, raw data, not a report or a filtered export) into a new drop; if records "
        "or assessments were deleted in REDCap on purpose, raise SSC_MAX_VOLUME_LOSS for that one run.")


@dataclass(frozen=True)
class DropVolume:
    """A drop's size: its ``records`` (distinct record_id) and export ``rows`` per instrument."""

    drop_id: str | None
    records: int
    rows: dict[str, int]


def drop_volume(drop_id: str | None, records: int, reconciliation: pd.DataFrame) -> DropVolume:
    """The volume of a drop with ``records`` distinct record ids and ``reconciliation``
    (:func:`quality.gates.reconciliation`; its per-instrument rows give the rows of each instrument)."""
    per_form = reconciliation[reconciliation["instrument"].notna()]
    return DropVolume(drop_id, int(records), {str(i): int(n) for i, n in zip(per_form["instrument"],
                                                                              per_form["export_rows"])})


def _loss(now: int, before: int) -> float:
    return (before - now) / before if before else 0.0


def volume_gate(current: DropVolume, previous: DropVolume | None, max_loss: float) -> dict:
    """``drop_volume_kept``: the records and every instrument's rows are at most ``max_loss`` (a share) fewer than in
    ``previous``, the last published drop; passes when there is none. A failure names each shrunk count: what
    (records, or the instrument), now, then, the share lost and the setting."""
    limit = f"limit: SSC_MAX_VOLUME_LOSS {max_loss:.0%}"
    if previous is None:
        return {"gate": VOLUME_GATE, "passed": True,
                "message": f"no published drop to compare with; drop {current.drop_id}: {current.records} records"}
    then = f"drop {previous.drop_id}, the last published"
    counts = [("records", current.records, previous.records)]
    counts += [(f"instrument {form} rows", current.rows.get(form, 0), before) for form, before in previous.rows.items()]
    lost = [f"{what} {now} (was {before}, {_loss(now, before):.0%} fewer)"
            for what, now, before in counts if _loss(now, before) > max_loss]
    if not lost:
        return {"gate": VOLUME_GATE, "passed": True,
                "message": f"drop {current.drop_id}: {current.records} records (was {previous.records} in {then}); "
                           f"no instrument lost rows beyond the limit ({limit})"}
    return {"gate": VOLUME_GATE, "passed": False,
            "message": f"drop {current.drop_id} looks like a partial export, against {then} ({limit}): "
                       + "; ".join(lost) + f". {HINT}"}


def published_volume(conn: duckdb.DuckDBPyConnection, run_id: str) -> DropVolume | None:
    """The volume of the last published run other than ``run_id`` (``quality.endpoint_coverage``); None when
    nothing is published yet or that run's volume was not recorded."""
    tables = quality_tables(conn)
    if COVERAGE_TABLE not in tables or VOLUME_TABLE not in tables:
        return None
    last = conn.execute(f"""
        select run_id from {COVERAGE_TABLE} where published and run_id <> ?
        order by computed_at desc limit 1""", [run_id]).fetchall()
    if not last:
        return None
    rows = conn.execute(f"select drop_id, instrument, count from {VOLUME_TABLE} where run_id = ?",
                        [last[0][0]]).fetchall()
    records = [n for _, instrument, n in rows if instrument is None]
    if not records:
        return None
    return DropVolume(rows[0][0], records[0], {i: n for _, i, n in rows if i is not None})


def record_volume(conn: duckdb.DuckDBPyConnection, run_id: str, volume: DropVolume) -> None:
    """This run's volume in ``quality.drop_volume``, replacing any of the same run."""
    conn.execute("create schema if not exists quality")
    conn.execute(VOLUME_DDL)
    conn.execute(f"delete from {VOLUME_TABLE} where run_id = ?", [run_id])
    rows = [[run_id, volume.drop_id, None, volume.records]]
    rows += [[run_id, volume.drop_id, form, n] for form, n in volume.rows.items()]
    conn.executemany(f"insert into {VOLUME_TABLE} values (?, ?, ?, ?, current_timestamp)", rows)


def check_volume(conn: duckdb.DuckDBPyConnection, run_id: str, reconciliation: pd.DataFrame,
                 max_loss: float) -> dict:
    """Count (``raw.records``, ``reconciliation``), record and judge this run's volume (``conn`` writable); the
    :func:`volume_gate`."""
    drop = conn.execute("select drop_id from raw.current_drop").fetchall()
    records = conn.execute("select count(distinct record_id) from raw.records").fetchone()[0]
    current = drop_volume(drop[0][0] if drop else None, records, reconciliation)
    previous = published_volume(conn, run_id)
    record_volume(conn, run_id, current)
    return volume_gate(current, previous, max_loss)
