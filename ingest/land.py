"""Land one export drop in DuckDB: ``raw_archive`` keeps every drop's snapshot, ``raw.records`` is the current one.

The load never fails on a bad value: cells stay text, structural problems become findings that the quality
gate acts on. It fails only when the file cannot be read as an export at all, with a message naming the file
and line, or when the pseudonym key is not the key of the drop loaded last (``ingest.deidentify.KeyRefused``).
Identifiers are removed before anything is written (see ``ingest.deidentify``).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import pandas as pd

from ingest.deidentify import (KeyRefused, LoadedKey, PseudonymKey, age_in_years, key_continuity, parse_iso_date,
                               pseudonym)
from ingest.drops import Drop, check_not_older, sha256_of
from ingest.normalise import normalise_export, parse_missing_data_codes, passing
from ingest.reader import DELIMITERS, ParsedRecords, UnreadableFileError, decode, encoding_name, parse_records
from ingest.structure import compare_dictionary, compare_header
from quality.findings import REDACTED, Finding
from quality.rules import RULES
from study.definition import DictionaryError, Study, dictionary_delimiter, parse_dictionary

log = logging.getLogger(__name__)

# File-level faults after which no row can be trusted to be what REDCap wrote: the drop is not loaded at all.
INGEST_STOPS = ("export_dates_not_iso", "export_labels_mixed", "rows_swallowed_by_quote")
PSEUDONYM_COLUMN = "mrn_pseudonym"
AGE_COLUMN = "age_at_day0"


@dataclass
class LandingResult:
    drop: Drop
    records_sha256: str
    dictionary_sha256: str
    archive_table: str
    export_rows: int
    readable_rows: int
    unreadable_rows: int
    findings: list[Finding] = field(default_factory=list)
    already_loaded: bool = False
    pseudonym_key: str = "demo"
    key_fingerprint: str = ""
    rekeyed_from: str | None = None  # the previous drops' key fingerprint, when this load changed the key
    key_note: str | None = None  # one line for the run's log about the key (ingest.deidentify.KeyContinuity)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def blocked(self) -> list[Finding]:
        return [f for f in self.findings if f.action == "blocked"]

    @property
    def stops(self) -> list[Finding]:
        """Faults of the file as a whole that stop the run before anything is loaded (see INGEST_STOPS)."""
        return [f for f in self.findings if f.rule in INGEST_STOPS]


def landed_columns(study: Study) -> list[str]:
    """Columns of raw.records after de-identification, in export order."""
    columns = []
    for column in study.export_columns:
        owner = study.column_owner.get(column)
        if owner is not None and owner.identifier:
            if owner.name == "mrn":
                columns.append(PSEUDONYM_COLUMN)
            elif owner.name == "dob":
                columns.append(AGE_COLUMN)
            continue
        columns.append(column)
    return columns


def last_loaded(conn: duckdb.DuckDBPyConnection, other_than: str) -> tuple[str, datetime] | None:
    """(drop_id, export_datetime) of the newest drop loaded before, other than ``other_than``; None if none."""
    exists = conn.execute("select count(*) from information_schema.tables "
                          "where table_schema = 'raw' and table_name = 'drops'").fetchall()[0][0]
    if not exists:
        return None
    row = conn.execute("select drop_id, export_datetime from raw.drops where drop_id <> ? "
                       "order by export_datetime desc limit 1", [other_than]).fetchall()
    return (row[0][0], row[0][1]) if row else None


def previous_key(conn: duckdb.DuckDBPyConnection) -> LoadedKey | None:
    """The key of the drop loaded last (``raw.drops``, latest ``loaded_at``, the drop being loaded included: a
    drop loaded again is pseudonymised again); None when no drop was loaded. A ``raw.drops`` from before key
    fingerprints were recorded has no ``key_fingerprint`` column: fingerprint None."""
    columns = {name for (name,) in conn.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'drops'"
    ).fetchall()}
    if not columns:
        return None
    fingerprint = "key_fingerprint" if "key_fingerprint" in columns else "null"
    row = conn.execute(f"select drop_id, {fingerprint}, pseudonym_key from raw.drops "
                       "order by loaded_at desc limit 1").fetchall()
    return LoadedKey(*row[0]) if row else None


def _archive_table(drop_id: str, records_sha256: str) -> str:
    return "records__" + re.sub(r"[^0-9A-Za-z]+", "_", drop_id).strip("_") + "__" + records_sha256[:12]


def _first_infusion_dates(frame: pd.DataFrame) -> dict[str, object]:
    """record_id -> the earliest valid infusion date (a ``date``) of the record; records without one are absent."""
    if "infusion_date" not in frame:
        return {}
    first: dict[str, object] = {}
    given = frame["record_id"].notna() & frame["infusion_date"].notna()
    for record_id, text in zip(frame.loc[given, "record_id"], frame.loc[given, "infusion_date"]):
        day = parse_iso_date(text)
        if day is not None and (record_id not in first or day < first[record_id]):
            first[record_id] = day
    return first


def _identifiers_missing(frame: pd.DataFrame, study: Study, source: str) -> list[Finding]:
    """A required identifier (the dictionary's identifier and required flags: mrn) empty on a row where its form
    holds data: an error finding per row (there is no value to show)."""
    findings: list[Finding] = []
    for field in (f for f in study.fields if f.identifier and f.required and f.name in frame):
        # the form's own values (record_id is on every row, and a checkbox column is exported 0 on every row)
        others = [f.name for f in study.fields_of(field.form)
                  if not f.identifier and not f.is_checkbox and f.name != "record_id" and f.name in frame]
        if not others:
            continue
        def given(column: str) -> pd.Series:
            return passing(frame[column], bool)

        filled = pd.concat([given(c) for c in others], axis=1).any(axis=1)
        blank = ~given(field.name)
        for record_id, event, row in frame.loc[filled & blank, ["record_id", "redcap_event_name", "_source_row"]] \
                .itertuples(index=False):
            findings.append(RULES["identifier_missing"].finding(
                f"{source}, row {row}: {field.name} (required) is empty on the {field.form} form of record "
                f"{record_id}", record_id=record_id, event=event, instrument=field.form, field=field.name,
                source_row=int(row)))
    return findings


def _deidentify(frame: pd.DataFrame, study: Study, key: PseudonymKey, source: str) -> tuple[pd.DataFrame, list[Finding]]:
    """Replace identifier columns in place of their values; returns findings that never carry the values."""
    findings: list[Finding] = _identifiers_missing(frame, study, source)
    if "mrn" in frame:  # one HMAC per patient, not per row
        mrns = pd.unique(frame["mrn"].dropna().to_numpy(dtype=object))
        by_mrn = {mrn: pseudonym(mrn, key) for mrn in mrns}
        frame[PSEUDONYM_COLUMN] = [by_mrn.get(mrn) for mrn in frame["mrn"]]
    if "dob" in frame:
        day0 = _first_infusion_dates(frame)
        given = frame["dob"].notna().to_numpy()  # the other rows have no age
        ages = []
        for record_id, event, dob_text, row in zip(*(frame[c].to_numpy()[given] for c in (
                "record_id", "redcap_event_name", "dob", "_source_row"))):
            born = parse_iso_date(dob_text)
            if born is None:
                findings.append(RULES["dob_invalid"].finding(
                    f"{source}, row {row}: date of birth is not a valid YYYY-MM-DD date; age is unknown",
                    record_id=record_id, event=event, instrument="enrollment", field="dob", value=REDACTED,
                    source_row=int(row)))
            first = day0.get(record_id)
            ages.append(age_in_years(born, first) if born and first else None)
        age = pd.array([None] * len(frame), dtype="Int64")
        age[given] = pd.array(ages, dtype="Int64")
        frame[AGE_COLUMN] = age
    for column in [c for c in frame.columns if c in study.column_owner and study.column_owner[c].identifier]:
        del frame[column]  # in place: the other columns are not copied
    return frame, findings


def read_drop(drop: Drop, study: Study, key: PseudonymKey,
              missing_codes: dict[str, str] | None = None) -> tuple[pd.DataFrame, LandingResult]:
    """Parse, check, normalise and de-identify a drop; nothing is written. Returns raw.records rows and the result.

    ``missing_codes``: the study's REDCap missing-data codes (default: REDCap's list).
    """
    started = time.perf_counter()
    result = LandingResult(
        drop=drop,
        records_sha256=sha256_of(drop.records_file),
        dictionary_sha256=sha256_of(drop.dictionary_file),
        archive_table="",
        export_rows=0,
        readable_rows=0,
        unreadable_rows=0,
        pseudonym_key=key.label,
        key_fingerprint=key.fingerprint,
    )
    result.archive_table = _archive_table(drop.drop_id, result.records_sha256)

    dictionary_name = drop.dictionary_file.name
    try:
        text, encoding, _, _ = decode(drop.dictionary_file.read_bytes(), dictionary_name)
        received = parse_dictionary(text, dictionary_name)
        result.findings += compare_dictionary(study, received, dictionary_name)
        delimiter = dictionary_delimiter(text)
        resaved = [w for w, bad in ((f"{encoding_name(encoding)} encoding", encoding not in ("utf-8", "utf-8-sig")),
                                    (f"{DELIMITERS[delimiter]}-delimited", delimiter != ",")) if bad]
        if resaved:
            result.findings.append(RULES["export_resaved"].finding(
                f"{dictionary_name} was re-saved by a spreadsheet program ({', '.join(resaved)}); it could be read "
                "without guessing and was read as such"))
    except (DictionaryError, UnreadableFileError) as exc:
        result.findings.append(RULES["dictionary_unreadable"].finding(str(exc)))

    parsed = parse_records(drop.records_file, set(study.export_columns), study.event_names)
    source = parsed.source
    result.export_rows = parsed.export_rows
    result.readable_rows = len(parsed.source_rows)
    result.unreadable_rows = parsed.export_rows - result.readable_rows
    result.findings += _file_findings(parsed)
    result.findings += compare_header(study, parsed.header, source)
    width = len(parsed.header)
    for row, n_fields, record_id, event in parsed.ragged:
        if row in parsed.swallowing_rows:
            continue  # the stray-quote finding names it
        # the first cells are read before any stray quote or extra delimiter further right: the record, the event
        named = f" (record {record_id}, event {event})" if record_id and event in study.event_names else ""
        result.findings.append(RULES["unreadable_row"].finding(
            f"{source}, row {row}{named}: {n_fields} fields where the header has {width}; the row cannot be aligned "
            "with its columns and was not loaded", source_row=row, record_id=record_id if named else None,
            event=event if named else None))
    result.seconds["parse"] = time.perf_counter() - started

    frame = _text_frame(parsed)
    frame["_source_row"] = parsed.source_rows
    result.findings += _replaced_cells(frame, parsed, study)
    result.findings += normalise_export(frame, study, parsed.format, parse_missing_data_codes(None)
                                        if missing_codes is None else missing_codes, source, parsed.distinct)
    for column in study.export_columns:  # a missing column lands as NULL; the gate has a finding for it
        if column not in frame:
            frame[column] = None
    frame, dob_findings = _deidentify(frame, study, key, source)
    result.findings += dob_findings
    landed = {"_drop_id": drop.drop_id, "_source_row": frame["_source_row"]} | {c: frame[c] for c in
                                                                                landed_columns(study)}
    frame = pd.DataFrame(landed, copy=False)  # one copy, in landed order, in as few blocks as there are dtypes
    result.seconds["deidentify"] = time.perf_counter() - started - result.seconds["parse"]
    return frame, result


def _text_frame(parsed: ParsedRecords) -> pd.DataFrame:
    """The readable rows as a frame of text (object dtype), one column per header field, a cell that is empty or
    only whitespace as None. The frame holds ``parsed.cells`` as it is (one block, not copied)."""
    return pd.DataFrame(parsed.cells.T, columns=parsed.header, dtype=object, copy=False)


def _file_findings(parsed: ParsedRecords) -> list[Finding]:
    """Findings about the records file as a whole: how it was re-saved, repeated headers, stray quotes."""
    source, findings = parsed.source, []
    if parsed.format.resaved:
        findings.append(RULES["export_resaved"].finding(
            f"{source} was re-saved by a spreadsheet program ({', '.join(parsed.format.resaved)}); it could be read "
            "without guessing and was read as such"))
    if parsed.repeated_headers:
        lines = parsed.repeated_headers
        findings.append(RULES["repeated_header"].finding(
            f"{source}, line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:5]))}: the header line is "
            f"repeated ({len(lines)} time{'s' if len(lines) > 1 else ''}): exports were concatenated; "
            "the repeated header is not a data row and was skipped"))
    for first, last, record_id, event, count in parsed.swallowed:
        findings.append(RULES["rows_swallowed_by_quote"].finding(
            f"{source}, lines {first}–{last}: a stray double quote in record {record_id} ({event}) runs over "
            f"{count} following row{'s' if count > 1 else ''}, which could not be read; find the stray \" in a "
            f"free-text field of record {record_id} in REDCap and export again",
            record_id=record_id, event=event or None))
    return findings


def _replaced_cells(frame: pd.DataFrame, parsed: ParsedRecords, study: Study) -> list[Finding]:
    """One finding per cell whose bytes were not valid UTF-8 (the value of an identifier is never shown)."""
    if not parsed.replaced_rows:
        return []
    findings = []
    rows = frame[frame["_source_row"].isin(parsed.replaced_rows)]
    owner = study.column_owner
    for column in parsed.header:
        if column not in rows:
            continue
        hit = rows[rows[column].astype("string").str.contains("\ufffd", regex=False).fillna(False).astype(bool)]
        for row in hit.itertuples(index=False):
            values = dict(zip(hit.columns, row))
            f = owner.get(column)
            findings.append(RULES["encoding_replaced"].finding(
                f"{parsed.source}, row {values['_source_row']}: {column} of record {values.get('record_id')} holds "
                "bytes that are neither UTF-8 nor Windows-1252 text; they were replaced by \ufffd",
                record_id=values.get("record_id"), event=values.get("redcap_event_name"), field=column,
                instrument=f.form if f else None, source_row=int(values["_source_row"]),
                value=REDACTED if f is not None and f.identifier else None))
    return findings


def land_drop(conn: duckdb.DuckDBPyConnection, drop: Drop, study: Study, key: PseudonymKey,
              code_version: str = "", missing_codes: dict[str, str] | None = None, rekey: str = "") -> LandingResult:
    """Read a drop and make it the current raw snapshot, recording the key's fingerprint in ``raw.drops``.
    Reloading the same files with the same key writes nothing; a drop with a fault of the file as a whole
    (:attr:`LandingResult.stops`) writes nothing either.

    ``rekey``: ``SSC_REKEY``, the new key's fingerprint for a deliberate re-keying (``key_continuity``).
    Raises :class:`~ingest.deidentify.KeyRefused` when ``key`` is not the key of the drop loaded last, and
    :class:`~ingest.drops.DropError` for a drop exported before the last drop loaded; nothing is written then.
    """
    continuity = key_continuity(key, previous_key(conn), rekey)
    if continuity.refusal:
        raise KeyRefused(continuity.refusal)
    frame, result = read_drop(drop, study, key, missing_codes)
    result.rekeyed_from, result.key_note = continuity.rekeyed_from, continuity.note
    if result.stops:
        # nothing is loaded: cell-level findings would only repeat, row by row, what the file-level ones say
        result.findings = [f for f in result.findings if f.source_row is None]
        log.info("drop %s: not loaded: %s", drop.drop_id, "; ".join(f.rule for f in result.stops))
        return result
    started = time.perf_counter()
    check_not_older(drop, last_loaded(conn, drop.drop_id))
    conn.execute("create schema if not exists raw")
    conn.execute("create schema if not exists raw_archive")
    conn.execute("""
        create table if not exists raw.drops (
            drop_id varchar, records_file varchar, records_sha256 varchar, dictionary_file varchar,
            dictionary_sha256 varchar, export_datetime timestamp, export_rows integer, readable_rows integer,
            unreadable_rows integer, archive_table varchar, pseudonym_key varchar, code_version varchar,
            loaded_at timestamp, key_fingerprint varchar, rekeyed_from varchar, primary key (drop_id, records_sha256))
    """)
    for column in ("key_fingerprint", "rekeyed_from"):  # a raw.drops from before they were recorded
        conn.execute(f"alter table raw.drops add column if not exists {column} varchar")
    known = conn.execute(
        "select count(*) from raw.drops where drop_id = ? and records_sha256 = ? and dictionary_sha256 = ? "
        "and key_fingerprint = ?",
        [drop.drop_id, result.records_sha256, result.dictionary_sha256, result.key_fingerprint],
    ).fetchall()[0][0]
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw_archive' and table_name = ?",
        [result.archive_table],
    ).fetchall()[0][0]
    result.already_loaded = bool(known and exists)
    if not result.already_loaded:
        select = ", ".join(
            f'cast("{c}" as {"integer" if c in ("_source_row", AGE_COLUMN) else "varchar"}) as "{c}"'
            for c in frame.columns
        )
        # one thread: reading text cells of a pandas frame holds the GIL, so a second thread adds only its buffers
        # (at 20,000 patients about 55 MB of peak memory and some CPU time)
        threads = conn.execute("select current_setting('threads')").fetchall()[0][0]
        conn.register("landing_frame", frame)
        try:
            conn.execute("set threads = 1")
            conn.execute(f'create or replace table raw_archive."{result.archive_table}" as select {select} from landing_frame')
        finally:
            conn.execute(f"set threads = {int(threads)}")
            conn.unregister("landing_frame")
        conn.execute("delete from raw.drops where drop_id = ? and records_sha256 = ?", [drop.drop_id, result.records_sha256])
        conn.execute(
            "insert into raw.drops (drop_id, records_file, records_sha256, dictionary_file, dictionary_sha256, "
            "export_datetime, export_rows, readable_rows, unreadable_rows, archive_table, pseudonym_key, "
            "code_version, loaded_at, key_fingerprint, rekeyed_from) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [drop.drop_id, drop.records_file.name, result.records_sha256, drop.dictionary_file.name,
             result.dictionary_sha256, drop.export_datetime, result.export_rows, result.readable_rows,
             result.unreadable_rows, result.archive_table, result.pseudonym_key, code_version,
             datetime.now(timezone.utc).replace(tzinfo=None), result.key_fingerprint, result.rekeyed_from],
        )
    current = conn.execute(
        "select sql from duckdb_views() where schema_name = 'raw' and view_name = 'records'"
    ).fetchall()
    if not current or result.archive_table not in current[0][0]:
        conn.execute(f'create or replace view raw.records as select * from raw_archive."{result.archive_table}"')
        conn.execute(
            "create or replace view raw.current_drop as select * from raw.drops where archive_table = "
            f"'{result.archive_table}'"
        )
    result.seconds["write"] = time.perf_counter() - started
    log.info(
        "drop %s: %d export rows, %d loaded to raw, %d unreadable, %d findings (%s)",
        drop.drop_id, result.export_rows, result.readable_rows, result.unreadable_rows, len(result.findings),
        "already loaded, nothing written" if result.already_loaded else f"written to raw_archive.{result.archive_table}",
    )
    return result
