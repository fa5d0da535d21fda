"""Replay: ``make run DROP=<id>`` runs an archived drop again into SSC_HOME/replays/<id>/; the same drop and the same
code give a byte-identical outcomes.json, and the published reports are not touched.

The tests start from a copy of the session's demo home (the demo drop archived in its raw.drops, its reports
published), so the shared home is only read."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from ingest.deidentify import key_from_environment
from ingest.drops import sha256_of
from orchestration.replay import ReplayRefused, archived_drop
from orchestration.resources import StudyLocations, Warehouse
from test_nightly import DEMO_INBOX, REPO, environment

pytestmark = [pytest.mark.slow, pytest.mark.long]
DEMO_DROP = "2026-11-24T0200"


def copy_of(demo_run, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(demo_run[0], home, ignore=shutil.ignore_patterns("*.lock", "logs", "data_docs"))
    return home


def make_run(home: Path, drop: str, inbox: Path = DEMO_INBOX) -> subprocess.CompletedProcess:
    env = environment(home, inbox)
    del env["SSC_ALLOW_DEMO_KEY"]  # as the demo run: the bundled demo on the demo key
    return subprocess.run(["make", "--no-print-directory", "run", f"DROP={drop}", f"SSC_HOME={home}",
                           f"SSC_INBOX={inbox}"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_replay_of_the_demo_drop_gives_the_published_outcomes_json_byte_for_byte(demo_run, tmp_path):
    home = copy_of(demo_run, tmp_path)
    published, warehouse = digests(home / "reports"), digests(home)["warehouse.duckdb"]
    result = make_run(home, DEMO_DROP)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    replay = home / "replays" / DEMO_DROP
    assert f"nightly: replay of drop {DEMO_DROP} into {replay}" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("nightly: published")
    assert (replay / "reports" / "outcomes.json").read_bytes() == (home / "reports" / "outcomes.json").read_bytes()
    assert digests(home / "reports") == published  # the published reports are not touched
    assert digests(home)["warehouse.duckdb"] == warehouse  # nor raw.drops, the history, the last published drop
    assert (replay / "reports" / "report.html").exists() and (replay / "warehouse.duckdb").exists()
    assert not (replay / "inbox").exists()  # the copy of the export (identifiers) is gone with the run
    assert (f"Replay of drop {DEMO_DROP} (make run DROP={DEMO_DROP}), not the published report."
            in (replay / "reports" / "report.html").read_text(encoding="utf-8"))


def test_an_unknown_drop_is_refused_in_one_line_listing_the_archived_ones(demo_run, tmp_path):
    home = copy_of(demo_run, tmp_path)
    result = make_run(home, "2026-01-01T0000")
    assert result.returncode == 2
    (said,) = [line for line in result.stderr.splitlines() if line.startswith("nightly:")]
    assert said == (f"nightly: not started: no archived drop '2026-01-01T0000' in {home / 'warehouse.duckdb'}; "
                    f"archived drops: {DEMO_DROP}")
    assert not (home / "replays").exists()


def test_a_drop_whose_files_changed_since_it_was_archived_is_not_replayed(demo_run, tmp_path):
    home, inbox = copy_of(demo_run, tmp_path), tmp_path / "inbox"
    shutil.copytree(DEMO_INBOX, inbox)
    (records,) = (inbox / DEMO_DROP).glob("*_DATA_*.csv")
    records.write_bytes(records.read_bytes() + b"\n")
    result = make_run(home, DEMO_DROP, inbox)
    assert result.returncode == 2
    assert (f"nightly: not started: drop {DEMO_DROP}: {records} is not the records file archived (its SHA-256 "
            "differs from raw.drops.records_sha256)") in result.stderr
    assert not (home / "replays").exists()


def test_a_drop_pseudonymised_with_another_key_is_not_replayed(tmp_path):
    """The replay shares the pseudonym key with the nightly home: a key whose fingerprint is not the drop's is
    refused (the pseudonyms, and so the replay, would not be the drop's)."""
    (records,) = (DEMO_INBOX / DEMO_DROP).glob("*_DATA_*.csv")
    warehouse = Warehouse(database=str(tmp_path / "warehouse.duckdb"))
    with warehouse.connect() as conn:
        conn.execute("create schema raw")
        conn.execute("create table raw.drops as select ? as drop_id, ? as records_sha256, ? as key_fingerprint, "
                     "timestamp '2026-11-24 02:00' as export_datetime, now() as loaded_at",
                     [DEMO_DROP, sha256_of(records), key_from_environment({}).fingerprint])
    locations = StudyLocations(inbox=str(DEMO_INBOX), home=str(tmp_path))
    assert archived_drop(locations, warehouse, DEMO_DROP).folder == DEMO_INBOX / DEMO_DROP  # the demo key: its own
    study_key = StudyLocations(inbox=str(DEMO_INBOX), home=str(tmp_path), pseudonym_key="k" * 64)
    with pytest.raises(ReplayRefused, match=rf"^drop {DEMO_DROP} was pseudonymised with the key of fingerprint "
                                            rf"{key_from_environment({}).fingerprint}, SSC_PSEUDONYM_KEY's is "):
        archived_drop(study_key, warehouse, DEMO_DROP)
