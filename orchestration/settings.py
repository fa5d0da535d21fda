"""The study's settings: environment variables, read in one place, never written.

| variable | field of the ``locations`` resource | default |
|---|---|---|
| ``SSC_INBOX`` | ``inbox`` | ``demo/inbox`` of this checkout |
| ``SSC_HOME`` | ``home`` (and the warehouse ``SSC_HOME/warehouse.duckdb``) | ``.ssc_home`` of this checkout |
| ``SSC_PSEUDONYM_KEY`` | ``pseudonym_key`` | empty: the labelled demo key (the bundled demo drop only) |
| ``SSC_ALLOW_DEMO_KEY`` | ``allow_demo_key`` | 0: without a key, a drop other than the demo is refused |
| ``SSC_REKEY`` | ``rekey`` | empty: a key other than the last drop's is refused (one run: the new key's fingerprint) |
| ``SSC_MISSING_DATA_CODES`` | ``missing_data_codes`` | empty: REDCap's list |
| ``SSC_MAX_QUARANTINE_SHARE`` | ``max_quarantine_share`` | 0.05 |
| ``SSC_MAX_FIELD_REJECTED_SHARE`` | ``max_field_rejected_share`` | 0.20 |
| ``SSC_FIELD_GATE_MIN_FILLED`` | ``field_gate_min_filled`` | 20 |
| ``SSC_MAX_ENDPOINT_LOSS`` | ``max_endpoint_loss`` | 0.10 |
| ``SSC_MAX_OS_EXCLUDED`` | ``max_os_excluded`` | 0 |
| ``SSC_MAX_VOLUME_LOSS`` | ``max_volume_loss`` | 0.05 |
| ``SSC_DROP_SETTLE_SECONDS`` | ``drop_settle_seconds`` (the inbox sensor) | 120 |
| ``SSC_MAX_DROP_AGE_HOURS`` | ``max_drop_age_hours`` (check ``drop_fresh``, the stale-inbox alert) | 26 |
| ``SSC_REDCAP_RECORD_URL`` | ``redcap_record_url`` (links of the worklist) | empty: no links |
| ``SSC_TIMEZONE`` | the schedule's timezone | UTC |
| ``SSC_SMTP_HOST``, ``_PORT``, ``_STARTTLS`` | ``alerts``: ``smtp_host``, ``smtp_port``, ``smtp_starttls`` | none, 25, 0 |
| ``SSC_SMTP_USER``, ``_PASSWORD``, ``_FROM`` | ``alerts``: ``smtp_user``, ``smtp_password``, ``smtp_from`` | no login |
| ``SSC_ALERT_EMAIL_TO``, ``SSC_ALERT_WEBHOOK_URL`` | ``alerts``: ``email_to`` (a, b), ``webhook_url`` | no alert |

:func:`locations_config` gives the resource's configuration for an environment (a mapping, ``os.environ`` in
the code location): a text or whole-number variable that is set becomes ``dg.EnvVar(name)`` (Dagster reads it
when a run starts; the UI's resource page shows the variable's name, never a secret's value); a variable that is
not set (or is empty) is left out, so the field's documented default applies. Dagster's config has no
environment source for decimals, and a bool field takes no ``dg.EnvVar``, so the shares and the flag are
read here, when the code location loads, and show as values. A whole number that is not one (0 or more), a share
that is not between 0 and 1 or a flag that is not 1 or 0 stops the loading, naming the variable. A path may be relative: it is taken from the working directory (:func:`home_dir`).

Telemetry is off without touching the environment: ``telemetry: enabled: false`` in the Dagster instance's
``dagster.yaml`` (copied to ``DAGSTER_HOME``), ``send_anonymous_usage_stats: false`` in ``dbt_project.yml`` and
the Makefile's exports for every command it runs.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Mapping

import dagster as dg

from report.redcap_links import RECORD_URL_VARIABLE, checked_template

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_INBOX = REPO_ROOT / "demo" / "inbox"
DEFAULT_HOME = REPO_ROOT / ".ssc_home"
WAREHOUSE_FILE = "warehouse.duckdb"

# Gate thresholds (README, "Gates and their settings")
DEFAULT_MAX_QUARANTINE_SHARE = 0.05
DEFAULT_MAX_FIELD_REJECTED_SHARE = 0.20
DEFAULT_FIELD_GATE_MIN_FILLED = 20
DEFAULT_MAX_ENDPOINT_LOSS = 0.10
DEFAULT_MAX_OS_EXCLUDED = 0
DEFAULT_MAX_VOLUME_LOSS = 0.05
DEFAULT_DROP_SETTLE_SECONDS = 120
DEFAULT_MAX_DROP_AGE_HOURS = 26
DEFAULT_TIMEZONE = "UTC"

# field of the locations resource -> its environment variable, by how Dagster can read it
TEXT_VARIABLES = {"inbox": "SSC_INBOX", "home": "SSC_HOME", "pseudonym_key": "SSC_PSEUDONYM_KEY",
                  "rekey": "SSC_REKEY", "missing_data_codes": "SSC_MISSING_DATA_CODES",
                  "redcap_record_url": RECORD_URL_VARIABLE}
WHOLE_NUMBER_VARIABLES = {"field_gate_min_filled": "SSC_FIELD_GATE_MIN_FILLED",
                          "max_os_excluded": "SSC_MAX_OS_EXCLUDED",
                          "drop_settle_seconds": "SSC_DROP_SETTLE_SECONDS",
                          "max_drop_age_hours": "SSC_MAX_DROP_AGE_HOURS"}
SHARE_VARIABLES = {"max_quarantine_share": "SSC_MAX_QUARANTINE_SHARE",
                   "max_field_rejected_share": "SSC_MAX_FIELD_REJECTED_SHARE",
                   "max_endpoint_loss": "SSC_MAX_ENDPOINT_LOSS",
                   "max_volume_loss": "SSC_MAX_VOLUME_LOSS"}
FLAG_VARIABLES = {"allow_demo_key": "SSC_ALLOW_DEMO_KEY"}
TIMEZONE_VARIABLE = "SSC_TIMEZONE"


def _share(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be a share between 0 and 1 (e.g. 0.05 for 5%), not {text!r}")
    return value


def _flag(name: str, text: str) -> bool:
    if text.strip() not in ("0", "1"):
        raise ValueError(f"{name} must be 1 (yes) or 0 (no), not {text!r}")
    return text.strip() == "1"


def _whole_number(name: str, text: str) -> dg.EnvVar:
    if not text.strip().isdigit():
        raise ValueError(f"{name} must be a whole number, 0 or more (e.g. 2), not {text!r}")
    return dg.EnvVar.int(name)


def locations_config(environ: Mapping[str, str]) -> dict:
    """Keyword arguments of ``StudyLocations`` for the variables set in ``environ``: ``dg.EnvVar`` for text,
    ``dg.EnvVar.int`` for whole numbers, a float for shares, a bool for flags (ValueError naming the variable
    when a whole number is not one, 0 or more, a share not a number between 0 and 1, a flag not 1 or 0, or
    ``SSC_REDCAP_RECORD_URL`` not an http(s) address holding ``{record_id}``: report.redcap_links)."""
    checked_template(environ.get(RECORD_URL_VARIABLE) or "")  # read at run start: a wrong one stops the loading
    config: dict = {field: dg.EnvVar(name) for field, name in TEXT_VARIABLES.items() if environ.get(name)}
    config |= {field: _whole_number(name, environ[name])
               for field, name in WHOLE_NUMBER_VARIABLES.items() if environ.get(name)}
    config |= {field: _share(name, environ[name]) for field, name in SHARE_VARIABLES.items() if environ.get(name)}
    config |= {field: _flag(name, environ[name]) for field, name in FLAG_VARIABLES.items() if environ.get(name)}
    return config


def home_dir(environ: Mapping[str, str]) -> Path:
    """``SSC_HOME`` (default ``.ssc_home`` of this checkout), absolute: dbt resolves a relative warehouse path
    from dbt_project/, not from where the run started."""
    return Path(environ.get("SSC_HOME") or DEFAULT_HOME).expanduser().resolve()


def schedule_timezone(environ: Mapping[str, str]) -> str:
    """``SSC_TIMEZONE``, the IANA timezone of the nightly schedule (default UTC); ValueError naming the variable
    when the name is not one of the timezone database."""
    name = environ.get(TIMEZONE_VARIABLE) or DEFAULT_TIMEZONE
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TIMEZONE_VARIABLE} must be an IANA timezone such as Europe/Berlin or UTC, not {name!r}") \
            from None
    return name


# field of the alerts resource -> its environment variable (orchestration/alerts.py)
ALERT_TEXT_VARIABLES = {"smtp_host": "SSC_SMTP_HOST", "smtp_user": "SSC_SMTP_USER",
                        "smtp_password": "SSC_SMTP_PASSWORD", "smtp_from": "SSC_SMTP_FROM",
                        "email_to": "SSC_ALERT_EMAIL_TO", "webhook_url": "SSC_ALERT_WEBHOOK_URL"}
ALERT_PORT_VARIABLE = "SSC_SMTP_PORT"
ALERT_STARTTLS_VARIABLE = "SSC_SMTP_STARTTLS"


def alerts_config(environ: Mapping[str, str]) -> dict:
    """Keyword arguments of ``Alerts`` for the variables set in ``environ``, as :func:`locations_config`: text as
    ``dg.EnvVar`` (the password and the webhook address, secrets, show on the UI by their variable's name only),
    the port as ``dg.EnvVar.int``, the STARTTLS flag as a bool (ValueError naming the variable otherwise)."""
    config: dict = {field: dg.EnvVar(name) for field, name in ALERT_TEXT_VARIABLES.items() if environ.get(name)}
    if environ.get(ALERT_PORT_VARIABLE):
        config["smtp_port"] = _whole_number(ALERT_PORT_VARIABLE, environ[ALERT_PORT_VARIABLE])
    if environ.get(ALERT_STARTTLS_VARIABLE):
        config["smtp_starttls"] = _flag(ALERT_STARTTLS_VARIABLE, environ[ALERT_STARTTLS_VARIABLE])
    return config
