"""The endpoint gates against the warehouse: what ``quality/endpoints`` reads, writes and compares.

- :func:`check_endpoints`: per endpoint, the patients with analysable input in the marts
  (:func:`quality.gates.endpoint_patients`), appended to ``quality.endpoint_coverage`` (run_id, drop_id,
  endpoint, patients, published, computed_at) for this run, and the two gates (:func:`quality.gates.
  endpoint_coverage_gate` against the last published run, :func:`quality.gates.os_exclusions_gate` with the
  deaths that do not reach the survival analysis, :func:`lost_deaths`), and
  :func:`quality.gates.one_record_per_patient_gate`.
- :func:`mark_published`: once the study report is published, this run becomes the one the next runs compare
  with; its field profile is kept as ``quality.field_profile_published``.

Every function takes an open DuckDB connection, writable for those that write.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from quality.gates import (ENDPOINT_PARAMS, endpoint_coverage_gate, endpoint_patients, one_record_per_patient_gate,
                           os_exclusions_gate)
from quality.store import quality_tables

COVERAGE_TABLE = "quality.endpoint_coverage"
COVERAGE_DDL = (f"create table if not exists {COVERAGE_TABLE} (run_id VARCHAR, drop_id VARCHAR, endpoint VARCHAR, "
                "patients INTEGER, published BOOLEAN, computed_at TIMESTAMP)")
PROFILE_TABLE = "quality.field_profile"
PUBLISHED_PROFILE = "quality.field_profile_published"


@dataclass(frozen=True)
class EndpointCheck:
    """What :func:`check_endpoints` found: ``coverage`` {endpoint: patients} now, ``previous`` in the last
    published run (None: none yet) and its ``label`` (``drop <id>``), and the gates, each ``{"gate", "passed",
    "message"}``."""

    coverage: dict[str, int]
    previous: dict[str, int] | None
    label: str
    gates: list[dict]


def endpoint_marts(conn: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The columns of adsl, adbds (only :data:`~quality.gates.ENDPOINT_PARAMS`), adtte and adae that
    :func:`~quality.gates.endpoint_patients` and the survival gate read."""
    params = ", ".join(f"'{p}'" for p in ENDPOINT_PARAMS)
    return {
        "adsl": conn.execute("select USUBJID, ild_baseline, pah_baseline, subject_pseudonym from marts.adsl").df(),
        "adbds": conn.execute("select USUBJID, PARAMCD, AVISIT, ANL01FL, AVAL from marts.adbds "
                              f"where PARAMCD in ({params})").df(),
        "adtte": conn.execute("select * from marts.adtte").df(),
        "adae": conn.execute("select USUBJID, ASTDT, AETOXGR, AERELN from marts.adae").df(),
    }


# A death recorded in the export (vital status Dead, or a death date, usable or not) whose patient has no adtte row
# (the record set aside at load: no usable day 0, ...) or an adtte row censored as alive (the vital status form set
# aside): the analysis plan's "a recorded death is never censored as alive" (docs/contract.md). The reason is the
# first quarantine of the record, if any.
LOST_DEATHS_SQL = """
    with recorded as (
        select record_id, min(_source_row) as source_row from raw.records
        where vital_status = '2' or nullif(trim(death_date), '') is not null
        group by record_id
    ),
    set_aside as (
        select record_id, arg_min(rule, source_row) as rule, arg_min(message, source_row) as message
        from quality.quarantine group by record_id
    )
    select recorded.record_id, recorded.source_row, set_aside.rule, set_aside.message
    from recorded
    left join marts.adtte on adtte.USUBJID = recorded.record_id
    left join set_aside on set_aside.record_id = recorded.record_id
    where adtte.USUBJID is null or adtte.CNSR = 1
    order by recorded.record_id
"""


def lost_deaths(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The deaths recorded in the export that the survival analysis does not carry (:data:`LOST_DEATHS_SQL`):
    ``record_id, source_row`` (the record's first row with the death), ``rule, message`` (its first quarantine,
    None if none). Empty when the export has no vital status or death date column."""
    columns = {c for (c,) in conn.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'records'"
    ).fetchall()}
    if not {"vital_status", "death_date"} <= columns or "quality.quarantine" not in quality_tables(conn):
        return pd.DataFrame(columns=["record_id", "source_row", "rule", "message"])
    return conn.execute(LOST_DEATHS_SQL).df()


def last_published(conn: duckdb.DuckDBPyConnection,
                   run_id: str) -> tuple[dict[str, int] | None, pd.DataFrame | None, str]:
    """Patients per endpoint of the last published run other than ``run_id``, its field profile and a label
    (``drop <id>``); ``(None, None, "")`` before the first published run."""
    tables = quality_tables(conn)
    if COVERAGE_TABLE not in tables:
        return None, None, ""
    rows = conn.execute(f"""
        select run_id, drop_id from {COVERAGE_TABLE} where published and run_id <> ?
        order by computed_at desc limit 1""", [run_id]).fetchall()
    if not rows:
        return None, None, ""
    previous_run, previous_drop = rows[0]
    counts = dict(conn.execute(f"select endpoint, patients from {COVERAGE_TABLE} where run_id = ?",
                               [previous_run]).fetchall())
    profile = None
    if PUBLISHED_PROFILE in tables:
        profile = conn.execute(f"select * from {PUBLISHED_PROFILE} where run_id = ?", [previous_run]).df()
    return counts, profile, f"drop {previous_drop}"


def record_coverage(conn: duckdb.DuckDBPyConnection, run_id: str, coverage: dict[str, int]) -> None:
    """This run's patients per endpoint in ``quality.endpoint_coverage`` (replacing any of the same run), not
    yet published, with the current drop (``raw.current_drop``)."""
    drop = conn.execute("select drop_id from raw.current_drop").fetchall()
    drop_id = drop[0][0] if drop else None
    conn.execute(COVERAGE_DDL)
    conn.execute(f"delete from {COVERAGE_TABLE} where run_id = ?", [run_id])
    conn.executemany(f"insert into {COVERAGE_TABLE} values (?, ?, ?, ?, false, current_timestamp)",
                     [[run_id, drop_id, endpoint, n] for endpoint, n in coverage.items()])


def check_endpoints(conn: duckdb.DuckDBPyConnection, run_id: str, max_endpoint_loss: float,
                    max_os_excluded: int) -> EndpointCheck:
    """Count, record and judge this run's endpoint coverage (``conn`` writable; needs the marts,
    ``quality.field_profile`` and ``raw.current_drop``)."""
    marts = endpoint_marts(conn)
    profile = conn.execute(f"select * from {PROFILE_TABLE}").df()
    previous, previous_profile, label = last_published(conn, run_id)
    coverage = endpoint_patients(**marts)
    record_coverage(conn, run_id, coverage)
    gates = [
        endpoint_coverage_gate(coverage, previous, profile, previous_profile, max_endpoint_loss, label),
        os_exclusions_gate(marts["adtte"], max_os_excluded, lost_deaths(conn)),
        one_record_per_patient_gate(marts["adsl"]),
    ]
    return EndpointCheck(coverage, previous, label, gates)


def mark_published(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Run ``run_id`` published its outcomes: the next runs compare with its coverage and field profile."""
    conn.execute("create schema if not exists quality")
    conn.execute(COVERAGE_DDL)
    conn.execute(f"update {COVERAGE_TABLE} set published = true where run_id = ?", [run_id])
    if PROFILE_TABLE in quality_tables(conn):
        conn.execute(f"create or replace table {PUBLISHED_PROFILE} as "
                     f"select * from {PROFILE_TABLE} where run_id = ?", [run_id])
