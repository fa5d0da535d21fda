"""Headless Chromium for tests that look at a page as a person would (Debian's chromium; no browser download)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless browser test needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)",
)


def chromium(tmp_path: Path, *args: str, timeout: int = 90) -> subprocess.CompletedProcess:
    """Run headless Chromium with no network chatter and a fresh profile under ``tmp_path``."""
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
           "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    env = {**os.environ, "HOME": str(tmp_path)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def png_colours(path: Path) -> int:
    """Distinct colours in a screenshot: a blank or failed page has a handful."""
    import matplotlib.image as mpimg

    rgb = (np.asarray(mpimg.imread(str(path)))[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))
