"""The ``quality`` schema of the warehouse: findings, quarantine and reconciliation tables; and
:func:`read_frame` and :func:`ordered_select`, how the quality steps and the Dagster warehouse resource read the
warehouse into pandas.

Each stage replaces its own table for the current drop; ``quality.findings`` is their union, which the
analysis layer (dbt) and the steward report read. ``quality.field_profile`` holds the gate's counts per field.
"""

from __future__ import annotations

from typing import Iterable

import duckdb
import numpy as np
import pandas as pd

from quality.findings import FINDING_COLUMNS, FINDING_SQL_TYPES
from quality.gates import PROFILE_COLUMNS

STAGE_TABLES = {
    "ingest": "quality.ingest_findings",
    "conformance": "quality.conformance_findings",
    "plausibility": "quality.plausibility_findings",
}
QUARANTINE_COLUMNS = {"source_row": "INTEGER", "record_id": "VARCHAR", "event": "VARCHAR", "rule": "VARCHAR",
                      "message": "VARCHAR"}
RECONCILIATION_COLUMNS = {"drop_id": "VARCHAR", "instrument": "VARCHAR", "export_rows": "INTEGER",
                          "loaded_rows": "INTEGER", "quarantined_rows": "INTEGER"}


def _replace_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    conn.execute("create schema if not exists quality")
    columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
    conn.execute(f"create or replace table {table} ({columns})")
    if len(frame):
        conn.register("quality_frame", frame[list(types)])
        try:
            select = ", ".join(f'cast("{c}" as {t})' for c, t in types.items())
            conn.execute(f"insert into {table} select {select} from quality_frame")
        finally:
            conn.unregister("quality_frame")


def write_findings(conn: duckdb.DuckDBPyConnection, stage: str, findings: pd.DataFrame, drop_id: str) -> int:
    frame = findings.reindex(columns=list(FINDING_COLUMNS)).astype(object)
    frame = frame.where(frame.notna(), None)
    frame.insert(0, "stage", stage)
    frame.insert(0, "drop_id", drop_id)
    _replace_table(conn, STAGE_TABLES[stage], frame, FINDING_SQL_TYPES)
    return len(frame)


def write_quarantine(conn: duckdb.DuckDBPyConnection, quarantine: pd.DataFrame) -> None:
    frame = quarantine.rename(columns={"_source_row": "source_row"}).reindex(columns=list(QUARANTINE_COLUMNS))
    _replace_table(conn, "quality.quarantine", frame.astype(object).where(frame.notna(), None), QUARANTINE_COLUMNS)


def quality_tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of schema ``quality`` that exist, as ``quality.<name>``."""
    return {f"{schema}.{name}" for schema, name in conn.execute(
        "select table_schema, table_name from information_schema.tables where table_schema = 'quality'").fetchall()}


def combine_findings(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``quality.findings`` = every stage's findings of the current drop; returns them."""
    present = quality_tables(conn)
    parts = [f"select * from {t}" for t in STAGE_TABLES.values() if t in present]
    empty = pd.DataFrame(columns=list(FINDING_SQL_TYPES))
    if parts:
        frame = conn.execute(" union all ".join(parts)).df()
    else:
        frame = empty
    _replace_table(conn, "quality.findings", frame.astype(object).where(frame.notna(), None), FINDING_SQL_TYPES)
    return conn.execute("select * from quality.findings order by source_row nulls first, record_id").df()


def write_reconciliation(conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    _replace_table(conn, "quality.reconciliation", frame, RECONCILIATION_COLUMNS)


def write_field_profile(conn: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """``quality.field_profile``: filled and rejected cells per export column (quality.gates.PROFILE_COLUMNS)."""
    _replace_table(conn, "quality.field_profile", frame, PROFILE_COLUMNS)


def ordered_select(table: str, columns: Iterable[str] = (), where: str = "") -> str:
    """``select`` of ``columns`` (default ``*``) of ``table`` ``where`` ..., ``order by all``: every warehouse read
    an analysis depends on orders its rows so (SQL tables have none), so the same data gives the same figures."""
    return (f"select {', '.join(columns) or '*'} from {table}" + (f" where {where}" if where else "")
            + " order by all")


#: rows per chunk :func:`read_frame` converts at a time (DuckDB's vectors are 2,048 rows)
READ_CHUNK_VECTORS = 64


def read_frame(conn, sql: str, params: list | None = None) -> pd.DataFrame:
    """What ``conn.execute(sql, params).df()`` gives (the same columns, dtypes, values and row order), with each
    distinct text held once: a VARCHAR column is an object column of shared ``str`` objects (None for NULL).

    DuckDB's ``df()`` makes a Python string per cell, about 60 bytes (at 100,000 patients the timeline alone is 3.6
    million rows of six text columns); here the result is fetched :data:`READ_CHUNK_VECTORS` vectors at a time and
    each text column's values replaced by one object per distinct value (``pd.factorize``), so a text cell costs
    its 8-byte reference."""
    result = conn.execute(sql, params or [])
    text = [name for name, kind, *_ in result.description if kind == "VARCHAR"]
    pool: dict[str, str] = {}
    chunks = []
    while not chunks or len(chunks[-1]):  # the last chunk DuckDB gives is empty
        chunk = result.fetch_df_chunk(READ_CHUNK_VECTORS)
        for c in text:
            codes, distinct = pd.factorize(chunk[c].to_numpy(dtype=object))
            shared = np.array([pool.setdefault(v, v) for v in distinct] + [None], dtype=object)
            chunk[c] = shared[codes]  # code -1 (NULL) takes the last entry, None
        chunks.append(chunk)
    filled = [chunk for chunk in chunks if len(chunk)] or chunks
    return pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0]
