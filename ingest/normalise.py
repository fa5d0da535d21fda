"""Bring an export that REDCap (or a person) wrote differently back to REDCap's raw format, where that can be
done without guessing, and say so once per file or field — never once per cell.

Input: the records file as text cells (a DataFrame of object columns, ``None`` for an empty cell, columns named
as in the header) before de-identification, the study, the file's :class:`~ingest.reader.ExportFormat` and the
study's REDCap missing-data codes. Output: the same frame, normalised, and findings (rules of the catalog's
"ingest: the export file as a whole" section). Steps, in order:

1. **Missing-data codes** (REDCap's project setting; the HL7 null flavours UNK, NASK, NA, … by default): a cell
   holding one is missing, with a reason; it becomes empty and is reported once per field and code with its
   count and records. A code is never a value. (Where it sits in an anchor field, e.g. a death date, the
   anchor rules of the plausibility stage apply as for any missing date.)
2. **Labels instead of codes** (REDCap's "labels" export option): a choice field (radio, dropdown, yes/no,
   true/false, checkbox ``Checked``/``Unchecked``, ``<form>_complete``), an event name or a repeat instrument
   whose values are the dictionary's labels is mapped back to codes through the dictionary. A field that
   mixes codes and labels cannot be read without guessing: a structural error naming it.
3. **Dates**: a date (``date_ymd``) with a midnight time part (``2019-03-14 00:00``, left by a spreadsheet or
   ETL pass) keeps its date part. Dates written day/month/year or month/day/year throughout (a spreadsheet
   re-save) cannot be read without guessing which is the day: a structural error, nothing is read.
4. **Decimal commas** in number fields of a ``;``- or tab-delimited file (a European spreadsheet re-save) become
   decimal points, unless the file also has decimal points in number fields (then nothing is converted and the
   cells are reported one by one as they are).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable

import numpy as np
import pandas as pd

from ingest.reader import REEXPORT, ExportFormat
from quality.findings import Finding
from quality.rules import RULES
from study.definition import KEY_COLUMNS, Field, Study

# REDCap's missing-data codes (Project Setup → Additional customizations → Missing Data Codes), HL7 null flavours.
REDCAP_MISSING_DATA_CODES = {
    "NI": "No information", "INV": "Invalid", "UNK": "Unknown", "NASK": "Not asked", "ASKU": "Asked but unknown",
    "NAV": "Temporarily unavailable", "NAVU": "Not available", "NA": "Not applicable", "NP": "Not present",
    "QS": "Sufficient quantity", "QI": "Insufficient quantity", "TRC": "Trace", "MSK": "Masked", "OTH": "Other",
    "PINF": "Positive infinity", "NINF": "Negative infinity", "UNC": "Unencoded", "DER": "Derived",
}
CHECKBOX_LABELS = {"Checked": "1", "Unchecked": "0"}
COMPLETE_LABELS = {"Incomplete": "0", "Unverified": "1", "Complete": "2"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(?::00)?$")
YEAR_FIRST_DATE = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})((?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?)$")
DAY_MONTH_DATE = re.compile(r"^\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")
_ARM_SUFFIX = re.compile(r"\s*\(Arm \d+:.*\)\s*$")
EXAMPLES = 3


def parse_missing_data_codes(text: str | None) -> dict[str, str]:
    """The study's missing-data codes from a setting written as REDCap writes them (``UNK, Unknown | NASK, Not
    asked``) or as bare codes (``UNK | NA | -99``). ``None`` or blank gives REDCap's list."""
    if text is None or not text.strip():
        return dict(REDCAP_MISSING_DATA_CODES)
    codes = {}
    for entry in text.split("|"):
        code, _, label = entry.strip().partition(",")
        if code.strip():
            codes[code.strip()] = label.strip() or REDCAP_MISSING_DATA_CODES.get(code.strip(), "missing-data code")
    return codes


def _records(frame: pd.DataFrame, mask: pd.Series, limit: int = 5) -> str:
    ids = list(dict.fromkeys(frame.loc[mask, "record_id"].dropna().astype(str)))
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _data_columns(frame: pd.DataFrame, study: Study) -> list[str]:
    owner = study.column_owner
    return [c for c in frame.columns if c in owner and c not in KEY_COLUMNS]


def _text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip()


