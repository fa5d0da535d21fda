"""Write a REDCap export drop exactly as the hospital's REDCap writes it (the contract's raw flat export).

The generator and the demo describe each patient as a :class:`PatientRecord` (forms by event, repeating
instrument instances, unscheduled visits); :func:`patient_rows` lays them out as export rows and
:func:`write_drop` writes the drop folder::

    <out>/<drop_name>/SSC_DATA_<YYYY-MM-DD>_<HHMM>.csv     records (header = study.export_columns)
    <out>/<drop_name>/SSC_DataDictionary_<YYYY-MM-DD>.csv  byte copy of study/definition/dictionary.csv
    <out>/<drop_name>/events.csv, form_event_mapping.csv, repeating.csv   byte copies

Layout rules (REDCap's):

* one row per record and event that holds data; a row's designated non-repeating forms that were never
  filled show ``0`` in their checkbox columns and their ``<form>_complete`` column;
* each instance of a repeating instrument (``infusion``, ``adverse_event``) is a row of its own with
  ``redcap_repeat_instrument`` and ``redcap_repeat_instance`` set and only that instrument's columns filled
  (instances are numbered 1.. per record, event and instrument);
* each instance of the repeating event (``unscheduled_arm_1``) is a row with ``redcap_repeat_instance`` set
  and ``redcap_repeat_instrument`` empty;
* rows are ordered by record (as given), then event (events.csv order), then the event row before its
  repeating-instrument rows (instrument in dictionary order, then instance).

Rows are plain ``dict[str, str]`` (column -> text, ``""`` empty). A row may carry the private key ``_uid``
(used by the defect injector to find rows again); it is never written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from study.definition import DEFINITION_DIR, Study, load_study

PROJECT = "SSC"
METADATA_FILES = ("events.csv", "form_event_mapping.csv", "repeating.csv")


@dataclass
class PatientRecord:
    """One record of the REDCap project, by event.

    ``forms``: event -> form -> {export column: value} for non-repeating forms (``enrollment`` at
    ``baseline_arm_1``, ``vital_status`` at ``end_of_follow_up_arm_1``). A form dict may carry its
    ``<form>_complete`` value (default ``2``).
    ``repeats``: event -> instrument -> list of instance dicts (repeating instruments).
    ``unscheduled``: list of form dicts (form -> {column: value}), one per instance of the repeating event.
    """

    record_id: str
    forms: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    repeats: dict[str, dict[str, list[dict[str, str]]]] = field(default_factory=dict)
    unscheduled: list[dict[str, dict[str, str]]] = field(default_factory=list)

    def add_form(self, event: str, form: str, values: dict[str, str]) -> None:
        self.forms.setdefault(event, {})[form] = values

    def add_repeat(self, event: str, instrument: str, values: dict[str, str]) -> None:
        self.repeats.setdefault(event, {}).setdefault(instrument, []).append(values)


class Layout:
    """Pre-computed column facts of a study, so laying out thousands of rows stays fast."""

    def __init__(self, study: Study):
        self.study = study
        self.columns = study.export_columns
        self.empty_row = {c: "" for c in self.columns}
        self.checkbox_columns = {
            form: tuple(c for f in study.fields_of(form) if f.is_checkbox for c in f.export_columns)
            for form in study.forms
        }
        self.repeating_pairs = {(ev, form) for ev, form in study.repeating if form}
        self.event_forms = {
            ev: tuple(f for f in study.forms_of_event(ev) if (ev, f) not in self.repeating_pairs)
            for ev in study.event_names
        }
        self.repeating_event_set = set(study.repeating_events)

    def event_row(self, record_id: str, event: str, instance: str, forms: dict[str, dict[str, str]]) -> dict:
        row = dict(self.empty_row)
        row["record_id"] = record_id
        row["redcap_event_name"] = event
        row["redcap_repeat_instance"] = instance
        for form in self.event_forms[event]:
            values = forms.get(form)
            for c in self.checkbox_columns[form]:
                row[c] = "0"
            if values and any(v != "" for k, v in values.items() if not k.endswith("_complete")):
                for k, v in values.items():
                    row[k] = v
                row.setdefault(f"{form}_complete", "2")
                if row[f"{form}_complete"] == "":
                    row[f"{form}_complete"] = "2"
            else:
                row[f"{form}_complete"] = "0"
        return row

    def repeat_row(self, record_id: str, event: str, instrument: str, instance: int, values: dict) -> dict:
        row = dict(self.empty_row)
        row["record_id"] = record_id
        row["redcap_event_name"] = event
        row["redcap_repeat_instrument"] = instrument
        row["redcap_repeat_instance"] = str(instance)
        for c in self.checkbox_columns[instrument]:
            row[c] = "0"
        for k, v in values.items():
            row[k] = v
        if row[f"{instrument}_complete"] == "":
            row[f"{instrument}_complete"] = "2"
        return row


def patient_rows(patient: PatientRecord, layout: Layout) -> list[dict[str, str]]:
    """The export rows of one record, in REDCap's order."""
    rows: list[dict[str, str]] = []
    rid = patient.record_id
    for event in layout.study.event_names:
        if event in layout.repeating_event_set:
            for k, forms in enumerate(patient.unscheduled, start=1):
                rows.append(layout.event_row(rid, event, str(k), forms))
            continue
        forms = patient.forms.get(event, {})
        if any(any(v != "" for c, v in vals.items() if not c.endswith("_complete")) for vals in forms.values()):
            rows.append(layout.event_row(rid, event, "", forms))
        repeats = patient.repeats.get(event, {})
        for instrument in layout.study.forms:
            for k, values in enumerate(repeats.get(instrument, []), start=1):
                rows.append(layout.repeat_row(rid, event, instrument, k, values))
    return rows


