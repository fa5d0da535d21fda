"""Age at day 0 is computed per patient from the earliest valid infusion date (a hand-computed case): a later or
unreadable infusion date does not move day 0, a patient without an infusion has no age, and only the enrollment row
(the one holding the date of birth) carries the age."""

from __future__ import annotations

import csv

import pandas as pd

from ingest.deidentify import PseudonymKey
from ingest.drops import open_drop
from ingest.land import read_drop
from study.definition import DEFINITION_DIR, load_study

STUDY = load_study()
KEY = PseudonymKey(b"test-key", "environment")


def _enrollment(record_id: str, dob: str) -> dict[str, str]:
    return {"record_id": record_id, "redcap_event_name": "baseline_arm_1", "mrn": f"MRN{record_id}",
            "patient_name": "X", "phone": "0", "dob": dob, "sex": "1", "enrollment_date": "2020-01-01",
            "ssc_subtype": "1", "ild_baseline": "0", "pah_baseline": "0", "enrollment_complete": "2"}


def _infusion(record_id: str, instance: int, day: str) -> dict[str, str]:
    return {"record_id": record_id, "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "infusion",
            "redcap_repeat_instance": str(instance), "infusion_date": day, "infusion_complete": "2"}


def test_age_is_taken_on_the_earliest_valid_infusion_date(tmp_path):
    rows = [
        _infusion("1", 1, "2021-06-14"), _enrollment("1", "1971-06-15"), _infusion("1", 2, "2020-06-14"),
        _infusion("1", 3, "2019-02-30"),  # not a date: ignored, day 0 stays 2020-06-14 (the day before the birthday)
        _enrollment("2", "1980-01-01"), _infusion("2", 1, "2020-01-01"),  # on the birthday: 40
        _enrollment("3", "1990-05-05"),  # no infusion: no day 0, no age
    ]
    folder = tmp_path / "2026-11-24T0200"
    folder.mkdir()
    with open(folder / "SSC_DATA_2026-11-24_0200.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(STUDY.export_columns)
        writer.writerows([row.get(c, "") for c in STUDY.export_columns] for row in rows)
    (folder / "SSC_DataDictionary_2026-11-24.csv").write_bytes((DEFINITION_DIR / "dictionary.csv").read_bytes())

    frame, _ = read_drop(open_drop(folder), STUDY, KEY)

    ages = {row: None if age is pd.NA else age for row, age in zip(frame["_source_row"], frame["age_at_day0"])}
    assert ages == {2: None, 3: 48, 4: None, 5: None, 6: 40, 7: None, 8: None}
    assert str(frame["age_at_day0"].dtype) == "Int64"
