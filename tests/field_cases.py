"""REDCap exports as they really arrive, made in code from the bundled demo drop.

Each builder takes the demo's header and rows (lists of text cells, as REDCap wrote them) and returns them
changed the way a spreadsheet program, a labels export, a site's missing-data codes, a batch concatenation or a
Mac would change them; :func:`write_drop` writes a drop with a given encoding, delimiter and line end. The kinds
follow the field cases the project was given (one builder per kind, parameters for other instances of it);
nothing is read from outside the repository.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

from study.definition import load_study

REPO = Path(__file__).resolve().parents[1]
DEMO_DROP = REPO / "demo" / "inbox" / "2026-11-24T0200"
RECORDS = "SSC_DATA_2026-11-24_0200.csv"
STUDY = load_study()
ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def demo_rows() -> tuple[list[str], list[list[str]]]:
    """Header and rows of the demo's records file."""
    with open(DEMO_DROP / RECORDS, newline="", encoding="utf-8-sig") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def write_drop(inbox: Path, header: list[str], rows: list[list[str]], *, name: str = "2026-11-24T0200",
               encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n", bom: bool = False,
               raw_lines: list[str] | None = None) -> Path:
    """A drop folder ``inbox/name`` with the demo's dictionary and metadata and these records."""
    folder = Path(inbox) / name
    folder.mkdir(parents=True, exist_ok=True)
    for path in DEMO_DROP.iterdir():
        if path.name != RECORDS:
            shutil.copy(path, folder / path.name)
    if raw_lines is None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        text = newline.join(raw_lines) + newline
    data = text.encode(encoding)
    if bom and encoding.replace("-", "").lower() == "utf8":
        data = b"\xef\xbb\xbf" + data
    (folder / RECORDS).write_bytes(data)
    return folder


def column(header: list[str], name: str) -> int:
    return header.index(name)


def date_columns(header: list[str], identifiers: bool = True) -> list[int]:
    owner = STUDY.column_owner
    return [i for i, c in enumerate(header) if c in owner and owner[c].is_date
            and (identifiers or not owner[c].identifier)]


# ---- a spreadsheet program re-saved the file ------------------------------------------------------------------


def dates_reordered(header, rows, order: str = "mdy", separator: str = "/") -> list[list[str]]:
    """Every date as m/d/yyyy (US Excel) or d/m/yyyy (``order='dmy'``), without leading zeros."""
    out = [list(r) for r in rows]
    for row in out:
        for i in date_columns(header):
            m = ISO.match(row[i])
            if m:
                y, mo, d = m.group(1), int(m.group(2)), int(m.group(3))
                row[i] = separator.join([str(mo), str(d)] if order == "mdy" else [str(d), str(mo)]) + separator + y
    return out


def _number_cells(header, rows, change) -> list[list[str]]:
    numbers = [i for i, c in enumerate(header) if c in STUDY.column_owner and STUDY.column_owner[c].is_number]
    out = [list(r) for r in rows]
    for row in out:
        for i in numbers:
            row[i] = change(row[i])
    return out


def trailing_zeros_dropped(header, rows) -> list[list[str]]:
    """``1.00`` → ``1``, ``72.0`` → ``72``: what a spreadsheet writes for a number it reformatted."""
    return _number_cells(header, rows, lambda v: v.rstrip("0").rstrip(".") if re.fullmatch(r"-?\d+\.\d+", v) else v)


def decimal_commas(header, rows) -> list[list[str]]:
    """Decimal points of number fields as commas (a European locale)."""
    return _number_cells(header, rows, lambda v: v.replace(".", ","))


# ---- labels instead of raw codes --------------------------------------------------------------------------------


def as_labels(header, rows, fields: list[str] | None = None, checkbox=("Checked", "Unchecked"),
              complete=True) -> list[list[str]]:
    """Choice fields written as their dictionary labels (REDCap's labels export): radio/dropdown/yes-no
    labels, checkboxes Checked/Unchecked, ``_complete`` Incomplete/Unverified/Complete."""
    out = [list(r) for r in rows]
    owner = STUDY.column_owner
    complete_labels = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
    for i, c in enumerate(header):
        f = owner.get(c)
        if c.endswith("_complete") and complete and fields is None:
            mapping = complete_labels
        elif f is None or f.identifier or (fields is not None and f.name not in fields):
            continue
        elif f.is_checkbox:
            mapping = {"1": checkbox[0], "0": checkbox[1]}
        elif f.choices and f.field_type in ("radio", "dropdown", "yesno", "truefalse"):
            mapping = dict(f.choices)
        else:
            continue
        for row in out:
            row[i] = mapping.get(row[i], row[i])
    return out


# ---- cells ------------------------------------------------------------------------------------------------------


def set_cells(header, rows, changes: dict[tuple[str, str], str], where=None) -> list[list[str]]:
    """``changes[(record_id, column)] = text`` on the first row of that record where the column is filled
    (or ``where(row)`` holds)."""
    out = [list(r) for r in rows]
    for (record, name), text in changes.items():
        i = column(header, name)
        row = next(r for r in out if r[0] == record and (r[i] != "" if where is None else where(r)))
        row[i] = text
    return out


def with_time_part(header, rows, field: str, time: str = "00:00") -> list[list[str]]:
    i = column(header, field)
    out = [list(r) for r in rows]
    for row in out:
        if row[i]:
            row[i] = f"{row[i]} {time}"
    return out


def dead_records(header, rows) -> list[tuple[str, str]]:
    """(record_id, death_date) of every patient recorded as dead."""
    vs, dd = column(header, "vital_status"), column(header, "death_date")
    return [(r[0], r[dd]) for r in rows if r[vs] == "2"]


def day0(header, rows, record: str) -> str:
    i = column(header, "infusion_date")
    return min(r[i] for r in rows if r[0] == record and r[i])


# ---- rows and files ---------------------------------------------------------------------------------------------


def concatenated(header, rows, split: int, overlap: int) -> list[str]:
    """Two batch exports joined: rows[:split + overlap], the header again, rows[split:] (``overlap`` rows twice)."""
    def line(cells):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        return buffer.getvalue()
    return [line(header)] + [line(r) for r in rows[: split + overlap]] + [line(header)] + [line(r) for r in rows[split:]]


def stray_quote(header, rows, record: str, field: str = "ae_term") -> list[str]:
    """The file's lines with one ``"`` opening the ``field`` cell of ``record``'s first row that has it."""
    i = column(header, field)
    lines = []
    hit = False
    for cells in [header] + rows:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(cells)
        text = buffer.getvalue()
        if not hit and cells[0] == record and cells[i]:
            parts = text.split(",")
            parts[i] = '"' + parts[i]
            text = ",".join(parts)
            hit = True
        lines.append(text)
    return lines


def mac_litter(inbox: Path, drop: Path, inside: bool = True, beside: bool = True) -> None:
    """What a Mac leaves: AppleDouble ``._`` companions beside each file of the drop, a ``.DS_Store``, and a
    ``__MACOSX`` folder beside the drop in the inbox."""
    for path in list(drop.iterdir()):
        if inside:
            (drop / f"._{path.name}").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
        if beside:
            target = inbox / "__MACOSX" / drop.name / f"._{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    if inside:
        (drop / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")


HEADER, ROWS = demo_rows()
