"""Alerts of a run that is not published, received by a real SMTP server (aiosmtpd) and a real HTTP receiver
(http.server) started here on 127.0.0.1; no mocks."""

import json
import logging
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest
from aiosmtpd.controller import Controller

from orchestration.alerts import alert_if_not_published, alert_message, send_alerts
from orchestration.definitions import build_definitions
from orchestration.resources import Alerts, StudyLocations
from orchestration.settings import alerts_config
from orchestration.verdict import CheckOutcome, RunEvents, StepFailure, decide

RUN_ID = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
DROP = {"drop_id": "2026-11-24T0200", "export_datetime": "2026-11-24 02:00", "records_file": "SSC_DATA.csv",
        "key_fingerprint": "0123456789abcdef"}
QUARANTINE = CheckOutcome("quarantine_within_limit", "quality/findings", passed=False, blocking=True,
                          description="14 of 41 records without an enrollment event: record 17 first; re-export "
                                      "the complete project", step="quality__findings")
BLOCKED = decide(RunEvents(checks=(QUARANTINE,)))
PUBLISHED = decide(RunEvents())
CELL_VALUE = "Ada Example 1961-04-02"  # what an exception quoting a drop cell could carry
FAILED = decide(RunEvents(failures=(StepFailure(
    "analysis__endpoints", f"ValueError: could not convert string to float: '{CELL_VALUE}'", kind="error"),)))


class Inbox:
    """aiosmtpd handler: every message received, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content.replace(b"\r\n", b"\n"), policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def receiver():
    """An incoming-webhook receiver: the POSTs it got; ``statuses`` are the replies it gives in turn (then 200)."""
    posts, statuses = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.path, self.headers["Content-Type"], body))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/T000/B000/secret-token", posts, statuses
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def alerts(smtp_port=None, webhook="", **more) -> Alerts:
    email = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_from": "ssc-nightly@example.org",
             "email_to": "steward@example.org, lead@example.org"} if smtp_port else {}
    return Alerts(**email, webhook_url=webhook, retry_delay_seconds=0.01, **more)


def test_a_blocked_drop_sends_one_email_and_one_post_naming_drop_verdict_and_worklist(smtp_server, receiver,
                                                                                       tmp_path):
    (port, inbox), (url, posts, _) = smtp_server, receiver
    locations = StudyLocations(home=str(tmp_path))
    sent = alert_if_not_published(alerts(port, url), BLOCKED, DROP, locations, RUN_ID)
    assert sent == {"email": True, "webhook": True}
    expected = (
        "The nightly run on drop 2026-11-24T0200 (REDCap export of 2026-11-24 02:00) was not published.\n"
        "Verdict: BLOCKED at quarantine_within_limit: 14 of 41 records without an enrollment event: record 17 "
        "first; re-export the complete project\n"
        f"Steward worklist (what to fix in REDCap): {tmp_path / 'reports' / 'steward.html'}\n"
        f"The report still shows the last published drop: {tmp_path / 'reports' / 'report.html'}\n"
        f"Run {RUN_ID}; its log: {tmp_path / 'logs' / f'nightly-{RUN_ID}.log'} and the Dagster UI (make ui).\n"
        "This message carries no identifier and no row value; the worklist names records, events and fields.\n")
    subject = "[SSc outcomes] BLOCKED: run not published (drop 2026-11-24T0200)"
    ((recipients, mail),) = inbox.messages
    assert recipients == ["steward@example.org", "lead@example.org"]
    assert (mail["Subject"], mail["From"], mail.get_content()) == (subject, "ssc-nightly@example.org", expected)
    ((path, content_type, body),) = posts
    assert (path, content_type) == ("/hooks/T000/B000/secret-token", "application/json")
    assert json.loads(body) == {"text": f"{subject}\n{expected}"}
    assert b"0123456789abcdef" not in body and b"SSC_DATA" not in body  # only drop id and export time are read


def test_a_failed_run_names_the_step_and_quotes_no_exception_text(smtp_server, receiver, tmp_path):
    """A pipeline error's message can quote a cell it read: the alert says the step and where the log is."""
    (port, inbox), (url, posts, _) = smtp_server, receiver
    assert CELL_VALUE in FAILED.text
    alert_if_not_published(alerts(port, url), FAILED, {}, StudyLocations(home=str(tmp_path)), RUN_ID)
    ((_, mail),), ((_, _, body),) = inbox.messages, posts
    for text in (mail.get_content(), mail["Subject"], json.loads(body)["text"]):
        assert CELL_VALUE not in text and "could not convert" not in text
    assert mail["Subject"] == "[SSc outcomes] FAILED: run not published (no drop loaded)"
    assert "Verdict: FAILED at analysis/endpoints: an error in the pipeline itself" in mail.get_content()