def passing(series: pd.Series, test: Callable[[str], object], distinct: np.ndarray | None = None) -> pd.Series:
    """Where ``test`` of a cell's text (surrounding whitespace removed) is true: a bool Series on ``series``' index,
    False for an empty cell. ``test`` is called once per distinct value rather than once per cell (a column of
    210,000 cells holds a few thousand distinct values): at 20,000 patients the normalisation took 43 s with pandas
    string methods over every cell, most of it on columns where nothing was to be found. The distinct values are found
    once (``pd.unique``), or given (``distinct``: the series' distinct cells that are not empty, in any order). Where
    none passes (most columns, for most tests) or every one does, that is the answer; otherwise each cell is looked up
    among the fewer of the passing or the failing values (``isin``)."""
    values = series.to_numpy(dtype=object)
    if distinct is None:
        distinct = pd.unique(values)
        distinct = distinct[pd.notna(distinct)]  # an empty cell never passes
    answers = np.array([bool(test(str(value).strip())) for value in distinct], dtype=bool)
    if not answers.any():
        hit = np.zeros(len(values), dtype=bool)
    elif answers.all():
        hit = pd.notna(values)
    else:
        cells = pd.Series(values, copy=False)
        if answers.sum() * 2 <= len(answers):
            hit = cells.isin(distinct[answers]).to_numpy()
        else:
            hit = cells.notna().to_numpy() & ~cells.isin(distinct[~answers]).to_numpy()
    return pd.Series(hit, index=series.index, name=series.name)


# ---- 1. missing-data codes ---------------------------------------------------------------------------------


def blank_missing_data_codes(frame: pd.DataFrame, study: Study, codes: dict[str, str], source: str,
                             distinct: dict[str, np.ndarray] | None = None) -> list[Finding]:
    findings, distinct = [], {} if distinct is None else distinct
    if not codes:
        return findings
    owner = study.column_owner
    for column in _data_columns(frame, study):
        if study.components_of(owner[column]):
            continue  # a total of components keeps its code: filled but unusable, the assessment not analysed
        hit = passing(frame[column], codes.__contains__, distinct.get(column))
        if not hit.any():
            continue
        text = _text(frame[column].where(hit))
        for code, count in Counter(text[hit]).items():
            at = hit & (text == code)
            field = owner[column]
            findings.append(RULES["missing_data_code"].finding(
                f"{source}: {column} holds the missing-data code {code} ({codes[code]}) in {count} "
                f"cell{'s' if count > 1 else ''} (record {_records(frame, at)}): read as missing, with that reason",
                field=column, instrument=field.form, value=code,
                record_id=str(frame.loc[at, "record_id"].iloc[0]) if count == 1 else None))
        frame[column] = frame[column].where(~hit, None)
        distinct.pop(column, None)
    return findings


# ---- 2. labels instead of codes ----------------------------------------------------------------------------


def _label_map(field: Field) -> dict[str, str]:
    if field.is_checkbox:
        return dict(CHECKBOX_LABELS)
    return {label: code for code, label in field.choices}


def _choice_groups(frame: pd.DataFrame, study: Study) -> list[tuple[str, list[str], dict[str, str], set[str]]]:
    """(name, columns, label -> code, codes) of every choice field and ``_complete`` column in the frame."""
    groups = []
    for f in study.fields:
        if f.identifier or not (f.is_checkbox or (f.choices and f.field_type in ("radio", "dropdown", "yesno",
                                                                                   "truefalse"))):
            continue
        columns = [c for c in f.export_columns if c in frame.columns]
        if columns:
            codes = {"0", "1"} if f.is_checkbox else set(f.choice_codes)
            groups.append((f.name, columns, _label_map(f), codes))
    for form in study.forms:
        column = f"{form}_complete"
        if column in frame.columns:
            groups.append((column, [column], dict(COMPLETE_LABELS), set(COMPLETE_LABELS.values())))
    return groups


