"""Resources: the DuckDB warehouse and the study's locations, configured from the environment."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
import pandas as pd

from ingest.normalise import parse_missing_data_codes
from orchestration.settings import (DEFAULT_FIELD_GATE_MIN_FILLED, DEFAULT_MAX_ENDPOINT_LOSS,
                                   DEFAULT_MAX_FIELD_REJECTED_SHARE, DEFAULT_MAX_OS_EXCLUDED)


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file. DuckDB allows one writer process: the nightly job runs its steps in one process, one at
    a time, and every connection is closed when the step is done (dbt opens the file in its own process)."""

    path: str

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(self.path, read_only=read_only)
        try:
            yield connection
        finally:
            connection.close()

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self.connect(read_only=True) as connection:
            return connection.execute(sql, params or []).df()

    def read_tables(self, *tables: str) -> dict[str, pd.DataFrame]:
        """``{"adsl": DataFrame, ...}`` for tables named ``schema.table``, read in one connection, rows in a
        fixed order (SQL tables have none): the same data gives the same figures, to the last bit."""
        with self.connect(read_only=True) as connection:
            return {t.split(".")[-1]: connection.execute(f"select * from {t} order by all").df() for t in tables}


class StudyLocations(dg.ConfigurableResource):
    """Where drops come from and where outputs go (all absolute)."""

    inbox: str
    home: str
    max_quarantine_share: float = 0.05
    max_field_rejected_share: float = DEFAULT_MAX_FIELD_REJECTED_SHARE
    field_gate_min_filled: int = DEFAULT_FIELD_GATE_MIN_FILLED
    max_endpoint_loss: float = DEFAULT_MAX_ENDPOINT_LOSS
    max_os_excluded: int = DEFAULT_MAX_OS_EXCLUDED
    # the study's REDCap missing-data codes, as SSC_MISSING_DATA_CODES writes them ("UNK, Unknown | NASK, Not
    # asked" or "UNK | -99"); empty: REDCap's own list
    missing_data_codes_setting: str = ""

    @property
    def missing_data_codes(self) -> dict[str, str]:
        return parse_missing_data_codes(self.missing_data_codes_setting)

    @property
    def reports(self) -> Path:
        return Path(self.home) / "reports"

    @property
    def data_docs(self) -> Path:
        return Path(self.home) / "data_docs"

    @property
    def gx_project(self) -> Path:
        return Path(self.home) / "gx"
