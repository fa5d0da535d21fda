"""Compare what arrived (data dictionary, records header) with the study's own definition.

A field the study defines that is missing, or that changed type, validation or choice codes, is a structural
error: the analysis cannot trust that column, so the run stops at the gate and the steward report names the
field. A field the study does not know is a warning: it is ignored. Severity, action and hint of each rule
come from the rules catalog (quality/rules.py).
"""

from __future__ import annotations

import difflib

from quality.findings import Finding
from quality.rules import RULES
from study.definition import KEY_COLUMNS, Field, Study


def _signature(f: Field) -> tuple:
    return (f.field_type, f.validation, f.choice_codes)


def _describe(f: Field) -> str:
    parts = [f.field_type]
    if f.validation:
        parts.append(f"validation {f.validation}")
    if f.choices:
        parts.append("codes " + ",".join(f.choice_codes))
    return ", ".join(parts)


def compare_dictionary(study: Study, received: tuple[Field, ...], source: str) -> list[Finding]:
    got = {f.name: f for f in received}
    findings = []
    for expected in study.fields:
        actual = got.get(expected.name)
        if actual is None:
            findings.append(RULES["dictionary_field_missing"].finding(
                f"{source}: field {expected.name} ({expected.form}) of the study is missing from the data dictionary",
                field=expected.name, instrument=expected.form))
        elif _signature(actual) != _signature(expected) or actual.form != expected.form:
            findings.append(RULES["dictionary_field_retyped"].finding(
                f"{source}: field {expected.name} is defined as {_describe(actual)} in form {actual.form}; the "
                f"study expects {_describe(expected)} in form {expected.form}",
                field=expected.name, instrument=expected.form))
    for name, actual in got.items():
        if name not in study.by_name:
            findings.append(RULES["dictionary_field_unexpected"].finding(
                f"{source}: field {name} ({actual.form}) is not part of the study definition; it is ignored",
                field=name, instrument=actual.form))
    return findings


def compare_header(study: Study, header: list[str], source: str) -> list[Finding]:
    expected = set(study.export_columns)
    present = set(header)
    findings = []
    unexpected = [c for c in header if c not in expected and c not in KEY_COLUMNS]
    for column in study.export_columns:
        if column not in present:
            owner = study.column_owner.get(column)
            # a column of the export the study does not know, named much like this one: the field renamed?
            renamed = difflib.get_close_matches(column, unexpected, n=1, cutoff=0.75)
            hint = (f" (the export has {renamed[0]}, which the study does not know: if the field was renamed in "
                    "REDCap, the study definition must be changed with it)" if renamed else "")
            findings.append(RULES["records_column_missing"].finding(
                f"{source}, line 1: column {column} is missing from the records export{hint}; export the records "
                "again with every instrument and field (REDCap Data Exports, all data, CSV raw data)",
                field=column, instrument=owner.form if owner else None))
    for column in header:
        if column not in expected and column not in KEY_COLUMNS:
            findings.append(RULES["records_column_unexpected"].finding(
                f"{source}, line 1: column {column} is not in the study definition; it is ignored", field=column))
    return findings
