"""The verdict of a nightly run, computed once from the run's Dagster event log.

    events = read_events(instance.all_logs(run_id))        # checks, step failures, warnings, in event order
    verdict = decide(events, error_findings=12, dbt_logs={"dbt_analysis_and_marts": ".../dbt.log"})
    verdict.text       'published' | 'published with 12 errors for the stewards' | 'BLOCKED at <gate>: <reason>'
                       | 'FAILED at <step>: <error>' (an error in the pipeline itself, not in the drop)
    verdict.problems   one line per problem, for people: a failed check, a failed step, a warning
    verdict.exit_code  0 when published (with or without errors for the stewards), 1 otherwise

Rules:
- a failed *blocking* asset check blocks the run; the verdict names the first one (event order) and its
  description. A failed non-blocking check (a Great Expectations suite whose findings go to the stewards) is a
  problem "for the stewards" (its findings are on the worklist), counted in ``verdict.warnings``;
- a step stopped by Dagster because its blocking checks failed, or a dbt command whose tests failed, is said by
  those checks. Otherwise a ``dg.Failure`` (the pipeline stopped on purpose: an unreadable drop, a dbt model
  that does not build) blocks at that step with the Failure's description, and any other exception is a failure
  of the pipeline, named by its class and first line;
- ``error_findings`` (the errors the stewards have open for this drop: rows of its worklist, see
  ``report.worklist.open_problems``) only qualifies a published run.

Messages are single lines (cut at ``LINE_LIMIT`` characters, a step's at ``STEP_LINE_LIMIT``), without
Dagster's class names or tracebacks (those stay in the full log). Pure: no I/O; the inputs are Dagster
``EventLogEntry`` objects or the small records below.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

LINE_LIMIT = 300  # a check's description
STEP_LINE_LIMIT = 600  # a failed step's message (it often ends with what to do)
PUBLISHED, BLOCKED, FAILED = "published", "blocked", "failed"
FOR_STEWARDS = "for the stewards"  # a failed non-blocking check: its findings are on the worklist

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DBT_ERRORS = "Errors parsed from dbt logs:"
_DBT_PROGRESS = re.compile(r"^\d+ of \d+ ")  # "30 of 30 FAIL 1 value_between_… [FAIL 1 in 0.02s]"


@dataclass(frozen=True)
class CheckOutcome:
    """One asset check evaluation. ``asset`` as Dagster writes it (``quality/findings``); ``failed_rows`` and
    ``dbt_test`` are set for the checks dagster-dbt makes of dbt tests."""

    name: str
    asset: str
    passed: bool
    blocking: bool
    description: str = ""
    step: str | None = None
    dbt_test: bool = False
    failed_rows: int | None = None


# what made a step fail
FAILURE = "failure"  # user code raised dg.Failure: the pipeline stopped on purpose (e.g. an unreadable drop)
DBT = "dbt"  # a dbt command failed (dagster-dbt raises a dg.Failure): a dbt test, or a model that did not build
CHECKS = "checks"  # Dagster stopped the step because blocking checks failed: the checks say why
ERROR = "error"  # any other exception: an error in the pipeline itself


@dataclass(frozen=True)
class StepFailure:
    """A failed step: ``message`` is one line for people; ``kind`` one of FAILURE, DBT, CHECKS, ERROR."""

    step: str
    message: str
    kind: str = FAILURE


@dataclass(frozen=True)
class RunEvents:
    checks: tuple[CheckOutcome, ...] = ()
    failures: tuple[StepFailure, ...] = ()
    warnings: tuple[str, ...] = ()  # what user code logged at WARNING level, one line each
    materialized: frozenset[str] = frozenset()  # asset keys materialized in the run ("quality/findings")
    run_failure: str | None = None  # the run failed (message of its RUN_FAILURE event)


@dataclass(frozen=True)
class Problem:
    level: str  # "BLOCKED" | "FAILED" | "warning" | FOR_STEWARDS
    text: str

    def __str__(self) -> str:
        return f"{self.level}: {self.text}"


@dataclass(frozen=True)
class Verdict:
    outcome: str  # PUBLISHED | BLOCKED | FAILED
    gate: str | None = None  # the check or step the run stopped at
    reason: str | None = None
    errors: int = 0  # error findings for the stewards (published runs)
    warnings: int = 0  # failed non-blocking checks
    problems: tuple[Problem, ...] = ()
    gates: tuple[dict, ...] = ()  # [{gate, passed, message}] for the steward worklist

    @property
    def text(self) -> str:
        if self.outcome == PUBLISHED:
            if not self.errors:
                return "published"
            return f"published with {self.errors} error{'' if self.errors == 1 else 's'} for the stewards"
        return f"{self.outcome.upper()} at {self.gate}: {self.reason}"

    @property
    def exit_code(self) -> int:
        return 0 if self.outcome == PUBLISHED else 1


def published_verdict(findings) -> dict:
    """The status a report carries when its asset renders it: every gate upstream has passed, so the run is
    published, qualified by the drop's open errors (the end of the run rewrites it with the final
    verdict: report/status.py)."""
    from report.worklist import open_problems

    errors, warnings = open_problems(findings)
    return {"outcome": PUBLISHED, "text": Verdict(PUBLISHED, errors=errors).text, "errors": errors,
            "warnings": warnings}


def one_line(text: str | None, limit: int = LINE_LIMIT) -> str:
    """Whitespace (newlines too) collapsed, terminal colours removed, cut at ``limit`` characters with "…"."""
    line = " ".join(_ANSI.sub("", text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def step_label(step_key: str) -> str:
    """``raw__records`` -> ``raw/records`` (an asset's step is named after its key)."""
    return step_key.replace("__", "/")


def _without_class(message: str, cls_name: str | None) -> str:
    """``ingest.reader.UnreadableFileError: text`` -> ``text``."""
    first = next((line for line in message.splitlines() if line.strip()), "")
    if cls_name:
        first = re.sub(rf"^[\w.]*\b{re.escape(cls_name)}: ?", "", first)
    return first


def dbt_error_summary(text: str) -> str:
    """The first error dbt reported, from the text dagster-dbt puts after "Errors parsed from dbt logs:"
    (e.g. ``Failure in test value_between_adtte_ADY__0 (models/marts/_marts.yml): Got 1 result…``)."""
    parsed = text.split(_DBT_ERRORS, 1)[1] if _DBT_ERRORS in text else ""
    lines = [one_line(line) for line in parsed.splitlines()]
    lines = [line for line in lines if line and not _DBT_PROGRESS.match(line)]
    return ": ".join(lines[:2]) or "the dbt command failed"


def failure_message(error, user_description: str | None) -> tuple[str, str]:
    """``(message, kind)`` of a failed step, from its ``SerializableErrorInfo`` and, for a ``dg.Failure``, its
    description: the Failure's first line, or the innermost user exception as ``Class: first line`` with
    Dagster's wrappers (``DagsterExecutionStepExecutionError``…) peeled off."""
    if user_description is not None:
        if _DBT_ERRORS in user_description or "The dbt CLI process" in user_description:
            return dbt_error_summary(user_description), DBT
        return one_line(_without_class(user_description, None), STEP_LINE_LIMIT), FAILURE
    while error is not None and error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    if error is None:
        return "the step failed", ERROR
    message = _without_class(error.message, error.cls_name)
    kind = CHECKS if error.cls_name == "DagsterAssetCheckFailedError" else ERROR
    return one_line(f"{error.cls_name}: {message}" if error.cls_name else message, STEP_LINE_LIMIT), kind


def read_events(entries: Iterable) -> RunEvents:
    """The parts of a run's event log (``EventLogEntry`` objects, in order) that make its verdict."""
    checks, failures, warnings, materialized, run_failure = [], [], [], set(), None
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            if entry.level == logging.WARNING and entry.user_message:
                warnings.append(one_line(entry.user_message))
            continue
        kind = event.event_type_value
        if kind == "ASSET_CHECK_EVALUATION":
            data = event.asset_check_evaluation_data
            metadata = data.metadata or {}
            unique_id = getattr(metadata.get("unique_id"), "value", None) or ""
            rows = getattr(metadata.get("dagster_dbt/failed_row_count"), "value", None)
            checks.append(CheckOutcome(
                name=data.check_name, asset=data.asset_key.to_user_string(), passed=bool(data.passed),
                blocking=bool(data.blocking), description=data.description or "", step=event.step_key,
                dbt_test=str(unique_id).startswith("test."), failed_rows=int(rows) if rows is not None else None))
        elif kind == "STEP_FAILURE":
            data = event.step_failure_data
            user = data.user_failure_data
            message, kind = failure_message(data.error, (user.description or "") if user else None)
            failures.append(StepFailure(step=event.step_key, message=message, kind=kind))
        elif kind == "ASSET_MATERIALIZATION":
            materialized.add(event.asset_key.to_user_string())
        elif kind == "RUN_FAILURE":
            data = event.job_failure_data
            error = getattr(data, "error", None)
            run_failure = one_line(_without_class(error.message, error.cls_name) if error else entry.user_message)
    return RunEvents(tuple(checks), tuple(failures), tuple(warnings), frozenset(materialized), run_failure)


def _check_subject(check: CheckOutcome) -> str:
    return f"{'dbt test' if check.dbt_test else 'check'} {check.name} on {check.asset}"


def _check_reason(check: CheckOutcome, dbt_logs: Mapping[str, str]) -> str:
    """What a failed check says; a dbt test has no description: how many rows fail it, and where the dbt log is."""
    if not check.dbt_test:
        return one_line(check.description) or "failed"
    rows = check.failed_rows
    reason = f"{rows} row{' fails' if rows == 1 else 's fail'} the test" if rows else "the test fails"
    log = dbt_logs.get(check.step or "")
    return reason + (f"; see the dbt log {log}" if log else "")


def decide(events: RunEvents, error_findings: int = 0, dbt_logs: Mapping[str, str] | None = None) -> Verdict:
    """The run's verdict, its problems (warnings first, then whatever else stopped the run beside what the
    verdict names) and its gate results."""
    dbt_logs = dbt_logs or {}
    warnings = [Problem("warning", text) for text in events.warnings]
    stops: list[Problem] = []
    gates: list[dict] = []
    stopped_at: tuple[str, str, str] | None = None  # outcome, gate, reason
    for check in events.checks:
        if check.passed:
            if check.blocking and not check.dbt_test:  # dbt's many passed tests are not listed
                gates.append({"gate": check.name, "passed": True, "message": one_line(check.description) or "passed"})
            continue
        subject, reason = _check_subject(check), _check_reason(check, dbt_logs)
        if not check.blocking:  # a suite whose findings went to the stewards: not a warning about the run
            warnings.append(Problem(FOR_STEWARDS, f"{subject}: {reason}"))
            continue
        stops.append(Problem("BLOCKED", f"{subject}: {reason}"))
        gates.append({"gate": check.name, "passed": False, "message": reason})
        if stopped_at is None:
            stopped_at = (BLOCKED, subject if check.dbt_test else check.name, reason)
    tested = {c.step for c in events.checks if c.dbt_test and c.blocking and not c.passed}
    for failure in events.failures:
        if failure.kind == CHECKS or (failure.kind == DBT and failure.step in tested):
            continue  # the failed checks above say why
        label = step_label(failure.step)
        message = failure.message
        if failure.kind == DBT and dbt_logs.get(failure.step):
            message = f"{message}; see the dbt log {dbt_logs[failure.step]}"
        if failure.kind == ERROR:
            message = f"{message} (an error in the pipeline, not in the drop: the traceback is in the full log)"
        outcome = FAILED if failure.kind == ERROR else BLOCKED
        stops.append(Problem(outcome.upper(), f"step {label} failed: {message}"))
        gates.append({"gate": label, "passed": False, "message": message})
        if stopped_at is None:
            stopped_at = (outcome, label, message)
    if stopped_at is None and events.run_failure is not None:
        stopped_at = (FAILED, "the run", events.run_failure)
        stops.append(Problem("FAILED", f"the run failed: {events.run_failure}"))
    n_warnings = sum(1 for c in events.checks if not c.passed and not c.blocking)
    # what stopped the run first is the verdict itself (the console's last line): not said twice
    problems = tuple(warnings + stops[1:])
    if stopped_at is None:
        return Verdict(PUBLISHED, errors=int(error_findings), warnings=n_warnings, problems=problems,
                       gates=tuple(gates))
    outcome, gate, reason = stopped_at
    return Verdict(outcome, gate=gate, reason=reason, errors=int(error_findings), warnings=n_warnings,
                   problems=problems, gates=tuple(gates))
