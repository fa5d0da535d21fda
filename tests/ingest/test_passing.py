"""ingest.normalise.passing: a cell test on distinct values, the same answer as a test of every cell."""

from __future__ import annotations

import re

import pandas as pd

from ingest.normalise import passing


def test_cells_are_tested_stripped_empty_cells_never_pass_and_each_distinct_value_once():
    cells = pd.Series(["UNK", " UNK ", None, "12", "UNK", "unk", "\tNA"], index=[10, 11, 12, 13, 14, 15, 16],
                      dtype=object)
    seen: list[str] = []

    def is_code(text: str) -> bool:
        seen.append(text)
        return text in {"UNK", "NA"}

    hit = passing(cells, is_code)
    assert hit.dtype == bool and list(hit.index) == list(cells.index)
    assert hit.tolist() == [True, True, False, False, True, False, True]
    assert sorted(seen) == sorted(["UNK", "UNK", "12", "unk", "NA"])  # " UNK " is its own distinct value


def test_the_answer_is_that_of_testing_every_cell_with_pandas_string_methods():
    pattern = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
    cells = pd.Series(["03/14/2019", " 3/4/2019", "2019-03-14", None, "", "3/4/2019 ", "x"] * 3, dtype=object)
    every_cell = cells.astype("string").str.strip().str.match(pattern).fillna(False).astype(bool)
    assert passing(cells, pattern.match).equals(every_cell)
    assert not passing(pd.Series([], dtype=object), bool).any()
    assert passing(pd.Series([None, None], dtype=object), bool).tolist() == [False, False]
