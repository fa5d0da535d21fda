"""Shared test setup: tests/ is importable (shared helpers such as plan_by_hand), and no test phones home."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

for variable, value in {"DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "False",
                        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}.items():
    os.environ.setdefault(variable, value)
