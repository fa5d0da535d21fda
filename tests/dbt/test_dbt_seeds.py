"""dbt seeds that mirror the study definition must not drift from it."""

import csv
from pathlib import Path

from study.definition import load_study

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


def test_checkbox_choices_seed_mirrors_the_data_dictionary():
    with open(SEEDS / "redcap_checkbox_choices.csv", newline="") as handle:
        seeded = [(r["export_column"], r["field"], r["instrument"], r["choice_code"], r["choice_label"])
                  for r in csv.DictReader(handle)]
    expected = [(f"{f.name}___{code}", f.name, f.form, code, label)
                for f in load_study().fields if f.is_checkbox for code, label in f.choices]
    assert seeded == expected
