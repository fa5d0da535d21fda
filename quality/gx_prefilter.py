"""The rows of a frame that could fail a suite, found with GX's own row conditions before GX validates them.

Every expectation this project's suites use is a row-wise *map* expectation: GX judges each row on its own (one
column, or a pair of columns; :data:`ROW_WISE_METRICS`) and the expectation fails exactly on the rows it reports
as unexpected. So a row that meets
every expectation's condition can be left out of the frame the Checkpoint validates without changing a single
unexpected row, value or index: the findings, the success of each expectation and the suite's verdict are the
same; only GX's per-expectation bookkeeping (it evaluates each expectation through a graph of metrics, about
186 expectations a night) now runs on the rows that matter. At 20,000 patients that is a few hundred of about
200,000 export rows.

The conditions are not re-implemented here: :func:`rows_that_could_fail` calls the pandas condition function
that GX itself registered for the expectation's ``map_metric`` (``<map_metric>.condition`` in GX's metric
registry, the function under ``column_condition_partial``/``column_pair_condition_partial``), on the domain GX
would give it (nulls left out unless the metric keeps them, ``ignore_row_if`` for pairs). A condition that
depends only on a cell's value is evaluated once per distinct value when GX would call Python per cell
(``strptime`` for dates).

It gives up, and the whole frame is validated as before, when a suite holds anything it cannot vouch for: an
expectation whose metric is not in :data:`ROW_WISE_METRICS` (a table-level one, ``unique``...), ``mostly`` below 1, a ``row_condition``, a
suite parameter, a column the frame does not have, or a condition that raises (GX then reports the error on
the whole frame, as before).

:func:`whole_frame_counts` restores what GX's result says of the whole frame (``element_count``,
``missing_count`` and the percentages of :func:`great_expectations.expectations.expectation._format_map_output`),
so Data Docs say "3 unexpected values, 0.02% of 20,000 rows", not "of 3 rows".
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation, ColumnPairMapExpectation
from great_expectations.expectations.registry import get_metric_provider

# The map metrics whose pandas condition judges each row alone (read in GX 1.x's metric modules: ``isin``,
# ``str.contains``, ``strptime`` per value, comparisons with constants or between the row's two cells). Not every
# map expectation is row-wise: ``column_values.unique`` depends on the other rows, so a metric joins this list
# only once its ``_pandas`` was read.
ROW_WISE_METRICS = frozenset({
    "column_values.in_set", "column_values.match_regex", "column_values.match_strftime_format",
    "column_values.between", "column_values.nonnull", "column_pair_values.equal",
    "column_pair_values.a_greater_than_b",
})
# Conditions of one cell's value that GX evaluates by calling Python once per cell (``strptime``, ``re``); on a
# column of text they are judged once per distinct value instead.
PER_VALUE_METRICS = frozenset({"column_values.match_strftime_format", "column_values.match_regex"})
_ENGINE = PandasExecutionEngine()


class CannotPrefilter(Exception):
    """The suite holds an expectation whose rows cannot be judged in advance: validate the whole frame."""


@dataclass(frozen=True)
class Domain:
    """What GX judges for one expectation on the whole frame: ``judged`` rows (its domain), ``failing`` rows
    (judged and not meeting the condition); both boolean arrays over the frame's rows."""

    judged: np.ndarray
    failing: np.ndarray


def _is_parameter(value) -> bool:
    return isinstance(value, dict) and "$PARAMETER" in value


def _condition(expectation):
    """GX's registered pandas condition for ``expectation`` and its metric provider class."""
    metric = getattr(type(expectation), "map_metric", None)
    if not isinstance(expectation, (ColumnMapExpectation, ColumnPairMapExpectation)) or metric not in ROW_WISE_METRICS:
        raise CannotPrefilter(f"{expectation.expectation_type} is not judged row by row ({metric})")
    try:
        provider, function = get_metric_provider(f"{metric}.condition", _ENGINE)
    except Exception as error:  # GX raises its own MetricProviderError
        raise CannotPrefilter(f"{metric}: {error}") from error
    raw = inspect.unwrap(function)  # through metric_partial and column(_pair)_condition_partial to the _pandas
    if raw is function:
        raise CannotPrefilter(f"{metric}: GX's condition function is not reachable")
    return metric, provider, raw


def _value_kwargs(expectation, provider) -> dict:
    kwargs = {}
    for key in getattr(provider, "condition_value_keys", ()):
        value = getattr(expectation, key, None)
        if _is_parameter(value):
            raise CannotPrefilter(f"{expectation.expectation_type}: suite parameter {key}")
        kwargs[key] = value
    return kwargs