def cohort_rows(patients: list[PatientRecord], study: Study | None = None) -> list[dict[str, str]]:
    layout = Layout(study or load_study())
    rows: list[dict[str, str]] = []
    for p in patients:
        rows.extend(patient_rows(p, layout))
    return rows


def records_filename(export_dt: dt.datetime) -> str:
    return f"{PROJECT}_DATA_{export_dt:%Y-%m-%d}_{export_dt:%H%M}.csv"


def dictionary_filename(export_dt: dt.datetime) -> str:
    return f"{PROJECT}_DataDictionary_{export_dt:%Y-%m-%d}.csv"


def default_drop_name(export_dt: dt.datetime) -> str:
    return f"{export_dt:%Y-%m-%dT%H%M}"


def parse_drop_name(name: str) -> dt.datetime | None:
    """``2026-11-24T0200`` -> datetime(2026, 11, 24, 2, 0); None if the name is not of that form."""
    try:
        return dt.datetime.strptime(name, "%Y-%m-%dT%H%M")
    except ValueError:
        return None


def records_csv_text(rows: list[dict[str, str]], columns: tuple[str, ...], bom: bool = False) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    text = buffer.getvalue()
    return ("\ufeff" + text) if bom else text


def write_drop(
    rows: list[dict[str, str]],
    out_dir: Path,
    drop_name: str,
    export_dt: dt.datetime,
    bom: bool = False,
    study: Study | None = None,
    definition_dir: Path = DEFINITION_DIR,
) -> Path:
    """Write the drop folder ``out_dir/drop_name`` and return the path of its records file."""
    study = study or load_study(definition_dir)
    drop = Path(out_dir) / drop_name
    drop.mkdir(parents=True, exist_ok=True)
    records = drop / records_filename(export_dt)
    with open(records, "w", encoding="utf-8", newline="") as handle:
        handle.write(records_csv_text(rows, study.export_columns, bom=bom))
    shutil.copyfile(Path(definition_dir) / "dictionary.csv", drop / dictionary_filename(export_dt))
    for name in METADATA_FILES:
        shutil.copyfile(Path(definition_dir) / name, drop / name)
    return records
