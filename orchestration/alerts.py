"""Alerts: a nightly run that is not published, or an inbox without a new drop for too long (a stale inbox), is
said by e-mail and/or an incoming-webhook POST.

    subject, text = alert_message(verdict, drop, locations, run_id)    # pure
    send_alerts(alerts, subject, text)          # {"email": True, "webhook": False}: what was delivered
    alert_if_not_published(alerts, verdict, drop, locations, run_id)   # what run_end.finish() calls
    subject, text = stale_inbox_message(drop_id, export, age_hours, max_hours, inbox)  # orchestration/freshness.py

The message names the drop (its folder name and export time), the verdict and where the steward worklist, the
report and the run's log are. It carries no identifier and no row value: of the verdict it quotes a BLOCKED run's
reason (written by the pipeline's gates: counts, file, field and record ids, which are the study's pseudonyms) and,
for a FAILED run (an error in the pipeline, whose exception text may quote anything it read), only the step.

E-mail goes through ``smtplib`` (STARTTLS and login when configured), the webhook gets ``{"text": ...}`` as JSON
(what Teams' and Slack's incoming webhooks take; ``&``, ``<`` and ``>`` escaped as Slack requires), by ``urllib``.
A transient failure (the server cannot be reached, an SMTP 4xx reply, HTTP 429 or 5xx) is tried again
``alerts.attempts`` times in all, waiting ``retry_delay_seconds`` and then twice as long each time; what still
fails is logged as a warning (logger ``ssc.alerts``; never the webhook's address, a secret) and never fails the
run. Nothing configured: nothing is sent, one debug line.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from datetime import datetime
from email.utils import formatdate, make_msgid
from typing import Callable, Mapping

from orchestration.publishing import STEWARD_PAGE
from orchestration.resources import Alerts, StudyLocations
from orchestration.verdict import FAILED, PUBLISHED, Verdict

log = logging.getLogger("ssc.alerts")

TIMEOUT_SECONDS = 10
SUBJECT_PREFIX = "[SSc outcomes]"
_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class PermanentError(RuntimeError):
    """A send that trying again will not fix (a refused login or recipient, HTTP 4xx, a missing setting)."""


def alert_message(verdict: Verdict, drop: Mapping, locations: StudyLocations, run_id: str) -> tuple[str, str]:
    """``(subject, text)`` of the alert for a run that was not published. ``drop``: the run's provenance
    (``drop_id``, ``export_datetime``; other keys are not read; empty when no drop was loaded). Plain text,
    one fact a line."""
    drop_id = drop.get("drop_id")
    named = f"drop {drop_id}" if drop_id else "no drop loaded"
    export = drop.get("export_datetime")
    if verdict.outcome == FAILED:
        said = (f"FAILED at {verdict.gate}: an error in the pipeline itself, not in the drop; its message and "
                "traceback are in the run's log")
    else:
        said = verdict.text
    subject = f"{SUBJECT_PREFIX} {verdict.outcome.upper()}: run not published ({named})"
    lines = [
        f"The nightly run on {named}" + (f" (REDCap export of {export})" if export else "") + " was not published.",
        f"Verdict: {said}",
        f"Steward worklist (what to fix in REDCap): {locations.reports / STEWARD_PAGE}",
        f"The report still shows the last published drop: {locations.reports / 'report.html'}",
        f"Run {run_id}; its log: {locations.logs / f'nightly-{run_id}.log'} and the Dagster UI (make ui).",
        "This message carries no identifier and no row value; the worklist names records, events and fields.",
    ]
    return subject, "\n".join(lines) + "\n"


def _email(alerts: Alerts, subject: str, text: str) -> None:
    missing = [name for name, value in (("SSC_SMTP_HOST", alerts.smtp_host), ("SSC_SMTP_FROM", alerts.smtp_from),
                                        ("SSC_ALERT_EMAIL_TO", alerts.recipients)) if not value]
    if missing:
        raise PermanentError(f"{', '.join(missing)} not set")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, alerts.smtp_from, ", ".join(alerts.recipients)
    message["Date"], message["Message-ID"] = formatdate(localtime=True), make_msgid(domain="ssc-outcomes")
    message.set_content(text)
    try:
        with smtplib.SMTP(alerts.smtp_host, alerts.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
            if alerts.smtp_starttls:
                smtp.starttls()
            if alerts.smtp_user:
                smtp.login(alerts.smtp_user, alerts.smtp_password)
            smtp.send_message(message)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
            smtplib.SMTPNotSupportedError) as exc:
        raise PermanentError(f"the SMTP server refused: {exc}") from None
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise PermanentError(f"the SMTP server refused: {exc.smtp_code} {exc.smtp_error!r}") from None
        raise


def _webhook(alerts: Alerts, subject: str, text: str) -> None:
    if not alerts.webhook_url.lower().startswith(("https://", "http://")):
        raise PermanentError("SSC_ALERT_WEBHOOK_URL is not an http(s) address")
    body = "".join(_SLACK_ESCAPES.get(c, c) for c in f"{subject}\n{text}")
    request = urllib.request.Request(alerts.webhook_url, data=json.dumps({"text": body}).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise ConnectionError(f"HTTP {exc.code}") from None
        raise PermanentError(f"the webhook refused the POST: HTTP {exc.code}") from None
    except urllib.error.URLError as exc:  # the address does not resolve, the connection is refused
        raise ConnectionError(str(exc.reason)) from None
    except ValueError as exc:  # http.client.InvalidURL…: its text quotes the address, a secret
        raise PermanentError(f"SSC_ALERT_WEBHOOK_URL cannot be used ({type(exc).__name__})") from None
    except OSError as exc:  # a timeout, the connection dropped
        raise ConnectionError(type(exc).__name__) from None


def _deliver(channel: str, send: Callable[[], None], alerts: Alerts) -> bool:
    """``send()`` tried ``alerts.attempts`` times with doubling waits; True when it went through."""
    delay = alerts.retry_delay_seconds
    for attempt in range(1, max(1, alerts.attempts) + 1):
        try:
            send()
            return True
        except PermanentError as exc:
            log.warning("alert by %s not sent: %s", channel, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - a transient failure (OSError, SMTP 4xx…): never fails the run
            if attempt >= max(1, alerts.attempts):
                log.warning("alert by %s not sent after %d tries: %s: %s", channel, attempt, type(exc).__name__,
                            exc)
                return False
            log.info("alert by %s: try %d failed (%s), again in %.1f s", channel, attempt, type(exc).__name__, delay)
            time.sleep(delay)
            delay *= 2
    return False


def send_alerts(alerts: Alerts, subject: str, text: str) -> dict[str, bool]:
    """Sends the alert on every configured channel: ``{"email": delivered, "webhook": delivered}`` for those
    configured, ``{}`` (and one debug line) when none is. Never raises for a failed send (it logs a warning)."""
    channels = {}
    if alerts.email_configured:
        channels["email"] = lambda: _email(alerts, subject, text)
    if alerts.webhook_url:
        channels["webhook"] = lambda: _webhook(alerts, subject, text)
    if not channels:
        log.debug("no alert sent: neither SSC_SMTP_HOST/SSC_ALERT_EMAIL_TO nor SSC_ALERT_WEBHOOK_URL is set")
    return {channel: _deliver(channel, send, alerts) for channel, send in channels.items()}


def stale_inbox_message(drop_id: str, export: datetime, age_hours: float, max_hours: int,
                        inbox: str | os.PathLike) -> tuple[str, str]:
    """``(subject, text)`` of the stale-inbox alert: no drop newer than ``drop_id`` (exported at ``export``,
    ``age_hours`` ago) has arrived in ``inbox`` for more than ``max_hours`` (``SSC_MAX_DROP_AGE_HOURS``)."""
    subject = f"{SUBJECT_PREFIX} STALE INBOX: no new drop for {age_hours:.0f} hours (newest: drop {drop_id})"
    lines = [
        f"No new REDCap export drop has arrived in {inbox} for more than {max_hours} hours (SSC_MAX_DROP_AGE_HOURS).",
        f"Its newest drop is {drop_id}, exported {export:%Y-%m-%d %H:%M}, {age_hours:.1f} hours ago; the nightly "
        "runs keep analysing it and the report shows its figures.",
        "Check that REDCap's scheduled export runs and that its drops reach the inbox.",
        "This alert is sent once until a new drop arrives; it carries no identifier and no row value.",
    ]
    return subject, "\n".join(lines) + "\n"


def alert_if_not_published(alerts: Alerts | None, verdict: Verdict, drop: Mapping, locations: StudyLocations,
                           run_id: str) -> dict[str, bool]:
    """The end of a run: an alert when its verdict is not published (BLOCKED or FAILED); ``{}`` otherwise or
    without ``alerts``. What each configured channel delivered, as :func:`send_alerts`."""
    if alerts is None or verdict.outcome == PUBLISHED:
        return {}
    return send_alerts(alerts, *alert_message(verdict, drop, locations, run_id))
