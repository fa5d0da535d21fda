"""The Great Expectations (GX Core 1.x) runner: one Data Context per run, each suite validated by a Checkpoint.

One :class:`GXRunner` per Dagster step holds a file Data Context rooted at ``SSC_HOME/gx`` whose Data Docs site
(``local_site``) writes to ``SSC_HOME/data_docs``, so ``data_docs/index.html`` exists and validation results
accumulate across runs. The context registers a pandas datasource (``ssc_warehouse``) with one dataframe asset
and one whole-dataframe batch definition per suite. :meth:`GXRunner.validate` runs a suite against a DataFrame
through a ``gx.Checkpoint`` of one ``gx.ValidationDefinition`` (batch parameters ``{"dataframe": frame}``,
result format ``COMPLETE`` with ``unexpected_index_column_names``, so each unexpected value maps back to its row);
GX stores the validation result and names it (the Checkpoint result's ``ValidationResultIdentifier``).
:meth:`GXRunner.build_docs` then renders those results and the index once for the step.

Why not the Checkpoint's ``UpdateDataDocsAction``: it builds the site once per validation result (that result's
pages and the whole index again; GX 1.24, ``checkpoint/actions.py``), and as a dataframe batch is given per
Checkpoint run, each suite is its own Checkpoint: 22 site builds a nightly run instead of 3 (on the demo's 22
results: 4.9 s against 0.55 s for one build of the same pages, 2 shared cores). ``build_docs`` asks GX for the
same pages in one build (``context.build_data_docs`` with the identifiers of the Checkpoint results).

GX's own costs, cut without changing what it produces (each reaches into GX 1.24 internals, pinned to that
version, and checked against GX's own path in ``tests/quality/test_gx_store.py``): a validation
result is serialised for its store once, not deep-copied through every nested marshmallow step
(:func:`serialized`); an expectation's ``configuration`` is built once per validation, not on each of its
hundred reads (:func:`_configurations_kept`); ``config_variables.yml`` is parsed once per context, not on every
store read (:func:`_read_config_variables_once`).

Offline: this GX build sends no usage statistics (it has no analytics module); the project config still says
``analytics_enabled: false``. Progress bars are off; GX's loggers are set to WARNING when a context is opened.
The site's pages are made to work without a network and to show the drop's values as text, and only the last
60 drops' validation results are kept: see :mod:`quality.data_docs` (its renderers and views are the site's,
:func:`~quality.data_docs.prune` and :func:`~quality.data_docs.finish_build` run around each build).

``GXRunner()`` without directories gives an ephemeral (in-memory) context without Data Docs: for tests.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core.config_provider import _ConfigurationVariablesConfigurationProvider
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation import Expectation
from great_expectations.util import convert_to_json_serializable

from quality import data_docs, gx_prefilter

log = logging.getLogger(__name__)
DEFINITION_SHA = "definition_sha256"  # in a saved suite's meta: what its Checkpoint was made from
ROW = "_row"  # positional row number added to every validated frame (the index column GX reports back)
DATASOURCE = "ssc_warehouse"
DOCS_SITE = "local_site"
BATCH = "whole"
_GX_CONFIGURATION = Expectation.configuration  # GX's property (see _configurations_kept)
# GX sets great_expectations.data_context.types.base to INFO itself, hence the explicit names.
GX_LOGGERS = ("great_expectations", "great_expectations.core", "great_expectations.data_context",
              "great_expectations.data_context.types.base", "great_expectations.expectations",
              "great_expectations.validator", "great_expectations.render", "great_expectations.checkpoint")


class SuiteDraft:
    """An expectation suite's name, meta and expectations, gathered with :meth:`add_expectation` as on a
    ``gx.ExpectationSuite`` and made into one in a single step (:meth:`suite`).

    Why not add to a ``gx.ExpectationSuite`` directly: once a suite of that name is in the project's store (every
    night after the first), GX 1.x's ``ExpectationSuite.add_expectation`` writes the whole suite to the store on
    each call (``_has_been_saved`` looks the name up) and compares the new expectation with every one before it
    through pydantic ``dict()``: quadratic in a suite's size, about a third of the demo's conformance step. Made in
    one step the suite holds the same expectations (the same ones dropped as duplicates) and is stored once, by
    :meth:`GXRunner.validate`."""

    def __init__(self, name: str, meta: dict | None = None):
        self.name, self.meta, self.expectations = name, meta, []

    def add_expectation(self, expectation):
        self.expectations.append(expectation)
        return expectation

    def suite(self) -> gx.ExpectationSuite:
        """The suite, without the expectations GX would not add: one of the same type and parameters as an earlier
        one (its id, notes, meta and rendered content aside; ``ExpectationSuite._expectations_are_equalish``)."""
        kept, seen = [], []
        for expectation in self.expectations:
            identity = (expectation.expectation_type,
                        expectation.dict(exclude={"id", "rendered_content", "notes", "meta"}))
            if identity not in seen:
                kept.append(expectation)
                seen.append(identity)
        return gx.ExpectationSuite(name=self.name, meta=self.meta, expectations=kept)


def open_context(gx_dir: str | Path | None = None, data_docs_dir: str | Path | None = None):
    """A GX file Data Context rooted at ``gx_dir`` with its one Data Docs site at ``data_docs_dir``.

    ``gx_dir=None`` gives an ephemeral context without Data Docs. The project config is only rewritten when it
    differs from what is wanted (analytics off, progress bars off, the one site).
    """
    for name in GX_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    quiet = ProgressBarsConfig(globally=False, metric_calculations=False)
    if gx_dir is None:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = quiet
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
        context.variables.progress_bars = quiet
        changed = True
    if data_docs_dir is not None:
        site = data_docs.site_config(data_docs_dir)
        sites = context.list_data_docs_sites() or {}
        if dict(sites.get(DOCS_SITE, {})) != site or len(sites) != 1:
            context.variables.data_docs_sites = {DOCS_SITE: site}
            changed = True
    if changed:
        context.variables.save()
    _read_config_variables_once(context)
    return context


def _read_config_variables_once(context) -> None:
    """Make ``context`` read ``uncommitted/config_variables.yml`` once, not on every store read.

    GX 1.24 substitutes config variables into every object a store reads back (suites, ValidationDefinitions,
    Checkpoints, the project config: about 300 reads in the conformance step, e.g. each Checkpoint run checks
    that its suite and definition are unchanged in the store), and for each it reads and parses that file with
    ruamel (``_ConfigurationVariablesConfigurationProvider.get_values``). The file's values (and the environment
    substituted into them) are read here once, when the context is opened, for the context's lifetime (a step);
    nothing in a step writes the file."""
    provider = context.config_provider.get_provider(_ConfigurationVariablesConfigurationProvider)
    if provider is not None:
        values = provider.get_values()
        provider.get_values = lambda: dict(values)


def _count_whole_frame(suite, domains, rows: int, validated: int, result) -> None:
    """Make a prefiltered ``result`` say what GX would have said of the whole frame (:mod:`quality.gx_prefilter`):
    each expectation's counts and percentages over all ``rows``, and in the result's meta how many GX validated."""
    judged = {e.id: int(d.judged.sum()) for e, d in zip(suite.expectations, domains)}
    for r in result.results:
        if r.expectation_config.id in judged and r.result:
            r.result = gx_prefilter.whole_frame_counts(r.result, rows, judged[r.expectation_config.id])
    result.meta["rows"] = {"in_frame": rows, "validated_by_gx": validated,
                           "left_out": "rows that meet every expectation's condition (quality.gx_prefilter)"}


def serialized(store, result) -> str:
    """``store.serialize(result)`` (GX's ValidationResultsStore of a file or ephemeral context), the same text,
    without copying the result's lists over and over.

    GX 1.24's ``serialize`` is ``schema.dumps(result.to_json_dict(), indent=2, sort_keys=True)``: the result is
    deep-copied, and each expectation result's ``result`` deep-copied and passed through
    ``convert_to_json_serializable`` again at each of about six nested marshmallow steps, so a result holding
    18,000 unexpected rows in ``COMPLETE`` format costs seconds. Here each list in an expectation result's
    ``result`` (unexpected values, index entries, counts) is set aside while GX serialises the rest as it does,
    then converted by ``convert_to_json_serializable`` once and put back in its place (the conversion gives
    JSON-native values, on which GX's further passes change nothing), and the whole dumped as GX dumps it.
    Pinned to GX 1.24 (``tests/quality/test_gx_store.py`` compares the text with GX's own ``serialize``)."""
    set_aside = []  # (position, expectation result, its result dict, the lists taken out of it)
    try:
        for i, r in enumerate(result.results):
            lists = {k: v for k, v in r.result.items() if isinstance(v, list)} if isinstance(r.result, dict) else {}
            if lists:
                set_aside.append((i, r, r.result, lists))
                r.result = {k: ([] if k in lists else v) for k, v in r.result.items()}
        document = store._expectationSuiteValidationResultSchema.dump(result.to_json_dict())
    finally:
        for _, r, original, _ in set_aside:
            r.result = original
    for i, _, _, lists in set_aside:
        document["results"][i]["result"].update({k: convert_to_json_serializable(v) for k, v in lists.items()})
    return json.dumps(document, indent=2, sort_keys=True)


@contextlib.contextmanager
def _storing(store, amend):
    """While in the block, ``store`` (the GX ValidationResultsStore the Checkpoint writes to) serialises a
    validation result with :func:`serialized`, after ``amend(result)`` (if given) has run on it, so a result is
    serialised once, as amended, and without GX's repeated copies."""
    original = store.store_validation_results

    def store_amended(suite_validation_result, *args, **kwargs):
        if amend is not None:
            amend(suite_validation_result)
        return original(suite_validation_result, *args, **kwargs)

    store.store_validation_results = store_amended
    store.serialize = functools.partial(serialized, store)
    try:
        yield
    finally:
        del store.store_validation_results, store.serialize  # the class's methods again


@contextlib.contextmanager
def _configurations_kept():
    """While in the block, each GX ``Expectation``'s ``configuration`` is built once, not on every read.

    GX 1.24's ``Expectation.configuration`` is a property that makes a new ``ExpectationConfiguration`` from a
    pydantic ``dict()`` of the expectation each time it is read, and validating one expectation reads it about
    a hundred times (``_get_success_kwargs`` reads it once per keyword; ``get_validation_dependencies`` once per
    metric): about 0.8 s of the conformance step's 11 s CPU at 20,000 patients. The expectations GX validates
    are made afresh from the suite's configurations for each validation and are not changed while it runs;
    should one be (an attribute set to another value), its configuration is built again. Pinned to GX 1.24 (the property is replaced on the class for the
    block's duration, then GX's own is put back)."""
    built = _GX_CONFIGURATION
    kept: dict[int, tuple] = {}  # id(expectation) -> (expectation, its attributes then, its configuration)

    def unchanged(entry, expectation) -> bool:
        now = expectation.__dict__
        return entry[0] is expectation and len(now) == len(entry[1]) and all(
            key in now and now[key] is value for key, value in entry[1].items())

    def configuration(expectation):
        entry = kept.get(id(expectation))
        if entry is None or not unchanged(entry, expectation):
            entry = kept[id(expectation)] = (expectation, dict(expectation.__dict__), built.fget(expectation))
        return entry[2]

    Expectation.configuration = property(configuration, doc=built.__doc__)
    try:
        yield
    finally:
        Expectation.configuration = built  # GX's own, even if another block began meanwhile


@dataclass
class SuiteRun:
    """A suite validated against a frame: GX's result and what turning it into findings needs.

    ``frame`` is the validated frame with the positional ``_row`` column; ``finding_columns`` maps finding
    attributes (record_id, event, instrument, instance, source_row) to its columns (``"=x"``: the constant x).
    """

    suite_name: str
    frame: pd.DataFrame
    result: Any  # great_expectations ExpectationSuiteValidationResult
    finding_columns: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return bool(self.result.success)

    def failed(self) -> list:
        """The failed expectation results."""
        return [r for r in self.result.results if not r.success]

    def summary(self) -> dict:
        """Counts for logs and check metadata: rows, evaluated and failed expectations (by the ``severity`` of
        their meta), expectations that raised, failures and unexpected values by rule id, seconds."""
        evaluated = len(self.result.results)
        failures: dict[str, int] = {}
        unexpected: dict[str, int] = {}
        errors = warnings_ = exceptions = 0
        for r in self.failed():
            meta = r.expectation_config.meta or {}
            rule_id = meta.get("rule", r.expectation_config.type)
            failures[rule_id] = failures.get(rule_id, 0) + 1
            unexpected[rule_id] = unexpected.get(rule_id, 0) + int((r.result or {}).get("unexpected_count") or 0)
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
    """One GX context for a step: validate many suites, then ``build_docs()`` once.

    >>> runner = GXRunner(ssc_home / "gx", ssc_home / "data_docs", run_name=drop_id)
    >>> run = runner.validate(suite, frame, index_columns=["_source_row"], finding_columns={...})
    >>> runner.build_docs()  # SSC_HOME/data_docs/index.html

    Results are stored under the run name (the drop) and the runner's start time.
    """

    def __init__(self, gx_dir: str | Path | None = None, data_docs_dir: str | Path | None = None,
                 run_name: str | None = None, *, prefilter: bool = True):
        self.prefilter = prefilter  # False: GX validates every row of each frame (for comparisons)
        self.data_docs_dir = Path(data_docs_dir) if gx_dir is not None and data_docs_dir is not None else None
        self.context = open_context(gx_dir, self.data_docs_dir)
        self.datasource = self._datasource()
        self.run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc))
        self._results: list = []  # identifiers of the results validated since the last build_docs()

    @property
    def index_path(self) -> Path | None:
        """``data_docs/index.html``, or None without Data Docs."""
        return self.data_docs_dir / "index.html" if self.data_docs_dir is not None else None

    def _datasource(self):
        """The project's pandas datasource, with the dataframe assets earlier runs added (the saved Checkpoints
        refer to them); made when there is none."""
        try:
            datasource = self.context.data_sources.get(DATASOURCE)
        except (KeyError, LookupError, ValueError):
            return self.context.data_sources.add_pandas(DATASOURCE)
        return datasource if datasource.type == "pandas" else self.context.data_sources.add_or_update_pandas(DATASOURCE)

    def _batch_definition(self, asset_name: str):
        try:
            asset = self.datasource.get_asset(asset_name)
        except LookupError:
            asset = self.datasource.add_dataframe_asset(asset_name)
        try:
            return asset.get_batch_definition(BATCH)
        except (KeyError, LookupError, ValueError):
            return asset.add_batch_definition_whole_dataframe(BATCH)

    def validate(self, suite: gx.ExpectationSuite, frame: pd.DataFrame, *, index_columns: Iterable[str] = (),
                 finding_columns: Mapping[str, str] | None = None, asset_name: str | None = None) -> SuiteRun:
        """Validate ``frame`` against ``suite`` (its Checkpoint is saved under the suite's name); a :class:`SuiteRun`.

        ``index_columns`` are reported with each unexpected value (shown in Data Docs, e.g. ``_source_row``); the
        positional ``_row`` is always added and is what findings use to find the row again. ``finding_columns``
        (else ``suite.meta["finding_columns"]``) maps finding attributes to columns of ``frame``. ``asset_name``
        names the dataframe asset (default: the suite's name). With the runner's ``prefilter`` GX validates only the
        rows that fail some expectation's condition (:mod:`quality.gx_prefilter`: the same unexpected rows, values
        and verdicts, counted over the whole frame).
        """
        started = time.perf_counter()
        frame = frame.reset_index(drop=True)
        frame[ROW] = np.arange(len(frame), dtype="int64")
        index_cols = [ROW] + [c for c in index_columns if c in frame.columns and c != ROW]
        columns = dict(finding_columns or suite.meta.get("finding_columns") or {})
        suite.meta["finding_columns"] = columns
        result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": index_cols,
                         "return_unexpected_index_query": False}
        checkpoint = self._checkpoint(suite, asset_name or suite.name, result_format)
        (definition,) = checkpoint.validation_definitions
        suite = definition.suite
        validated, domains = frame, None
        if self.prefilter:
            try:
                with warnings.catch_warnings():  # as around the Checkpoint below (GX's regex condition warns)
                    warnings.simplefilter("ignore")
                    suspect, domains = gx_prefilter.rows_that_could_fail(suite.expectations, frame)
                validated = frame.loc[suspect].reset_index(drop=True)
            except gx_prefilter.CannotPrefilter as reason:
                log.debug("%s: the whole frame is validated (%s)", suite.name, reason)
        counted = (None if domains is None else
                   functools.partial(_count_whole_frame, suite, domains, len(frame), len(validated)))
        with (warnings.catch_warnings(), _storing(definition._validation_results_store, counted),
              _configurations_kept()):
            warnings.simplefilter("ignore")
            checkpoint_result = checkpoint.run(batch_parameters={"dataframe": validated}, run_id=self.run_id)
        (result_id, result), = checkpoint_result.run_results.items()
        self._results.append(result_id)
        return SuiteRun(suite_name=suite.name, frame=frame, result=result, finding_columns=columns,
                        seconds=time.perf_counter() - started)

    def _checkpoint(self, suite: gx.ExpectationSuite, asset_name: str, result_format: dict) -> gx.Checkpoint:
        """The project's Checkpoint for ``suite`` (named as the suite; one ValidationDefinition of the suite on the
        dataframe asset ``asset_name``). The one saved by an earlier run is used as it is when it was made from the
        same suite, asset, result format and GX version (``meta["definition_sha256"]`` of its suite: night after
        night, with the dictionary and code unchanged); otherwise the suite, its ValidationDefinition and the
        Checkpoint are saved anew.

        Why: each GX ``add_or_update`` reads the saved object back and compares every expectation with every saved
        one, and saving a ValidationDefinition or Checkpoint saves its suite again, so 3 suite updates per
        validation, about a third of a small drop's GX time."""
        wanted = {"suite": suite.name, "meta": {k: v for k, v in (suite.meta or {}).items() if k != DEFINITION_SHA},
                  "expectations": [e.dict(exclude={"id", "rendered_content"}) for e in suite.expectations],
                  "asset": asset_name, "result_format": result_format, "great_expectations": gx.__version__}
        sha = hashlib.sha256(json.dumps(wanted, sort_keys=True, default=str).encode()).hexdigest()
        try:
            saved = self.context.checkpoints.get(suite.name)
            (definition,) = saved.validation_definitions
            if (definition.suite.meta or {}).get(DEFINITION_SHA) == sha:
                return saved
        except Exception as reason:  # none saved yet, or saved by another GX version: save anew
            log.debug("%s: the checkpoint is saved anew (%s)", suite.name, reason)
        suite.meta[DEFINITION_SHA] = sha
        suite = self.context.suites.add_or_update(suite)
        definition = self.context.validation_definitions.add_or_update(gx.ValidationDefinition(
            name=suite.name, data=self._batch_definition(asset_name), suite=suite))
        return self.context.checkpoints.add_or_update(gx.Checkpoint(
            name=suite.name, validation_definitions=[definition], actions=[], result_format=result_format))

    def build_docs(self) -> Path | None:
        """Prune the validation results of all but the last 60 drops, render the results validated since the last
        call (and their suites), rebuild the index, then point the pages built at the local copies of their CSS,
        fonts and scripts; the index path, or None without Data Docs.

        Raises :class:`quality.data_docs.DataDocsError` if a page built would still load anything from the network.
        """
        if self.data_docs_dir is None:
            return None
        data_docs.prune(self.context, self.data_docs_dir)
        pages = [page for result_id in self._results for page in (result_id, result_id.expectation_suite_identifier)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=pages or None)
        data_docs.finish_build(self.data_docs_dir, [
            (section, *identifier.to_tuple()) for result_id in self._results
            for section, identifier in (("validations", result_id),
                                        ("expectations", result_id.expectation_suite_identifier))] or None)
        self._results = []
        return self.index_path
