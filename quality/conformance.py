"""Conformance and completeness of raw.records, and the placement rules that quarantine rows.

Input: the raw.records rows of one drop (all VARCHAR/None, plus ``_source_row`` and ``_drop_id``) and the
:class:`~study.definition.Study`. GX is the engine: the placement suite and one suite per instrument (built
from the dictionary by :mod:`quality.suites`) are validated and the findings come from their unexpected rows.

Outputs (:class:`ConformanceResult`): ``findings`` (quality.findings columns), ``quarantine`` (one row per
quarantined row of the records file: ``_source_row, record_id, event, rule, message``), ``kept`` (the input
rows that were not quarantined; ``len(kept) + len(quarantine) == len(records)``), per-suite ``summaries`` and
the GX ``runs`` (for :func:`orchestration.checks.suite_check_result`).

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
    assessment_mask,
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
    # Empty strings never reach raw.records, but a hand-built frame may have them: they are empty cells.
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


def placement_frame(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Keys of every row plus the derived flags the placement suite checks.

    ``record__has_*`` are judged on the rows that pass the row-level rules (and are None on the others).
    """
    out = frame[["_source_row", *KEY_COLUMNS]].copy()
    rid = frame["record_id"]
    event = frame["redcap_event_name"]
    rep = frame["redcap_repeat_instrument"]
    inst = frame["redcap_repeat_instance"].astype("string").str.strip()
    inst_ok = inst.str.match(POSITIVE_INT).fillna(False).astype(bool)
    needs_instance = rep.notna() | event.isin(list(study.repeating_events))
    out["redcap_repeat_instance__valid"] = (inst_ok | (inst.isna() & ~needs_instance)).astype(bool)

    data_cols = [c for c in frame.columns if not c.startswith("_")]
    later_copy = frame.duplicated(subset=data_cols, keep="first")
    out["row__is_later_copy"] = later_copy.astype(bool)
    first_row = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if later_copy.any():
        hashes = pd.util.hash_pandas_object(frame[data_cols], index=False)
        first_of_hash = frame.loc[~later_copy].assign(_h=hashes[~later_copy]).drop_duplicates("_h")
        mapping = dict(zip(first_of_hash["_h"], first_of_hash["_source_row"]))
        first_row[later_copy] = hashes[later_copy].map(mapping).astype("Int64")
    out["row__first_copy_source_row"] = first_row

    row_ok = (rid.notna() & event.notna() & event.isin(list(study.event_names))
              & (rep.isna() | rep.isin(list(study.repeating_instruments)))
              & out["redcap_repeat_instance__valid"] & ~later_copy)
    placed = frame.loc[row_ok]
    if ENROLLMENT_FORM in study.forms:
        enrolled = set(placed.loc[assessment_mask(placed, study, ENROLLMENT_FORM), "record_id"])
    else:
        enrolled = set(placed["record_id"])
    day0_field = study.date_field_of(DAY0_FORM) if DAY0_FORM in study.forms else None
    if day0_field is not None:
        infused = assessment_mask(placed, study, DAY0_FORM) & valid_dates(placed[day0_field.name], day0_field)
        with_day0 = set(placed.loc[infused, "record_id"])
    else:
        with_day0 = set(placed["record_id"])
    has_enr = rid.isin(list(enrolled))
    has_day0 = rid.isin(list(with_day0))
    out["record__has_enrollment"] = has_enr.astype(object).where(row_ok, None)
    # A record without enrollment is reported under that rule only.
    out["record__has_valid_infusion_date"] = has_day0.astype(object).where(row_ok & has_enr, None)
    for c in ("redcap_repeat_instance__valid", "row__is_later_copy"):
        out[c] = out[c].astype(object)
    return out


# ---- the run -----------------------------------------------------------------------------------------------


def run_conformance(records: pd.DataFrame, study: Study, runner: GXRunner | None = None, *,
                    build_docs: bool = True) -> ConformanceResult:
    """Validate raw.records (one drop) against the placement suite and the dictionary-derived suites.

    ``runner``: the run's :class:`~quality.gx_runner.GXRunner` (one context per run; Data Docs are rebuilt at
    the end when ``build_docs``). Without one, an in-memory context is used (no Data Docs).
    """
    started = time.perf_counter()
    runner = runner or GXRunner()
    frame = prepare_records(records, study)
    identifiers = study.identifiers
    runs: list[SuiteRun] = []
    findings: list[Finding] = []

    # 1. placement (quarantine)
    pframe = placement_frame(frame, study)
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
    row_quarantined = np.zeros(len(frame), dtype=bool)
    all_quarantined = np.zeros(len(frame), dtype=bool)
    for r, f in first.items():
        all_quarantined[r] = True
        if f.rule in ROW_LEVEL_RULES:
            row_quarantined[r] = True

    # 2. one suite per instrument, on the rows that could be placed row-wise (record-level quarantined rows
    #    are still checked: their findings tell the steward what to fix, e.g. an invalid infusion date)
    checkable = frame.loc[~row_quarantined]
    for form in study.forms:
        mask = assessment_mask(checkable, study, form)
        iframe = instrument_frame(checkable, study, form, mask)
        run = runner.validate(instrument_suite(study, form), iframe, index_columns=RAW_INDEX_COLUMNS,
                              asset_name=suite_name_of(form))
        runs.append(run)
        findings.extend(findings_from_run(run, identifiers))

    if build_docs:
        runner.build_docs()
    kept = records.reset_index(drop=True).loc[~all_quarantined]
    return ConformanceResult(
        findings=findings_frame(dedupe_findings(findings)),
        quarantine=quarantine,
        kept=kept,
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
