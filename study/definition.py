"""The project's own definition of the study: fields, codes, ranges, events and forms.

It is read from the REDCap-format files in ``study/definition/`` (copies of the hospital's contract), so a
change to the study is a change to those files, not to code. The same parser reads the data dictionary that
arrives with every export drop, which is how ingestion compares the two.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

DEFINITION_DIR = Path(__file__).resolve().parent / "definition"

# REDCap's raw export always starts with these columns, in this order.
KEY_COLUMNS = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")

# Column headers of REDCap's data dictionary export, by position (the header text varies between versions).
DICTIONARY_COLUMNS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "choices",
    "field_note",
    "validation",
    "validation_min",
    "validation_max",
    "identifier",
    "branching_logic",
    "required",
    "custom_alignment",
    "question_number",
    "matrix_group",
    "matrix_ranking",
    "field_annotation",
)

# Field types whose values are choice codes.
CHOICE_TYPES = ("radio", "dropdown", "checkbox", "yesno", "truefalse")
YESNO_CHOICES = {"1": "Yes", "0": "No"}


class DictionaryError(ValueError):
    """A data dictionary that cannot be parsed; the message names the file and line."""


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    field_type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    required: bool = False
    branching: str = ""
    calculation: str = ""  # a calc field's formula (REDCap's "Choices, Calculations, OR Slider Labels" column)

    @property
    def is_checkbox(self) -> bool:
        return self.field_type == "checkbox"

    @property
    def is_date(self) -> bool:
        return self.validation.startswith("date_")

    @property
    def is_number(self) -> bool:
        """A number: REDCap's ``integer`` and ``number`` validations (``number_1dp``... included), or a calc."""
        return self.validation.startswith("number") or self.validation == "integer" or self.field_type == "calc"

    @property
    def choice_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.choices)

    @property
    def choice_labels(self) -> dict[str, str]:
        return dict(self.choices)

    @property
    def export_columns(self) -> tuple[str, ...]:
        """Columns of this field in REDCap's flat export: one per choice for a checkbox."""
        if self.is_checkbox:
            return tuple(f"{self.name}___{code}" for code in self.choice_codes)
        return (self.name,)

    @property
    def sql_type(self) -> str:
        """DuckDB type of the field's typed value in the warehouse (of each export column, for a checkbox):
        ``DATE`` for a date; ``BOOLEAN`` for yes/no, true/false and each checkbox choice; ``INTEGER`` for the
        ``integer`` validation and for radio/dropdown codes that are all whole numbers; ``DOUBLE`` for other
        numbers and calc fields; ``VARCHAR`` otherwise (text, letter codes, datetimes)."""
        if self.is_date:
            return "DATE"
        if self.field_type in ("yesno", "truefalse", "checkbox"):
            return "BOOLEAN"
        if self.field_type in ("radio", "dropdown"):
            whole = all(code.lstrip("-").isdigit() for code in self.choice_codes)
            return "INTEGER" if self.choices and whole else "VARCHAR"
        if self.validation == "integer":
            return "INTEGER"
        if self.is_number:
            return "DOUBLE"
        return "VARCHAR"

    @property
    def unit(self) -> str:
        """The unit its label names (:func:`label_unit`)."""
        return label_unit(self.label)

    @property
    def calc_terms(self) -> tuple[str, ...]:
        """The fields a calc field sums, ``[a] + [b] + ...`` in its formula; ``()`` for any other formula or
        field."""
        if self.field_type != "calc":
            return ()
        terms = [t.strip() for t in self.calculation.split("+")]
        names = [m.group(1) for t in terms if (m := re.fullmatch(r"\[([a-z0-9_]+)\]", t))]
        return tuple(names) if names and len(names) == len(terms) else ()


@dataclass(frozen=True)
class Event:
    unique_name: str
    label: str
    day_offset: int
    offset_min: int
    offset_max: int


@dataclass(frozen=True)
class Study:
    fields: tuple[Field, ...]
    events: tuple[Event, ...]
    form_events: tuple[tuple[str, str], ...]  # (unique_event_name, form)
    repeating: tuple[tuple[str, str], ...] = field(default=())  # (unique_event_name, form or "" for the event)

    # ---- fields and forms -------------------------------------------------------------------------
    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def forms(self) -> tuple[str, ...]:
        """Forms (instruments) in dictionary order."""
        return tuple(dict.fromkeys(f.form for f in self.fields))

    def fields_of(self, form: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.form == form)

    def data_columns_of(self, form: str) -> tuple[str, ...]:
        """Export columns that hold data of a form (``record_id`` excluded: it is a key, not data)."""
        return tuple(c for f in self.fields_of(form) if f.name != "record_id" for c in f.export_columns)

    def components_of(self, f: Field) -> tuple[str, ...]:
        """Fields a calc field sums (``[a] + [b] + ...`` in its dictionary formula, :attr:`Field.calc_terms`);
        () if it is not a plain sum of fields of the study. Such a total, filled but unusable (not a number, out
        of range, a missing-data code), still counts as filled: its components' sum never replaces it (the
        analysis plan's mRSS rule, docs/contract.md)."""
        terms = f.calc_terms
        return terms if terms and all(name in self.by_name for name in terms) else ()

    def date_field_of(self, form: str) -> Field | None:
        """The field that dates an assessment of this form (the first date field of the form)."""
        return next((f for f in self.fields_of(form) if f.is_date and not f.identifier), None)

    @cached_property
    def identifiers(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.identifier)

    @cached_property
    def export_columns(self) -> tuple[str, ...]:
        """Every column of the records file in REDCap's order: keys, then each form's fields and ``_complete``."""
        columns = list(KEY_COLUMNS)
        for form in self.forms:
            columns.extend(c for f in self.fields_of(form) if f.name != "record_id" for c in f.export_columns)
            columns.append(f"{form}_complete")
        return tuple(columns)

    @cached_property
    def column_owner(self) -> dict[str, Field]:
        """Export column -> the field it belongs to (checkbox choice columns map to their checkbox)."""
        return {c: f for f in self.fields for c in f.export_columns}

    # ---- events -----------------------------------------------------------------------------------
    @cached_property
    def event_names(self) -> tuple[str, ...]:
        return tuple(e.unique_name for e in self.events)

    def forms_of_event(self, event: str) -> tuple[str, ...]:
        return tuple(form for ev, form in self.form_events if ev == event)

    @cached_property
    def repeating_instruments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(form for _, form in self.repeating if form))

    @cached_property
    def repeating_events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(ev for ev, form in self.repeating if not form))


