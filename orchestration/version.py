"""The code version recorded with every drop and report: the git commit, if the code is a checkout."""

from __future__ import annotations

import subprocess
from functools import lru_cache

from orchestration.settings import REPO_ROOT


@lru_cache(maxsize=1)
def code_version() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