def map_labels(frame: pd.DataFrame, study: Study, source: str,
               distinct: dict[str, np.ndarray] | None = None) -> list[Finding]:
    findings, mapped, mixed, distinct = [], [], [], {} if distinct is None else distinct
    for name, columns, labels, codes in _choice_groups(frame, study):
        values = _distinct_text(frame, columns, distinct)
        as_label = {v for v in values if v in labels and v not in codes}
        as_code = {v for v in values if v in codes and v not in labels}
        if as_label and as_code:
            mixed.append((name, sorted(as_code)[:2], sorted(as_label)[:2]))
        elif as_label:
            given = Counter()  # how often each label is given: the commonest is the example
            for c in columns:
                for value, count in frame[c].value_counts().items():
                    given[str(value).strip()] += count
            for c in columns:
                text = _text(frame[c])
                frame[c] = text.map(labels).where(text.isin(list(labels)), frame[c]).astype(object)
                frame[c] = frame[c].where(frame[c].notna(), None)
                distinct.pop(c, None)
            example = sorted(as_label, key=lambda v: (-given[v], v))[0]  # the commonest; ties by name
            mapped.append(f"{name} '{example}' → {labels[example]}")
    key_mapped, key_mixed = _map_keys(frame, study, distinct)
    mapped += key_mapped
    mixed += key_mixed
    for name, code_values, label_values in mixed:
        owner = study.by_name.get(name)
        findings.append(RULES["export_labels_mixed"].finding(
            f"{source}: {name} mixes raw codes ({', '.join(code_values)}) and labels ({', '.join(label_values)}); "
            f"which is meant cannot be told without guessing: {REEXPORT}",
            field=name, instrument=owner.form if owner else name.removesuffix("_complete")))
    if mapped:
        findings.append(RULES["export_labels"].finding(
            f"{source}: {len(mapped)} choice field{'s' if len(mapped) > 1 else ''} came as labels instead of raw codes "
            f"(e.g. {'; '.join(mapped[:EXAMPLES])}): mapped back to codes through the data dictionary; "
            "next time export raw data, not labels"))
    return findings


def _distinct_text(frame: pd.DataFrame, columns: list[str], known: dict[str, np.ndarray]) -> set[str]:
    """The distinct texts (surrounding whitespace removed) of the cells of ``columns`` that are not empty; ``known``:
    the distinct cells of the columns whose cells are known."""
    texts: set[str] = set()
    for c in columns:
        values = known.get(c)
        if values is None:
            values = pd.unique(frame[c].to_numpy(dtype=object))
            values = values[pd.notna(values)]
        texts.update(str(value).strip() for value in values)
    return texts


