"""The demo drop as `make run` runs it (no settings: no pseudonym key, no SSC_ALLOW_DEMO_KEY), once per test
session: several modules read it or start from a copy (none writes to it). Under pytest-xdist (`make test` runs
two workers) the first worker to need it runs it and the other reads the same home, under a file lock."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from filelock import FileLock

from test_nightly import DEMO_INBOX, REPO, environment


def _make_run_demo(home) -> subprocess.CompletedProcess:
    env = environment(home, DEMO_INBOX)
    del env["SSC_ALLOW_DEMO_KEY"]  # the bundled demo runs on the demo key without being allowed to
    # --no-print-directory: under `make test` this make is a sub-make, which would print "make[1]: Leaving
    # directory" after the verdict; the console a person reads ends with the verdict
    return subprocess.run(["make", "--no-print-directory", "run", f"SSC_HOME={home}", f"SSC_INBOX={DEMO_INBOX}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's base folder, common to the workers
    root, home = shared / "demo", shared / "demo" / "home"
    with FileLock(str(shared / "demo.lock")):
        console = root / "console.json"
        if console.exists():
            result = subprocess.CompletedProcess(**json.loads(console.read_text(encoding="utf-8")))
        else:
            root.mkdir(parents=True, exist_ok=True)
            result = _make_run_demo(home)
            console.write_text(json.dumps({"args": result.args, "returncode": result.returncode,
                                           "stdout": result.stdout, "stderr": result.stderr}), encoding="utf-8")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home, result
