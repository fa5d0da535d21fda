"""Dagster asset-check results for the quality layer: GX suite runs and gates.

- :func:`suite_check_result`: one or more :class:`quality.gx_runner.SuiteRun` as an ``AssetCheckResult``; it
  passes when every expectation succeeded, and its severity is ERROR when a failed expectation's meta severity
  is ``error`` (a blocking check then stops what is downstream), else WARN. The metadata counts expectations,
  failures and unexpected values by rule (``summary`` as a markdown table) and links Data Docs.
- :func:`gate_check_result`: a gate (``{"gate", "passed", "message"}``, :mod:`quality.gates`) as an
  ``AssetCheckResult`` of severity ERROR, with the settings it was judged by in its metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import dagster as dg

from quality.gx_runner import SuiteRun
from quality.rules import RULES


def _by_rule(summaries: list[dict], key: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for summary in summaries:
        for rule, n in summary[key].items():
            totals[rule] = totals.get(rule, 0) + n
    return totals


def _summary_table(summaries: list[dict], failures: dict[str, int], unexpected: dict[str, int]) -> str:
    rows = ["| suite | rows | expectations | failed (error) | failed (warning) | unexpected |",
            "|---|---:|---:|---:|---:|---:|"]
    rows += [f"| {s['suite']} | {s['rows']} | {s['evaluated_expectations']} | {s['failed_error_expectations']} | "
             f"{s['failed_warning_expectations']} | {sum(s['unexpected_by_rule'].values())} |" for s in summaries]
    if failures:
        rows += ["", "| rule | severity | failed expectations | unexpected values |", "|---|---|---:|---:|"]
        rows += [f"| {k} | {RULES[k].severity if k in RULES else ''} | {failures[k]} | {unexpected.get(k, 0)} |"
                 for k in sorted(failures)]
    return "\n".join(rows)


def suite_check_metadata(runs: Iterable[SuiteRun], data_docs: str | Path | None = None) -> dict:
    """Asset-check metadata summing the suite runs: expectations evaluated, successful and failed (error,
    warning), failures and unexpected values by rule, rows validated, seconds, a markdown ``summary`` and the
    Data Docs index (when given)."""
    summaries = [run.summary() for run in runs]
    failures = _by_rule(summaries, "failures_by_rule")
    unexpected = _by_rule(summaries, "unexpected_by_rule")

    def total(key: str) -> int:
        return sum(s[key] for s in summaries)

    metadata = {
        "evaluated_expectations": dg.MetadataValue.int(total("evaluated_expectations")),
        "successful_expectations": dg.MetadataValue.int(total("successful_expectations")),
        "failed_error_expectations": dg.MetadataValue.int(total("failed_error_expectations")),
        "failed_warning_expectations": dg.MetadataValue.int(total("failed_warning_expectations")),
        "failures_by_rule": dg.MetadataValue.json(failures),
        "unexpected_by_rule": dg.MetadataValue.json(unexpected),
        "rows_validated": dg.MetadataValue.int(total("rows")),
        "seconds": dg.MetadataValue.float(float(sum(s["seconds"] for s in summaries))),
        "summary": dg.MetadataValue.md(_summary_table(summaries, failures, unexpected)),
    }
    if data_docs is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(data_docs))
    return metadata


def suite_check_result(runs: SuiteRun | Iterable[SuiteRun], *, asset_key: dg.AssetKey | None = None,
                       check_name: str | None = None, data_docs: str | Path | None = None) -> dg.AssetCheckResult:
    """The ``AssetCheckResult`` of one or more suite runs (see the module); a failed check's description lists
    the unexpected values by rule, most first, for the run log and the UI's check list."""
    runs = [runs] if isinstance(runs, SuiteRun) else list(runs)
    failed = [r for run in runs for r in run.failed()]
    has_error = any((r.expectation_config.meta or {}).get("severity", "error") == "error" for r in failed)
    metadata = suite_check_metadata(runs, data_docs)
    description = None
    if failed:
        unexpected = metadata["unexpected_by_rule"].data
        description = "unexpected values by rule: " + ", ".join(
            f"{rule} {n}" for rule, n in sorted(unexpected.items(), key=lambda item: -item[1]))
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if has_error else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        asset_key=asset_key,
        check_name=check_name,
        description=description,
    )


def gate_check_result(gate: Mapping, settings: Mapping[str, float | int] | None = None) -> dg.AssetCheckResult:
    """The blocking ``AssetCheckResult`` of a gate ``{"gate", "passed", "message"}``; ``settings`` (the
    environment variables the gate was judged by, with their values) go into its metadata beside the message."""
    return dg.AssetCheckResult(check_name=gate["gate"], passed=bool(gate["passed"]),
                               severity=dg.AssetCheckSeverity.ERROR, description=gate["message"],
                               metadata={"message": gate["message"], **(settings or {})})
