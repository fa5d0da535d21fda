"""Small markdown tables for the Dagster UI (asset metadata): rows of dicts, and an outcome's ARD rows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.ard import typed

ARD_COLUMNS = ("analysis", "parameter", "timepoint", "group", "statistic", "value", "n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "–"
    if isinstance(value, (dict, list)):
        return "…"
    return str(value).replace("|", "\\|")


def table(rows: list[dict], max_rows: int = 30) -> str:
    """The first ``max_rows`` rows (columns: every key with a scalar value), and how many more there are."""
    if not rows:
        return "_none_"
    columns = list(dict.fromkeys(k for row in rows for k, v in row.items() if not isinstance(v, (dict, list))))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows[:max_rows]]
    if len(rows) > max_rows:
        lines.append(f"\n_{len(rows) - max_rows} more rows_")
    return "\n".join(lines)


def results_markdown(rows: pd.DataFrame, max_rows: int = 40) -> str:
    """An outcome's ARD rows, each value typed by its statistic (text, count, flag or number)."""
    shown = [{c: (typed(r) if c == "value" else None if pd.isna(r[c]) else r[c]) for c in ARD_COLUMNS}
             for r in rows.head(max_rows).to_dict("records")]
    more = len(rows) - max_rows
    return table(shown) + (f"\n\n_{more} more rows: reports/ard.csv_" if more > 0 else "")