def _check_plain(expectation, frame: pd.DataFrame, columns: list[str]) -> None:
    mostly = getattr(expectation, "mostly", None)
    if mostly is not None and mostly < 1:
        raise CannotPrefilter(f"{expectation.expectation_type}: mostly={mostly}")
    if getattr(expectation, "row_condition", None):
        raise CannotPrefilter(f"{expectation.expectation_type}: row_condition")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CannotPrefilter(f"{expectation.expectation_type}: no column {missing[0]}")


def expectation_domain(expectation, frame: pd.DataFrame) -> Domain:
    """The rows GX judges for ``expectation`` on ``frame`` and those that fail its condition.

    Raises :class:`CannotPrefilter` when that cannot be known in advance (see the module's docstring)."""
    metric, provider, condition = _condition(expectation)
    value_kwargs = _value_kwargs(expectation, provider)
    try:
        if isinstance(expectation, ColumnPairMapExpectation):
            a, b = expectation.column_A, expectation.column_B
            _check_plain(expectation, frame, [a, b])
            ignore = getattr(expectation, "ignore_row_if", None) or "both_values_are_missing"
            na_a, na_b = frame[a].isna().to_numpy(), frame[b].isna().to_numpy()
            if ignore == "both_values_are_missing":
                judged = ~(na_a & na_b)
            elif ignore == "either_value_is_missing":
                judged = ~(na_a | na_b)
            elif ignore == "neither":
                judged = np.ones(len(frame), dtype=bool)
            else:
                raise CannotPrefilter(f"{expectation.expectation_type}: ignore_row_if={ignore}")
            meets = condition(provider, frame[a][judged], frame[b][judged], **value_kwargs, _metrics={})
        else:
            column = expectation.column
            _check_plain(expectation, frame, [column])
            series = frame[column]
            judged = (series.notna().to_numpy() if getattr(provider, "filter_column_isnull", True)
                      else np.ones(len(frame), dtype=bool))
            values = series[judged]
            if metric in PER_VALUE_METRICS and len(values) and pd.api.types.infer_dtype(values) == "string":
                # text only: equal values are the same value (no 1 == True == 1.0 across types)
                distinct = pd.Series(pd.unique(values.to_numpy()), dtype=values.dtype)
                verdict = np.asarray(condition(provider, distinct, **value_kwargs, _metrics={}), dtype=bool)
                meets = ~values.isin(set(distinct[~verdict]))
            else:
                meets = condition(provider, values, **value_kwargs, _metrics={})
        meets = np.asarray(meets, dtype=bool)  # raises on a nullable result (pd.NA): GX would report that too
    except CannotPrefilter:
        raise
    except Exception as error:  # the condition raises on this frame: GX reports it, on the whole frame
        raise CannotPrefilter(f"{expectation.expectation_type}: {type(error).__name__}: {error}") from error
    failing = np.zeros(len(frame), dtype=bool)
    failing[np.flatnonzero(judged)] = ~meets
    return Domain(judged=np.asarray(judged, dtype=bool), failing=failing)


def rows_that_could_fail(expectations, frame: pd.DataFrame) -> tuple[np.ndarray, list[Domain]]:
    """A boolean array over ``frame``'s rows, True where some expectation's condition fails, and each
    expectation's :class:`Domain` (in the order given).

    Raises :class:`CannotPrefilter` if any expectation cannot be judged in advance."""
    suspect = np.zeros(len(frame), dtype=bool)
    domains = []
    for expectation in expectations:
        domain = expectation_domain(expectation, frame)
        suspect |= domain.failing
        domains.append(domain)
    return suspect, domains


def whole_frame_counts(result: dict, element_count: int, judged: int) -> dict:
    """``result`` (one expectation's GX result dict) with the counts and percentages of the whole frame:
    ``element_count`` rows, ``judged`` of them in the expectation's domain. Mirrors GX 1.x
    ``_format_map_output``: ``missing_count`` and the nonmissing percentages only where GX reported them."""
    out = dict(result)
    unexpected = out.get("unexpected_count")
    if "element_count" not in out or unexpected is None:
        return out
    out["element_count"] = element_count
    total = unexpected / element_count * 100 if element_count > 0 else None
    if "missing_count" in out:
        missing = element_count - judged
        out["missing_count"] = missing
        out["missing_percent"] = missing / element_count * 100 if element_count > 0 else None
        nonmissing = unexpected / judged * 100 if judged > 0 and element_count > 0 else None
        out["unexpected_percent_total"] = total
        out["unexpected_percent_nonmissing"] = nonmissing
        out["unexpected_percent"] = nonmissing
    else:
        out["unexpected_percent"] = total
    return out
