"""Resources: the DuckDB warehouse (dagster-duckdb) and the study's locations and gate thresholds.

Both are configured in orchestration/definitions.py from the environment (orchestration/settings.py); their
fields and descriptions show on the Dagster UI's resource pages.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.settings import (DEFAULT_DROP_SETTLE_SECONDS, DEFAULT_FIELD_GATE_MIN_FILLED, DEFAULT_HOME,
                                    DEFAULT_INBOX, DEFAULT_MAX_ENDPOINT_LOSS,
                                    DEFAULT_MAX_FIELD_REJECTED_SHARE, DEFAULT_MAX_OS_EXCLUDED,
                                    DEFAULT_MAX_DROP_AGE_HOURS, DEFAULT_MAX_QUARANTINE_SHARE,
                                    DEFAULT_MAX_VOLUME_LOSS)
from quality.store import ordered_select, read_frame


class Warehouse(DuckDBResource):
    """The DuckDB warehouse file (``database``: its absolute path, ``SSC_HOME/warehouse.duckdb``).

    DuckDB allows one writer process: the nightly job runs its steps in one process, one at a time, and every
    connection is closed when the step is done (dbt opens the file in its own process)."""

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the warehouse, closed on leaving the block (also when it raises)."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(self.database, read_only=read_only, config=self.connection_config)
        try:
            yield connection
        finally:
            connection.close()

    def read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """What ``execute(sql, params).df()`` gives, each distinct text held once
        (:func:`quality.store.read_frame`)."""
        with self.connect(read_only=True) as connection:
            return read_frame(connection, sql, params)

    def read_tables(self, *tables: str) -> dict[str, pd.DataFrame]:
        """``{"adsl": DataFrame, ...}`` for tables named ``schema.table``, read in one connection, rows in a
        fixed order (SQL tables have none): the same data gives the same figures, to the last bit."""
        with self.connect(read_only=True) as connection:
            return {t.split(".")[-1]: read_frame(connection, ordered_select(t)) for t in tables}

    def read_part(self, table: str, columns: Iterable[str] = (), where: str = "",
                  params: list | None = None) -> pd.DataFrame:
        """What :meth:`read_tables` reads of ``table``, only ``columns`` (default: all) of the rows ``where`` (an
        SQL condition, ``?`` for each of ``params``) keeps, in the same fixed order."""
        return self.read(ordered_select(table, columns, where), params)


class StudyLocations(dg.ConfigurableResource):
    """Where drops come from, where outputs go, and the thresholds of the blocking gates (README, "Gates and
    their settings"). Each field is an environment variable (orchestration/settings.py)."""

    inbox: str = Field(
        default=str(DEFAULT_INBOX),
        description="SSC_INBOX: the folder REDCap export drops arrive in; the newest drop folder (named "
                    "YYYY-MM-DDTHHMM) is loaded, anything else is listed and ignored.")
    home: str = Field(
        default=str(DEFAULT_HOME),
        description="SSC_HOME: all state of the pipeline: the warehouse, reports/, data_docs/, gx/, logs/ and the "
                    "Dagster instance (dagster/).")
    pseudonym_key: str = Field(
        default="",
        description="SSC_PSEUDONYM_KEY: the HMAC key that turns each MRN into a pseudonym. Empty: a labelled demo "
                    "key, used only for the bundled demo drop (any other drop is refused at raw/records unless "
                    "allow_demo_key); never for real data (the run and the report say so).")
    allow_demo_key: bool = Field(
        default=False,
        description="SSC_ALLOW_DEMO_KEY: 1 lets a drop that is not the bundled demo be pseudonymised with the demo "
                    "key when SSC_PSEUDONYM_KEY is not set (test and generated drops); unset or 0: such a drop "
                    "is refused at raw/records.")
    rekey: str = Field(
        default="",
        description="SSC_REKEY: for one run only, a deliberate change of SSC_PSEUDONYM_KEY: the new key's "
                    "fingerprint (16 hex characters, which the refusal names). Without it a key that is not the "
                    "key of the drop loaded last is refused at raw/records; raw.drops records a re-keying "
                    "(rekeyed_from). Remove it after that run.")
    missing_data_codes: str = Field(
        default="",
        description="SSC_MISSING_DATA_CODES: the REDCap project's missing-data codes as REDCap's setting writes "
                    "them ('UNK, Unknown | NASK, Not asked | -99, Not recorded'); empty: REDCap's own list.")
    max_quarantine_share: float = Field(
        default=DEFAULT_MAX_QUARANTINE_SHARE,
        description="SSC_MAX_QUARANTINE_SHARE: gate quarantine_within_limit blocks when a larger share of the "
                    "export rows cannot be placed and is quarantined.")
    max_field_rejected_share: float = Field(
        default=DEFAULT_MAX_FIELD_REJECTED_SHARE,
        description="SSC_MAX_FIELD_REJECTED_SHARE: gate fields_usable blocks when conformance rejects a larger "
                    "share of a field's filled cells (fields with at least field_gate_min_filled filled cells).")
    field_gate_min_filled: int = Field(
        default=DEFAULT_FIELD_GATE_MIN_FILLED,
        description="SSC_FIELD_GATE_MIN_FILLED: the filled cells a field needs before fields_usable applies "
                    "max_field_rejected_share to it.")
    max_endpoint_loss: float = Field(
        default=DEFAULT_MAX_ENDPOINT_LOSS,
        description="SSC_MAX_ENDPOINT_LOSS: gate endpoint_coverage_kept blocks when an endpoint lost a larger "
                    "share of its patients with analysable input since the last published run (overall, or at "
                    "a timepoint of mRSS, HAQ-DI or the vascular scores).")
    max_os_excluded: int = Field(
        default=DEFAULT_MAX_OS_EXCLUDED,
        description="SSC_MAX_OS_EXCLUDED: gate os_exclusions_within_limit blocks when more patients are left out "
                    "of overall survival (a recorded death without a usable date, a day 0 in doubt).")
    max_volume_loss: float = Field(
        default=DEFAULT_MAX_VOLUME_LOSS,
        description="SSC_MAX_VOLUME_LOSS: gate drop_volume_kept blocks a drop with fewer records, or fewer rows "
                    "of an instrument, than the last published drop by more than this share (a partial export).")
    drop_settle_seconds: int = Field(
        default=DEFAULT_DROP_SETTLE_SECONDS,
        description="SSC_DROP_SETTLE_SECONDS: the inbox sensor starts nightly when the newest drop's records and "
                    "dictionary files have been unchanged (size and modification time) this long, or at once when "
                    "the drop holds a .ready file.")
    max_drop_age_hours: int = Field(
        default=DEFAULT_MAX_DROP_AGE_HOURS,
        description="SSC_MAX_DROP_AGE_HOURS: check drop_fresh on raw/records warns (non-blocking) when the drop "
                    "loaded was exported longer ago than this, and the stale-inbox alert goes out (once) when the "
                    "inbox's newest drop is older than this.")
    redcap_record_url: str = Field(
        default="",
        description="SSC_REDCAP_RECORD_URL: the address of a record's page in REDCap with {record_id} where the "
                    "record id goes (e.g. https://redcap.example.org/redcap_v14.5.0/DataEntry/record_home.php?"
                    "pid=123&id={record_id}); every record of the steward worklist links to it. Empty: no links.")

    @property
    def home_dir(self) -> Path:
        return Path(self.home).expanduser().resolve()

    @property
    def reports(self) -> Path:
        return self.home_dir / "reports"

    @property
    def data_docs(self) -> Path:
        return self.home_dir / "data_docs"

    @property
    def gx_project(self) -> Path:
        return self.home_dir / "gx"

    @property
    def logs(self) -> Path:
        return self.home_dir / "logs"

    @property
    def dbt_logs(self) -> Path:
        """Each dbt command's target folder (artifacts and its dbt.log) goes under here."""
        return self.logs / "dbt"

    @property
    def dbt_state(self) -> Path:
        """dbt's partial parse of this home (orchestration/assets/dbt.py, :func:`reuse_parse`)."""
        return self.home_dir / "dbt"


class Alerts(dg.ConfigurableResource):
    """Where a run that is not published is said (orchestration/alerts.py): an e-mail through an SMTP relay and/or
    a POST to an incoming webhook (Teams, Slack). Each field is an environment variable (orchestration/settings.py);
    with neither ``smtp_host`` + ``email_to`` nor ``webhook_url`` set, nothing is sent."""

    smtp_host: str = Field(default="", description="SSC_SMTP_HOST: the SMTP relay's host name; empty: no e-mail.")
    smtp_port: int = Field(default=25, description="SSC_SMTP_PORT: the relay's port (25; 587 with STARTTLS).")
    smtp_starttls: bool = Field(
        default=False,
        description="SSC_SMTP_STARTTLS: 1 switches the connection to TLS (STARTTLS) before logging in and sending; "
                    "set it whenever SSC_SMTP_USER is set, or the password crosses the network in clear.")
    smtp_user: str = Field(default="", description="SSC_SMTP_USER: the relay's login; empty: no login.")
    smtp_password: str = Field(default="", description="SSC_SMTP_PASSWORD: the login's password.")
    smtp_from: str = Field(default="", description="SSC_SMTP_FROM: the sender address of the alerts.")
    email_to: str = Field(default="", description="SSC_ALERT_EMAIL_TO: the recipients, comma-separated.")
    webhook_url: str = Field(
        default="",
        description="SSC_ALERT_WEBHOOK_URL: an incoming webhook (Teams, Slack; https) that receives {\"text\": …}; "
                    "empty: no POST. A secret: never logged.")
    attempts: int = Field(default=3, description="Tries per channel before a failed send is logged and given up.")
    retry_delay_seconds: float = Field(
        default=2.0, description="The wait before the second try; it doubles before each further one.")

    @property
    def recipients(self) -> list[str]:
        return [address.strip() for address in self.email_to.split(",") if address.strip()]

    @property
    def email_configured(self) -> bool:
        """Any e-mail setting is given (a missing one is then said when a send is due)."""
        return bool(self.smtp_host or self.recipients)
