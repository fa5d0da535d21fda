"""Findings night after night: which problems are new, which are still open (since when) and which were resolved.

A finding's identity across drops is its *key* (:func:`finding_key`): record, event, instrument, repeat instance,
field and rule, the cell a steward fixes in REDCap. Findings of one drop that share a key (two quarantined copies
of the same row) are one key. The value is never stored: a key carries a *value fingerprint*
(:func:`value_fingerprint`, a SHA-256 of the key and the values), which tells that the value changed and nothing
else (findings on identifier fields already carry ``quality.findings.REDACTED`` instead of the value).

Tables of schema ``quality`` (``record_drop`` writes them, in one transaction):

- ``quality.findings_by_drop``: the keys found in each recorded drop (drop_id, finding_key, the key's columns,
  severity, value_fingerprint). What the other two are computed from, so that recording a drop again (a re-run
  of the same drop) replaces that drop's keys instead of counting it twice, and a drop recorded out of order
  (a replay) takes its place by drop id.
- ``quality.findings_trend``: one row per recorded drop: drop_id, open_errors and open_warnings (problems on
  the steward worklist, acknowledged ones not counted), acknowledged (problems acknowledged), recorded_at.
- ``quality.findings_history``: one row per key ever found: first_seen_drop (first drop of its latest open
  spell), last_seen_drop, resolved_drop (the first recorded drop after last_seen_drop, where it was no longer
  found; null while open), severity and value_fingerprint as last seen, nights_open (recorded drops of that
  spell).

Drops are ordered by drop id (the folder name, ``YYYY-MM-DDTHHMM``). A "night" is a recorded drop; a drop that
was not recorded (see orchestration/run_end.py: nights whose findings are incomplete) does not count.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import pandas as pd

#: the columns of a finding that make its key (quality.findings), in the key's order
KEY_COLUMNS = ("record_id", "event", "instrument", "instance", "field", "rule")
#: drops shown in the worklist's trend figure
TREND_DROPS = 60

BY_DROP = "quality.findings_by_drop"
TREND = "quality.findings_trend"
HISTORY = "quality.findings_history"
_KEY_TYPES = {"finding_key": "VARCHAR", "record_id": "VARCHAR", "event": "VARCHAR", "instrument": "VARCHAR",
              "instance": "INTEGER", "field": "VARCHAR", "rule": "VARCHAR"}
_BY_DROP_TYPES = {"drop_id": "VARCHAR", **_KEY_TYPES, "severity": "VARCHAR", "value_fingerprint": "VARCHAR"}
_TREND_TYPES = {"drop_id": "VARCHAR", "open_errors": "INTEGER", "open_warnings": "INTEGER",
                "acknowledged": "INTEGER", "recorded_at": "TIMESTAMP"}


def _part(value: Any) -> str:
    """A key part as text: missing -> "", a whole number -> "2" (not "2.0")."""
    if type(value) is str:
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def finding_key(record_id: Any, event: Any, instrument: Any, instance: Any, field: Any, rule: Any) -> str:
    """The stable key of a finding: 16 hex characters of SHA-256 over its record, event, instrument, repeat
    instance, field and rule (a missing part counts as ""). The same cell and rule give the same key in every
    drop; the value, the export row and the message are not part of it."""
    text = "\x1f".join(_part(v) for v in (record_id, event, instrument, instance, field, rule))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def value_fingerprint(key: str, values: Any) -> str:
    """16 hex characters of SHA-256 over the key and the distinct values of its findings (sorted): differs when a
    value changes, says nothing of the value (salted by the key, so equal values of two cells differ too)."""
    distinct = sorted({_part(v) for v in (values if isinstance(values, (list, tuple, set)) else [values])})
    text = key + "\x1e" + "\x1f".join(distinct)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def problem_id(record_id: Any, rule: Any, severity: Any, action: Any, key: str) -> str:
    """The id of a steward worklist row, 8 hex characters: a record's findings with the same rule, severity and
    action are one row (report/worklist.py), so its id is made of those; a finding not tied to a record is a row of
    its own, with the id of its ``key``. Stable from night to night while the problem stays."""
    text = ("\x1f".join(_part(v) for v in (record_id, rule, severity, action)) if _part(record_id)
            else "\x1ekey\x1f" + key)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def identify(findings: pd.DataFrame | None) -> pd.DataFrame:
    """``findings`` (quality.findings columns) with ``finding_key`` and ``problem_id`` added (same index)."""
    frame = (findings if findings is not None else pd.DataFrame()).copy()
    for column in (*KEY_COLUMNS, "severity", "action", "value"):
        if column not in frame.columns:
            frame[column] = None
    keys = [finding_key(*parts) for parts in zip(*(frame[c] for c in KEY_COLUMNS))]
    ids = [problem_id(record, rule, _part(severity).lower() or "warning", _part(action) or "none", key)
           for key, record, rule, severity, action in zip(keys, frame["record_id"], frame["rule"],
                                                          frame["severity"], frame["action"])]
    frame["finding_key"] = pd.Series(keys, index=frame.index, dtype=object)
    frame["problem_id"] = pd.Series(ids, index=frame.index, dtype=object)
    return frame


def key_table(findings: pd.DataFrame | None) -> pd.DataFrame:
    """One row per key of ``findings``, by key: finding_key, the key's columns, severity ("error" if any of its
    findings is one) and value_fingerprint."""
    frame = identify(findings)
    keys: dict[str, dict] = {}
    values: dict[str, list] = {}
    for key, severity, value, *parts in zip(frame["finding_key"], frame["severity"], frame["value"],
                                            *(frame[c] for c in KEY_COLUMNS)):
        entry = keys.get(key)
        if entry is None:
            keys[key] = entry = {"finding_key": key, **{c: None if _part(v) == "" else v
                                                        for c, v in zip(KEY_COLUMNS, parts)}, "severity": "warning"}
            values[key] = []
        if _part(severity).lower() == "error":
            entry["severity"] = "error"
        values[key].append(value)
    table = pd.DataFrame([{**keys[k], "value_fingerprint": value_fingerprint(k, values[k])} for k in sorted(keys)],
                         columns=list(_BY_DROP_TYPES)[1:])
    table["instance"] = pd.to_numeric(table["instance"], errors="coerce").astype("Int64")
    return table


def _exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(conn.execute("select count(*) from information_schema.tables where table_schema = ? and "
                             "table_name = ?", [schema, name]).fetchone()[0])


def _create(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("create schema if not exists quality")
    for table, types in ((BY_DROP, _BY_DROP_TYPES), (TREND, _TREND_TYPES)):
        columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
        conn.execute(f"create table if not exists {table} ({columns})")


def _spans_sql(before: bool) -> str:
    """Per key, its latest spell of consecutive recorded drops (of all drops, or of those before ``?``)."""
    where = "where drop_id < ?" if before else ""
    return f"""
        with drops as (select drop_id, row_number() over (order by drop_id) as n from {TREND} {where}),
        seen as (select b.*, d.n, d.n - row_number() over (partition by b.finding_key order by d.n) as spell
                 from {BY_DROP} b join drops d using (drop_id)),
        spans as (select finding_key, spell, min(n) as first_n, max(n) as last_n, count(*) as nights_open,
                         arg_max(record_id, n) as record_id, arg_max(event, n) as event,
                         arg_max(instrument, n) as instrument, arg_max(instance, n) as instance,
                         arg_max(field, n) as field, arg_max(rule, n) as rule, arg_max(severity, n) as severity,
                         arg_max(value_fingerprint, n) as value_fingerprint
                  from seen group by finding_key, spell
                  qualify row_number() over (partition by finding_key order by max(n) desc) = 1)
        select s.finding_key, s.record_id, s.event, s.instrument, s.instance, s.field, s.rule,
               f.drop_id as first_seen_drop, l.drop_id as last_seen_drop, r.drop_id as resolved_drop,
               s.severity, s.value_fingerprint, s.nights_open
        from spans s join drops f on f.n = s.first_n join drops l on l.n = s.last_n
             left join drops r on r.n = s.last_n + 1
        order by s.finding_key"""


def record_drop(conn: duckdb.DuckDBPyConnection, findings: pd.DataFrame | None, drop_id: str, *,
                open_errors: int, open_warnings: int, acknowledged: int = 0) -> None:
    """Record drop ``drop_id``'s findings (quality.findings columns) and its worklist counts, replacing what an
    earlier run of the same drop recorded, and rebuild ``quality.findings_history`` (module docstring)."""
    if not drop_id:
        raise ValueError("record_drop needs the drop id of the findings")
    keys = key_table(findings)
    keys.insert(0, "drop_id", drop_id)
    _create(conn)
    conn.execute("begin transaction")
    try:
        conn.execute(f"delete from {BY_DROP} where drop_id = ?", [drop_id])
        conn.execute(f"delete from {TREND} where drop_id = ?", [drop_id])
        if len(keys):
            conn.register("history_keys", keys.astype(object).where(keys.notna(), None))
            try:
                conn.execute(f"insert into {BY_DROP} select "
                             + ", ".join(f'cast("{c}" as {t})' for c, t in _BY_DROP_TYPES.items())
                             + " from history_keys")
            finally:
                conn.unregister("history_keys")
        conn.execute(f"insert into {TREND} values (?, ?, ?, ?, ?)",
                     [drop_id, int(open_errors), int(open_warnings), int(acknowledged),
                      datetime.now(timezone.utc).replace(tzinfo=None)])
        conn.execute(f"create or replace table {HISTORY} as {_spans_sql(before=False)}")
        conn.execute("commit")
    except Exception:
        conn.execute("rollback")
        raise


@dataclass
class DropHistory:
    """What the worklist of drop ``drop_id`` shows of the history (:func:`drop_history`).

    - ``previous_drop``: the latest recorded drop before it (None: the first);
    - ``open_since``: {finding_key: (first_seen_drop, nights)} for the keys of tonight's findings that were open
      in the previous drop: open since that drop, for ``nights`` recorded drops, tonight included;
    - ``resolved``: keys open in the previous drop and not found tonight (columns of quality.findings_history);
    - ``trend``: [(drop_id, open_errors, open_warnings)] of the last ``TREND_DROPS`` recorded drops up to
      ``drop_id``, oldest first.
    """

    drop_id: str | None = None
    previous_drop: str | None = None
    open_since: dict[str, tuple[str, int]] = field(default_factory=dict)
    resolved: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend: list[tuple[str, int, int]] = field(default_factory=list)


def drop_history(conn: duckdb.DuckDBPyConnection, findings: pd.DataFrame | None, drop_id: str | None
                 ) -> DropHistory:
    """The history as drop ``drop_id``'s worklist shows it (:class:`DropHistory`), read only; the same whether
    or not ``drop_id`` itself was recorded yet (nothing recorded: every finding is new)."""
    if not drop_id or not (_exists(conn, TREND) and _exists(conn, BY_DROP)):
        return DropHistory(drop_id=drop_id)
    previous = conn.execute(f"select max(drop_id) from {TREND} where drop_id < ?", [drop_id]).fetchone()[0]
    trend = [(d, int(e), int(w)) for d, e, w in conn.execute(
        f"select drop_id, open_errors, open_warnings from (select * from {TREND} where drop_id <= ? "
        f"order by drop_id desc limit {TREND_DROPS}) order by drop_id", [drop_id]).fetchall()]
    if previous is None:
        return DropHistory(drop_id=drop_id, trend=trend)
    spans = conn.execute(_spans_sql(before=True), [drop_id]).df()
    open_before = spans[spans["last_seen_drop"] == previous]
    tonight = set(identify(findings)["finding_key"])
    since = {k: (first, int(n) + 1) for k, first, n in zip(open_before["finding_key"],
                                                           open_before["first_seen_drop"],
                                                           open_before["nights_open"]) if k in tonight}
    resolved = open_before[~open_before["finding_key"].isin(tonight)].reset_index(drop=True)
    return DropHistory(drop_id=drop_id, previous_drop=previous, open_since=since, resolved=resolved, trend=trend)
