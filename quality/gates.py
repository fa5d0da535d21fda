"""The gates: the drop as a whole, whole fields and whole endpoints.

A gate is ``{"gate": name, "passed": bool, "message": str}``; ``orchestration/assets`` make each a blocking asset
check. The thresholds are settings (orchestration/settings.py) passed in by the assets.

Gates on the drop (on ``quality/findings``, :func:`evaluate_gates`): ``structure_matches_study`` (no finding with
action ``blocked`` other than duplicate keys: the dictionary and header hold the study), ``quarantine_within_limit``
(quarantined share of the export rows), ``no_duplicate_keys`` (``duplicate_key`` findings), ``patients_present``,
``rows_reconcile`` (:func:`reconciliation`: export = loaded + quarantined, for the drop and per instrument) and
``fields_usable``.

A column that is broken throughout (a time part on every date, a spreadsheet re-save, labels instead of codes)
is nulled cell by cell by conformance and the row-level gates pass; the field gate stops the run instead, naming
the field, the likely cause and the endpoint it empties.

Field gate (``fields_usable``, on ``quality/findings``):

- :func:`field_profile`: per export column of the study, on the loaded (not quarantined) assessments of its
  instrument: ``filled`` cells and ``rejected`` ones (value-conformance findings of stage ``conformance`` with
  action ``nulled`` or ``excluded``, one per source row and field) -> ``quality.field_profile``.
- :func:`fields_gate`: blocks when a field with at least ``min_filled`` filled cells has a rejected share above
  ``max_share``, or when every filled cell of a field with at least :data:`ALL_REJECTED_MIN_FILLED` is
  rejected; the message names the field, the count, up to 3 rejected values and :func:`likely_cause`.
- :func:`reconciliation_in`, :func:`field_profile_in`: the reconciliation and the field profile counted in DuckDB on
  raw.records and quality.quarantine (no export row read into Python); :func:`reconciliation` and
  :func:`field_profile` count a frame the same way (:func:`records_in_memory`).

Endpoint gates (on ``quality/endpoints``):

- :data:`ENDPOINT_INPUTS`: the REDCap fields each outcome of the analysis plan needs.
- :func:`endpoint_patients`: per endpoint, the patients with analysable input in the marts.
- :func:`endpoint_coverage_gate`: blocks when an endpoint that had patients in the last published run has none
  now or lost more than ``max_loss`` of them, naming the input field that emptied it.
- :func:`os_exclusions_gate`: blocks when more than ``max_excluded`` patients are left out of overall survival
  (``marts.adtte`` without ANL01FL), naming each record and ``death_date``.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections import Counter
from functools import cache

import duckdb
import pandas as pd

from analysis._common import flagged
from analysis.settings import value
from quality.rules import RULES
from quality.suites import checked_fields, detection_columns
from study.definition import Field, Study

# a field with at least this many filled cells, all rejected, blocks whatever its size (study/analysis_settings.toml)
ALL_REJECTED_MIN_FILLED = value("gates.all_rejected_min_filled")

STRUCTURE_GATE = "structure_matches_study"
QUARANTINE_GATE = "quarantine_within_limit"
DUPLICATES_GATE = "no_duplicate_keys"
PATIENTS_GATE = "patients_present"
RECONCILE_GATE = "rows_reconcile"
FIELDS_GATE = "fields_usable"
ENDPOINT_GATE = "endpoint_coverage_kept"
OS_GATE = "os_exclusions_within_limit"
PATIENT_GATE = "one_record_per_patient"

# Rules of value conformance: a finding of these says the cell's value is unusable.
VALUE_CONFORMANCE_RULES = ("date_format", "number_format", "integer_format", "choice_code_invalid",
                           "checkbox_value_invalid", "value_out_of_range")
REJECTING_ACTIONS = ("nulled", "excluded")
SAMPLE_VALUES = 3
DUPLICATE_KEY_RULE = "duplicate_key"

PROFILE_COLUMNS = {"run_id": "VARCHAR", "drop_id": "VARCHAR", "field": "VARCHAR", "instrument": "VARCHAR",
                   "filled": "INTEGER", "rejected": "INTEGER", "rejected_share": "DOUBLE"}


# ---- the field profile ----------------------------------------------------------------------------------------


def rejected_cells(findings: pd.DataFrame) -> pd.DataFrame:
    """Value-conformance findings that made a cell unusable, one per ``(source_row, field)``, in source-row order.

    ``findings`` has the columns of ``quality.findings`` (``stage``, ``rule``, ``action``, ``field``, ``value``,
    ``source_row``)."""
    if findings.empty:
        return findings.reindex(columns=["source_row", "field", "value", "rule"])
    mask = ((findings["stage"] == "conformance") & findings["rule"].isin(VALUE_CONFORMANCE_RULES)
            & findings["action"].isin(REJECTING_ACTIONS) & findings["field"].notna() & findings["source_row"].notna())
    cells = findings.loc[mask, ["source_row", "field", "value", "rule"]].copy()
    cells["source_row"] = pd.to_numeric(cells["source_row"]).astype("int64")
    return cells.sort_values(["source_row", "field"], kind="stable").drop_duplicates(["source_row", "field"])


def field_profile(records: pd.DataFrame, findings: pd.DataFrame, study: Study, quarantined_rows=(),
                  drop_id: str | None = None) -> pd.DataFrame:
    """Filled and rejected cells per export column of the study (``quality.field_profile`` without ``run_id``), of a
    frame: :func:`field_profile_in` on it (:func:`records_in_memory`).

    ``records``: raw.records (``_source_row`` and the export columns as text; a missing column counts as empty).
    ``quarantined_rows``: source rows not loaded. A cell counts where its row is a loaded assessment of the
    field's instrument (what conformance validates); ``rejected`` <= ``filled``. Identifier fields and the record
    id are not profiled. Columns: drop_id, field, instrument, filled, rejected, rejected_share (0 when nothing
    is filled)."""
    with records_in_memory(records, quarantined_rows) as conn:
        return field_profile_in(conn, findings, study, drop_id)


# ---- the counts, where the data is (DuckDB) ---------------------------------------------------------------------


@contextlib.contextmanager
def records_in_memory(records: pd.DataFrame, quarantined=()):
    """An in-memory DuckDB with ``records`` as raw.records (``_source_row`` as BIGINT, every other column as text as
    :func:`quality.conformance.as_cells` makes it) and ``quarantined`` (source rows) as quality.quarantine: what
    :func:`reconciliation_in` and :func:`field_profile_in` count, for a frame (tests, hand-built drops)."""
    from quality.conformance import as_cells  # conformance validates, gates count: no import at module level

    frame = as_cells(records.reset_index(drop=True).copy())
    conn = duckdb.connect()
    try:
        conn.execute("create schema raw; create schema quality")
        conn.register("records_frame", frame)
        cells = ", ".join(f'cast("{c}" as {"bigint" if c == "_source_row" else "varchar"}) as "{c}"'
                          for c in frame.columns)
        conn.execute(f"create table raw.records as select {cells} from records_frame")
        conn.unregister("records_frame")
        conn.execute("create table quality.quarantine as select unnest(?::bigint[]) as source_row",
                     [sorted(int(r) for r in quarantined)])
        yield conn
    finally:
        conn.close()


@cache
def _spaces() -> str:
    """The characters Python's ``str.strip()`` removes (``str.isspace``): DuckDB's ``trim(text, characters)`` with
    them strips as Python does, so a cell is judged filled exactly as :func:`quality.suites.has_text` judges it.
    Found once per process (a scan of every code point; the SQL of a drop's judgement asks for it about 300 times)."""
    return "".join(filter(str.isspace, map(chr, range(sys.maxunicode + 1))))


def _has_text_sql(column: str, zero_is_empty: bool = False) -> str:
    """SQL for :func:`quality.suites.has_text` on ``column`` of raw.records (never null)."""
    empty = "('', '0')" if zero_is_empty else "('')"
    return f"""coalesce(trim(cast("{column}" as varchar), '{_spaces()}') not in {empty}, false)"""


def _assessment_sql(study: Study, form: str, columns: list[str]) -> str:
    """SQL for :func:`quality.suites.assessment_mask` of ``form`` on raw.records (never null)."""
    owner = study.column_owner
    filled = [_has_text_sql(c, zero_is_empty=bool(owner.get(c) and owner[c].is_checkbox))
              for c in detection_columns(study, form, columns)]
    sql = "(" + (" or ".join(filled) or "false") + ")"
    if "redcap_repeat_instrument" in columns:
        sql += f" and (redcap_repeat_instrument is null or redcap_repeat_instrument = '{form}')"
    return sql


def _quarantined_sql() -> str:
    """SQL: the raw.records row is in quality.quarantine (never null)."""
    return "coalesce(_source_row in (select source_row from quality.quarantine where source_row is not null), false)"


def record_columns(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns of raw.records, in order."""
    return [name for (name,) in conn.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = 'records' "
        "order by ordinal_position").fetchall()]


def reconciliation_in(conn: duckdb.DuckDBPyConnection, drop: dict, study: Study) -> pd.DataFrame:
    """``quality.reconciliation`` (see :func:`reconciliation`) counted in DuckDB on raw.records and
    quality.quarantine; no export row is read into Python."""
    columns = record_columns(conn)
    sums = ["count(*) filter (where not q)", "count(*) filter (where q)"]
    for i, _ in enumerate(study.forms):
        sums += [f"count(*) filter (where m_{i})", f"count(*) filter (where m_{i} and not q)",
                 f"count(*) filter (where m_{i} and q)"]
    masks = ", ".join(f"{_assessment_sql(study, form, columns)} as m_{i}" for i, form in enumerate(study.forms))
    counts = conn.execute(f"select {', '.join(sums)} from (select {_quarantined_sql()} as q, {masks} "
                          "from raw.records)").fetchall()[0]
    unreadable = int(drop.get("unreadable_rows") or 0)
    rows = [{"drop_id": drop.get("drop_id"), "instrument": None, "export_rows": int(drop.get("export_rows") or 0),
             "loaded_rows": int(counts[0]), "quarantined_rows": int(counts[1]) + unreadable}]
    for i, form in enumerate(study.forms):
        export, loaded, quarantined = counts[2 + 3 * i: 5 + 3 * i]
        rows.append({"drop_id": drop.get("drop_id"), "instrument": form, "export_rows": int(export),
                     "loaded_rows": int(loaded), "quarantined_rows": int(quarantined)})
    return pd.DataFrame(rows)


def field_profile_in(conn: duckdb.DuckDBPyConnection, findings: pd.DataFrame, study: Study,
                     drop_id: str | None = None) -> pd.DataFrame:
    """The field profile (see :func:`field_profile`) counted in DuckDB on raw.records and quality.quarantine; only
    the rejected cells of ``findings`` travel from Python."""
    columns = record_columns(conn)
    present = set(columns)
    profiled = [(i, form, column) for i, form in enumerate(study.forms) for f in checked_fields(study, form)
                for column in f.export_columns]
    counted = [(i, column) for i, _, column in profiled if column in present]
    masks = ", ".join(f"({_assessment_sql(study, form, columns)}) and not {_quarantined_sql()} as m_{i}"
                      for i, form in enumerate(study.forms))
    filled = (conn.execute("select " + ", ".join(f"count(*) filter (where m_{i} and {_has_text_sql(c)})"
                                                 for i, c in counted)
                           + f" from (select *, {masks} from raw.records)").fetchall()[0] if counted else ())
    n_filled = dict(zip(counted, (int(n) for n in filled)))
    n_rejected: dict[tuple[int, str], int] = {}
    cells = rejected_cells(findings)
    cells = cells[cells["field"].isin([c for _, c in counted])]
    if len(cells) and counted:
        conn.register("profile_rejected_cells", cells[["source_row", "field"]])
        try:
            n_rejected = dict(zip(counted, (int(n) for n in conn.execute(
                "select " + ", ".join(f"count(*) filter (where x.field = '{c}' and m_{i} and {_has_text_sql(c)})"
                                      for i, c in counted)
                + f" from profile_rejected_cells x join (select *, {masks} from raw.records) r "
                  "on r._source_row = x.source_row").fetchall()[0])))
        finally:
            conn.unregister("profile_rejected_cells")
    rows = []
    for i, form, column in profiled:
        filled_cells, rejected = n_filled.get((i, column), 0), n_rejected.get((i, column), 0)
        rows.append({"drop_id": drop_id, "field": column, "instrument": form, "filled": filled_cells,
                     "rejected": rejected, "rejected_share": rejected / filled_cells if filled_cells else 0.0})
    return pd.DataFrame(rows, columns=[c for c in PROFILE_COLUMNS if c != "run_id"])


# ---- likely causes of a column rejected as a whole -------------------------------------------------------------

_DATE_WITH_TIME = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(AM|PM|Z)?$", re.I)
_DAY_MONTH_DATE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-](\d{2}|\d{4})(\s+\d{1,2}:\d{2}(:\d{2})?)?$")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_SENTINEL = re.compile(r"^(-9{2,4}|9{3,4})(\.0+)?$")
_UPPERCASE_CODE = re.compile(r"^[A-Z]{2,5}$")
_NUMBER_WITH_UNIT = re.compile(r"^[-+]?\d+([.,]\d+)?\s*(%|[^\W\d_][^\d]*)$")
CHECKBOX_LABELS = ("Checked", "Unchecked")

CAUSES = {
    "date_with_time": "dates carry a time part (YYYY-MM-DD hh:mm): the file went through a spreadsheet or ETL "
                      "step; export it again from REDCap and load it unchanged",
    "day_month_date": "dates are day-first or month-first (d/m/yyyy, m/d/yyyy, d.m.yyyy): the file was re-saved by "
                      "a spreadsheet program; export it again from REDCap and do not open it in a spreadsheet",
    "decimal_comma": "numbers have a decimal comma: the file was re-saved in a European locale; export it again "
                     "from REDCap and load it unchanged",
    "label": "dictionary labels instead of codes: the export was made as labels; export again as raw data (codes)",
    "missing_data_code": "REDCap missing-data codes (UNK, NA, NASK…) not in SSC_MISSING_DATA_CODES: add them there "
                         "if the project uses them, or enter the values in REDCap",
    "sentinel": "a site's missing-data code (-99, -999, 999): add it to SSC_MISSING_DATA_CODES, or leave the "
                "field empty in REDCap",
    "number_with_unit": "numbers carry a unit: enter the number only in REDCap (the unit is the dictionary's)",
}


def _labels(field: Field | None) -> set[str]:
    if field is None:
        return set()
    labels = set(field.choice_labels.values())
    if field.is_checkbox:
        labels |= set(CHECKBOX_LABELS)
    return {label.strip().casefold() for label in labels if label.strip()}


def cause_of(value: object, field: Field | None = None) -> str | None:
    """The key of :data:`CAUSES` that explains one rejected value by its shape, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _DATE_WITH_TIME.match(text):
        return "date_with_time"
    if _DAY_MONTH_DATE.match(text):
        return "day_month_date"
    if _SENTINEL.match(text):
        return "sentinel"
    if _DECIMAL_COMMA.match(text):
        return "decimal_comma"
    if text.casefold() in _labels(field):
        return "label"
    if _UPPERCASE_CODE.match(text):
        return "missing_data_code"
    if _NUMBER_WITH_UNIT.match(text):
        return "number_with_unit"
    return None


def likely_cause(values, field: Field | None = None) -> str | None:
    """The cause (a sentence of :data:`CAUSES`) that explains most of ``values`` (rejected cells of one field), or
    None when no shape explains them. Ties go to the cause listed first in :data:`CAUSES`."""
    counts = Counter(c for c in (cause_of(v, field) for v in values) if c)
    if not counts:
        return None
    order = list(CAUSES)
    best = max(counts.items(), key=lambda kv: (kv[1], -order.index(kv[0])))[0]
    return CAUSES[best]


# ---- the field gate ----------------------------------------------------------------------------------------------


def blocking_fields(profile: pd.DataFrame, max_share: float, min_filled: int) -> pd.DataFrame:
    """Rows of ``profile`` that block: share above ``max_share`` with at least ``min_filled`` filled cells, or
    every filled cell rejected with at least :data:`ALL_REJECTED_MIN_FILLED`; most rejected first."""
    if profile.empty:
        return profile
    filled, rejected = profile["filled"], profile["rejected"]
    share = rejected / filled.where(filled > 0)
    over = (filled >= min_filled) & (share > max_share)
    all_rejected = (filled >= ALL_REJECTED_MIN_FILLED) & (rejected == filled)
    return profile[over | all_rejected].sort_values(["rejected", "field"], ascending=[False, True])


def describe_field(row, cells: pd.DataFrame, study: Study) -> str:
    """``mrss_date: 164 of 164 filled cells rejected (100%), e.g. '…', '…'; likely cause: …``"""
    column = row["field"]
    field = study.column_owner.get(column)
    share = row["rejected"] / row["filled"]
    text = f"{column}: {row['rejected']} of {row['filled']} filled cells rejected ({share:.0%})"
    values = cells.loc[cells["field"] == column, "value"].dropna()
    if field is not None and not field.identifier:
        sample = list(dict.fromkeys(values.astype(str)))[:SAMPLE_VALUES]
        if sample:
            text += ", e.g. " + ", ".join(f"'{v}'" for v in sample)
    cause = likely_cause(values.tolist(), field)
    return text + f"; likely cause: {cause}" if cause else text + "; check the values against the data dictionary"


def fields_gate(profile: pd.DataFrame, findings: pd.DataFrame, study: Study,
                max_share: float, min_filled: int) -> dict:
    """The ``fields_usable`` gate on a :func:`field_profile` and the findings it was built from."""
    limits = (f"limit: SSC_MAX_FIELD_REJECTED_SHARE {max_share:.0%} of fields with ≥ {min_filled} filled cells "
              f"(SSC_FIELD_GATE_MIN_FILLED), or all of ≥ {ALL_REJECTED_MIN_FILLED}")
    blocked = blocking_fields(profile, max_share, min_filled)
    if blocked.empty:
        worst = profile[profile["rejected"] > 0].sort_values("rejected_share", ascending=False).head(1)
        detail = (f"; most rejected: {worst.iloc[0]['field']} {worst.iloc[0]['rejected']} of "
                  f"{worst.iloc[0]['filled']}" if len(worst) else "")
        return {"gate": FIELDS_GATE, "passed": True,
                "message": f"every field usable ({limits}){detail}"}
    cells = rejected_cells(findings)
    parts = [describe_field(row, cells, study) for _, row in blocked.head(10).iterrows()]
    more = f" … and {len(blocked) - 10} more fields" if len(blocked) > 10 else ""
    return {"gate": FIELDS_GATE, "passed": False,
            "message": " | ".join(parts) + more + f" ({limits})"}


# ---- the gates on the drop ----------------------------------------------------------------------------------------


def reconciliation(records: pd.DataFrame, quarantined: set[int], drop: dict, study: Study) -> pd.DataFrame:
    """``quality.reconciliation``: rows of the records file for the drop (``instrument`` null: the drop's
    ``export_rows``; quarantined includes its ``unreadable_rows``) and per instrument (rows holding an assessment
    of it), of a frame: :func:`reconciliation_in` on it (:func:`records_in_memory`). ``records``: raw.records;
    ``quarantined``: source rows of quality.quarantine; ``drop``: the raw.current_drop row. Columns: drop_id,
    instrument, export_rows, loaded_rows, quarantined_rows."""
    with records_in_memory(records, quarantined) as conn:
        return reconciliation_in(conn, drop, study)


def quarantine_causes(findings: pd.DataFrame, shown: int = 3) -> str:
    """What a blocked quarantine gate adds to its message: the records with the most quarantined export rows and
    why (rules with action ``quarantined``), most rows first, e.g. ``": most from record SSC-0006 (9 rows: Record
    without enrollment), …; fix these records in REDCap (steward worklist)"``; "" with no such finding."""
    quarantined = findings[findings["action"] == "quarantined"]
    if quarantined.empty:
        return ""
    rows = (quarantined.assign(record=quarantined["record_id"].fillna("").astype(str))
            .groupby(["record", "rule"])["source_row"].nunique().sort_values(ascending=False, kind="stable"))
    parts = [f"{f'record {record}' if record else 'rows without a record id'} ({n} row{'s' * (n != 1)}: "
             f"{RULES[rule].title if rule in RULES else rule})" for (record, rule), n in rows.head(shown).items()]
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    return f": most from {', '.join(parts)}{more}; fix these records in REDCap (steward worklist)"


def duplicate_keys_message(duplicates: pd.DataFrame, shown: int = 5) -> str:
    """The blocked duplicate-key gate in words: the rows, then each record and event they share (the first
    ``shown``), then what to do (the rule's hint). ``duplicates``: findings of rule duplicate_key (record_id,
    event, source_row)."""
    keys = duplicates.assign(record=duplicates["record_id"].fillna("?").astype(str),
                             at=duplicates["event"].fillna("?").astype(str))
    groups = list(keys.groupby(["record", "at"], sort=False)["source_row"])
    parts = [f"record {record} at {event} (rows {', '.join(str(int(r)) for r in rows.dropna())})"
             for (record, event), rows in groups[:shown]]
    more = f" and {len(groups) - shown} more" if len(groups) > shown else ""
    return (f"{len(duplicates)} loaded rows share a record/event/instance key with another row: "
            f"{'; '.join(parts)}{more}. {RULES[DUPLICATE_KEY_RULE].hint}")


def evaluate_gates(findings: pd.DataFrame, recon: pd.DataFrame, n_patients: int, *, study: Study,
                   max_quarantine_share: float, max_field_share: float, min_filled: int,
                   profile: pd.DataFrame | None = None) -> list[dict]:
    """The gates on the drop, in order (see the module): ``findings`` of quality.findings, ``recon`` of
    :func:`reconciliation` (its first row is the drop's), ``n_patients`` placed, ``profile`` the drop's
    :func:`field_profile` (None: no field profiled)."""
    if profile is None:
        profile = pd.DataFrame(columns=[c for c in PROFILE_COLUMNS if c != "run_id"])
    total = recon.iloc[0]
    duplicates = findings[findings["rule"] == DUPLICATE_KEY_RULE]
    share = float(total["quarantined_rows"] / total["export_rows"]) if total["export_rows"] else 0.0
    blocked = findings[(findings["action"] == "blocked") & (findings["rule"] != DUPLICATE_KEY_RULE)]
    structure = "; ".join(blocked["message"].head(10)) + (" …" if len(blocked) > 10 else "")
    unbalanced = recon[recon["export_rows"] != recon["loaded_rows"] + recon["quarantined_rows"]]
    return [
        {"gate": STRUCTURE_GATE, "passed": blocked.empty,
         "message": structure or "dictionary and header match the study definition"},
        {"gate": QUARANTINE_GATE, "passed": share <= max_quarantine_share,
         "message": f"{total['quarantined_rows']} of {total['export_rows']} export rows quarantined "
                    f"({share:.1%}; limit {max_quarantine_share:.0%}, SSC_MAX_QUARANTINE_SHARE)"
                    + ("" if share <= max_quarantine_share else quarantine_causes(findings))},
        {"gate": DUPLICATES_GATE, "passed": duplicates.empty,
         "message": "no duplicate keys" if duplicates.empty else duplicate_keys_message(duplicates)},
        {"gate": PATIENTS_GATE, "passed": n_patients > 0, "message": f"{n_patients} patients placed"},
        {"gate": RECONCILE_GATE, "passed": unbalanced.empty,
         "message": "export = loaded + quarantined for the drop and every instrument" if unbalanced.empty else
                    f"rows do not reconcile for {', '.join(str(i or 'the drop') for i in unbalanced['instrument'])}"},
        fields_gate(profile, findings, study, max_field_share, min_filled),
    ]


# ---- endpoints and the inputs they need -------------------------------------------------------------------------

MRSS_SITES = tuple(f"mrss_{site}" for site in (
    "face", "chest", "abdomen", "fingers_r", "fingers_l", "hand_r", "hand_l", "forearm_r", "forearm_l",
    "upperarm_r", "upperarm_l", "thigh_r", "thigh_l", "leg_r", "leg_l", "foot_r", "foot_l"))
HAQ_CATEGORIES = tuple(f"haq_{c}" for c in (
    "dressing", "arising", "eating", "walking", "hygiene", "reach", "grip", "activities"))

# Outcome of the analysis plan (the contract's key) -> the REDCap fields it needs (any of alternatives such as
# mrss_total or its 17 sites are all listed: the gate names whichever emptied the endpoint).
ENDPOINT_INPUTS: dict[str, tuple[str, ...]] = {
    "overall_survival": ("infusion_date", "death_date", "vital_status", "last_contact_date"),
    "mrss": ("mrss_date", "mrss_total", *MRSS_SITES),
    "hrct_ild": ("ild_baseline", "hrct_date", "hrct_change", "hrct_extent_pct"),
    "pah": ("pah_baseline", "echo_date", "echo_pasp_mmhg"),
    "haq_di": ("haq_date", *HAQ_CATEGORIES),
    "vascular": ("vasc_date", "rcs", "du_active_count"),
    "adverse_events": ("ae_onset_date", "ae_grade", "ae_relation"),
}

# Endpoints summarised by timepoint (the contract's by_timepoint lists) -> their adbds PARAMCDs; a timepoint is
# judged only where the last published run had at least TIMEPOINT_MIN_PATIENTS patients there.
BY_TIMEPOINT = {"mrss": ("mrss_total",), "haq_di": ("haq_di",), "vascular": ("rcs", "du_active_count")}
TIMEPOINT_MARK = "@"
TIMEPOINT_MIN_PATIENTS = value("gates.timepoint_min_patients")

# adbds PARAMCDs read by endpoint_patients (the asset reads only these rows)
ENDPOINT_PARAMS = ("mrss_total", "hrct_change", "hrct_extent_pct", "echo_pasp_mmhg", "haq_di", "rcs",
                   "du_active_count")


def _true(series: pd.Series) -> pd.Series:
    return series.eq(True).fillna(False).astype(bool)


def os_analysed(adtte: pd.DataFrame) -> pd.Series:
    """Rows of adtte in the survival analysis (ANL01FL 'Y')."""
    return flagged(adtte["ANL01FL"])


def endpoint_patients(adsl: pd.DataFrame, adbds: pd.DataFrame, adtte: pd.DataFrame,
                      adae: pd.DataFrame) -> dict[str, int]:
    """Patients with analysable input per endpoint of :data:`ENDPOINT_INPUTS`, from the marts.

    overall_survival: analysed adtte rows (ANL01FL); mrss, haq_di: an analysed (ANL01FL) non-null AVAL of
    PARAMCD ``mrss_total``/``haq_di`` at any timepoint (AVISIT); hrct_ild (pah): ``ild_baseline``
    (``pah_baseline``) patients with an analysed non-null ``hrct_change`` or ``hrct_extent_pct``
    (``echo_pasp_mmhg``); vascular: analysed ``rcs`` or ``du_active_count``; adverse_events: an AE with onset
    date, grade and relation (ASTDT, AETOXGR, AERELN). Patients are counted by USUBJID.

    The endpoints summarised by timepoint (:data:`BY_TIMEPOINT`) are also counted per timepoint, as
    ``<endpoint>@<timepoint>`` (e.g. ``mrss@baseline``), so that losing a third of one timepoint's values is
    not hidden by patients who keep a value elsewhere."""
    usable = adbds[flagged(adbds["ANL01FL"]) & adbds["AVAL"].notna()]

    def with_param(*params: str, population: set | None = None) -> int:
        ids = set(usable.loc[usable["PARAMCD"].isin(params), "USUBJID"])
        return len(ids & population if population is not None else ids)

    ild = set(adsl.loc[_true(adsl["ild_baseline"]), "USUBJID"])
    pah = set(adsl.loc[_true(adsl["pah_baseline"]), "USUBJID"])
    events = adae.dropna(subset=["ASTDT", "AETOXGR", "AERELN"])
    counts = {
        "overall_survival": int(adtte.loc[os_analysed(adtte), "USUBJID"].nunique()),
        "mrss": with_param("mrss_total"),
        "hrct_ild": with_param("hrct_change", "hrct_extent_pct", population=ild),
        "pah": with_param("echo_pasp_mmhg", population=pah),
        "haq_di": with_param("haq_di"),
        "vascular": with_param("rcs", "du_active_count"),
        "adverse_events": int(events["USUBJID"].nunique()),
    }
    for endpoint, params in BY_TIMEPOINT.items():
        rows = usable[usable["PARAMCD"].isin(params) & usable["AVISIT"].notna()]
        for timepoint, n in rows.groupby("AVISIT")["USUBJID"].nunique().items():
            counts[f"{endpoint}{TIMEPOINT_MARK}{timepoint}"] = int(n)
    return counts


def endpoint_of(key: str) -> str:
    """``mrss@month_60`` -> ``mrss``: the endpoint of a coverage key."""
    return key.split(TIMEPOINT_MARK, 1)[0]


def emptying_input(endpoint: str, profile: pd.DataFrame, previous_profile: pd.DataFrame | None) -> str:
    """The declared input of ``endpoint`` most likely to have emptied it, described from the field profiles:
    the one whose usable cells (filled − rejected) fell most since the last published run, else the one with
    the highest rejected share now."""
    inputs = list(ENDPOINT_INPUTS[endpoint])
    now = profile[profile["field"].isin(inputs)].set_index("field")
    usable_now = (now["filled"] - now["rejected"]).astype("float64").reindex(inputs).fillna(0)
    if previous_profile is not None and len(previous_profile):
        before = previous_profile[previous_profile["field"].isin(inputs)].set_index("field")
        usable_before = (before["filled"] - before["rejected"]).astype("float64").reindex(inputs).fillna(0)
        fall = (usable_before - usable_now).sort_values(ascending=False, kind="stable")
        if len(fall) and fall.iloc[0] > 0:
            name = fall.index[0]
            before = int(usable_before[name])
            if name not in now.index or not now.loc[name, "filled"]:
                return f"{name} (empty in this export; {before} usable cells in the last published run)"
            text = f"{name} ({int(usable_now[name])} usable cells now, {before} in the last published run"
            if now.loc[name, "rejected"]:
                text += f"; {int(now.loc[name, 'rejected'])} of {int(now.loc[name, 'filled'])} filled cells rejected"
            return text + ")"
    rejected = now[now["rejected"] > 0].sort_values("rejected_share", ascending=False, kind="stable")
    if len(rejected):
        name, row = rejected.index[0], rejected.iloc[0]
        return f"{name} ({int(row['rejected'])} of {int(row['filled'])} filled cells rejected)"
    return ("none of its input fields lost cells (" + ", ".join(inputs[:4]) + ("…" if len(inputs) > 4 else "")
            + "); look at the steward worklist for excluded assessments")


def endpoint_coverage_gate(current: dict[str, int], previous: dict[str, int] | None, profile: pd.DataFrame,
                           previous_profile: pd.DataFrame | None, max_loss: float,
                           previous_label: str = "") -> dict:
    """``endpoint_coverage_kept``: every endpoint with patients in the last published run (``previous``) keeps
    some, and loses at most ``max_loss`` of them. Without a published run there is nothing to compare with."""
    if not previous:
        return {"gate": ENDPOINT_GATE, "passed": True,
                "message": "no published run to compare with; patients with analysable input: "
                           + ", ".join(f"{e} {n}" for e, n in current.items() if TIMEPOINT_MARK not in e)}
    since = f" ({previous_label})" if previous_label else ""
    lost = []
    for endpoint, before in previous.items():
        now = int(current.get(endpoint, 0))
        if TIMEPOINT_MARK in endpoint and before < TIMEPOINT_MIN_PATIENTS:
            continue  # a small timepoint moves with every corrected date
        if before > 0 and (now == 0 or (before - now) / before > max_loss):
            lost.append(f"{endpoint}: {now} patients with analysable input, {before} in the last published run"
                        f"{since} ({(before - now) / before:.0%} lost); the input that emptied it: "
                        + emptying_input(endpoint_of(endpoint), profile, previous_profile))
    limit = f"limit: SSC_MAX_ENDPOINT_LOSS {max_loss:.0%}"
    if not lost:
        return {"gate": ENDPOINT_GATE, "passed": True,
                "message": f"every endpoint keeps its patients ({limit}): "
                           + ", ".join(f"{e} {current.get(e, 0)}" for e in previous if TIMEPOINT_MARK not in e)}
    return {"gate": ENDPOINT_GATE, "passed": False,
            "message": " | ".join(lost) + f" ({limit}). {RULES['endpoint_coverage_lost'].hint}"}


def _os_exclusion(record_id: str, reason: object) -> str:
    """One left-out patient, in words, with the field to fix in REDCap."""
    reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
    if reason is not None and "death" not in reason.lower():  # day 0 in doubt (infusion against enrollment)
        return (f"{record_id} is left out ({reason}): fix infusion_date (infusion form) or enrollment_date "
                "(enrollment form) in REDCap")
    if reason is None or reason.lower().startswith("recorded as dead"):
        what = f"{record_id} is {reason or 'recorded as dead without a usable death date'}"
    else:
        what = f"{record_id} is recorded as dead but left out ({reason})"
    return f"{what}: fix death_date in REDCap (vital status form)"


def one_record_per_patient_gate(adsl: pd.DataFrame) -> dict:
    """``one_record_per_patient``: no two adsl patients (USUBJID) share an MRN (``subject_pseudonym``, its keyed
    pseudonym; never shown): one patient entered as two records is counted twice in every analysis. The message
    names the records (the first 10 groups) and what to do."""
    known = adsl[adsl["subject_pseudonym"].notna()]
    groups = known.groupby("subject_pseudonym")["USUBJID"].agg(lambda ids: sorted(set(ids)))
    shared = sorted(ids for ids in groups if len(ids) > 1)
    if not shared:
        return {"gate": PATIENT_GATE, "passed": True, "message": f"{len(adsl)} patients, one record each (by MRN)"}
    parts = [" and ".join(ids) for ids in shared[:10]]
    more = f" … and {len(shared) - 10} more" if len(shared) > 10 else ""
    return {"gate": PATIENT_GATE, "passed": False,
            "message": f"{'; '.join(parts)}{more}: the same MRN in two records, one patient counted twice in every "
                       f"analysis; {RULES['same_patient_two_records'].hint}"}


def _lost_death(record_id: str, rule: object, message: object) -> str:
    """One recorded death that does not reach the survival analysis, in words, with what to fix in REDCap."""
    if isinstance(rule, str) and rule in RULES:
        return (f"{record_id} is recorded as dead but is not in the survival analysis ({message}): "
                f"{RULES[rule].hint.rstrip('.')}")
    return (f"{record_id} is recorded as dead but censored as alive in the survival analysis: check its vital "
            "status form in REDCap")


def os_exclusions_gate(adtte: pd.DataFrame, max_excluded: int, lost_deaths: pd.DataFrame | None = None) -> dict:
    """``os_exclusions_within_limit``: at most ``max_excluded`` patients left out of overall survival: adtte rows
    not analysed (no ANL01FL, with an ``exclusion_reason``: a recorded death without a usable date, day 0 in
    doubt) and ``lost_deaths`` (:func:`quality.endpoints.lost_deaths`: ``record_id``, ``rule``, ``message``:
    deaths recorded in the export that no adtte row carries, their record set aside at load, or censored as
    alive). The message names each record and what to fix. Source of the rule: the analysis plan, "a recorded
    death is never censored as alive" (docs/contract.md)."""
    excluded = adtte[~os_analysed(adtte)].sort_values("USUBJID")
    lost = lost_deaths if lost_deaths is not None else pd.DataFrame(columns=["record_id", "rule", "message"])
    left_out = len(excluded) + len(lost)
    if left_out <= max_excluded:
        return {"gate": OS_GATE, "passed": True,
                "message": f"{left_out} patients left out of overall survival (limit {max_excluded}, "
                           "SSC_MAX_OS_EXCLUDED)"}
    parts = [_os_exclusion(r, why) for r, why in zip(excluded["USUBJID"], excluded["exclusion_reason"])]
    parts += [_lost_death(r, rule, message) for r, rule, message in zip(lost["record_id"], lost["rule"],
                                                                        lost["message"])]
    more = f" … and {len(parts) - 10} more" if len(parts) > 10 else ""
    return {"gate": OS_GATE, "passed": False,
            "message": "overall_survival: " + "; ".join(parts[:10]) + more
                       + f"; set SSC_MAX_OS_EXCLUDED (now {max_excluded}) to publish with such exclusions"}
