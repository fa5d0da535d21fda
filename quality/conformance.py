"""Conformance and completeness of raw.records, and the placement rules that quarantine rows.

Input: the raw.records rows of one drop (all VARCHAR/None, plus ``_source_row`` and ``_drop_id``), as a
DataFrame or read a part at a time from the warehouse (:class:`WarehouseRecords`: the keys of every row, repeated
rows found in DuckDB, and per instrument only its columns of the rows that have one filled), and the
:class:`~study.definition.Study`. GX is the engine: the placement suite and one suite per instrument (built from
the dictionary by :mod:`quality.suites`) are validated and the findings come from their unexpected rows.

Outputs (:class:`ConformanceResult`): ``findings`` (quality.findings columns), ``quarantine`` (one row per
quarantined row of the records file: ``_source_row, record_id, event, rule, message``), ``kept`` (``_source_row``
and the four keys of the rows that were not quarantined; ``len(kept) + len(quarantine) == len(records)``),
per-suite ``summaries`` and the GX ``runs`` (for :func:`orchestration.checks.suite_check_result`).

What the dbt staging does with the findings: cells of findings with action ``nulled`` are null, keyed by
``(source_row, field)`` where field is the export column (``autoantibodies___2`` for a checkbox choice);
assessments with action ``excluded`` are left out, keyed by ``(source_row, instrument)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from quality.findings import Finding, findings_frame
from quality.gx_findings import dedupe_findings, findings_from_run, findings_with_rows
from quality.gx_runner import GXRunner, SuiteRun
from quality.rules import RULES
from quality.suites import (
    PLACEMENT_RULES,
    RAW_INDEX_COLUMNS,
    ROW_KEYS,
    assessment_mask,
    checked_fields,
    detection_columns,
    has_text,
    instrument_frame,
    instrument_suite,
    placement_suite,
    suite_name_of,
    valid_dates,
)
from study.definition import KEY_COLUMNS, Study

ENROLLMENT_FORM = "enrollment"
DAY0_FORM = "infusion"  # day 0 = the first infusion (analysis plan)
QUARANTINE_COLUMNS = ("_source_row", "record_id", "event", "rule", "message")
ROW_LEVEL_RULES = PLACEMENT_RULES[:5]  # rules judged row by row; the record-level ones follow
POSITIVE_INT = r"^[1-9]\d*$"


@dataclass
class ConformanceResult:
    findings: pd.DataFrame
    quarantine: pd.DataFrame
    kept: pd.DataFrame
    summaries: dict[str, dict] = field(default_factory=dict)
    runs: list[SuiteRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def quarantined_rows(self) -> int:
        return int(len(self.quarantine))


# ---- preparation -------------------------------------------------------------------------------------------


def prepare_records(records: pd.DataFrame, study: Study) -> pd.DataFrame:
    """A positional copy of ``records`` with every key/export column present (missing ones as None) and a
    ``_source_row`` (header = 1; synthesised from the position if absent)."""
    frame = records.reset_index(drop=True).copy()
    missing = [c for c in (*KEY_COLUMNS, *study.export_columns)
               if c not in frame.columns and c not in study.identifiers]
    if missing:
        frame = pd.concat([frame, pd.DataFrame({c: [None] * len(frame) for c in missing}, index=frame.index,
                                               dtype=object)], axis=1)
    if "_source_row" not in frame.columns:
        frame["_source_row"] = np.arange(2, len(frame) + 2)
    return as_cells(frame)


def as_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its data columns as raw.records holds them: text or None, an empty or blank cell None.
    Empty strings never reach raw.records (the reader makes them null), but a hand-built frame may have them, or
    typed columns. Changes ``frame`` in place and returns it."""
    for c in frame.columns:
        if c.startswith("_"):
            continue
        s = frame[c]
        if s.dtype == object or str(s.dtype).startswith("string"):
            present = has_text(s)
            if not present.all():
                frame[c] = s.astype(object).where(present, None)
        else:  # a typed column from a hand-built frame: back to text, as raw.records holds it
            frame[c] = s.astype("string").astype(object).where(s.notna(), None)
    return frame


