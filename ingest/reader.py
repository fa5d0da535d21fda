"""Read a records export as REDCap wrote it, as text, so that no value in it can crash the load.

REDCap writes UTF-8 (a BOM may lead), ``,``-delimited, one line per row (free text may hold quoted line
breaks). A file that a spreadsheet program opened and saved again differs in ways that can be recognised from
the file as a whole: another encoding (Windows-1252, UTF-16), another delimiter (``;`` or tab, with decimal
commas), CRLF line ends. :func:`sniff_export` recognises these once, for the whole file
(:class:`ExportFormat`), so that they are reported once rather than cell by cell; where the reading is
unambiguous the file is read correctly and the format says so (``resaved``), where it is not the file is
refused (:class:`UnreadableFileError`, naming file and what to do).

:func:`parse_records` then reads the rows. Everything is a string (an empty cell is None), kept in one object
array filled a chunk of rows at a time, never as a list of all rows. A row whose number of fields differs from the
header's is set aside as unreadable (its values are not kept: they may hold identifiers, and they cannot be trusted
to be in their columns). Two faults that make a parser lose rows silently are caught:

* a repeated header line (two exports concatenated) is not a data row: it is skipped and listed
  (``repeated_headers``);
* a stray ``"`` that opens a quoted field swallows the following lines into one record: a parsed record that
  spans several lines, one of which starts like a new row (a record id and a known event), is listed
  (``swallowed``) and every row it swallowed counts as an unreadable export row, so that nothing is lost
  silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

csv.field_size_limit(1 << 24)

REEXPORT = "export the records again from REDCap (Data Exports, CSV raw data) and copy the file into the drop unopened"
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
CHUNK_ROWS = 8192  # rows held as Python lists at a time before they move into the cells array
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


class UnreadableFileError(RuntimeError):
    """The file cannot be read as a REDCap export at all; the message names the file, the line and what to do."""


@dataclass(frozen=True)
class ExportFormat:
    """How the records file is written. ``resaved`` lists, in words, each way it differs from REDCap's own
    export (empty for a file as REDCap writes it)."""

    encoding: str = "utf-8"  # python codec used to read it
    delimiter: str = ","
    line_ending: str = "LF"  # LF | CRLF | CR
    bom: bool = False
    resaved: tuple[str, ...] = ()

    @property
    def decimal_comma_possible(self) -> bool:
        """A ``;``- or tab-delimited file comes from a locale that writes decimal commas."""
        return self.delimiter != ","


@dataclass
class ParsedRecords:
    source: str
    header: list[str]
    # the readable rows' cells, one row of the array per header field, one column per row (object dtype): the text
    # as exported, None for a cell that is empty or only whitespace
    cells: np.ndarray
    source_rows: list[int]  # spreadsheet row number of each row (header = 1)
    # (source_row, number of fields, its first two cells: record id and event as written)
    ragged: list[tuple[int, int, str, str]] = field(default_factory=list)
    replaced_rows: list[int] = field(default_factory=list)  # rows where undecodable bytes were replaced
    export_rows: int = 0  # data rows in the file, readable or not (swallowed rows included)
    format: ExportFormat = field(default_factory=ExportFormat)
    repeated_headers: list[int] = field(default_factory=list)  # physical lines repeating the header
    # (first line, last line, record id, event, rows swallowed) of each record a stray quote ran over
    swallowed: list[tuple[int, int, str, str, int]] = field(default_factory=list)
    swallowing_rows: set[int] = field(default_factory=set)  # source rows of the records that swallowed others
    # each header field's distinct cells that are not None, in order of first appearance (found while blanking; the
    # normalisation tests values, not cells)
    distinct: dict[str, np.ndarray] = field(default_factory=dict)



def _blanked(cells: np.ndarray) -> list[np.ndarray]:
    """Sets every cell of ``cells`` that is empty or only whitespace to None (in place); returns each field's distinct
    other values, in order of first appearance. Whitespace is tested once per distinct value, not once per cell."""
    distinct = []
    for field_cells in cells:  # field by field: a hash table of one field's values at a time
        blank = field_cells == ""
        values = pd.unique(field_cells[~blank])
        spaces = [v for v in values if v.isspace()]
        if spaces:
            blank |= pd.Series(field_cells).isin(spaces).to_numpy()
            values = np.array([v for v in values if not v.isspace()], dtype=object)
        field_cells[blank] = None
        distinct.append(values)
    return distinct


def _shorten(text: str, limit: int = 40) -> str:
    text = text.replace("\r", "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode(data: bytes, source: str) -> tuple[str, str, bool, bool]:
    """``(text, encoding, bom, replaced)`` of a records file.

    UTF-8 (with or without BOM) and UTF-16/32 with a BOM are read as such; UTF-16 without BOM is recognised by
    its NUL bytes. A file that is not UTF-8 and holds no UTF-8 multi-byte sequence is read as Windows-1252 (what
    spreadsheet programs on Windows write). A file that mixes UTF-8 with other bytes is read as UTF-8 with the
    other bytes replaced by U+FFFD (``replaced``), so that each affected cell can be reported.
    """
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff"), codec, True, False
            except UnicodeDecodeError:
                if codec == "utf-8-sig":  # UTF-8 with a few bad bytes: replaced and reported cell by cell
                    return data.decode(codec, errors="replace").lstrip("\ufeff"), "utf-8", True, True
                raise UnreadableFileError(f"{source}: the file starts with a {codec.upper()} byte-order mark but is "
                                          f"not {codec.upper()} text; {REEXPORT}") from None
    head = data[:4096]
    if head and head.count(b"\x00") * 3 > len(head):  # UTF-16 without a BOM: every other byte is NUL
        codec = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        try:
            return data.decode(codec), codec, False, False
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise UnreadableFileError(f"{source}: the file holds NUL bytes; it is not a text CSV export. {REEXPORT}")
    try:
        return data.decode("utf-8"), "utf-8", False, False
    except UnicodeDecodeError:
        pass
    if not _UTF8_MULTIBYTE.search(data):
        try:
            return data.decode("cp1252"), "cp1252", False, False
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", errors="replace"), "utf-8", False, True


def encoding_name(codec: str) -> str:
    """The name people know an encoding by: ``cp1252`` -> Windows-1252, ``utf-16-le`` -> UTF-16."""
    if codec == "cp1252":
        return "Windows-1252"
    return codec.upper().removesuffix("-SIG").removesuffix("-LE").removesuffix("-BE")


def _line_ending(text: str) -> str:
    first = text.find("\n")
    if first > 0 and text[first - 1] == "\r":
        return "CRLF"
    if first < 0 and "\r" in text:
        return "CR"
    return "LF"


def sniff_delimiter(first_line: str, expected_columns: set[str] | None = None) -> str:
    """The delimiter of the header line: the one that splits it into ``record_id, …`` with the most columns the
    study knows (``expected_columns``) — unambiguous for a REDCap header, whose names hold no delimiter."""
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        cells = [c.strip().strip('"') for c in first_line.split(delimiter)]
        if not cells or cells[0] != "record_id" or len(cells) < 2:
            continue
        score = len(set(cells) & expected_columns) if expected_columns else len(cells)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def sniff_export(data: bytes, source: str, expected_columns: set[str] | None = None) -> tuple[str, ExportFormat, bool]:
    """``(text, format, replaced)``: the decoded text, how the file is written, and whether bytes had to be
    replaced. Raises :class:`UnreadableFileError` when the file cannot be text."""
    text, encoding, bom, replaced = decode(data, source)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = sniff_delimiter(first_line, expected_columns)
    ending = _line_ending(text)
    resaved = []
    if encoding not in ("utf-8", "utf-8-sig"):
        resaved.append(f"{encoding_name(encoding)} encoding instead of UTF-8")
    if delimiter != ",":
        resaved.append(f"{DELIMITERS[delimiter]}-delimited instead of comma-delimited")
    if ending != "LF" and (resaved or encoding == "cp1252"):
        resaved.append(f"{ending} line ends")
    return text, ExportFormat(encoding=encoding, delimiter=delimiter, line_ending=ending, bom=bom,
                              resaved=tuple(resaved)), replaced


def _row_start(delimiter: str, events) -> re.Pattern | None:
    """A physical line that starts a new export row: a record id, then one of the study's event names."""
    if not events:
        return None
    d = re.escape(delimiter)
    names = "|".join(re.escape(e) for e in sorted(events, key=len, reverse=True))
    return re.compile(rf'^"?[^{d}"\r\n]+"?{d}"?(?:{names})"?(?:{d}|\r?$)')