# ---- parsing ----------------------------------------------------------------------------------------


def label_unit(label: str) -> str:
    """The unit a label ends with in parentheses: ``"Body weight at infusion (kg)"`` -> ``"kg"``; ``""`` when
    there is none. A score range in parentheses (``"(0-10)"``, ``"(total, 0-51)"``) is not a unit."""
    match = re.search(r"\(([^()]+)\)\s*$", label)
    if not match or re.search(r"\d\s*-\s*\d", match.group(1)):
        return ""
    return match.group(1).strip()


def parse_choices(text: str, field_type: str) -> tuple[tuple[str, str], ...]:
    """``"1, Female | 2, Male"`` -> ``(("1", "Female"), ("2", "Male"))``; yes/no fields get REDCap's codes."""
    if field_type == "yesno":
        return tuple(YESNO_CHOICES.items())
    if field_type == "truefalse":
        return (("1", "True"), ("0", "False"))
    if field_type not in CHOICE_TYPES or not text.strip():
        return ()
    choices = []
    for part in text.split("|"):
        code, _, label = part.strip().partition(",")
        choices.append((code.strip(), label.strip()))
    return tuple(choices)


def read_csv_text(text: str, source: str) -> list[dict[str, str]]:
    """Rows of a small REDCap metadata CSV as dicts; a ragged row is an error naming file and line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise DictionaryError(f"{source}: the file is empty") from None
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise DictionaryError(
                f"{source}, line {reader.line_num}: {len(values)} columns where the header has {len(header)}"
            )
        rows.append(dict(zip(header, values)))
    return rows


def dictionary_delimiter(text: str) -> str:
    """The delimiter of a data dictionary: REDCap writes ``,``; a spreadsheet re-save may write ``;`` or tab. The
    header line has 18 columns (at least 13) with exactly one of them."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: len(next(csv.reader([first], delimiter=d), [])))


def parse_dictionary(text: str, source: str = "dictionary.csv") -> tuple[Field, ...]:
    """Fields of a REDCap data dictionary export (columns read by position, as REDCap's headers vary; the
    delimiter as :func:`dictionary_delimiter` finds it)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=dictionary_delimiter(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DictionaryError(f"{source}: the data dictionary is empty") from None
    if len(header) < 13:
        raise DictionaryError(
            f"{source}, line 1: {len(header)} columns; a REDCap data dictionary has {len(DICTIONARY_COLUMNS)}"
        )
    fields = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) < 13:
            raise DictionaryError(f"{source}, line {reader.line_num}: {len(values)} columns, expected {len(header)}")
        row = dict(zip(DICTIONARY_COLUMNS, values))
        field_type = row["field_type"].strip()
        fields.append(
            Field(
                name=row["field_name"].strip(),
                form=row["form_name"].strip(),
                field_type=field_type,
                label=row["field_label"].strip(),
                choices=parse_choices(row["choices"], field_type),
                calculation=row["choices"].strip() if field_type == "calc" else "",
                validation=row["validation"].strip(),
                minimum=row["validation_min"].strip(),
                maximum=row["validation_max"].strip(),
                identifier=row["identifier"].strip().lower() == "y",
                required=row["required"].strip().lower() == "y",
                branching=row["branching_logic"].strip(),
            )
        )
    return tuple(fields)


def load_study(directory: Path = DEFINITION_DIR) -> Study:
    """The study as defined by the REDCap-format files in ``directory``."""
    directory = Path(directory)
    fields = parse_dictionary((directory / "dictionary.csv").read_text(encoding="utf-8"), "dictionary.csv")
    events = tuple(
        Event(
            unique_name=r["unique_event_name"],
            label=r["event_name"],
            day_offset=int(r["day_offset"]),
            offset_min=int(r["offset_min"]),
            offset_max=int(r["offset_max"]),
        )
        for r in read_csv_text((directory / "events.csv").read_text(encoding="utf-8"), "events.csv")
    )
    form_events = tuple(
        (r["unique_event_name"], r["form"])
        for r in read_csv_text(
            (directory / "form_event_mapping.csv").read_text(encoding="utf-8"), "form_event_mapping.csv"
        )
    )
    repeating = tuple(
        (r["event_name"], r["form_name"])
        for r in read_csv_text((directory / "repeating.csv").read_text(encoding="utf-8"), "repeating.csv")
    )
    return Study(fields=fields, events=events, form_events=form_events, repeating=repeating)
