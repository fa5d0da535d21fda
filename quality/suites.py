"""Expectation suites built FROM THE DATA DICTIONARY: a new field is checked with no new code.

For each instrument (form) of the study, :func:`instrument_suite` derives the expectations from the fields'
type, validation, minimum/maximum, choices and required flag; :func:`instrument_frame` selects the rows that
are assessments of that instrument and adds the derived columns the expectations need (parsed numbers, the
sum of a calc field's components, the form-event designation). :func:`placement_suite` holds the placement
rules that quarantine whole rows.

Derived columns are named ``<column>__<what>`` so that Data Docs shows what they are.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from quality.gx_findings import rule_meta
from quality.gx_runner import SuiteDraft
from study.definition import Field, Study

DATE_REGEX = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
DATETIME_REGEX = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d$"
DATETIME_SECONDS_REGEX = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$"
NUMBER_REGEX = r"^[-+]?(\d+(\.\d*)?|\.\d+)$"
INTEGER_REGEX = r"^[-+]?\d+$"

ROW_KEYS = ("_source_row", "record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
RAW_FINDING_COLUMNS = {
    "record_id": "record_id",
    "event": "redcap_event_name",
    "instance": "redcap_repeat_instance",
    "source_row": "_source_row",
}
RAW_INDEX_COLUMNS = ("_source_row", "record_id", "redcap_event_name")


# ---- parsing helpers (shared by the derived columns and by pandas-side placement) ---------------------------


def date_format_of(f: Field) -> tuple[str, str]:
    """(regex, strftime format) of a date/datetime field as REDCap exports it (always ISO order)."""
    if f.validation.startswith("datetime_seconds"):
        return DATETIME_SECONDS_REGEX, "%Y-%m-%d %H:%M:%S"
    if f.validation.startswith("datetime"):
        return DATETIME_REGEX, "%Y-%m-%d %H:%M"
    return DATE_REGEX, "%Y-%m-%d"


def by_value(series: pd.Series, judge, missing) -> pd.Series:
    """``judge`` (a cell-by-cell function of a Series) applied once per distinct non-null value of ``series``
    and spread back to its cells; null cells get ``missing``. Same index as ``series``."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    judged = judge(pd.Series(uniques)).to_numpy()
    out = np.append(judged.astype(object), [missing])[codes]
    return pd.Series(out, index=series.index)


def valid_dates(series: pd.Series, f: Field | None = None) -> pd.Series:
    """True where the value is a valid ISO date (format and calendar); False elsewhere (nulls included)."""
    regex, fmt = date_format_of(f) if f is not None else (DATE_REGEX, "%Y-%m-%d")

    def judge(values: pd.Series) -> pd.Series:
        s = values.astype("string")
        ok = s.str.match(regex).fillna(False).astype(bool)
        return ok & pd.to_datetime(s.where(ok), format=fmt, errors="coerce").notna()

    return by_value(series, judge, False).astype(bool)


def parse_numbers(series: pd.Series, integer: bool = False) -> pd.Series:
    """Float values where the text is a valid number (integer), NaN elsewhere."""
    def parse(values: pd.Series) -> pd.Series:
        s = values.astype("string").str.strip()
        ok = s.str.match(INTEGER_REGEX if integer else NUMBER_REGEX).fillna(False).astype(bool)
        return pd.to_numeric(s.where(ok), errors="coerce").astype("float64")

    return by_value(series, parse, np.nan).astype("float64")


