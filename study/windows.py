"""Analysis windows of the plan (study days, inclusive), read from the dbt seed that the models use too."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

WINDOWS_CSV = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "analysis_windows.csv"


@dataclass(frozen=True)
class Window:
    timepoint: str
    order: int
    min_day: int
    max_day: int
    target_day: int
    label: str


def load_windows(path: Path = WINDOWS_CSV) -> tuple[Window, ...]:
    with open(path, newline="", encoding="utf-8") as handle:
        return tuple(
            Window(r["timepoint"], int(r["window_order"]), int(r["min_day"]), int(r["max_day"]),
                   int(r["target_day"]), r["label"])
            for r in csv.DictReader(handle)
        )


def window_of(study_day: int | None, windows: tuple[Window, ...]) -> str | None:
    """The timepoint whose window holds ``study_day`` (None outside every window)."""
    if study_day is None:
        return None
    return next((w.timepoint for w in windows if w.min_day <= study_day <= w.max_day), None)
