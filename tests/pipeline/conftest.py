"""The demo drop as `make run` runs it, once per test session: several modules read it or start from a copy."""

from __future__ import annotations

import subprocess

import pytest

from test_nightly import DEMO_INBOX, REPO, environment


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    env = environment(home, DEMO_INBOX)
    result = subprocess.run(["make", "run", f"SSC_HOME={home}", f"SSC_INBOX={DEMO_INBOX}"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home, result
