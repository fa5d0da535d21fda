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


def open_offline(tmp_path: Path, urls: list[str], expression: str, timeout: float = 60) -> list[dict]:
    """Open each ``urls`` page in headless Chromium with the network off and report what happened.

    Chromium runs with ``--host-resolver-rules="MAP * ~NOTFOUND"`` (no host resolves) and is driven over the
    DevTools protocol on ``--remote-debugging-pipe`` (fds 3 and 4, NUL-separated JSON): no extra package. Per page,
    after its load event, the network going idle and ``document.fonts.ready``: a dict with ``requests`` (every URL
    requested), ``failed`` ((url, error) of requests that failed or got an HTTP status >= 400), ``exceptions``
    (uncaught script errors), ``log`` (browser log entries: CSP violations, blocked loads) and ``value`` (the
    result of the JavaScript ``expression`` evaluated in the page, returned by value). ``timeout``: seconds a page.
    """
    import json
    import select
    import time

    commands_r, commands_w = os.pipe()
    replies_r, replies_w = os.pipe()
    profile = tmp_path / "cdp-profile"
    profile.mkdir(exist_ok=True)
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1400,1000", f"--user-data-dir={profile}",
            "--remote-debugging-pipe", "about:blank"]
    proc = subprocess.Popen(["bash", "-c", f'exec "$0" "$@" 3<&{commands_r} 4>&{replies_w}', *args],
                            pass_fds=(commands_r, replies_w), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "HOME": str(tmp_path)})
    os.close(commands_r)
    os.close(replies_w)
    buffer = b""
    events: list[dict] = []
    replies: dict[int, dict] = {}
    ids = iter(range(1, 1_000_000))
    deadline = time.monotonic() + timeout

    def pump(wait: float) -> None:
        nonlocal buffer
        ready, _, _ = select.select([replies_r], [], [], wait)
        if not ready:
            return
        chunk = os.read(replies_r, 1 << 20)
        if not chunk:
            raise RuntimeError("Chromium closed the DevTools pipe")
        buffer += chunk
        *messages, buffer = buffer.split(b"\0")
        for message in map(json.loads, messages):
            if "id" in message:
                replies[message["id"]] = message
            else:
                events.append({**message, "_t": time.monotonic()})

    def send(method: str, params: dict | None = None, session: str | None = None) -> dict:
        number = next(ids)
        os.write(commands_w, json.dumps({"id": number, "method": method, "params": params or {},
                                         **({"sessionId": session} if session else {})}).encode() + b"\0")
        while number not in replies:
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            pump(0.5)
        if "error" in replies[number]:
            raise RuntimeError(f"{method}: {replies[number]['error']}")
        return replies.pop(number)["result"]

    reports = []
    try:
        for url in urls:
            deadline = time.monotonic() + timeout
            target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Network", "Page", "Runtime", "Log"):
                send(f"{domain}.enable", session=session)
            events.clear()
            send("Page.navigate", {"url": url}, session)
            while True:  # the load event, then no request pending for a second
                pump(0.2)
                mine = [e for e in events if e.get("sessionId") == session]
                started = {e["params"]["requestId"] for e in mine if e["method"] == "Network.requestWillBeSent"}
                ended = {e["params"]["requestId"] for e in mine
                         if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
                loaded = any(e["method"] == "Page.loadEventFired" for e in mine)
                quiet = bool(mine) and time.monotonic() - mine[-1]["_t"] > 1
                if loaded and started <= ended and quiet:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not finish loading")
            value = send("Runtime.evaluate", {"expression": f"document.fonts.ready.then(() => ({expression}))",
                                              "awaitPromise": True, "returnByValue": True}, session)
            by_id = {e["params"]["requestId"]: e["params"]["request"]["url"]
                     for e in mine if e["method"] == "Network.requestWillBeSent"}
            failed = [(by_id.get(e["params"]["requestId"]), e["params"]["errorText"])
                      for e in mine if e["method"] == "Network.loadingFailed"]
            failed += [(e["params"]["response"]["url"], e["params"]["response"]["status"])
                       for e in mine if e["method"] == "Network.responseReceived"
                       and e["params"]["response"]["status"] >= 400]
            reports.append({
                "url": url, "requests": sorted(by_id.values()), "failed": failed,
                "exceptions": [e["params"]["exceptionDetails"] for e in mine if e["method"] == "Runtime.exceptionThrown"],
                "log": [e["params"]["entry"] for e in mine if e["method"] == "Log.entryAdded"],
                "value": value["result"].get("value", value.get("exceptionDetails")),
            })
            send("Target.closeTarget", {"targetId": target})
    finally:
        os.close(commands_w)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(replies_r)
    return reports
