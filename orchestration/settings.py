"""Where things are, from the environment: ``SSC_INBOX`` (drops come from here) and ``SSC_HOME`` (all state).

Every path is made absolute here, once: dbt-duckdb would resolve a relative warehouse path from dbt_project/.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_INBOX = REPO_ROOT / "demo" / "inbox"
DEFAULT_HOME = REPO_ROOT / ".ssc_home"

# dbt comes with this interpreter's environment; dagster-dbt's own manifest preparation (under `dagster dev`)
# looks for `dbt` on PATH.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# No network at run time: nothing may phone home.
for variable, value in {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
}.items():
    os.environ.setdefault(variable, value)


# Gate thresholds (README, "Gates and their settings"): defaults of the environment variables.
DEFAULT_MAX_FIELD_REJECTED_SHARE = 0.20  # SSC_MAX_FIELD_REJECTED_SHARE
DEFAULT_FIELD_GATE_MIN_FILLED = 20  # SSC_FIELD_GATE_MIN_FILLED
DEFAULT_MAX_ENDPOINT_LOSS = 0.10  # SSC_MAX_ENDPOINT_LOSS
DEFAULT_MAX_OS_EXCLUDED = 0  # SSC_MAX_OS_EXCLUDED


@dataclass(frozen=True)
class Settings:
    inbox: Path
    home: Path
    max_quarantine_share: float
    max_field_rejected_share: float
    field_gate_min_filled: int
    max_endpoint_loss: float
    max_os_excluded: int
    missing_data_codes: str = ""  # SSC_MISSING_DATA_CODES; empty: REDCap's list (ingest/normalise.py)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def data_docs(self) -> Path:
        return self.home / "data_docs"

    @property
    def gx_project(self) -> Path:
        return self.home / "gx"

    @property
    def logs(self) -> Path:
        return self.home / "logs"


def load_settings(environ=os.environ) -> Settings:
    home = Path(environ.get("SSC_HOME") or DEFAULT_HOME).expanduser().resolve()
    inbox = Path(environ.get("SSC_INBOX") or DEFAULT_INBOX).expanduser().resolve()
    share = float(environ.get("SSC_MAX_QUARANTINE_SHARE", "0.05"))
    return Settings(
        inbox=inbox, home=home, max_quarantine_share=share,
        max_field_rejected_share=float(environ.get("SSC_MAX_FIELD_REJECTED_SHARE", DEFAULT_MAX_FIELD_REJECTED_SHARE)),
        field_gate_min_filled=int(environ.get("SSC_FIELD_GATE_MIN_FILLED", DEFAULT_FIELD_GATE_MIN_FILLED)),
        max_endpoint_loss=float(environ.get("SSC_MAX_ENDPOINT_LOSS", DEFAULT_MAX_ENDPOINT_LOSS)),
        max_os_excluded=int(environ.get("SSC_MAX_OS_EXCLUDED", DEFAULT_MAX_OS_EXCLUDED)),
        missing_data_codes=environ.get("SSC_MISSING_DATA_CODES", ""),
    )


def export_for_dbt(settings: Settings) -> None:
    """dbt reads the warehouse path from the environment (see dbt_project/profiles.yml)."""
    os.environ["SSC_WAREHOUSE"] = str(settings.warehouse)
    os.environ.setdefault("DBT_LOG_PATH", str(settings.logs / "dbt"))
    # each dbt command's target (and its dbt.log) under SSC_HOME, not in the source tree
    os.environ.setdefault("DBT_TARGET_PATH", str(settings.logs / "dbt"))
