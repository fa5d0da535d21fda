"""Read a records export as text, so that no value in it can crash the load.

Everything is a string here. Bytes that are not UTF-8 are replaced (and reported by row, never by value), a
leading BOM is dropped, a row whose number of fields differs from the header's is set aside as unreadable
(its values are not kept: they may hold identifiers, and they cannot be trusted to be in their columns).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

csv.field_size_limit(1 << 24)


class UnreadableFileError(RuntimeError):
    """The file cannot be read as a REDCap export at all; the message names the file and line."""


@dataclass
class ParsedRecords:
    source: str
    header: list[str]
    rows: list[list[str]]  # cells as exported ("" for empty), aligned with ``header``
    source_rows: list[int]  # spreadsheet row number of each row (header = 1)
    ragged: list[tuple[int, int]] = field(default_factory=list)  # (source_row, number of fields)
    replaced_rows: list[int] = field(default_factory=list)  # rows where undecodable bytes were replaced
    export_rows: int = 0  # data rows in the file, readable or not


def decode(data: bytes, source: str) -> tuple[str, bool]:
    """UTF-8 text of ``data`` without BOM; the flag says whether undecodable bytes had to be replaced."""
    try:
        text = data.decode("utf-8")
        replaced = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        replaced = True
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise UnreadableFileError(f"{source}: the file holds NUL bytes; it is not a text CSV export")
    return text, replaced


def parse_records(path: Path) -> ParsedRecords:
    source = Path(path).name
    text, replaced = decode(Path(path).read_bytes(), source)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UnreadableFileError(f"{source}: the records file is empty (no header line)") from None
    except csv.Error as exc:
        raise UnreadableFileError(f"{source}, line 1: the header cannot be parsed as CSV ({exc})") from None
    if not header or header[0] != "record_id":
        first = repr(header[0]) if header else "missing"
        raise UnreadableFileError(
            f"{source}, line 1: the first column is {first}; a REDCap records export starts with record_id"
        )
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise UnreadableFileError(f"{source}, line 1: column(s) named twice in the header: {', '.join(duplicated)}")

    parsed = ParsedRecords(source=source, header=header, rows=[], source_rows=[])
    width = len(header)
    row_number = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFileError(f"{source}, line {reader.line_num}: not valid CSV ({exc})") from None
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line: REDCap writes none, editors sometimes add one at the end
        row_number += 1
        parsed.export_rows += 1
        if replaced and "\ufffd" in "".join(values):
            parsed.replaced_rows.append(row_number)
        if len(values) != width:
            parsed.ragged.append((row_number, len(values)))
            continue
        parsed.rows.append(values)
        parsed.source_rows.append(row_number)
    return parsed
