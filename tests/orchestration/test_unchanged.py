"""An unchanged drop is not run again (orchestration/unchanged.py): the stamp of a drop folder, code and SSC_*
settings, recorded after a published run, compared before the next one."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from orchestration.unchanged import (LAST_LOOKED, code_stamp, drop_stamp, forget_published, record_published,
                                     unchanged_since)

REPO = Path(__file__).resolve().parents[2]
DEMO_DROP = next((REPO / "demo" / "inbox").iterdir())
ENV = {"SSC_INBOX": "/in", "SSC_HOME": "/home", "PATH": "/bin"}


def published_home(tmp_path: Path) -> tuple[Path, Path]:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    shutil.copytree(DEMO_DROP, inbox / DEMO_DROP.name)
    (home / "reports").mkdir(parents=True)
    (home / "reports" / "outcomes.json").write_text("{}")
    record_published(home, inbox, ENV, DEMO_DROP.name, "2026-11-24 02:00", "run-1")
    return inbox, home


def test_the_same_drop_code_and_settings_are_not_run_again_and_the_look_is_recorded(tmp_path):
    inbox, home = published_home(tmp_path)
    (inbox / DEMO_DROP.name / ".ready").touch()  # a marker ingest does not read changes nothing
    now = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    said = unchanged_since(home, inbox, {**ENV, "PATH": "/usr/bin"}, now=now)  # not an SSC_ variable
    assert said == (f"no new drop since 2026-11-24 02:00: drop {DEMO_DROP.name} was published by run run-1 with the "
                    "same files, code and settings; nothing to do (make run FORCE=1 runs it again)")
    assert json.loads((home / LAST_LOOKED).read_text()) == {
        "looked_at": "2026-11-25T02:00:00+00:00", "drop_id": DEMO_DROP.name, "unchanged_since_run": "run-1"}


def test_a_changed_file_setting_or_new_drop_runs(tmp_path):
    inbox, home = published_home(tmp_path)
    assert unchanged_since(home, inbox, {**ENV, "SSC_MAX_VOLUME_LOSS": "0.1"}) is None  # another setting
    assert unchanged_since(home, inbox, {**ENV, "SSC_PSEUDONYM_KEY": "another"}) is None  # another key
    records = next((inbox / DEMO_DROP.name).glob("*_DATA_*.csv"))
    records.write_bytes(records.read_bytes() + b"\n")  # the same drop id, another file
    assert unchanged_since(home, inbox, ENV) is None
    assert not (home / LAST_LOOKED).exists()


def test_a_newer_drop_or_a_night_not_published_or_missing_outputs_run(tmp_path):
    inbox, home = published_home(tmp_path)
    assert unchanged_since(home, inbox, ENV) is not None
    shutil.copytree(DEMO_DROP, inbox / "2026-11-25T0200")
    assert unchanged_since(home, inbox, ENV) is None
    shutil.rmtree(inbox / "2026-11-25T0200")
    (home / "reports" / "outcomes.json").unlink()
    assert unchanged_since(home, inbox, ENV) is None
    (home / "reports" / "outcomes.json").write_text("{}")
    forget_published(home)  # a blocked or failed night
    assert unchanged_since(home, inbox, ENV) is None


def test_the_stamp_needs_the_code_version():
    code = code_stamp()
    assert code  # this checkout is a git repository
    assert drop_stamp(DEMO_DROP, ENV, None) is None  # without git, every night runs
    assert drop_stamp(DEMO_DROP, ENV, code) == drop_stamp(DEMO_DROP, dict(ENV), code) != drop_stamp(
        DEMO_DROP, ENV, code + "x")


def test_the_schedule_skips_a_drop_published_unchanged(tmp_path):
    import os

    import dagster as dg

    from orchestration.jobs import nightly_schedule
    from orchestration.resources import StudyLocations

    inbox, home = published_home(tmp_path)
    record_published(home, inbox, os.environ, DEMO_DROP.name, "2026-11-24T02:00:00", "run-1")  # the daemon's env
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, resources={
            "locations": StudyLocations(home=str(home), inbox=str(inbox))})
        skipped = nightly_schedule("UTC")(context)
        assert isinstance(skipped, dg.SkipReason)
        assert skipped.skip_message.startswith("nightly not requested: no new drop since 2026-11-24 02:00: drop ")
        forget_published(home)
        assert isinstance(nightly_schedule("UTC")(context), dg.RunRequest)
