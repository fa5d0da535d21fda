"""One schema for every problem found, whichever stage found it (ingest, conformance, plausibility, marts).

A finding names the cell a steward must look at in REDCap (record, event, instrument, instance, field, and
the row of the records file) and says what the pipeline did with it: ``nulled`` (the value is unusable and
is null in the clean tables), ``excluded`` (the whole assessment is left out of the analysis), ``quarantined``
(the export row could not be placed and was not loaded), ``blocked`` (the run stopped at a gate) or ``none``
(a warning: the value is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

SEVERITIES = ("error", "warning")
ACTIONS = ("nulled", "excluded", "quarantined", "blocked", "none")
# Kahn et al. 2016 harmonized data quality terms, as used by OHDSI's Data Quality Dashboard.
CATEGORIES = ("conformance", "completeness", "plausibility")

# Identifier values never leave ingestion: a finding on such a field carries this instead of the value.
REDACTED = "<redacted identifier>"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    category: str
    message: str
    action: str = "none"
    record_id: str | None = None
    event: str | None = None
    instrument: str | None = None
    instance: int | None = None
    field: str | None = None
    value: str | None = None
    source_row: int | None = None  # row of the records file as a spreadsheet shows it (header = row 1)
    subcategory: str | None = None  # Kahn subcategory: value, relational, computational, uniqueness, temporal...
    hint: str | None = None  # what the steward should do in REDCap

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {self.action!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}, not {self.category!r}")


FINDING_COLUMNS = tuple(f.name for f in fields(Finding))

# DuckDB column types of quality.findings: the drop and stage it was found in, then the finding's columns.
FINDING_SQL_TYPES = {"drop_id": "VARCHAR", "stage": "VARCHAR",
                     **{c: "INTEGER" if c in ("instance", "source_row") else "VARCHAR" for c in FINDING_COLUMNS}}


def findings_frame(findings: list[Finding] | tuple[Finding, ...] = ()) -> pd.DataFrame:
    """A DataFrame with exactly the finding columns (empty if there are none). Made from each finding's own field
    dict (``vars``): ``dataclasses.asdict`` would deep-copy every value (0.27 s for 18,735 findings)."""
    frame = pd.DataFrame([vars(f) for f in findings], columns=list(FINDING_COLUMNS))
    frame["instance"] = frame["instance"].astype("Int64")
    frame["source_row"] = frame["source_row"].astype("Int64")
    return frame
