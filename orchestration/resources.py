"""Resources: the DuckDB warehouse and the study's locations, configured from the environment."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
import pandas as pd


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

    @property
    def reports(self) -> Path:
        return Path(self.home) / "reports"

    @property
    def data_docs(self) -> Path:
        return Path(self.home) / "data_docs"

    @property
    def gx_project(self) -> Path:
        return Path(self.home) / "gx"
