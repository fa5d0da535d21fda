"""The demo pseudonym key is for the bundled demo drop only: any other drop is refused at raw/records, before
anything is written, unless SSC_PSEUDONYM_KEY is set or SSC_ALLOW_DEMO_KEY=1 says it is a test drop."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingest.deidentify import DEMO_INBOX, DEMO_KEY, PseudonymKey, demo_key_refusal
from ingest.drops import newest_drop
from orchestration.assets.ingest import raw_records
from orchestration.definitions import build_definitions
from orchestration.resources import StudyLocations, Warehouse
from orchestration.verdict import BLOCKED, decide, read_events

DEMO = PseudonymKey(DEMO_KEY.encode(), "demo")
REAL = PseudonymKey(b"a-real-secret", "environment")


def other_drop(inbox: Path) -> Path:
    """A copy of the demo drop whose records file differs by one trailing newline: not the bundled demo."""
    folder = inbox / newest_drop(DEMO_INBOX).drop_id
    shutil.copytree(newest_drop(DEMO_INBOX).records_file.parent, folder)
    (records,) = folder.glob("SSC_DATA_*.csv")
    records.write_bytes(records.read_bytes() + b"\n")
    return folder


def test_the_bundled_demo_may_use_the_demo_key_and_a_copy_of_it_too(tmp_path):
    assert demo_key_refusal(DEMO, newest_drop(DEMO_INBOX), allow_demo_key=False) is None
    copy = tmp_path / "inbox" / "2026-12-01T0200"
    shutil.copytree(newest_drop(DEMO_INBOX).records_file.parent, copy)
    assert demo_key_refusal(DEMO, newest_drop(tmp_path / "inbox"), allow_demo_key=False) is None  # same SHA-256


def test_another_drop_is_refused_with_the_demo_key_naming_the_drop_and_what_to_do(tmp_path):
    drop = newest_drop(other_drop(tmp_path / "inbox").parent)
    message = demo_key_refusal(DEMO, drop, allow_demo_key=False)
    assert message == (
        f"drop {drop.drop_id} ({drop.records_file.name}) is not the bundled demo drop and SSC_PSEUDONYM_KEY is not "
        "set, so its pseudonyms would be made with the public demo key: set SSC_PSEUDONYM_KEY (see README "
        "'Pseudonym key') or SSC_ALLOW_DEMO_KEY=1 for a test drop")
    assert demo_key_refusal(DEMO, drop, allow_demo_key=True) is None
    assert demo_key_refusal(REAL, drop, allow_demo_key=False) is None
    # without a demo inbox in the checkout nothing is the bundled demo
    assert demo_key_refusal(DEMO, newest_drop(DEMO_INBOX), allow_demo_key=False,
                            demo_inbox=tmp_path / "no-demo") is not None


@pytest.mark.parametrize("text, allowed", [("1", True), ("0", False), ("", False)])
def test_ssc_allow_demo_key_is_a_documented_flag_of_the_locations_resource(text, allowed):
    locations = build_definitions({"SSC_ALLOW_DEMO_KEY": text}).resources["locations"]
    assert locations.allow_demo_key is allowed
    assert StudyLocations.model_fields["allow_demo_key"].description.startswith("SSC_ALLOW_DEMO_KEY: ")


def test_a_flag_that_is_not_1_or_0_stops_loading_naming_the_variable():
    with pytest.raises(ValueError, match="SSC_ALLOW_DEMO_KEY must be 1 \\(yes\\) or 0 \\(no\\), not 'yes'"):
        build_definitions({"SSC_ALLOW_DEMO_KEY": "yes"})


def test_the_run_is_blocked_at_raw_records_before_anything_is_written(tmp_path):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    drop = other_drop(inbox)
    resources = {"warehouse": Warehouse(database=str(home / "warehouse.duckdb")),
                 "locations": StudyLocations(inbox=str(inbox), home=str(home))}
    with dg.instance_for_test() as instance:
        result = dg.materialize([raw_records], resources=resources, instance=instance, raise_on_error=False)
        verdict = decide(read_events(instance.all_logs(result.run_id)))
    assert verdict.outcome == BLOCKED and verdict.gate == "raw/records"
    assert verdict.text == ("BLOCKED at raw/records: The export drop cannot be loaded: drop "
                            f"{drop.name} ({next(drop.glob('SSC_DATA_*.csv')).name}) is not the bundled demo drop "
                            "and SSC_PSEUDONYM_KEY is not set, so its pseudonyms would be made with the public demo "
                            "key: set SSC_PSEUDONYM_KEY (see README 'Pseudonym key') or SSC_ALLOW_DEMO_KEY=1 for a "
                            "test drop")
    if (home / "warehouse.duckdb").exists():
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
            assert not conn.execute("select * from information_schema.tables where table_schema like 'raw%'").fetchall()
    assert "is not the bundled demo drop" in (home / "reports" / "steward.html").read_text()
