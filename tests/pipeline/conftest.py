"""The demo drop as `make run` runs it (no settings: no pseudonym key, no SSC_ALLOW_DEMO_KEY), once per test
session: several modules read it or start from a copy (none writes to it). Under pytest-xdist (`make test` runs
two workers) the first worker to need it runs it and the other reads the same home, under a file lock.

The run's HTTP and HTTPS proxy is a recording one on 127.0.0.1 that refuses everything: what any part of the run
asked of the network through the standard proxy variables (requests, urllib, httpx honour them) is kept in
``network.json`` beside the home (:func:`network_asked`)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from filelock import FileLock

from test_nightly import DEMO_INBOX, REPO, environment


class _RecordingProxy(BaseHTTPRequestHandler):
    """Records each request line (``CONNECT pypi.org:443 HTTP/1.1``) and refuses it."""
    asked: list[str] = []

    def _refuse(self):
        self.asked.append(self.requestline)
        self.send_error(403, "no network at run time")

    do_CONNECT = do_GET = do_POST = do_PUT = do_HEAD = _refuse

    def log_message(self, *args):
        pass


def network_asked(home: Path) -> list[str]:
    """The request lines the demo run sent to its proxy (see the module's text): [] when it asked nothing."""
    return json.loads((home.parent / "network.json").read_text(encoding="utf-8"))


def _make_run_demo(home) -> subprocess.CompletedProcess:
    env = environment(home, DEMO_INBOX)
    del env["SSC_ALLOW_DEMO_KEY"]  # the bundled demo runs on the demo key without being allowed to
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{proxy.server_address[1]}"
    env.update({name: address for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                                           "all_proxy")})
    for name in ("NO_PROXY", "no_proxy"):
        env.pop(name, None)
    try:
        return _run(home, env)
    finally:
        proxy.shutdown()
        proxy.server_close()
        (Path(home).parent / "network.json").write_text(json.dumps(_RecordingProxy.asked), encoding="utf-8")


def _run(home, env) -> subprocess.CompletedProcess:
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
