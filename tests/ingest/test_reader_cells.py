"""ingest.reader.parse_records keeps the readable rows' cells in one object array, filled chunk by chunk: the cells
must be those the csv module reads, row for row and across chunk boundaries, with an empty or whitespace-only cell
as None, and the unreadable rows, repeated headers and blank lines left out with their numbers kept."""

from __future__ import annotations

import csv
import io

from ingest.reader import CHUNK_ROWS, parse_records


def _expected(text: str, width: int) -> tuple[list[list[str | None]], list[int]]:
    """The reference: every csv record of the width of the header, cell by cell, a blank cell as None, with the
    row number a spreadsheet shows (a repeated header counts as a row, a blank line does not)."""
    rows, numbers, number = [], [], 1
    header, *records = list(csv.reader(io.StringIO(text, newline="")))
    for values in records:
        if not values:
            continue
        number += 1
        if values == header or len(values) != width:
            continue
        rows.append([v if v.strip() else None for v in values])
        numbers.append(number)
    return rows, numbers


def test_cells_are_the_csv_cells_with_blanks_as_none_across_chunks(tmp_path):
    lines = ["record_id,redcap_event_name,note,score"]
    for i in range(CHUNK_ROWS + 300):
        note = ["", " ", "\t", '"a, b"', '"two\nlines"', '""', "plain"][i % 7]
        score = ["", "12.5", "  ", "0"][i % 4]
        lines.append(f"{i},baseline_arm_1,{note},{score}")
        if i == CHUNK_ROWS - 2:
            lines.append("x,baseline_arm_1,too,many,fields")  # ragged: not loaded
            lines.append("record_id,redcap_event_name,note,score")  # a second export's header
            lines.append("")  # a blank line
    text = "\n".join(lines) + "\n"
    path = tmp_path / "SSC_DATA_2026-11-24_0200.csv"
    path.write_text(text, encoding="utf-8")

    parsed = parse_records(path)

    rows, numbers = _expected(text, 4)
    assert len(rows) == CHUNK_ROWS + 300 > CHUNK_ROWS
    assert parsed.cells.T.tolist() == rows
    assert parsed.source_rows == numbers
    assert parsed.cells.shape == (4, len(rows))
    assert parsed.ragged == [(CHUNK_ROWS + 1, 5, "x", "baseline_arm_1")]
    assert parsed.export_rows == len(rows) + 1
    assert parsed.cells[2, 1] is None and parsed.cells[2, 2] is None and parsed.cells[2, 4] == "two\nlines"


def test_a_file_whose_rows_are_all_unreadable_has_no_cells(tmp_path):
    path = tmp_path / "SSC_DATA_2026-11-24_0200.csv"
    path.write_text("record_id,redcap_event_name\n1,baseline_arm_1,extra\n2\n", encoding="utf-8")
    parsed = parse_records(path)
    assert parsed.cells.shape == (2, 0) and parsed.source_rows == []
    assert parsed.export_rows == 2 and parsed.ragged == [(2, 3, "1", "baseline_arm_1"), (3, 1, "2", "")]
