"""Freshness: check drop_fresh on raw/records (WARN, non-blocking) and the stale-inbox alert, received by the real
SMTP server and HTTP receiver of test_alerts (started on 127.0.0.1; no mocks)."""

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.freshness import drop_fresh, stale_inbox, stale_inbox_sensor
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import locations_config
from test_alerts import alerts, receiver, smtp_server  # noqa: F401 - the real servers (fixtures)

EXPORT = datetime(2026, 11, 24, 2, 0)


def drop(inbox: Path, when: datetime) -> str:
    """A drop folder named for ``when`` with its two files (their content is not read here)."""
    drop_id = f"{when:%Y-%m-%dT%H%M}"
    (inbox / drop_id).mkdir(parents=True)
    for name in ("records.csv", "dictionary.csv"):
        (inbox / drop_id / name).write_text("record_id\n", encoding="utf-8")
    return drop_id


def test_the_stale_inbox_alert_is_due_once_per_stale_period(tmp_path):
    inbox = tmp_path / "inbox"
    assert stale_inbox(inbox, 26, EXPORT, None)[0] is None  # no inbox yet: nothing to judge
    drop(inbox, EXPORT)
    fresh, reason, cursor = stale_inbox(inbox, 26, EXPORT + timedelta(hours=26), None)
    assert fresh is None and reason.endswith("26.0 hours ago, within SSC_MAX_DROP_AGE_HOURS (26)")
    due, reason, cursor = stale_inbox(inbox, 26, EXPORT + timedelta(hours=26, minutes=6), cursor)
    assert (due.drop_id, due.age_hours, due.stale) == ("2026-11-24T0200", 26.1, True)
    assert json.loads(cursor) == {"alerted": "2026-11-24T0200"}
    again, reason, cursor = stale_inbox(inbox, 26, EXPORT + timedelta(hours=50), cursor)
    assert again is None and reason.endswith("(alerted already)")
    newer = drop(inbox, EXPORT + timedelta(hours=49))  # a new drop ends the stale period
    fresh, _, cursor = stale_inbox(inbox, 26, EXPORT + timedelta(hours=50), cursor)
    assert fresh is None and json.loads(cursor) == {"alerted": None}
    due, _, cursor = stale_inbox(inbox, 26, EXPORT + timedelta(hours=76), cursor)
    assert due.drop_id == newer and due.age_hours == 27.0


def test_a_stale_inbox_is_alerted_once_by_email_and_webhook_naming_the_drop_and_its_age(
        smtp_server, receiver, tmp_path, monkeypatch):  # noqa: F811
    (port, mailbox), (url, posts, _) = smtp_server, receiver
    monkeypatch.delenv("SSC_TIMEZONE", raising=False)  # export times in UTC
    inbox = tmp_path / "inbox"
    exported = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=30)
    drop_id = drop(inbox, exported)
    resources = {"locations": StudyLocations(inbox=str(inbox)), "alerts": alerts(port, url)}
    with dg.build_sensor_context(resources=resources) as context:
        assert isinstance(stale_inbox_sensor(context), dg.SkipReason)  # it starts no run
        cursor = context.cursor
    with dg.build_sensor_context(resources=resources, cursor=cursor) as context:
        stale_inbox_sensor(context)  # the same stale period: nothing more
    ((recipients, mail),), ((_, _, body),) = mailbox.messages, posts
    assert recipients == ["steward@example.org", "lead@example.org"]
    subject, text = mail["Subject"], mail.get_content()
    assert subject == f"[SSc outcomes] STALE INBOX: no new drop for 30 hours (newest: drop {drop_id})"
    said = re.fullmatch(
        rf"No new REDCap export drop has arrived in {re.escape(str(inbox))} for more than 26 hours "
        r"\(SSC_MAX_DROP_AGE_HOURS\)\.\n"
        rf"Its newest drop is {drop_id}, exported {exported:%Y-%m-%d %H:%M}, (\d+\.\d) hours ago; the nightly runs "
        r"keep analysing it and the report shows its figures\.\n"
        r"Check that REDCap's scheduled export runs and that its drops reach the inbox\.\n"
        r"This alert is sent once until a new drop arrives; it carries no identifier and no row value\.\n", text)
    assert said and 30.0 <= float(said.group(1)) < 30.2, text
    assert json.loads(body) == {"text": f"{subject}\n{text}"}


def test_ssc_max_drop_age_hours_is_a_whole_number_setting():
    assert locations_config({"SSC_MAX_DROP_AGE_HOURS": "48"})["max_drop_age_hours"] == dg.EnvVar.int(
        "SSC_MAX_DROP_AGE_HOURS")
    with pytest.raises(ValueError, match="SSC_MAX_DROP_AGE_HOURS must be a whole number"):
        locations_config({"SSC_MAX_DROP_AGE_HOURS": "a day"})
    assert StudyLocations().max_drop_age_hours == 26


def loaded(tmp_path: Path, export: datetime) -> Warehouse:
    """A warehouse whose raw.current_drop is a drop exported at ``export``."""
    database = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(database)) as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.current_drop as select ? as drop_id, ? as export_datetime",
                     [f"{export:%Y-%m-%dT%H%M}", export])
    return Warehouse(database=str(database))


@pytest.mark.parametrize("hours, passed", [(25, True), (27, False)])
def test_drop_fresh_warns_without_blocking_when_the_drop_loaded_is_too_old(tmp_path, monkeypatch, hours, passed):
    monkeypatch.delenv("SSC_TIMEZONE", raising=False)
    export = (datetime.now(timezone.utc) - timedelta(hours=hours)).replace(tzinfo=None, second=0, microsecond=0)
    result = drop_fresh(warehouse=loaded(tmp_path, export), locations=StudyLocations())
    assert (result.passed, result.severity) == (passed, dg.AssetCheckSeverity.WARN)
    assert result.description.startswith(f"drop {export:%Y-%m-%dT%H%M} was exported {export:%Y-%m-%d %H:%M}, "
                                         f"{hours}.")
    assert ("more than SSC_MAX_DROP_AGE_HOURS (26): no newer export has arrived" in result.description) != passed
    assert result.metadata["SSC_MAX_DROP_AGE_HOURS"].value == 26
