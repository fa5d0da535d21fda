"""Inject the faults of hand-kept exports into export rows, and list exactly what was injected.

Each defect is listed with the row it sits on in the final records file (``source_row``: header = 1, first
data row = 2, counted after duplication) and, for that row, the keys as they appear in the file
(``record_id``, ``event``, ``instrument`` = ``redcap_repeat_instrument`` or the form of the field,
``instance``). Identifier fields are never touched, except for malformed dates of birth, whose values are
listed as ``<redacted>``; no identifier value is ever written to the list.

Defect kinds (``defect`` column):

==========================  =====================================================================
``out_of_range``            a number outside the dictionary's validation min/max
``non_choice_code``         a code that is not a choice of a radio / yes-no field, or a checkbox cell not 0/1
``malformed_date``          ``12/03/2021``, ``2021-3-7``, ``abc`` ... (also on ``dob``, values redacted)
``impossible_date``         ``2021-02-30``
``comma_decimal``           ``45,5``
``duplicate_row``           an exact copy of another row (the listed row is the copy)
``unknown_event``           ``redcap_event_name`` not an event of the study (``month_18_arm_1``)
``missing_record_id``       empty ``record_id`` (original_value holds the record it belonged to)
``missing_enrollment``      the record's enrollment form emptied (no field values listed)
``date_after_death``        an assessment dated after the patient's death_date
==========================  =====================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from study.definition import KEY_COLUMNS, Study

DEFECT_COLUMNS = ("defect", "record_id", "event", "instrument", "instance", "field", "original_value",
                  "injected_value", "source_row")
REDACTED = "<redacted>"
CELL_KINDS = ("out_of_range", "non_choice_code", "malformed_date", "impossible_date", "comma_decimal")
ROW_KINDS = ("duplicate_row", "unknown_event", "missing_record_id", "missing_enrollment", "date_after_death")
KINDS = CELL_KINDS + ROW_KINDS
_WEIGHTS = {"out_of_range": 5, "non_choice_code": 4, "malformed_date": 4, "impossible_date": 2,
            "comma_decimal": 3, "duplicate_row": 2, "unknown_event": 1, "missing_record_id": 1,
            "missing_enrollment": 0.5, "date_after_death": 1}
UNKNOWN_EVENTS = ("month_18_arm_1", "month_9_arm_1", "follow_up_arm_1", "month_72_arm_1")
SCHEDULED_PREFIX = "month_"


class _Injector:
    def __init__(self, rows: list[dict], study: Study, rng: random.Random, export_date: dt.date):
        self.rows = rows
        self.study = study
        self.rng = rng
        self.last_day = export_date - dt.timedelta(days=1)
        for uid, row in enumerate(rows):
            row["_uid"] = uid
        self.by_uid = {row["_uid"]: row for row in rows}
        self.next_uid = len(rows)
        self.used_cells: set[tuple[int, str]] = set()
        self.defect_rows: set[int] = set()
        self.row_level: set[int] = set()
        self.found: list[dict] = []
        owner = study.column_owner
        ident = set(study.identifiers)
        data = [c for c in study.export_columns if c not in KEY_COLUMNS and not c.endswith("_complete")]
        self.candidates = {
            "out_of_range": [c for c in data if owner[c].is_number and owner[c].maximum and c not in ident],
            "non_choice_code": [c for c in data if owner[c].field_type in ("radio", "yesno", "checkbox")],
            "malformed_date": [c for c in data if owner[c].is_date],  # dob included (redacted)
            "impossible_date": [c for c in data if owner[c].is_date and c not in ident],
            "comma_decimal": [c for c in data if owner[c].validation == "number"],
        }
        self.owner = owner
        self.identifiers = ident

    # ---- helpers ---------------------------------------------------------------------------------
    def record(self, kind: str, row: dict, field: str = "", original: str = "", injected: str = "",
               instrument: str | None = None) -> None:
        if field in self.identifiers:
            original, injected = REDACTED, REDACTED
        self.found.append({"defect": kind, "uid": row["_uid"], "field": field, "original_value": original,
                           "injected_value": injected, "instrument": instrument})
        self.defect_rows.add(row["_uid"])
        if field:
            self.used_cells.add((row["_uid"], field))

    def pick_cell(self, columns: list[str], accept=lambda row, col, value: True, tries: int = 400):
        rng = self.rng
        for _ in range(tries):
            row = rng.choice(self.rows)
            col = rng.choice(columns)
            value = row.get(col, "")
            if value == "" or (row["_uid"], col) in self.used_cells or not accept(row, col, value):
                continue
            return row, col, value
        return None

    # ---- cell defects ----------------------------------------------------------------------------
    def out_of_range(self) -> bool:
        hit = self.pick_cell(self.candidates["out_of_range"], lambda r, c, v: _is_float(v))
        if not hit:
            return False
        row, col, value = hit
        f = self.owner[col]
        hi, lo = float(f.maximum), float(f.minimum or 0)
        if self.rng.random() < 0.7:
            new = hi * self.rng.choice((1.5, 2, 10)) + self.rng.randint(1, 9)
        else:
            new = lo - self.rng.randint(1, 20)
        text = str(int(new)) if f.validation == "integer" or f.field_type == "calc" else f"{new:.1f}"
        row[col] = text
        self.record("out_of_range", row, col, value, text)
        return True

    def non_choice_code(self) -> bool:
        hit = self.pick_cell(self.candidates["non_choice_code"])
        if not hit:
            return False
        row, col, value = hit
        f = self.owner[col]
        if f.is_checkbox:
            new = self.rng.choice(("2", "9", "Y"))
        else:
            new = next(c for c in self.rng.sample(["7", "9", "99", "-1", "6"], 5) if c not in f.choice_codes)
        row[col] = new
        self.record("non_choice_code", row, col, value, new)
        return True

    def malformed_date(self) -> bool:
        hit = self.pick_cell(self.candidates["malformed_date"], lambda r, c, v: _is_iso(v))
        if not hit:
            return False
        row, col, value = hit
        y, m, d = (int(x) for x in value.split("-"))
        options = [f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", "abc", f"{y}{m:02d}{d:02d}", f"{d}.{m}.{y}"]
        if m < 10 or d < 10:
            options.append(f"{y}-{m}-{d}")
        new = self.rng.choice(options)
        row[col] = new
        self.record("malformed_date", row, col, value, new)
        return True

    def impossible_date(self) -> bool:
        hit = self.pick_cell(self.candidates["impossible_date"], lambda r, c, v: _is_iso(v))
        if not hit:
            return False
        row, col, value = hit
        y = int(value[:4])
        options = [f"{y}-02-30", f"{y}-04-31", f"{y}-06-31", f"{y}-09-31", f"{y}-13-01"]
        if y % 4:
            options.append(f"{y}-02-29")
        new = self.rng.choice(options)
        row[col] = new
        self.record("impossible_date", row, col, value, new)
        return True

    def comma_decimal(self) -> bool:
        hit = self.pick_cell(self.candidates["comma_decimal"], lambda r, c, v: _is_float(v))
        if not hit:
            return False
        row, col, value = hit
        new = value.replace(".", ",") if "." in value else value + ",5"
        row[col] = new
        self.record("comma_decimal", row, col, value, new)
        return True

    # ---- row defects -----------------------------------------------------------------------------
    def free_row(self, accept) -> dict | None:
        pool = [r for r in self.rows if r["_uid"] not in self.row_level and accept(r)]
        return self.rng.choice(pool) if pool else None

    def unknown_event(self) -> bool:
        row = self.free_row(lambda r: r["redcap_event_name"].startswith(SCHEDULED_PREFIX))
        if row is None:
            return False
        old, new = row["redcap_event_name"], self.rng.choice(UNKNOWN_EVENTS)
        row["redcap_event_name"] = new
        self.row_level.add(row["_uid"])
        self.record("unknown_event", row, "redcap_event_name", old, new, instrument=row["redcap_repeat_instrument"])
        return True

    def missing_record_id(self) -> bool:
        row = self.free_row(lambda r: r["record_id"] != "")
        if row is None:
            return False
        old = row["record_id"]
        row["record_id"] = ""
        self.row_level.add(row["_uid"])
        self.record("missing_record_id", row, "record_id", old, "", instrument=row["redcap_repeat_instrument"])
        return True

    def missing_enrollment(self) -> bool:
        def has_enrollment(r):
            return r.get("enrollment_date", "") != "" and r["record_id"] != ""
        row = self.free_row(has_enrollment)
        if row is None:
            return False
        for col in self.study.data_columns_of("enrollment"):
            row[col] = "0" if self.owner[col].is_checkbox else ""
            self.used_cells.add((row["_uid"], col))
        row["enrollment_complete"] = "0"
        self.row_level.add(row["_uid"])
        self.record("missing_enrollment", row, "", "", "", instrument="enrollment")
        return True

    def date_after_death(self) -> bool:
        deaths = {}
        for r in self.rows:
            if r.get("death_date") and _is_iso(r["death_date"]) and r["record_id"]:
                deaths[r["record_id"]] = (r, dt.date.fromisoformat(r["death_date"]))
        date_cols = [self.study.date_field_of(f).name for f in self.study.forms
                     if f not in ("enrollment", "vital_status", "infusion")]
        options = []
        for r in self.rows:
            if r["record_id"] in deaths and r["redcap_event_name"] != "baseline_arm_1":
                for c in date_cols:
                    if r.get(c) and _is_iso(r[c]) and (r["_uid"], c) not in self.used_cells:
                        options.append((r, c))
        self.rng.shuffle(options)
        for row, col in options:
            vital_row, death = deaths[row["record_id"]]
            room = (self.last_day - death).days
            if room < 1 or (vital_row["_uid"], "death_date") in self.used_cells:
                continue
            new = (death + dt.timedelta(days=self.rng.randint(1, min(room, 365)))).isoformat()
            old = row[col]
            row[col] = new
            self.used_cells.add((vital_row["_uid"], "death_date"))
            self.record("date_after_death", row, col, old, new)
            return True
        return False

    def duplicate_row(self) -> bool:
        row = self.free_row(lambda r: r["_uid"] not in self.defect_rows)
        if row is None:
            return False
        copy = dict(row)
        copy["_uid"] = self.next_uid
        self.next_uid += 1
        self.by_uid[copy["_uid"]] = copy
        if self.rng.random() < 0.6:
            position = next(i for i, r in enumerate(self.rows) if r is row)
            self.rows.insert(position + 1, copy)
        else:
            self.rows.append(copy)
        self.row_level.update((row["_uid"], copy["_uid"]))
        self.defect_rows.add(row["_uid"])
        self.record("duplicate_row", copy, "", "", "", instrument=copy["redcap_repeat_instrument"])
        return True

    def malformed_dob(self) -> bool:
        hit = self.pick_cell(["dob"], lambda r, c, v: _is_iso(v))
        if not hit:
            return False
        row, col, value = hit
        y, m, d = (int(x) for x in value.split("-"))
        row[col] = self.rng.choice((f"{d:02d}/{m:02d}/{y}", f"{y}", f"{d}.{m}.{y}"))
        self.record("malformed_date", row, col)
        return True


def inject_defects(rows: list[dict], study: Study, rng: random.Random, rate: float,
                   export_date: dt.date) -> list[dict]:
    """Mutate ``rows`` in place (adds duplicates); return the defects list (rows of DEFECT_COLUMNS)."""
    inj = _Injector(rows, study, rng, export_date)
    n_total = max(len(KINDS) + 1, int(round(rate * len(rows))))
    kinds = list(KINDS) + ["malformed_dob"]
    extra = rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()), k=n_total - len(kinds))
    plan = kinds + extra
    # order matters: whole-form and death-date defects first, duplicates last (copies of clean rows only)
    priority = {"missing_enrollment": 0, "date_after_death": 1, "duplicate_row": 9}
    plan.sort(key=lambda k: priority.get(k, 5))
    for kind in plan:
        getattr(inj, kind)()
    source_row = {row["_uid"]: i + 2 for i, row in enumerate(rows)}
    defects = []
    for d in inj.found:
        row = inj.by_uid[d["uid"]]
        instrument = d["instrument"]
        if instrument is None:
            instrument = row["redcap_repeat_instrument"] or inj.owner[d["field"]].form
        defects.append({
            "defect": d["defect"], "record_id": row["record_id"], "event": row["redcap_event_name"],
            "instrument": instrument, "instance": row["redcap_repeat_instance"], "field": d["field"],
            "original_value": d["original_value"], "injected_value": d["injected_value"],
            "source_row": source_row[d["uid"]],
        })
    defects.sort(key=lambda d: (d["source_row"], d["field"]))
    for row in rows:
        row.pop("_uid", None)
    return defects


def write_defects(defects: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=DEFECT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(defects)


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _is_iso(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return len(text) == 10
    except ValueError:
        return False
