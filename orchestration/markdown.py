"""Outcome dicts as small markdown tables for the Dagster UI (asset metadata)."""

from __future__ import annotations

from typing import Any


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "–"
    if isinstance(value, (dict, list)):
        return "…"
    return str(value).replace("|", "\\|")


def table(rows: list[dict], max_rows: int = 30) -> str:
    if not rows:
        return "_none_"
    columns = list(dict.fromkeys(k for row in rows for k, v in row.items() if not isinstance(v, (dict, list))))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows[:max_rows]]
    if len(rows) > max_rows:
        lines.append(f"\n_{len(rows) - max_rows} more rows_")
    return "\n".join(lines)


def outcome_markdown(result: dict | list) -> str:
    """Scalars first as a two-column table, then each list of rows as its own table."""
    if isinstance(result, list):
        return table(result)
    scalars = {k: v for k, v in result.items() if not isinstance(v, (dict, list))}
    parts = []
    if scalars:
        parts.append(table([{"figure": k, "value": v} for k, v in scalars.items()]))
    for key, value in result.items():
        if isinstance(value, list) and value and isinstance(value[0], dict) and key != "patients":
            parts.append(f"**{key}**\n\n" + table(value))
        elif isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
            parts.append(f"**{key}**\n\n" + table([{"key": k, "value": v} for k, v in value.items()]))
    return "\n\n".join(parts)