def _bound(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ---- which columns and rows belong to a form -----------------------------------------------------------------


def is_choice_field(f: Field) -> bool:
    return f.field_type in ("radio", "dropdown", "yesno", "truefalse") and bool(f.choices)


def checked_fields(study: Study, form: str) -> tuple[Field, ...]:
    """Fields of a form the suites validate (identifiers and the record id are never validated)."""
    return tuple(f for f in study.fields_of(form) if not f.identifier and f.name != "record_id")


def detection_columns(study: Study, form: str, columns) -> list[str]:
    """Columns whose being filled makes a row an assessment of ``form``.

    Identifier fields (and their pseudonym/age replacements) do not count: ingest may fill those on rows where
    the hospital's export had nothing else of the form."""
    present = set(columns)
    out = []
    for f in study.fields_of(form):
        if f.name == "record_id" or f.identifier:
            continue
        out.extend(c for c in f.export_columns if c in present)
    return out


def has_text(series: pd.Series, zero_is_empty: bool = False) -> np.ndarray:
    """Bool array: True where the cell is not null and its text, stripped, is not empty (nor ``"0"`` when
    ``zero_is_empty``: an unticked checkbox). Judged once per distinct value (``pd.factorize``), not per cell:
    the drop's columns hold few distinct values, and this runs on every column of every row."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = (str(u).strip() for u in uniques)
    judged = np.fromiter((t != "" and not (zero_is_empty and t == "0") for t in texts), dtype=bool,
                         count=len(uniques))
    return np.append(judged, False)[codes]  # code -1 (null) takes the last entry


def filled(frame: pd.DataFrame, column: str, checkbox: bool) -> pd.Series:
    """True where ``column`` is filled (see :func:`has_text`; an unticked checkbox ``0`` is not filled)."""
    return pd.Series(has_text(frame[column], zero_is_empty=checkbox), index=frame.index)


def assessment_mask(frame: pd.DataFrame, study: Study, form: str) -> pd.Series:
    """Rows that are assessments of ``form``: at least one data field filled (``_complete`` and an unchecked
    checkbox ``0`` do not count); a repeating-instrument row belongs only to its instrument."""
    cols = detection_columns(study, form, frame.columns)
    owner = study.column_owner
    mask = pd.Series(False, index=frame.index)
    for c in cols:
        f = owner.get(c)
        mask |= filled(frame, c, checkbox=bool(f and f.is_checkbox))
    if "redcap_repeat_instrument" in frame.columns:
        rep = frame["redcap_repeat_instrument"]
        mask &= rep.isna() | (rep.astype("string") == form)
    return mask.fillna(False).astype(bool)


def is_patient_level_form(study: Study, form: str) -> bool:
    """A form collected once per patient (one event, not repeating): enrollment, vital status."""
    events = {ev for ev, fm in study.form_events if fm == form}
    return (len(events) <= 1 and form not in study.repeating_instruments
            and not (events & set(study.repeating_events)))


# ---- the instrument suite and its frame ----------------------------------------------------------------------


def suite_name_of(form: str) -> str:
    return f"raw_{form}"


def instrument_frame(records: pd.DataFrame, study: Study, form: str, mask: pd.Series | None = None) -> pd.DataFrame:
    """The assessments of ``form`` with the keys, the form's (non-identifier) columns and derived columns."""
    if mask is None:
        mask = assessment_mask(records, study, form)
    rows = records.loc[mask]
    keys = [c for c in ROW_KEYS if c in rows.columns]
    cols = [c for f in checked_fields(study, form) for c in f.export_columns if c in rows.columns]
    frame = rows[keys + cols].copy()
    for c in cols:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    derived = {}
    for f in checked_fields(study, form):
        if f.name not in frame.columns and not f.is_checkbox:
            continue
        if f.is_number and f.name in frame.columns:
            derived[f"{f.name}__num"] = parse_numbers(frame[f.name], integer=f.validation == "integer")
        if f.field_type == "calc" and f.name in frame.columns:
            comps = study.components_of(f)
            if comps and all(c in frame.columns for c in comps):
                parts = []
                for c in comps:
                    g = study.by_name[c]
                    v = frame[c].astype("string")
                    if g.choices:
                        v = v.where(v.isin(list(g.choice_codes)))
                        parts.append(pd.to_numeric(v, errors="coerce"))
                    else:
                        parts.append(parse_numbers(frame[c], integer=g.validation == "integer"))
                comp = pd.concat(parts, axis=1)
                derived[f"{f.name}__components_sum"] = comp.sum(axis=1).where(comp.notna().all(axis=1))
                # the total where it is usable (an unusable total is reported on its own and excludes the
                # assessment; it is not also compared with the sites)
                total = derived[f"{f.name}__num"]
                lo, hi = _bound(f.minimum), _bound(f.maximum)
                if lo is not None:
                    total = total.where(total >= lo)
                if hi is not None:
                    total = total.where(total <= hi)
                derived[f"{f.name}__usable"] = total
        if f.is_checkbox and f.required:
            cols_f = [c for c in f.export_columns if c in frame.columns]
            anyc = pd.Series(False, index=frame.index)
            for c in cols_f:
                anyc |= frame[c].astype("string") == "1"
            derived[f"{f.name}__any_checked"] = anyc.astype(bool)
    if "redcap_event_name" in frame.columns:
        designated = {ev for ev, fm in study.form_events if fm == form}
        derived[f"{form}__designated_for_event"] = frame["redcap_event_name"].isin(designated).astype(bool)
    if derived:
        frame = pd.concat([frame, pd.DataFrame(derived, index=frame.index)], axis=1)
    return frame


def instrument_suite(study: Study, form: str) -> gx.ExpectationSuite:
    """Expectations for the assessments of ``form``, derived from the dictionary."""
    suite = SuiteDraft(name=suite_name_of(form),
                                meta={"finding_columns": {**RAW_FINDING_COLUMNS, "instrument": "=" + form},
                                      "stage": "conformance", "instrument": form})
    add = suite.add_expectation
    date_field = study.date_field_of(form)
    patient_level = is_patient_level_form(study, form)
    for f in checked_fields(study, form):
        if f.is_date:
            regex, fmt = date_format_of(f)
            msg = f"{f.name} = '{{value}}' is not a valid date ({fmt.replace('%', '')})"
            add(gxe.ExpectColumnValuesToMatchRegex(
                column=f.name, regex=regex,
                meta=rule_meta("date_format", field=f.name, instrument=form, message=msg)))
            add(gxe.ExpectColumnValuesToMatchStrftimeFormat(
                column=f.name, strftime_format=fmt,
                meta=rule_meta("date_format", field=f.name, instrument=form, message=msg)))
        elif f.is_number:
            integer = f.validation == "integer"
            rule_id = "integer_format" if integer else "number_format"
            # a calc field with components (the mRSS total): a filled but unusable total still counts as
            # filled, so the components' sum must not replace it: the assessment is left out, not the cell
            # nulled (analysis plan, mRSS)
            calc = f.field_type == "calc" and bool(study.components_of(f))
            action, then = ("excluded", "; the assessment is reported and not analysed") if calc else (None, "")
            add(gxe.ExpectColumnValuesToMatchRegex(
                column=f.name, regex=INTEGER_REGEX if integer else NUMBER_REGEX,
                meta=rule_meta(rule_id, field=f.name, instrument=form, action=action,
                               message=f"{f.name} = '{{value}}' is not a {'whole number' if integer else 'number'}"
                                       f"{then}")))
            lo, hi = _bound(f.minimum), _bound(f.maximum)
            if lo is not None or hi is not None:
                add(gxe.ExpectColumnValuesToBeBetween(
                    column=f"{f.name}__num", min_value=lo, max_value=hi,
                    meta=rule_meta("value_out_of_range", field=f.name, instrument=form, action=action,
                                   value_column=f.name, min=f.minimum, max=f.maximum,
                                   message=f"{f.name} = {{value}} is outside the dictionary range "
                                           f"{f.minimum or '-inf'}..{f.maximum or 'inf'}{then}")))
            if f.field_type == "calc" and study.components_of(f):
                add(gxe.ExpectColumnPairValuesToBeEqual(
                    column_A=f"{f.name}__usable", column_B=f"{f.name}__components_sum",
                    ignore_row_if="either_value_is_missing",
                    meta=rule_meta("calc_mismatch", field=f.name, instrument=form, value_column=f.name,
                                   message_columns=[f"{f.name}__components_sum"],
                                   message=f"{f.name} = {{value}} but its {len(study.components_of(f))} "
                                           f"components sum to {{{f.name}__components_sum}}; the assessment "
                                           f"is reported and not analysed")))
        elif is_choice_field(f):
            codes = list(f.choice_codes)
            add(gxe.ExpectColumnValuesToBeInSet(
                column=f.name, value_set=codes,
                meta=rule_meta("choice_code_invalid", field=f.name, instrument=form,
                               message=f"{f.name} = '{{value}}' is not one of the codes {', '.join(codes)}")))
        elif f.is_checkbox:
            for c in f.export_columns:
                add(gxe.ExpectColumnValuesToBeInSet(
                    column=c, value_set=["0", "1"],
                    meta=rule_meta("checkbox_value_invalid", field=c, instrument=form,
                                   message=f"{c} = '{{value}}' is not 0 or 1")))
        # completeness
        if date_field is not None and f.name == date_field.name:
            rule_id = "anchor_date_missing" if patient_level else "assessment_date_missing"
            msg = (f"{form} form without {f.name}: the form is kept, the dates derived from it are unknown"
                   if patient_level else f"{form} assessment without {f.name}: it cannot be placed in time "
                                         f"and is not analysed")
            add(gxe.ExpectColumnValuesToNotBeNull(
                column=f.name, meta=rule_meta(rule_id, field=f.name, instrument=form, message=msg)))
        elif f.required and f.is_checkbox:
            add(gxe.ExpectColumnValuesToBeInSet(
                column=f"{f.name}__any_checked", value_set=[True],
                meta=rule_meta("required_missing", field=f.name, instrument=form, value_column="",
                               message=f"{f.name} (required) has no option ticked on this {form} assessment")))
        elif f.required:
            add(gxe.ExpectColumnValuesToNotBeNull(
                column=f.name,
                meta=rule_meta("required_missing", field=f.name, instrument=form,
                               message=f"{f.name} (required) is empty on this {form} assessment")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column=f"{form}__designated_for_event", value_set=[True],
        meta=rule_meta("form_not_designated_for_event", field=date_field.name if date_field else None,
                       instrument=form, value_column="redcap_event_name",
                       message=f"{form} has data at event {{value}}, where the study does not collect it")))
    return suite.suite()


# ---- placement ------------------------------------------------------------------------------------------------

PLACEMENT_SUITE = "raw_placement"
# Order matters: a quarantined row is reported under the first rule it breaks.
PLACEMENT_RULES = ("record_id_missing", "event_unknown", "repeat_instrument_unknown", "repeat_instance_invalid",
                   "duplicate_row", "record_without_enrollment", "record_without_infusion_date")


def placement_suite(study: Study) -> gx.ExpectationSuite:
    """Rules that quarantine whole rows (derived flag columns come from :mod:`quality.conformance`)."""
    suite = SuiteDraft(name=PLACEMENT_SUITE,
                                meta={"finding_columns": dict(RAW_FINDING_COLUMNS), "stage": "conformance"})
    add = suite.add_expectation
    add(gxe.ExpectColumnValuesToNotBeNull(
        column="record_id",
        meta=rule_meta("record_id_missing", field="record_id",
                       message="row without a record id: it cannot be attached to a patient")))
    add(gxe.ExpectColumnValuesToNotBeNull(
        column="redcap_event_name",
        meta=rule_meta("event_unknown", field="redcap_event_name", message="row without an event name")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="redcap_event_name", value_set=list(study.event_names),
        meta=rule_meta("event_unknown", field="redcap_event_name",
                       message="event '{value}' is not an event of the study")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="redcap_repeat_instrument", value_set=list(study.repeating_instruments) or ["(none)"],
        meta=rule_meta("repeat_instrument_unknown", field="redcap_repeat_instrument",
                       message="repeat instrument '{value}' is not a repeating instrument of the study")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="redcap_repeat_instance__valid", value_set=[True],
        meta=rule_meta("repeat_instance_invalid", field="redcap_repeat_instance",
                       value_column="redcap_repeat_instance",
                       message="repeat instance '{value}' is not a positive whole number "
                               "(or is blank on a repeating row)")))
    add(gxe.ExpectColumnValuesToBeInSet(
        column="row__is_later_copy", value_set=[False],
        meta=rule_meta("duplicate_row", value_column="", message_columns=["row__first_copy_source_row"],
                       message="exact copy of source row {row__first_copy_source_row}; the first copy is kept")))
    enrollment_date = study.date_field_of("enrollment") if "enrollment" in study.forms else None
    add(gxe.ExpectColumnValuesToBeInSet(
        column="record__has_enrollment", value_set=[True],
        meta=rule_meta("record_without_enrollment", field=enrollment_date.name if enrollment_date else None,
                       value_column="", message="record {record_id} has no enrollment assessment: "
                                                "its rows are not loaded")))
    infusion_date = study.date_field_of("infusion") if "infusion" in study.forms else None
    add(gxe.ExpectColumnValuesToBeInSet(
        column="record__has_valid_infusion_date", value_set=[True],
        meta=rule_meta("record_without_infusion_date", field=infusion_date.name if infusion_date else None,
                       value_column="", message="record {record_id} has no valid infusion date (day 0): "
                                                "its rows are not loaded")))
    return suite.suite()


def build_suites(study: Study) -> dict[str, gx.ExpectationSuite]:
    """Every raw conformance suite of the study: placement, then one per instrument."""
    suites = {PLACEMENT_SUITE: placement_suite(study)}
    for form in study.forms:
        suites[suite_name_of(form)] = instrument_suite(study, form)
    return suites