def parse_records(path: Path, expected_columns: set[str] | None = None, events=()) -> ParsedRecords:
    """Read the records file at ``path``: header, rows as text, and what could not be read.

    ``expected_columns`` (the study's export columns) settle the delimiter; ``events`` (the study's unique event
    names) let a row swallowed by a stray quote be recognised. Raises :class:`UnreadableFileError` (naming file
    and line) when the file has no usable header or is not CSV at all.
    """
    source = Path(path).name
    text, fmt, replaced = sniff_export(Path(path).read_bytes(), source, expected_columns)
    lines = io.StringIO(text, newline="").readlines()
    del text  # the lines hold it
    reader = csv.reader(lines, delimiter=fmt.delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise UnreadableFileError(f"{source}: the records file is empty (no header line); {REEXPORT}") from None
    except csv.Error as exc:
        raise UnreadableFileError(f"{source}, line 1: the header cannot be read as CSV ({exc}); {REEXPORT}") from None
    if not header or header[0] != "record_id":
        first = repr(_shorten(header[0])) if header else "missing"
        if header and re.sub(r"[^a-z]", "", header[0].lower()) == "recordid":
            raise UnreadableFileError(
                f"{source}, line 1: the first column is {first}, not record_id: the header holds field labels "
                "instead of variable names; export the records again from REDCap (CSV raw data) with variable "
                "names as the header")
        raise UnreadableFileError(
            f"{source}, line 1: the first column is {first}, not record_id: this is not a REDCap records export "
            f"(or not comma-, semicolon- or tab-delimited); {REEXPORT}")
    unnamed = [str(i + 1) for i, h in enumerate(header) if not h]
    if unnamed:
        raise UnreadableFileError(
            f"{source}, line 1: {len(unnamed)} column(s) of the header have no name (column {', '.join(unnamed[:10])}"
            f"{' …' if len(unnamed) > 10 else ''}): a spreadsheet program adds such columns when it saves the file; "
            f"{REEXPORT}")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise UnreadableFileError(f"{source}, line 1: column(s) named twice in the header: {', '.join(duplicated)}; "
                                  f"{REEXPORT}")

    parsed = ParsedRecords(source=source, header=header, cells=np.empty((len(header), 0), dtype=object),
                           source_rows=[], format=fmt)
    row_start = _row_start(fmt.delimiter, events)
    width, names = len(header), set(header)
    # one column per physical line at most (a row is at least one line); the readable rows fill it from the left
    cells = np.empty((width, len(lines)), dtype=object)
    chunk: list[list[str]] = []
    row_number = 1
    while True:
        first_line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise UnreadableFileError(f"{source}, line {reader.line_num}: not valid CSV ({exc}); {REEXPORT}") from None
        last_line = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue  # blank line: REDCap writes none, editors sometimes add one at the end
        if values[0].strip().lstrip("\ufeff") in names:  # a record id is no column name: it may be a header line
            cells_named = [v.strip().lstrip("\ufeff") for v in values]
            if cells_named == header:  # a second export's header, BOM and all
                parsed.repeated_headers.append(first_line)
                row_number += 1  # a spreadsheet shows it as a row: later rows keep the numbers it shows
                continue
            if sum(cell in names for cell in cells_named) * 2 >= len(cells_named):
                raise UnreadableFileError(
                    f"{source}, line {first_line}: a second header line whose columns are not those of line 1 (in "
                    "another order, or other fields): two exports with different columns were joined into one file, "
                    f"so the rows after it cannot be read by line 1's columns; {REEXPORT} (one export, all records)")
        swallowed = 0
        if row_start is not None and last_line > first_line:
            swallowed = sum(1 for line in lines[first_line:last_line] if row_start.match(line))
        row_number += 1
        parsed.export_rows += 1 + swallowed
        if swallowed:
            parsed.swallowed.append((first_line, last_line, values[0], values[1] if len(values) > 1 else "",
                                     swallowed))
            parsed.swallowing_rows.add(row_number)
        if replaced and "\ufffd" in "".join(values):
            parsed.replaced_rows.append(row_number)
        if len(values) != width or swallowed:
            parsed.ragged.append((row_number, len(values), values[0].strip(),
                                  values[1].strip() if len(values) > 1 else ""))
            continue
        chunk.append(values)
        parsed.source_rows.append(row_number)
        if len(chunk) == CHUNK_ROWS:
            _move(chunk, cells, len(parsed.source_rows) - len(chunk))
    if parsed.export_rows == 0:
        raise UnreadableFileError(f"{source}: the records file holds the header line and no records; {REEXPORT}")
    _move(chunk, cells, len(parsed.source_rows) - len(chunk))
    parsed.cells = cells[:, :len(parsed.source_rows)]
    parsed.distinct = dict(zip(header, _blanked(parsed.cells)))
    return parsed


def _move(rows: list[list[str]], cells: np.ndarray, start: int) -> None:
    """Move ``rows`` (each of ``cells.shape[0]`` strings) into the columns of ``cells`` from ``start``; empties
    ``rows``."""
    if rows:
        block = np.empty((len(rows), cells.shape[0]), dtype=object)
        block[:] = rows
        cells[:, start:start + len(rows)] = block.T
        rows.clear()