def _map_keys(frame: pd.DataFrame, study: Study,
              distinct: dict[str, np.ndarray]) -> tuple[list[str], list[tuple[str, list[str], list[str]]]]:
    """Event and repeat-instrument labels back to unique names (REDCap writes ``Baseline (Arm 1: Arm 1)`` and
    ``Adverse Event`` in a labels export). Returns (what was mapped, columns that mix names and labels)."""
    mapped, mixed = [], []
    forms = {re.sub(r"[^a-z0-9]+", "_", form.lower()).strip("_"): form for form in study.forms}
    keys = (("redcap_event_name", set(study.event_names),
             lambda t: t.str.replace(_ARM_SUFFIX, "", regex=True).map({e.label: e.unique_name for e in study.events})),
            ("redcap_repeat_instrument", set(study.forms),
             lambda t: t.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_").map(forms)))
    for column, names, from_label in keys:
        if column not in frame.columns or _distinct_text(frame, [column], distinct) <= names:
            continue  # every value is a unique name: nothing to map
        text = _text(frame[column])
        unknown = text.notna() & ~text.isin(list(names))
        as_label = from_label(text[unknown]) if unknown.any() else text[unknown]
        labelled = as_label.notna()
        if not labelled.any():
            continue  # unknown values that are no label either: the placement rules judge them
        raw = text[text.isin(list(names))]
        if len(raw):
            mixed.append((column, sorted(set(raw))[:2], sorted(set(text[unknown][labelled]))[:2]))
            continue
        frame.loc[labelled[labelled].index, column] = as_label[labelled]
        distinct.pop(column, None)
        mapped.append(f"{column} '{text[unknown][labelled].iloc[0]}' → {as_label[labelled].iloc[0]}")
    return mapped, mixed


# ---- 3. dates ----------------------------------------------------------------------------------------------


def normalise_dates(frame: pd.DataFrame, study: Study, fmt: ExportFormat, source: str,
                    distinct: dict[str, np.ndarray] | None = None) -> list[Finding]:
    findings, distinct = [], {} if distinct is None else distinct
    date_fields = [f for f in study.fields if f.is_date and f.name in frame.columns]
    filled_total, day_month_total, whole_fields, example = 0, 0, [], None
    year_first_fields: dict[str, int] = {}
    year_first_example = None
    for f in date_fields:
        column = frame[f.name]
        filled = passing(column, bool, distinct.get(f.name))
        day_month = passing(column, DAY_MONTH_DATE.match, distinct.get(f.name))
        filled_total += int(filled.sum())
        day_month_total += int(day_month.sum())
        if filled.sum() >= 5 and day_month[filled].all():
            whole_fields.append(f.name)
        if example is None and day_month.any() and not f.identifier:
            example = f"{f.name} '{str(column[day_month].iloc[0]).strip()}'"
        year_first = passing(column, YEAR_FIRST_DATE.match, distinct.get(f.name))
        if year_first.any():  # 2019/03/14, 2019.3.14: the year first is never a guess
            if not f.identifier:
                year_first_example = year_first_example or f"{f.name} '{str(column[year_first].iloc[0]).strip()}'"
            year_first_fields[f.name] = int(year_first.sum())
            parts = _text(column[year_first]).str.extract(YEAR_FIRST_DATE)
            iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2) + parts[3].fillna("")
            frame.loc[year_first[year_first].index, f.name] = iso
            column = frame[f.name]
            distinct.pop(f.name, None)
        if f.validation.startswith("date_"):
            midnight = passing(column, MIDNIGHT.match, distinct.get(f.name))
            if midnight.any():
                text = _text(column)
                frame[f.name] = text.str.replace(MIDNIGHT, r"\1", regex=True).where(midnight, frame[f.name]).astype(object)
                frame[f.name] = frame[f.name].where(frame[f.name].notna(), None)
                distinct.pop(f.name, None)
                findings.append(RULES["date_time_part"].finding(
                    f"{source}: {f.name} carries a midnight time part in {int(midnight.sum())} of {int(filled.sum())} "
                    f"dates (e.g. '{text[midnight].iloc[0]}'): the date part is used",
                    field=f.name, instrument=f.form))
    if year_first_fields:
        n = len(year_first_fields)
        findings.append(RULES["export_resaved"].finding(
            f"{source}: {sum(year_first_fields.values())} dates in {n} field{'s' if n > 1 else ''} are written year "
            f"first with another separator than '-' (e.g. {year_first_example or 'in date of birth'}): read as "
            "YYYY-MM-DD", field=next(iter(year_first_fields)) if n == 1 else None))
    if filled_total and (day_month_total * 2 > filled_total or whole_fields):
        resaved = f" The file was re-saved by a spreadsheet program ({', '.join(fmt.resaved)})." if fmt.resaved else ""
        findings.append(RULES["export_dates_not_iso"].finding(
            f"{source}: {day_month_total} of {filled_total} dates are written day/month/year or month/day/year "
            f"instead of YYYY-MM-DD (e.g. {example or 'in date of birth'}); which is the day cannot be told "
            f"without guessing, so nothing was loaded.{resaved} To fix: {REEXPORT}",
            field=whole_fields[0] if len(whole_fields) == 1 else None))
    return findings


# ---- 4. decimal commas -------------------------------------------------------------------------------------


def convert_decimal_commas(frame: pd.DataFrame, study: Study, fmt: ExportFormat, source: str,
                           distinct: dict[str, np.ndarray] | None = None) -> list[Finding]:
    if not fmt.decimal_comma_possible:
        return []
    distinct = {} if distinct is None else distinct
    numeric = [f.name for f in study.fields if f.is_number and f.name in frame.columns and not f.identifier]
    comma, point = {}, 0
    for name in numeric:
        hit = passing(frame[name], DECIMAL_COMMA.match, distinct.get(name))
        point += int(passing(frame[name], DECIMAL_POINT.match, distinct.get(name)).sum())
        if hit.any():
            comma[name] = hit
    if not comma or point:
        return []
    for name, hit in comma.items():
        frame[name] = _text(frame[name]).str.replace(",", ".", regex=False).where(hit, frame[name]).astype(object)
        frame[name] = frame[name].where(frame[name].notna(), None)
        distinct.pop(name, None)
    cells = sum(int(h.sum()) for h in comma.values())
    return [RULES["export_resaved"].finding(
        f"{source}: decimal commas in {cells} cells of {len(comma)} number fields (e.g. {next(iter(comma))}) of this "
        f"{'semicolon' if fmt.delimiter == ';' else 'tab'}-delimited file were read as decimal points")]


def normalise_export(frame: pd.DataFrame, study: Study, fmt: ExportFormat, missing_codes: dict[str, str],
                     source: str, distinct: dict[str, np.ndarray] | None = None) -> list[Finding]:
    """Normalise ``frame`` in place (steps 1–4 above); returns the findings, in that order. ``distinct``: the distinct
    cells (not None) of the frame's columns as the reader found them (``ParsedRecords.distinct``), so that a column is
    not hashed again to find that nothing in it is to be normalised; a step that changes a column forgets them."""
    distinct = dict(distinct or {})
    findings = blank_missing_data_codes(frame, study, missing_codes, source, distinct)
    findings += map_labels(frame, study, source, distinct)
    findings += normalise_dates(frame, study, fmt, source, distinct)
    findings += convert_decimal_commas(frame, study, fmt, source, distinct)
    return findings
