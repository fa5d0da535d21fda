"""The demo drop as `make run` runs it (no settings: no pseudonym key, no SSC_ALLOW_DEMO_KEY), once per test
session: several modules read it or start from a copy."""

from __future__ import annotations

import subprocess

import pytest

from test_nightly import DEMO_INBOX, REPO, environment


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo") / "home"
    env = environment(home, DEMO_INBOX)
    del env["SSC_ALLOW_DEMO_KEY"]  # the bundled demo runs on the demo key without being allowed to
    # --no-print-directory: under `make test` this make is a sub-make, which would print "make[1]: Leaving
    # directory" after the verdict; the console a person reads ends with the verdict
    result = subprocess.run(["make", "--no-print-directory", "run", f"SSC_HOME={home}", f"SSC_INBOX={DEMO_INBOX}"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home, result