class FrameRecords:
    """The records of one drop held as a DataFrame (:func:`prepare_records` of it), read a part at a time like
    :class:`WarehouseRecords`. Positions are the frame's row order."""

    def __init__(self, records: pd.DataFrame, study: Study):
        self.frame = prepare_records(records, study)

    def keys(self) -> pd.DataFrame:
        """``_source_row`` and the four REDCap keys of every row, index = position."""
        return self.frame[["_source_row", *KEY_COLUMNS]].copy()

    def later_copies(self) -> pd.Series:
        """Int64 by position: the ``_source_row`` of the first row whose data columns (every column not starting
        with ``_``) are all equal to this row's, where this row is a later copy of it; NA elsewhere."""
        return self.first_copies(self.frame, [c for c in self.frame.columns if not c.startswith("_")])

    @staticmethod
    def first_copies(frame: pd.DataFrame, data_cols: list[str]) -> pd.Series:
        """:meth:`later_copies` of ``frame`` (rows in position order) judged on ``data_cols``; same index."""
        later_copy = frame.duplicated(subset=data_cols, keep="first")
        first_row = pd.Series(pd.NA, index=frame.index, dtype="Int64")
        if later_copy.any():
            hashes = pd.util.hash_pandas_object(frame[data_cols], index=False)
            first_of_hash = frame.loc[~later_copy].assign(_h=hashes[~later_copy]).drop_duplicates("_h")
            mapping = dict(zip(first_of_hash["_h"], first_of_hash["_source_row"]))
            first_row[later_copy] = hashes[later_copy].map(mapping).astype("Int64")
        return first_row

    def rows_of(self, columns, any_filled, positions: np.ndarray) -> pd.DataFrame:
        """``columns`` (missing ones as None) of the rows at ``positions`` (a boolean array) where at least one of
        ``any_filled`` is not null, index = position."""
        frame = self.frame
        candidate = positions.copy()
        if any_filled:
            candidate &= frame[list(any_filled)].notna().any(axis=1).to_numpy()
        else:
            candidate[:] = False
        out = frame.loc[candidate, [c for c in columns if c in frame.columns]]
        return out.reindex(columns=list(columns))


class WarehouseRecords:
    """raw.records of the current drop in the warehouse, read a part at a time: the keys of every row, the
    repeated rows found in DuckDB, and per instrument only the rows with one of its columns filled and only its
    columns (at 20,000 patients a whole read is 213,747 rows x 240 text columns). Positions are the rows in
    ``_source_row`` order (a line of the records file: one row each). Each part comes back as :func:`as_cells`
    would make it.

    The repeated rows are found on the cells as stored: raw.records holds no empty or blank cell (the reader makes
    them null), so they compare as :func:`as_cells` frames do."""

    def __init__(self, conn, table: str = "raw.records"):
        self.conn, self.table = conn, table
        self.columns = [r[0] for r in conn.execute(f"select * from {table} limit 0").description]
        self._source_rows: np.ndarray | None = None  # every row's _source_row, in position order (keys())

    def _select(self, columns) -> str:
        return ", ".join(f'"{c}"' if c in self.columns else f'null::varchar as "{c}"' for c in columns)

    def _all_source_rows(self) -> np.ndarray:
        if self._source_rows is None:
            self.keys()
        return self._source_rows

    def _positions(self, source_rows) -> np.ndarray:
        return np.searchsorted(self._all_source_rows(), np.asarray(source_rows, dtype="int64"))

    def keys(self) -> pd.DataFrame:
        frame = self.conn.execute(f"select {self._select(['_source_row', *KEY_COLUMNS])} from {self.table} "
                                  f"order by _source_row").df()
        source_rows = frame["_source_row"].to_numpy(dtype="int64")
        if len(source_rows) > 1 and not (np.diff(source_rows) > 0).all():
            raise ValueError(f"{self.table}: _source_row is not one per row of the records file")
        self._source_rows = source_rows
        return as_cells(frame.astype({c: object for c in KEY_COLUMNS}))

    def later_copies(self) -> pd.Series:
        # rows whose data cells hash alike are read and compared in full (a hash may collide)
        data = [c for c in self.columns if not c.startswith("_")]
        out = pd.Series(pd.NA, index=pd.RangeIndex(len(self._all_source_rows())), dtype="Int64")
        cells = ", ".join(f'"{c}"' for c in data)
        alike = self.conn.execute(f"""
            with hashed as (select _source_row, hash({cells}) as h from {self.table})
            select _source_row from hashed where h in (select h from hashed group by h having count(*) > 1)
            """).fetchall()
        if not alike:
            return out
        rows = self.conn.execute(
            f"select _source_row, {cells} from {self.table} where _source_row in "
            f"(select unnest(?::bigint[])) order by _source_row", [[r for (r,) in alike]]).df()
        rows = as_cells(rows.astype({c: object for c in data}))
        first = FrameRecords.first_copies(rows, data)
        later = first.notna().to_numpy()
        out.iloc[self._positions(rows["_source_row"].to_numpy()[later])] = first[later].to_numpy()
        return out

    def rows_of(self, columns, any_filled, positions: np.ndarray) -> pd.DataFrame:
        if not any(c in self.columns for c in any_filled):
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        filled = " or ".join(f'"{c}" is not null' for c in any_filled if c in self.columns)
        frame = self.conn.execute(f"select {self._select(columns)} from {self.table} where {filled} "
                                  f"order by _source_row").df()
        frame.index = self._positions(frame["_source_row"].to_numpy())
        frame = frame.loc[positions[frame.index.to_numpy()]] if len(frame) else frame
        return as_cells(frame.astype({c: object for c in columns if c != "_source_row"}))


