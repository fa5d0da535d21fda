"""dbt seeds generated from the study definition must not drift from it: regenerate them with
``python -m study.seeds`` after a change of study/definition/."""

import pytest

from study.definition import load_study
from study.seeds import SEEDS_DIR, seed_texts

GENERATED = seed_texts(load_study())


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_seed_is_what_the_data_dictionary_gives(name):
    on_disk = (SEEDS_DIR / name).read_text(encoding="utf-8")
    assert on_disk == GENERATED[name], f"{SEEDS_DIR / name} differs from the study definition: " \
                                       f"run python -m study.seeds"