def test_webhook_text_escapes_what_slack_and_teams_would_read_as_markup(receiver, tmp_path):
    url, posts, _ = receiver
    gate = CheckOutcome("fields_usable", "quality/findings", passed=False, blocking=True,
                        description="field <!channel> & <b>mrss</b>", step="quality__findings")
    alert_if_not_published(alerts(webhook=url), decide(RunEvents(checks=(gate,))), DROP,
                           StudyLocations(home=str(tmp_path)), RUN_ID)
    text = json.loads(posts[0][2])["text"]
    assert "field &lt;!channel&gt; &amp; &lt;b&gt;mrss&lt;/b&gt;" in text and "<" not in text


def test_a_published_run_sends_nothing(smtp_server, receiver, tmp_path):
    (port, inbox), (url, posts, _) = smtp_server, receiver
    locations = StudyLocations(home=str(tmp_path))
    for verdict in (PUBLISHED, decide(RunEvents(), error_findings=3)):
        assert alert_if_not_published(alerts(port, url), verdict, DROP, locations, RUN_ID) == {}
    assert alert_if_not_published(None, BLOCKED, DROP, locations, RUN_ID) == {}
    time.sleep(0.2)
    assert inbox.messages == [] and posts == []


def test_nothing_configured_sends_nothing_and_says_so_in_one_debug_line(caplog, tmp_path):
    caplog.set_level(logging.DEBUG, logger="ssc.alerts")
    assert send_alerts(Alerts(), *alert_message(BLOCKED, DROP, StudyLocations(home=str(tmp_path)), RUN_ID)) == {}
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("DEBUG", "no alert sent: neither SSC_SMTP_HOST/SSC_ALERT_EMAIL_TO nor SSC_ALERT_WEBHOOK_URL is set")]


def test_smtp_down_is_tried_again_then_logged_and_the_webhook_still_goes(receiver, caplog, tmp_path):
    url, posts, _ = receiver
    caplog.set_level(logging.INFO, logger="ssc.alerts")
    started = time.monotonic()
    sent = alert_if_not_published(alerts(free_port(), url), BLOCKED, DROP, StudyLocations(home=str(tmp_path)),
                                  RUN_ID)
    assert sent == {"email": False, "webhook": True} and len(posts) == 1
    assert time.monotonic() - started < 5
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["INFO", "INFO", "WARNING"]  # 3 tries, waits 0.01 s then 0.02 s
    assert lines[-1][1].startswith("alert by email not sent after 3 tries: ConnectionRefusedError")


def test_a_webhook_5xx_is_tried_again_a_4xx_is_not_and_the_address_is_never_logged(receiver, caplog, tmp_path):
    url, posts, statuses = receiver
    caplog.set_level(logging.INFO, logger="ssc.alerts")
    subject, text = alert_message(BLOCKED, DROP, StudyLocations(home=str(tmp_path)), RUN_ID)
    statuses[:] = [503, 502]
    assert send_alerts(alerts(webhook=url), subject, text) == {"webhook": True} and len(posts) == 3
    statuses[:] = [400]
    assert send_alerts(alerts(webhook=url), subject, text) == {"webhook": False} and len(posts) == 4
    assert caplog.records[-1].getMessage() == "alert by webhook not sent: the webhook refused the POST: HTTP 400"
    assert all("secret-token" not in r.getMessage() and "127.0.0.1" not in r.getMessage() for r in caplog.records)


def test_an_incomplete_email_setting_is_named_not_tried(smtp_server, caplog, tmp_path):
    port, inbox = smtp_server
    caplog.set_level(logging.INFO, logger="ssc.alerts")
    sent = send_alerts(Alerts(smtp_host="127.0.0.1", smtp_port=port, email_to="steward@example.org"), "s", "t")
    assert sent == {"email": False} and inbox.messages == []
    assert [r.getMessage() for r in caplog.records] == ["alert by email not sent: SSC_SMTP_FROM not set"]


def test_the_alerts_resource_reads_the_environment_as_env_vars(monkeypatch):
    environ = {"SSC_SMTP_HOST": "relay.example.org", "SSC_SMTP_PORT": "587", "SSC_SMTP_STARTTLS": "1",
               "SSC_SMTP_USER": "nightly", "SSC_SMTP_PASSWORD": "pw", "SSC_SMTP_FROM": "n@example.org",
               "SSC_ALERT_EMAIL_TO": "a@example.org,b@example.org", "SSC_ALERT_WEBHOOK_URL": "https://hook/x"}
    config = alerts_config(environ)
    assert config["smtp_password"] == dg.EnvVar("SSC_SMTP_PASSWORD")  # the UI shows the name, not the secret
    assert config["webhook_url"] == dg.EnvVar("SSC_ALERT_WEBHOOK_URL") and config["smtp_starttls"] is True
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    resource = build_definitions(environ).resources["alerts"].process_config_and_initialize()
    assert (resource.smtp_port, resource.smtp_password, resource.recipients) == (587, "pw",
                                                                                  ["a@example.org", "b@example.org"])
    assert build_definitions({}).resources["alerts"] == Alerts()
    for name, bad in (("SSC_SMTP_PORT", "smtp"), ("SSC_SMTP_STARTTLS", "yes")):
        with pytest.raises(ValueError, match=f"^{name} must be"):
            alerts_config({name: bad})