def form_rows(source, study: Study, form: str, positions: np.ndarray) -> tuple[pd.DataFrame, pd.Series]:
    """The rows at ``positions`` (boolean by position) that are assessments of ``form``
    (:func:`~quality.suites.assessment_mask`), with the columns its suite and mask need; and the mask over the
    rows read (the rows with one of the form's detection columns filled)."""
    detect = detection_columns(study, form, study.export_columns)
    columns = list(dict.fromkeys([*ROW_KEYS, *detect, *(c for f in checked_fields(study, form)
                                                        for c in f.export_columns)]))
    rows = source.rows_of(columns, detect, positions)
    return rows, assessment_mask(rows, study, form)


def placement_frame(source, study: Study) -> pd.DataFrame:
    """Keys of every row plus the derived flags the placement suite checks (``source``: :class:`FrameRecords` or
    :class:`WarehouseRecords`).

    ``record__has_*`` are judged on the rows that pass the row-level rules (and are None on the others).
    """
    out = source.keys()
    rid = out["record_id"]
    event = out["redcap_event_name"]
    rep = out["redcap_repeat_instrument"]
    inst = out["redcap_repeat_instance"].astype("string").str.strip()
    inst_ok = inst.str.match(POSITIVE_INT).fillna(False).astype(bool)
    needs_instance = rep.notna() | event.isin(list(study.repeating_events))
    out["redcap_repeat_instance__valid"] = (inst_ok | (inst.isna() & ~needs_instance)).astype(bool)

    first_row = source.later_copies().set_axis(out.index)
    later_copy = first_row.notna()
    out["row__is_later_copy"] = later_copy.astype(bool)
    out["row__first_copy_source_row"] = first_row

    row_ok = (rid.notna() & event.notna() & event.isin(list(study.event_names))
              & (rep.isna() | rep.isin(list(study.repeating_instruments)))
              & out["redcap_repeat_instance__valid"] & ~later_copy)
    placed = row_ok.to_numpy()
    if ENROLLMENT_FORM in study.forms:
        rows, mask = form_rows(source, study, ENROLLMENT_FORM, placed)
        enrolled = set(rows.loc[mask, "record_id"])
    else:
        enrolled = set(rid[row_ok])
    day0_field = study.date_field_of(DAY0_FORM) if DAY0_FORM in study.forms else None
    if day0_field is not None:
        rows, mask = form_rows(source, study, DAY0_FORM, placed)
        infused = mask & valid_dates(rows[day0_field.name], day0_field)
        with_day0 = set(rows.loc[infused, "record_id"])
    else:
        with_day0 = set(rid[row_ok])
    has_enr = rid.isin(list(enrolled))
    has_day0 = rid.isin(list(with_day0))
    out["record__has_enrollment"] = has_enr.astype(object).where(row_ok, None)
    # A record without enrollment is reported under that rule only.
    out["record__has_valid_infusion_date"] = has_day0.astype(object).where(row_ok & has_enr, None)
    for c in ("redcap_repeat_instance__valid", "row__is_later_copy"):
        out[c] = out[c].astype(object)
    return out


# ---- the run -----------------------------------------------------------------------------------------------


