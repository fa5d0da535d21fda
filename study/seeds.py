"""The dbt reference seeds generated from the study definition: ``python -m study.seeds`` writes them.

``dbt_project/seeds/redcap_fields.csv``
    one row per data column of ``raw.records`` (identifiers as ingest replaced them; ``record_id`` and the
    ``<form>_complete`` columns are keys, not fields): ``field_order`` (export order), ``export_column``,
    ``field``, ``instrument``, ``field_type`` (REDCap's), ``staging_column`` (its name in
    ``stg_redcap__<instrument>``), ``sql_type`` (its DuckDB type there), ``label``, ``unit`` (empty if none) and
    ``is_measure`` (an analysed parameter in ``int_measures_long``). The staging models and the measures list
    are built from it.
``dbt_project/seeds/redcap_choices.csv``
    one row per choice of every radio, dropdown, yes/no, true/false and checkbox field: ``field``,
    ``export_column`` (``<field>___<code>`` for a checkbox choice, else the field), ``code``, ``label``. Codes
    become labels through it (macro ``redcap_label``).

A field added to the data dictionary reaches staging under its REDCap name, with the type
:attr:`study.definition.Field.sql_type` gives; what the warehouse calls or types differently is kept in the
hand-kept tables below, and nowhere else. A test fails when the seeds on disk differ from what the definition
gives (tests/dbt/test_dbt_seeds.py): regenerate them after each change of ``study/definition/``.

Usage: ``python -m study.seeds [--definition DIR] [--out DIR]`` (defaults: ``study/definition``,
``dbt_project/seeds``).
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from ingest.land import AGE_COLUMN, PSEUDONYM_COLUMN
from study.definition import CHOICE_TYPES, DEFINITION_DIR, Field, Study, label_unit, load_study

SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"

# ---- hand-kept: what the warehouse names or types differently from the dictionary ----------------------------

# The identifiers ingest replaces before anything is written (the others are dropped): column of raw.records,
# DuckDB type, label (a unit in its trailing parentheses, as the dictionary's labels have).
REPLACED_IDENTIFIERS = {
    "mrn": (PSEUDONYM_COLUMN, "VARCHAR", "Pseudonym of the hospital medical record number"),
    "dob": (AGE_COLUMN, "INTEGER", "Age at first infusion (years)"),
}

# Staging names other than the export column's (raw.records column -> staging column): the subject pseudonym
# (CDISC's term), choice codes that adsl decodes to labels (<field>_code, the label takes the field's name),
# the recorded mRSS total (the analysed one is int_mrss_scored.mrss_total) and checkbox choices named by what
# they mean.
STAGING_NAMES = {
    PSEUDONYM_COLUMN: "subject_pseudonym",
    "sex": "sex_code",
    "ssc_subtype": "ssc_subtype_code",
    "hrct_pattern": "hrct_pattern_code",
    "hrct_change": "hrct_change_code",
    "vital_status": "vital_status_code",
    "death_cause": "death_cause_code",
    "mrss_total": "mrss_total_recorded",
    "autoantibodies___1": "ab_scl70",
    "autoantibodies___2": "ab_centromere",
    "autoantibodies___3": "ab_rnapol3",
    "autoantibodies___4": "ab_u1rnp",
    "autoantibodies___5": "ab_ana",
    "prior_therapy___1": "prior_cyclophosphamide",
    "prior_therapy___2": "prior_mmf",
    "prior_therapy___3": "prior_methotrexate",
    "prior_therapy___4": "prior_glucocorticoids",
    "prior_therapy___5": "prior_other",
    **{f"haq_aids___{k}": f"aids_{category}" for k, category in enumerate(
        ("dressing", "arising", "eating", "walking", "hygiene", "reach", "grip", "activities"), start=1)},
}

# Staging types other than Field.sql_type's: the mRSS total is a calc field (DOUBLE) of whole site scores.
STAGING_TYPES = {"mrss_total": "INTEGER"}

# Measures (int_measures_long params) are the numeric fields of the visit instruments (see visit_instruments);
# beside them, these choice fields are analysed as numbers (yes/no as 1/0, ordinal codes as their value) ...
MEASURED_CHOICE_FIELDS = ("hrct_ild", "hrct_change", "medsger_pv", "pitting_scars", "gangrene")
# ... and these are not: their analysed value is a derived score (int_mrss_scored.mrss_total).
DERIVED_SCORE_FIELDS = ("mrss_total",)

FIELD_COLUMNS = ("field_order", "export_column", "field", "instrument", "field_type", "staging_column", "sql_type",
                 "label", "unit", "is_measure")
CHOICE_COLUMNS = ("field", "export_column", "code", "label")


def visit_instruments(study: Study) -> tuple[str, ...]:
    """Instruments collected at visits: designated for more than one event and not repeating (one assessment
    per visit; the infusions and adverse events are repeating, enrollment and vital status one-off)."""
    events = {form: {ev for ev, fm in study.form_events if fm == form} for form in study.forms}
    return tuple(form for form in study.forms
                 if len(events[form]) > 1 and form not in study.repeating_instruments)


def is_measure(f: Field, study: Study) -> bool:
    """An analysed parameter of ``int_measures_long``: a number (or a choice in MEASURED_CHOICE_FIELDS) on a
    visit instrument, unless its analysed value is a derived score."""
    if f.form not in visit_instruments(study) or f.name in DERIVED_SCORE_FIELDS:
        return False
    return f.is_number or f.name in MEASURED_CHOICE_FIELDS


def field_rows(study: Study) -> list[dict[str, str]]:
    """Rows of ``redcap_fields`` in export order (see the module docstring)."""
    rows = []
    for f in study.fields:
        if f.name == "record_id" or (f.identifier and f.name not in REPLACED_IDENTIFIERS):
            continue
        if f.name in REPLACED_IDENTIFIERS:
            column, sql_type, label = REPLACED_IDENTIFIERS[f.name]
            columns = [(column, sql_type, label, label_unit(label))]
        elif f.is_checkbox:  # one column per choice, labelled with it
            columns = [(c, f.sql_type, f"{f.label}: {label}", f.unit)
                       for c, (_, label) in zip(f.export_columns, f.choices)]
        else:
            columns = [(f.name, STAGING_TYPES.get(f.name, f.sql_type), f.label, f.unit)]
        for column, sql_type, label, unit in columns:
            rows.append({"field_order": str(len(rows) + 1), "export_column": column, "field": f.name,
                         "instrument": f.form, "field_type": f.field_type,
                         "staging_column": STAGING_NAMES.get(column, column), "sql_type": sql_type,
                         "label": label, "unit": unit, "is_measure": str(is_measure(f, study)).lower()})
    return rows


def choice_rows(study: Study) -> list[dict[str, str]]:
    """Rows of ``redcap_choices`` in dictionary order (see the module docstring)."""
    return [{"field": f.name, "export_column": f"{f.name}___{code}" if f.is_checkbox else f.name, "code": code,
             "label": label}
            for f in study.fields if f.field_type in CHOICE_TYPES for code, label in f.choices]


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def seed_texts(study: Study) -> dict[str, str]:
    """File name -> CSV text of every seed generated from the study definition."""
    return {"redcap_fields.csv": _csv(FIELD_COLUMNS, field_rows(study)),
            "redcap_choices.csv": _csv(CHOICE_COLUMNS, choice_rows(study))}


def write_seeds(study: Study, directory: Path = SEEDS_DIR) -> list[Path]:
    """Write the generated seeds into ``directory``; returns their paths."""
    paths = []
    for name, text in seed_texts(study).items():
        path = Path(directory) / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m study.seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--definition", type=Path, default=DEFINITION_DIR,
                        help="folder of the study definition (dictionary.csv, events.csv, ...)")
    parser.add_argument("--out", type=Path, default=SEEDS_DIR, help="the dbt project's seeds folder")
    args = parser.parse_args(argv)
    for path in write_seeds(load_study(args.definition), args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
