"""The analysis results dataset (ARD): every figure the study publishes, one row per statistic.

In the spirit of pharmaverse ``cards`` and CDISC Analysis Results Standard, one long table with the columns

=============  =========  ==========================================================================================
column         type       meaning
=============  =========  ==========================================================================================
``analysis``   VARCHAR    the outcome key (``overall_survival``, ``mrss``, ``table1``, …) or a report analysis
                          (``overall_survival_curve``, ``deaths``, ``adverse_event_listing``, …)
``parameter``  VARCHAR    what is measured: the mart's PARAM code where there is one (``mrss_total``, ``haq_di``,
                          ``OS``), else the mart variable (``AETOXGR``, ``SEX``); NULL when the analysis has one
``timepoint``  VARCHAR    the analysis window (``baseline`` … ``month_60``), ``year_<t>`` for survival, ``latest``;
                          NULL when none
``group``      VARCHAR    a category or subgroup (grade ``'3'``, ``'improved'``, a fixed-effect term), or the key
                          of a listing line (a record_id); NULL when none
``statistic``  VARCHAR    the statistic, one of :data:`STATISTICS`
``value``      DOUBLE     its value, unrounded (NULL when not computable, and for text statistics)
``value_text`` VARCHAR    the value of a text statistic (a label, a reason); NULL otherwise
``n``          INTEGER    the denominator the statistic rests on, where it has one (patients summarised, evaluable
                          patients of a percentage, pairs of a paired test)
``source``     VARCHAR    the marts it was computed from (``marts.adbds``; several comma-separated)
=============  =========  ==========================================================================================

The key (analysis, parameter, timepoint, group, statistic) is unique. Rows are in display order (window order,
category order, listing order), and every writer keeps that order. A category count always comes with its
percentage of the denominator (statistics ``n`` and ``pct``, the denominator in ``n``).

``frame(rows)`` builds and checks the table; :class:`Results` reads it back by key with each statistic's type
(``analysis.results`` fills it from the marts, ``analysis.outcomes`` renders ``outcomes.json`` from it, the study
report prints it).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import pandas as pd

from analysis._common import fnum, percent

COLUMNS = ("analysis", "parameter", "timepoint", "group", "statistic", "value", "value_text", "n", "source")
KEY = ("analysis", "parameter", "timepoint", "group", "statistic")
SQL_TYPES = {"analysis": "VARCHAR", "parameter": "VARCHAR", "timepoint": "VARCHAR", "group": "VARCHAR",
             "statistic": "VARCHAR", "value": "DOUBLE", "value_text": "VARCHAR", "n": "INTEGER",
             "source": "VARCHAR"}

#: kinds of statistic: how the value is stored and read back
COUNT, NUMBER, FLAG, TEXT = "count", "number", "flag", "text"

#: every statistic the ARD may hold: kind and meaning (units are those of the parameter unless said)
STATISTICS: dict[str, tuple[str, str]] = {
    # counts (whole numbers)
    "n": (COUNT, "patients counted (in a category) or summarised (at a timepoint)"),
    "n_paired": (COUNT, "patients with both the baseline and the timepoint value"),
    "n_excluded": (COUNT, "patients left out of the analysis"),
    "deaths": (COUNT, "deaths"),
    "at_risk": (COUNT, "patients at risk (time ≥ t)"),
    "n_censored": (COUNT, "patients censored at this time"),
    "n_events": (COUNT, "events"),
    "n_patients": (COUNT, "patients"),
    "n_infusions": (COUNT, "infusions"),
    "n_observations": (COUNT, "observations entering a model"),
    "enrolled": (COUNT, "patients enrolled"),
    "infused": (COUNT, "patients infused (adsl)"),
    "lost_to_follow_up": (COUNT, "patients lost to follow-up"),
    "count": (COUNT, "patients in the category"),
    "denominator": (COUNT, "patients with the item recorded"),
    "latest_scan_day": (COUNT, "study day of the latest scan"),
    "onset_study_day": (COUNT, "study day of onset"),
    "ae_grade": (COUNT, "CTCAE grade code (1–5)"),
    "ae_relation": (COUNT, "relation code (1–5)"),
    "ae_outcome": (COUNT, "outcome code (1–6)"),
    # numbers
    "mean": (NUMBER, "mean"),
    "sd": (NUMBER, "sample standard deviation (n − 1)"),
    "median": (NUMBER, "median"),
    "q1": (NUMBER, "first quartile (linear interpolation)"),
    "q3": (NUMBER, "third quartile (linear interpolation)"),
    "pct": (NUMBER, "percentage of the denominator n (0–100)"),
    "pct_infusions": (NUMBER, "percentage of infusions (0–100)"),
    "pct_patients": (NUMBER, "percentage of patients (0–100)"),
    "mean_change": (NUMBER, "mean change from baseline"),
    "sd_change": (NUMBER, "SD of the change from baseline"),
    "t_test_p": (NUMBER, "two-sided paired t-test p-value"),
    "wilcoxon_p": (NUMBER, "two-sided Wilcoxon signed-rank p-value"),
    "survival": (NUMBER, "Kaplan–Meier survival (0–1)"),
    "ci_lower": (NUMBER, "lower bound of the 95% confidence interval"),
    "ci_upper": (NUMBER, "upper bound of the 95% confidence interval"),
    "time_years": (NUMBER, "years from day 0"),
    "median_years": (NUMBER, "median survival, years (NULL: not reached)"),
    "median_follow_up_years": (NUMBER, "median follow-up, years"),
    "median_observation_years": (NUMBER, "median observation time, years"),
    "patient_years": (NUMBER, "total observation time, years"),
    "rate_per_100py": (NUMBER, "events per 100 patient-years"),
    "estimate": (NUMBER, "model estimate"),
    "std_error": (NUMBER, "standard error"),
    "p_value": (NUMBER, "two-sided p-value"),
    "random_intercept_variance": (NUMBER, "variance of the random intercept"),
    "residual_variance": (NUMBER, "residual variance"),
    "extent_change": (NUMBER, "change in HRCT extent, points"),
    "baseline_value": (NUMBER, "analysed baseline value"),
    "final_value": (NUMBER, "analysed final value"),
    "rise": (NUMBER, "final − baseline"),
    "study_day": (NUMBER, "study day"),
    "fvc_decline_pct": (NUMBER, "relative FVC decline from baseline, %"),
    "dlco_decline_pct": (NUMBER, "relative DLCO decline from baseline, %"),
    # flags
    "evaluable": (FLAG, "the patient is evaluable"),
    "converged": (FLAG, "the model converged"),
    "placed": (FLAG, "the death has a usable date"),
    "treatment_related": (FLAG, "the death was treatment-related"),
    "serious": (FLAG, "the event is serious"),
    # text
    "label": (TEXT, "label of the row"),
    "category": (TEXT, "category of a listing line"),
    "category_source": (TEXT, "where the category comes from ('recorded' | 'derived')"),
    "reason": (TEXT, "why"),
    "warning": (TEXT, "a warning of the fit"),
    "method": (TEXT, "method used"),
    "record_id": (TEXT, "record of a listing line"),
    "term": (TEXT, "verbatim term"),
    "cause": (TEXT, "cause"),
}


# ------------------------------------------------------------------------------------------------ writing


def row(analysis: str, statistic: str, value: Any = None, *, parameter: str | None = None,
        timepoint: str | None = None, group: Any = None, n: Any = None, source: str) -> dict:
    """One ARD row. ``value`` is stored by the statistic's kind (text in ``value_text``, a flag as 1.0/0.0,
    NaN/±inf/NA as NULL). KeyError for a statistic not in :data:`STATISTICS`."""
    kind = STATISTICS[statistic][0]
    text = None
    if kind == TEXT:
        text, value = (None if _missing(value) else str(value)), None
    elif kind == FLAG:
        value = None if _missing(value) else float(bool(value))
    else:
        value = fnum(value)
    count = fnum(n)
    return {"analysis": analysis, "parameter": parameter, "timepoint": timepoint,
            "group": None if group is None else str(group), "statistic": statistic, "value": value,
            "value_text": text, "n": None if count is None else int(count), "source": source}


class Rows:
    """Rows of one analysis from one source, in the order they are added."""

    def __init__(self, analysis: str, source: str):
        self.analysis, self.source, self.rows = analysis, source, []

    def add(self, statistic: str, value: Any = None, **keys) -> None:
        self.rows.append(row(self.analysis, statistic, value, source=self.source, **keys))

    def counts(self, counts: dict, denominator: Any, **keys) -> None:
        """``n`` and ``pct`` (of ``denominator``) of each category, in the order given."""
        for group, k in counts.items():
            self.add("n", k, group=group, n=denominator, **keys)
            self.add("pct", percent(k, denominator), group=group, n=denominator, **keys)

    def record(self, values: dict, statistics: Iterable[str], **keys) -> None:
        """The statistics named, read from ``values`` (a dict), each with the same keys."""
        for statistic in statistics:
            self.add(statistic, values[statistic], **keys)


def frame(*parts: Iterable[dict] | Rows) -> pd.DataFrame:
    """The ARD table of the rows given (lists of :func:`row` dicts or :class:`Rows`), in order.

    ValueError when a key (analysis, parameter, timepoint, group, statistic) occurs twice."""
    rows = [r for part in parts for r in (part.rows if isinstance(part, Rows) else part)]
    return _checked(pd.DataFrame(rows, columns=list(COLUMNS)))


def _checked(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` (the ARD's columns) typed as :func:`frame` types them, NULL as None; keys checked."""
    out = out.astype({"analysis": object, "parameter": object, "timepoint": object, "group": object,
                      "statistic": object, "value": "float64", "value_text": object, "n": "Int64",
                      "source": object})
    for col in ("analysis", "parameter", "timepoint", "group", "statistic", "value_text", "source"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    duplicated = out.duplicated(list(KEY), keep=False)
    if duplicated.any():
        keys = out.loc[duplicated, list(KEY)].drop_duplicates().head(5).to_dict("records")
        raise ValueError(f"the ARD holds {int(duplicated.sum())} rows with a repeated key, e.g. {keys}")
    return out.reset_index(drop=True)


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Several ARD tables as one, in the order given (keys checked again)."""
    # column by column, not row by row (the ARD at 20,000 patients holds 171,000 rows); empty tables add nothing
    parts = [f.loc[:, list(COLUMNS)] for f in frames if len(f)]
    return _checked(pd.concat(parts, ignore_index=True)) if parts else frame()


def to_csv(ard: pd.DataFrame) -> str:
    """The ARD as CSV text (header, one line per row, floats written to round-trip, NULL as empty)."""
    return ard.loc[:, list(COLUMNS)].to_csv(index=False, lineterminator="\n")


def read_csv(source) -> pd.DataFrame:
    """An ``ard.csv`` (a path or a text buffer) read back as the ARD: text columns as text (an empty cell is
    NULL, never a number or 'NA'), ``value`` DOUBLE, ``n`` INTEGER, rows in order."""
    text = [c for c in COLUMNS if SQL_TYPES[c] == "VARCHAR"]
    table = pd.read_csv(source, dtype={**{c: "string" for c in text}, "value": "float64", "n": "Int64"},
                        keep_default_na=False, na_values={c: [""] for c in COLUMNS},
                        float_precision="round_trip")  # the exact doubles to_csv wrote
    return frame(table.to_dict("records"))


def write_table(conn, ard: pd.DataFrame, table: str = "analysis.results") -> None:
    """Replace ``table`` (schema.table) in DuckDB with the ARD, typed as :data:`SQL_TYPES`, rows in order."""
    schema = table.split(".")[0]
    names = ", ".join(f'"{c}"' for c in COLUMNS)  # "group" is an SQL keyword
    conn.execute(f"create schema if not exists {schema}")
    typed_columns = ", ".join(f'"{c}" {SQL_TYPES[c]}' for c in COLUMNS)
    conn.execute(f"create or replace table {table} ({typed_columns})")
    conn.register("ard_frame", ard.loc[:, list(COLUMNS)])
    try:
        conn.execute(f"insert into {table} select {names} from ard_frame")
    finally:
        conn.unregister("ard_frame")


# ------------------------------------------------------------------------------------------------ reading


ANY = object()  # a key part that matches any value (None matches NULL only)


def _missing(x: Any) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    return isinstance(x, float) and math.isnan(x)


def _clean(x: Any) -> Any:
    return None if _missing(x) else x


class Results:
    """Read access to an ARD table by key, each value typed by its statistic (count → int, flag → bool,
    text → str, number → float; NULL → None)."""

    def __init__(self, ard: pd.DataFrame | None):
        ard = frame() if ard is None else ard
        missing = set(COLUMNS) - set(ard.columns)
        if missing:
            raise ValueError(f"not an ARD: columns {sorted(missing)} missing")
        # column by column, NULL (None, NaN, NA) as None: an ARD at 20,000 patients holds 171,000 rows
        columns = {c: ard[c].astype(object).where(ard[c].notna(), None).tolist() for c in COLUMNS}
        self._rows = [dict(zip(COLUMNS, values)) for values in zip(*columns.values())]
        self._index = dict(zip(zip(*(columns[k] for k in KEY)), self._rows))
        # each analysis' rows, and each (analysis, statistic)'s, in order: the report asks about 100 times
        self._of_analysis: dict[str, list[dict]] = {}
        self._of_statistic: dict[tuple[str, str], list[dict]] = {}
        for r, analysis, statistic in zip(self._rows, columns["analysis"], columns["statistic"]):
            self._of_analysis.setdefault(analysis, []).append(r)
            self._of_statistic.setdefault((analysis, statistic), []).append(r)

    def has(self, analysis: str) -> bool:
        return analysis in self._of_analysis

    def rows(self, analysis: str, statistic: Any = ANY, *, parameter: Any = ANY, timepoint: Any = ANY,
             group: Any = ANY) -> list[dict]:
        """The matching rows, in order."""
        rows = (self._of_analysis.get(analysis, []) if statistic is ANY
                else self._of_statistic.get((analysis, statistic), []))
        wanted = [(k, v) for k, v in (("parameter", parameter), ("timepoint", timepoint), ("group", group))
                  if v is not ANY]
        return [r for r in rows if all(r[k] == v for k, v in wanted)]

    def value(self, analysis: str, statistic: str, *, parameter: str | None = None, timepoint: str | None = None,
              group: Any = None) -> Any:
        """The typed value of one row; KeyError when the row is not there."""
        found = self._index.get((analysis, parameter, timepoint, None if group is None else str(group), statistic))
        if found is None:
            raise KeyError(f"no ARD row analysis={analysis!r} parameter={parameter!r} timepoint={timepoint!r} "
                           f"group={group!r} statistic={statistic!r}")
        return typed(found)

    def get(self, analysis: str, statistic: str, **keys) -> Any:
        """:meth:`value`, or None when the row is not there."""
        try:
            return self.value(analysis, statistic, **keys)
        except KeyError:
            return None

    def record(self, analysis: str, statistics: Iterable[str], **keys) -> dict:
        """{statistic: typed value} of one key (strict: KeyError for a missing row)."""
        return {s: self.value(analysis, s, **keys) for s in statistics}

    def timepoints(self, analysis: str, statistic: str, *, parameter: Any = ANY, group: Any = ANY) -> list:
        """Distinct timepoints of the matching rows, in order."""
        return _distinct(r["timepoint"] for r in self.rows(analysis, statistic, parameter=parameter, group=group))

    def groups(self, analysis: str, statistic: str, *, parameter: Any = ANY, timepoint: Any = ANY) -> list:
        """Distinct groups of the matching rows, in order (NULL left out)."""
        return [g for g in _distinct(r["group"] for r in self.rows(analysis, statistic, parameter=parameter,
                                                                    timepoint=timepoint)) if g is not None]


def typed(r: dict) -> Any:
    """The value of one ARD row (a dict) as its statistic's kind: int, float, bool, str or None."""
    kind = STATISTICS[r["statistic"]][0]
    if kind == TEXT:
        return _clean(r["value_text"])
    value = _clean(r["value"])
    if value is None:
        return None
    if kind == COUNT:
        return int(value)
    if kind == FLAG:
        return bool(value)
    return float(value)


def _distinct(values: Iterable) -> list:
    seen: dict = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)