def run_conformance(records, study: Study, runner: GXRunner | None = None, *,
                    build_docs: bool = True) -> ConformanceResult:
    """Validate the records of one drop against the placement suite and the dictionary-derived suites.

    ``records``: a DataFrame of raw.records rows, or a :class:`WarehouseRecords` (raw.records read a part at a
    time in DuckDB). ``runner``: the run's :class:`~quality.gx_runner.GXRunner` (one context per run; Data Docs
    are rebuilt at the end when ``build_docs``). Without one, an in-memory context is used (no Data Docs).
    """
    started = time.perf_counter()
    runner = runner or GXRunner()
    source = records if isinstance(records, WarehouseRecords) else FrameRecords(records, study)
    identifiers = study.identifiers
    runs: list[SuiteRun] = []
    findings: list[Finding] = []

    # 1. placement (quarantine)
    pframe = placement_frame(source, study)
    prun = runner.validate(placement_suite(study), pframe, index_columns=RAW_INDEX_COLUMNS)
    runs.append(prun)
    order = {r: i for i, r in enumerate(PLACEMENT_RULES)}
    first: dict[int, Finding] = {}
    for row, f in sorted(findings_with_rows(prun, identifiers),
                         key=lambda rf: order.get(rf[1].rule, len(order))):
        findings.append(f)
        if row is not None and f.action == "quarantined" and row not in first:
            first[row] = f
    q_rows = sorted(first)
    quarantine = pd.DataFrame({
        "_source_row": pframe["_source_row"].iloc[q_rows].to_numpy() if q_rows else [],
        "record_id": [first[r].record_id for r in q_rows],
        "event": [first[r].event for r in q_rows],
        "rule": [first[r].rule for r in q_rows],
        "message": [first[r].message for r in q_rows],
    }, columns=list(QUARANTINE_COLUMNS))
    quarantine["_source_row"] = pd.to_numeric(quarantine["_source_row"], errors="coerce").astype("Int64")
    row_quarantined = np.zeros(len(pframe), dtype=bool)
    all_quarantined = np.zeros(len(pframe), dtype=bool)
    for r, f in first.items():
        all_quarantined[r] = True
        if f.rule in ROW_LEVEL_RULES:
            row_quarantined[r] = True

    # 2. one suite per instrument, on the rows that could be placed row-wise (record-level quarantined rows
    #    are still checked: their findings tell the steward what to fix, e.g. an invalid infusion date)
    for form in study.forms:
        rows, mask = form_rows(source, study, form, ~row_quarantined)
        iframe = instrument_frame(rows, study, form, mask)
        run = runner.validate(instrument_suite(study, form), iframe, index_columns=RAW_INDEX_COLUMNS,
                              asset_name=suite_name_of(form))
        runs.append(run)
        findings.extend(findings_from_run(run, identifiers))

    if build_docs:
        runner.build_docs()
    return ConformanceResult(
        findings=findings_frame(dedupe_findings(findings)),
        quarantine=quarantine,
        kept=pframe.loc[~all_quarantined, ["_source_row", *KEY_COLUMNS]],
        summaries={r.suite_name: r.summary() for r in runs},
        runs=runs,
        seconds=time.perf_counter() - started,
    )


# ---- gates and helpers for the lead ------------------------------------------------------------------------


def duplicate_keys(records: pd.DataFrame, quarantine: pd.DataFrame) -> pd.DataFrame:
    """Rows left after quarantine that share (record_id, redcap_event_name, redcap_repeat_instrument,
    redcap_repeat_instance): the blocking gate. Columns: ``_source_row`` + the four keys + ``n`` (rows
    sharing the key); empty when the gate passes."""
    cols = ["_source_row", *KEY_COLUMNS]
    frame = records.reset_index(drop=True)
    if "_source_row" not in frame.columns:
        frame = frame.assign(_source_row=np.arange(2, len(frame) + 2))
    if len(quarantine):
        frame = frame.loc[~frame["_source_row"].isin(list(quarantine["_source_row"].dropna()))]
    keys = frame[list(KEY_COLUMNS)].astype("string").fillna("\x00")
    n = keys.groupby(list(KEY_COLUMNS), sort=False, dropna=False)[KEY_COLUMNS[0]].transform("size")
    dup = frame.loc[n > 1, cols].copy()
    dup["n"] = n[n > 1].astype(int).to_numpy()
    return dup.sort_values(["record_id", "redcap_event_name", "_source_row"], na_position="last").reset_index(
        drop=True)


def duplicate_key_findings(duplicates: pd.DataFrame) -> pd.DataFrame:
    """Findings (action ``blocked``) for the rows :func:`duplicate_keys` returned."""
    r = RULES["duplicate_key"]
    out = []
    for row in duplicates.to_dict("records"):
        inst = row.get("redcap_repeat_instance")
        try:
            instance = int(inst) if inst is not None and not pd.isna(inst) else None
        except (TypeError, ValueError):
            instance = None
        rep = row.get("redcap_repeat_instrument")
        src = row.get("_source_row")
        out.append(Finding(
            rule=r.rule, severity=r.severity, category=r.category, subcategory=r.subcategory, action=r.action,
            record_id=row.get("record_id"), event=row.get("redcap_event_name"),
            instrument=rep if isinstance(rep, str) else None, instance=instance,
            source_row=int(src) if src is not None and not pd.isna(src) else None,
            message=f"{row.get('n')} rows share record {row.get('record_id')}, event "
                    f"{row.get('redcap_event_name')}, repeat instrument {rep or '-'} and instance {inst or '-'}",
            hint=r.hint))
    return findings_frame(out)


def nulled_cells(findings: pd.DataFrame) -> pd.DataFrame:
    """(source_row, field) of every cell to null in staging."""
    f = findings.loc[findings["action"] == "nulled", ["source_row", "field"]]
    return f.dropna().drop_duplicates().reset_index(drop=True)


def excluded_assessments(findings: pd.DataFrame) -> pd.DataFrame:
    """(source_row, instrument) of every assessment to leave out of the analysis."""
    f = findings.loc[findings["action"] == "excluded", ["source_row", "instrument"]]
    return f.dropna().drop_duplicates().reset_index(drop=True)
