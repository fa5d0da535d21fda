"""Great Expectations (GX Core 1.x) <-> findings <-> Dagster.

One :class:`GXRunner` per run (per Dagster step) holds one file Data Context rooted at ``SSC_HOME/gx`` whose
Data Docs site writes to ``SSC_HOME/data_docs`` (so ``data_docs/index.html`` exists and validation results
accumulate across runs). It registers a pandas datasource with one dataframe asset per suite, runs an
``ExpectationSuite`` against a DataFrame (batch parameters ``{"dataframe": df}``) with ``result_format``
COMPLETE and ``unexpected_index_column_names`` so each unexpected value maps back to its row, stores the
validation result and rebuilds Data Docs for the new results (``build_docs``).

Every expectation carries in its ``meta``: ``rule`` (id in :mod:`quality.rules`), ``severity``, ``category``,
``subcategory``, ``action``, ``hint``, ``field`` (the column to name in a finding) and optionally
``value_column`` (the frame column whose value the finding shows, if not ``field``), ``message`` (a template
with ``{value}``, ``{field}``, ``{record_id}``...) and ``instrument``. A suite's ``meta["finding_columns"]``
maps finding attributes (record_id, event, instrument, instance, source_row) to frame columns.

GX analytics: disabled by ``GX_ANALYTICS_ENABLED=false`` (set before GX is imported) and by the context's
``analytics_enabled: false``; progress bars are off and GX's loggers are set to WARNING.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ["GX_ANALYTICS_ENABLED"] = "false"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import great_expectations as gx  # noqa: E402
    from great_expectations.core.run_identifier import RunIdentifier  # noqa: E402
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
    from great_expectations.data_context.types.resource_identifiers import (  # noqa: E402
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

from quality.findings import REDACTED, Finding, findings_frame  # noqa: E402
from quality.rules import RULES, hint_for  # noqa: E402

# (GX sets great_expectations.data_context.types.base to INFO itself, hence the explicit names)
for _name in ("great_expectations", "great_expectations.core", "great_expectations.data_context",
              "great_expectations.data_context.types.base", "great_expectations.expectations",
              "great_expectations.validator", "great_expectations.render"):
    logging.getLogger(_name).setLevel(logging.WARNING)

ROW = "_row"  # positional row number added to every validated frame (the index column GX reports back)
DATASOURCE = "ssc_warehouse"
DOCS_SITE = "local_site"
FINDING_KEYS = ("record_id", "event", "instrument", "instance", "source_row")


# ---- context ----------------------------------------------------------------------------------------------


def open_context(gx_dir: str | Path | None = None, data_docs_dir: str | Path | None = None):
    """A GX file Data Context rooted at ``gx_dir`` with its Data Docs site at ``data_docs_dir``.

    ``gx_dir=None`` gives an ephemeral (in-memory) context without Data Docs: for tests and quick checks.
    The project config is only rewritten when it differs, so concurrent steps rarely write it.
    """
    if gx_dir is None:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        context.config.analytics_enabled = False
        return context
    gx_dir = Path(gx_dir).resolve()
    gx_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", context_root_dir=str(gx_dir))
    changed = False
    if context.config.analytics_enabled is not False:
        context.config.analytics_enabled = False
        changed = True
    bars = context.variables.progress_bars
    if isinstance(bars, dict):  # a file context reads its saved config back as a plain dict
        bars = ProgressBarsConfig(**bars)
    if bars is None or bars.globally or bars.metric_calculations:
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        changed = True
    if data_docs_dir is not None:
        docs = str(Path(data_docs_dir).resolve())
        site = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
        sites = context.list_data_docs_sites() or {}
        if dict(sites.get(DOCS_SITE, {})) != site or len(sites) != 1:
            context.variables.data_docs_sites = {DOCS_SITE: site}
            changed = True
    if changed:
        context.variables.save()
    return context


# ---- one validation ---------------------------------------------------------------------------------------


@dataclass
class SuiteRun:
    """A suite validated against a frame: the GX result plus what is needed to turn it into findings."""

    suite_name: str
    frame: pd.DataFrame  # the validated frame (with the ``_row`` column)
    result: Any  # ExpectationSuiteValidationResult
    stage: str = "quality"
    finding_columns: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    validation_result_id: Any = None

    @property
    def success(self) -> bool:
        return bool(self.result.success)

    def failed(self) -> list:
        return [r for r in self.result.results if not r.success]

    def summary(self) -> dict:
        """Counts for asset-check metadata: evaluated, failures by rule, unexpected counts, severities."""
        evaluated = len(self.result.results)
        failures: dict[str, int] = {}
        unexpected: dict[str, int] = {}
        errors = warnings_ = exceptions = 0
        for r in self.result.results:
            if r.success:
                continue
            meta = r.expectation_config.meta or {}
            rule_id = meta.get("rule", r.expectation_config.type)
            failures[rule_id] = failures.get(rule_id, 0) + 1
            count = int((r.result or {}).get("unexpected_count") or 0)
            unexpected[rule_id] = unexpected.get(rule_id, 0) + count
            if (r.exception_info or {}).get("raised_exception"):
                exceptions += 1
            if meta.get("severity", "error") == "error":
                errors += 1
            else:
                warnings_ += 1
        return {
            "suite": self.suite_name,
            "rows": int(len(self.frame)),
            "evaluated_expectations": evaluated,
            "successful_expectations": evaluated - errors - warnings_,
            "failed_error_expectations": errors,
            "failed_warning_expectations": warnings_,
            "expectations_raising": exceptions,
            "failures_by_rule": failures,
            "unexpected_by_rule": unexpected,
            "seconds": round(self.seconds, 3),
        }


class GXRunner:
    """One GX context for a run; validate many suites, then ``build_docs()`` once.

    >>> runner = GXRunner(ssc_home / "gx", ssc_home / "data_docs", run_name=drop_id)
    >>> run = runner.validate(suite, frame, index_columns=["_source_row"], finding_columns={...})
    >>> runner.build_docs()
    """

    def __init__(self, gx_dir: str | Path | None = None, data_docs_dir: str | Path | None = None,
                 run_name: str | None = None):
        self.gx_dir = Path(gx_dir) if gx_dir is not None else None
        self.data_docs_dir = Path(data_docs_dir) if data_docs_dir is not None else None
        self.context = open_context(gx_dir, data_docs_dir)
        self.datasource = self.context.data_sources.add_or_update_pandas(DATASOURCE)
        self.run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc))
        self._pending: list = []  # resource identifiers to render in Data Docs
        self.runs: list[SuiteRun] = []

    @property
    def has_docs(self) -> bool:
        return self.gx_dir is not None and self.data_docs_dir is not None

    def _asset(self, name: str):
        try:
            return self.datasource.get_asset(name)
        except LookupError:
            return self.datasource.add_dataframe_asset(name)

    def _batch_definition(self, asset_name: str):
        asset = self._asset(asset_name)
        try:
            return asset.get_batch_definition("whole")
        except (KeyError, LookupError, ValueError):
            return asset.add_batch_definition_whole_dataframe("whole")

    def validate(self, suite, frame: pd.DataFrame, *, index_columns: Iterable[str] = (),
                 finding_columns: Mapping[str, str] | None = None, stage: str = "quality",
                 asset_name: str | None = None) -> SuiteRun:
        """Validate ``frame`` against ``suite``; return a :class:`SuiteRun` (result stored, docs pending).

        ``index_columns`` are reported with each unexpected value (shown in Data Docs, e.g. ``_source_row``);
        the positional ``_row`` is always added and is what findings use to find the row again.
        ``finding_columns`` maps finding attributes (record_id, event, instrument, instance, source_row) to
        columns of ``frame``, or ``"=literal"`` for a constant.
        """
        import time

        started = time.perf_counter()
        frame = frame.reset_index(drop=True)
        frame[ROW] = np.arange(len(frame), dtype="int64")
        index_cols = [ROW] + [c for c in index_columns if c in frame.columns and c != ROW]
        fc = dict(finding_columns or suite.meta.get("finding_columns") or {})
        suite.meta["finding_columns"] = fc
        suite = self.context.suites.add_or_update(suite)
        name = suite.name
        definition = gx.ValidationDefinition(name=name, data=self._batch_definition(asset_name or name),
                                             suite=suite)
        definition = self.context.validation_definitions.add_or_update(definition)
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": index_cols,
                         "return_unexpected_index_query": False}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = definition.run(batch_parameters={"dataframe": frame}, result_format=result_format,
                                    run_id=self.run_id)
        run = SuiteRun(suite_name=name, frame=frame, result=result, stage=stage, finding_columns=fc,
                       seconds=time.perf_counter() - started)
        if self.has_docs:
            run.validation_result_id = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                run_id=self.run_id,
                batch_identifier=_batch_identifier(result, asset_name or name),
            )
            self._pending.extend([run.validation_result_id, ExpectationSuiteIdentifier(name=name)])
        self.runs.append(run)
        return run

    def build_docs(self) -> Path | None:
        """Render the results validated since the last call and rebuild the index; the index path."""
        if not self.has_docs:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._pending:
                self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=self._pending)
            else:
                self.context.build_data_docs(site_names=[DOCS_SITE])
        self._pending = []
        return self.index_path

    @property
    def index_path(self) -> Path | None:
        return self.data_docs_dir / "index.html" if self.data_docs_dir is not None else None


def _batch_identifier(result, asset_name: str) -> str:
    """The batch id GX stores the result under (``<datasource>-<asset>`` for a whole-dataframe batch)."""
    meta = result.meta or {}
    abd = meta.get("active_batch_definition") or {}
    ds = abd.get("datasource_name", DATASOURCE) if isinstance(abd, Mapping) else DATASOURCE
    asset = abd.get("data_asset_name", asset_name) if isinstance(abd, Mapping) else asset_name
    return f"{ds}-{asset}"


_RUNNERS: dict[tuple, GXRunner] = {}


def get_runner(gx_dir: str | Path | None, data_docs_dir: str | Path | None, run_name: str | None = None) -> GXRunner:
    """The runner of this process for these directories (one context per run, reused across suites)."""
    key = (str(gx_dir), str(data_docs_dir), run_name)
    if key not in _RUNNERS:
        _RUNNERS[key] = GXRunner(gx_dir, data_docs_dir, run_name=run_name)
    return _RUNNERS[key]


# ---- expectation meta ---------------------------------------------------------------------------------------


def rule_meta(rule_id: str, *, field: str | None = None, instrument: str | None = None,
              value_column: str | None = None, message: str | None = None, **overrides) -> dict:
    """The ``meta`` of an expectation implementing ``rule_id`` (catalog defaults, overridable)."""
    r = RULES[rule_id]
    meta = {
        "rule": r.rule,
        "severity": r.severity,
        "category": r.category,
        "subcategory": r.subcategory,
        "action": r.action,
        "hint": r.hint,
    }
    if field is not None:
        meta["field"] = field
    if instrument is not None:
        meta["instrument"] = instrument
    if value_column is not None:
        meta["value_column"] = value_column
    if message is not None:
        meta["message"] = message
    meta.update({k: v for k, v in overrides.items() if v is not None})
    return meta


# ---- findings -----------------------------------------------------------------------------------------------


def _scalar(value):
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _text(value) -> str | None:
    value = _scalar(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _column_value(frame: pd.DataFrame, row: int, spec: str | None):
    if not spec:
        return None
    if spec.startswith("="):
        return spec[1:]
    if spec not in frame.columns:
        return None
    return _scalar(frame.iat[row, frame.columns.get_loc(spec)])


class _SafeDict(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def findings_from_run(run: SuiteRun, identifiers: Iterable[str] = ()) -> list[Finding]:
    """One :class:`Finding` per unexpected row of each failed expectation of ``run``.

    Identifier fields (``identifiers``) never show their value (``<redacted identifier>``); the suites do not
    validate them in the first place.
    """
    return [f for _, f in findings_with_rows(run, identifiers)]


def findings_with_rows(run: SuiteRun, identifiers: Iterable[str] = ()) -> list[tuple[int | None, Finding]]:
    """Like :func:`findings_from_run`, each finding with the ``_row`` of the validated frame it came from."""
    identifiers = set(identifiers)
    frame = run.frame
    fc = run.finding_columns
    out: list[tuple[int | None, Finding]] = []
    for r in run.result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        meta = dict(cfg.meta or {})
        rule_id = meta.get("rule", cfg.type)
        catalog = RULES.get(rule_id)
        severity = meta.get("severity") or (catalog.severity if catalog else "error")
        category = meta.get("category") or (catalog.category if catalog else "conformance")
        action = meta.get("action") or (catalog.action if catalog else "none")
        kwargs = cfg.kwargs or {}
        field_name = meta.get("field") or kwargs.get("column") or kwargs.get("column_A")
        value_column = meta["value_column"] if "value_column" in meta else field_name
        instrument_const = meta.get("instrument")
        exception = (r.exception_info or {}) if isinstance(r.exception_info, dict) else {}
        raised = exception.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in exception.values())
        if raised:
            msg = exception.get("exception_message") or next(
                (v.get("exception_message") for v in exception.values() if isinstance(v, dict)), "")
            g = RULES["gx_expectation_error"]
            out.append((None, Finding(rule="gx_expectation_error", severity="error", category=g.category,
                               subcategory=g.subcategory, action="none", field=field_name,
                               instrument=instrument_const,
                               message=f"{run.suite_name}: {cfg.type} on {field_name} could not run "
                                       f"(rule {rule_id}): {str(msg)[:200]}",
                               hint=g.hint)))
            continue
        index_list = (r.result or {}).get("unexpected_index_list") or []
        if not index_list:  # a table-level expectation (row count...): one finding without a row
            observed = (r.result or {}).get("observed_value")
            fmt = _SafeDict({k: v for k, v in meta.items() if isinstance(v, (str, int, float))})
            fmt.update(value="" if observed is None else observed, field=field_name or "")
            template = meta.get("message") or (catalog.description if catalog else cfg.type)
            try:
                message = template.format_map(fmt)
            except (ValueError, IndexError, KeyError):
                message = template
            if observed is not None:
                message += f" (observed: {observed})"
            out.append((None, Finding(
                rule=rule_id, severity=severity, category=category, subcategory=meta.get("subcategory"),
                action=action, instrument=instrument_const, field=field_name,
                value=None if field_name in identifiers else _text(observed), message=message,
                hint=meta.get("hint"))))
            continue
        for entry in index_list:
            if not isinstance(entry, Mapping) or ROW not in entry:
                continue
            row = int(entry[ROW])
            ctx = {k: _column_value(frame, row, fc.get(k)) for k in FINDING_KEYS}
            if instrument_const:
                ctx["instrument"] = instrument_const
            row_field = field_name
            if meta.get("field_column"):
                row_field = _text(_column_value(frame, row, meta["field_column"])) or field_name
            raw_value = _column_value(frame, row, value_column) if value_column else None
            value = REDACTED if row_field in identifiers else _text(raw_value)
            fmt = _SafeDict({**{k: v for k, v in meta.items() if isinstance(v, (str, int, float))},
                             **{k: ("" if v is None else v) for k, v in ctx.items()},
                             "value": "" if value is None else value, "field": row_field or ""})
            for extra in meta.get("message_columns", []) or []:
                fmt[extra] = _text(_column_value(frame, row, extra)) or ""
            template = meta.get("message") or (
                f"{field_name} = {{value!r}}: " + (catalog.description if catalog else cfg.type))
            try:
                message = template.format_map(fmt)
            except (ValueError, IndexError, KeyError):
                message = template
            instance = ctx.get("instance")
            try:
                instance = int(float(instance)) if instance is not None else None
            except (TypeError, ValueError):
                instance = None
            source_row = ctx.get("source_row")
            try:
                source_row = int(source_row) if source_row is not None else None
            except (TypeError, ValueError):
                source_row = None
            out.append((row, Finding(
                rule=rule_id, severity=severity, category=category, subcategory=meta.get("subcategory"),
                action=action, record_id=_text(ctx.get("record_id")), event=_text(ctx.get("event")),
                instrument=_text(ctx.get("instrument")), instance=instance, field=row_field, value=value,
                source_row=source_row, message=message,
                hint=hint_for(rule_id, raw_value if isinstance(raw_value, str) else value,
                              meta.get("hint_override")) or meta.get("hint"),
            )))
    return out


def dedupe_findings(findings: list[Finding]) -> list[Finding]:
    """Drop repeats of the same rule on the same cell (e.g. a date failing both its format checks)."""
    seen = set()
    out = []
    for f in findings:
        key = (f.rule, f.record_id, f.event, f.instrument, f.instance, f.field, f.source_row, f.value)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def findings_from_runs(runs: Iterable[SuiteRun], identifiers: Iterable[str] = ()) -> pd.DataFrame:
    findings: list[Finding] = []
    for run in runs:
        findings.extend(findings_from_run(run, identifiers))
    return findings_frame(dedupe_findings(findings))


# ---- Dagster ------------------------------------------------------------------------------------------------


def _total_by_rule(summaries: list[dict], key: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for summary in summaries:
        for rule, n in summary[key].items():
            totals[rule] = totals.get(rule, 0) + n
    return totals


def check_metadata(runs: SuiteRun | Iterable[SuiteRun], data_docs: str | Path | None = None) -> dict:
    """Asset-check metadata (dagster MetadataValue) summarising one or more suite runs."""
    import dagster as dg

    runs = [runs] if isinstance(runs, SuiteRun) else list(runs)
    summaries = [r.summary() for r in runs]
    failures = _total_by_rule(summaries, "failures_by_rule")
    unexpected = _total_by_rule(summaries, "unexpected_by_rule")
    rows = ["| suite | rows | expectations | failed (error) | failed (warning) | unexpected |",
            "|---|---:|---:|---:|---:|---:|"]
    for s in summaries:
        rows.append(f"| {s['suite']} | {s['rows']} | {s['evaluated_expectations']} | "
                    f"{s['failed_error_expectations']} | {s['failed_warning_expectations']} | "
                    f"{sum(s['unexpected_by_rule'].values())} |")
    if failures:
        rows += ["", "| rule | severity | failed expectations | unexpected values |", "|---|---|---:|---:|"]
        for k in sorted(failures):
            sev = RULES[k].severity if k in RULES else ""
            rows.append(f"| {k} | {sev} | {failures[k]} | {unexpected.get(k, 0)} |")
    metadata = {
        "evaluated_expectations": dg.MetadataValue.int(sum(s["evaluated_expectations"] for s in summaries)),
        "successful_expectations": dg.MetadataValue.int(sum(s["successful_expectations"] for s in summaries)),
        "failed_error_expectations": dg.MetadataValue.int(sum(s["failed_error_expectations"] for s in summaries)),
        "failed_warning_expectations": dg.MetadataValue.int(
            sum(s["failed_warning_expectations"] for s in summaries)),
        "failures_by_rule": dg.MetadataValue.json(failures),
        "unexpected_by_rule": dg.MetadataValue.json(unexpected),
        "rows_validated": dg.MetadataValue.int(sum(s["rows"] for s in summaries)),
        "seconds": dg.MetadataValue.float(float(sum(s["seconds"] for s in summaries))),
        "summary": dg.MetadataValue.md("\n".join(rows)),
    }
    if data_docs is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(data_docs))
    return metadata


def to_asset_check_result(runs: SuiteRun | Iterable[SuiteRun], *, asset_key=None, check_name: str | None = None,
                          data_docs: str | Path | None = None, description: str | None = None):
    """A ``dagster.AssetCheckResult`` for one or more suite runs.

    passed = every expectation succeeded. A failed expectation whose meta severity is ``error`` makes the
    check's severity ERROR (a blocking check then stops downstream assets); only warnings -> WARN.
    """
    import dagster as dg

    runs = [runs] if isinstance(runs, SuiteRun) else list(runs)
    failed = [r for run in runs for r in run.failed()]
    has_error = any((r.expectation_config.meta or {}).get("severity", "error") == "error" for r in failed)
    metadata = check_metadata(runs, data_docs)
    if description is None and failed:
        # one line for the run log and the UI's check list: which rules failed, with how many values
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
