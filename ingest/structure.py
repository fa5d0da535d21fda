"""Compare what arrived (data dictionary, records header) with the study's own definition.

A field the study defines that is missing, or that changed type, validation or choice codes, is a structural
error: the analysis cannot trust that column, so the run stops at the gate and the steward report names the
field. A field the study does not know is a warning: it is ignored.
"""

from __future__ import annotations

from study.definition import KEY_COLUMNS, Field, Study
from quality.findings import Finding

STRUCTURE_HINT = (
    "Restore the field in the REDCap project (Project Setup → Data Dictionary) as the study defines it, or "
    "change the study definition in study/definition/ if the change is intended, then re-export."
)


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
            findings.append(Finding(
                rule="dictionary_field_missing", severity="error", category="conformance",
                subcategory="relational", action="blocked", field=expected.name, instrument=expected.form,
                message=f"{source}: field {expected.name} ({expected.form}) of the study is missing from the "
                        "data dictionary",
                hint=STRUCTURE_HINT,
            ))
        elif _signature(actual) != _signature(expected) or actual.form != expected.form:
            findings.append(Finding(
                rule="dictionary_field_retyped", severity="error", category="conformance",
                subcategory="value", action="blocked", field=expected.name, instrument=expected.form,
                message=f"{source}: field {expected.name} is defined as {_describe(actual)} in form "
                        f"{actual.form}; the study expects {_describe(expected)} in form {expected.form}",
                hint=STRUCTURE_HINT,
            ))
    for name, actual in got.items():
        if name not in study.by_name:
            findings.append(Finding(
                rule="dictionary_field_unexpected", severity="warning", category="conformance",
                subcategory="relational", action="none", field=name, instrument=actual.form,
                message=f"{source}: field {name} ({actual.form}) is not part of the study definition; it is ignored",
                hint="Nothing to fix if the field is new on purpose; ask the study team to add it to the definition.",
            ))
    return findings


def compare_header(study: Study, header: list[str], source: str) -> list[Finding]:
    expected = set(study.export_columns)
    present = set(header)
    findings = []
    for column in study.export_columns:
        if column not in present:
            owner = study.column_owner.get(column)
            findings.append(Finding(
                rule="records_column_missing", severity="error", category="conformance",
                subcategory="relational", action="blocked", field=column,
                instrument=owner.form if owner else None,
                message=f"{source}, line 1: column {column} is missing from the records export",
                hint="Export all instruments and fields in REDCap's raw format (Data Exports → All data).",
            ))
    for column in header:
        if column not in expected and column not in KEY_COLUMNS:
            findings.append(Finding(
                rule="records_column_unexpected", severity="warning", category="conformance",
                subcategory="relational", action="none", field=column,
                message=f"{source}, line 1: column {column} is not in the study definition; it is ignored",
                hint="Nothing to fix if the field is new on purpose.",
            ))
    return findings
