"""Replay: ``make run DROP=<id>`` runs an archived drop again into its own folder, ``SSC_HOME/replays/<id>/``.

An archived drop is one the nightly warehouse loaded: a row of ``raw.drops`` (drop id, records file SHA-256, the
pseudonym key's fingerprint). A replay shares two things with the nightly home, both read, never written:

- the drop's files, read from ``SSC_INBOX/<id>/`` (drops stay in the inbox: each is a full snapshot named by its
  export time); they must still be the files archived (the records file's SHA-256 recorded in ``raw.drops``), and
  are copied into the replay's own inbox, ``replays/<id>/inbox/<id>/`` (owner-only; the export holds identifiers,
  so the copy is removed when the replay's run ends);
- the pseudonym key, ``SSC_PSEUDONYM_KEY``, whose fingerprint must be the one recorded for the drop (else the
  pseudonyms, and so the replay, would not be the drop's).

Nothing else: the replay's folder is emptied first and is a complete ``SSC_HOME`` of its own (warehouse, Dagster
instance, reports, Data Docs, logs), so the nightly home's published reports, its run history and findings
history, and the "last published drop" that its volume and endpoint gates compare with are never touched; in the
replay, those gates have no earlier drop to compare with. A replay sends no alert (the ``SSC_SMTP_*`` and
``SSC_ALERT_*`` settings are not passed on) and takes no ``SSC_REKEY``.

The same drop and the same code version give a byte-identical ``outcomes.json`` (its provenance holds what
identifies the inputs and the code; the run id and the time are in report.html and the run's log).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import duckdb

from ingest.deidentify import KEY_VARIABLE, key_from_environment
from ingest.drops import DropError, open_drop, sha256_of
from orchestration.resources import StudyLocations, Warehouse
from orchestration.settings import ALERT_TEXT_VARIABLES, REPO_ROOT

REPLAYS = "replays"  # under SSC_HOME
#: settings a replay does not pass on: it sends no alert and re-keys nothing
#: set by ``make run DROP=<id>`` for the replay's run only: its report says it is a replay, not the published report
REPLAY_VARIABLE = "SSC_REPLAY_OF"
NOT_PASSED_ON = ("SSC_REKEY", *ALERT_TEXT_VARIABLES.values())


class ReplayRefused(Exception):
    """The drop cannot be replayed; the message (one line) says why and what to do."""


@dataclass(frozen=True)
class ArchivedDrop:
    """A drop of ``raw.drops`` whose files in the inbox (``folder``) are still those archived."""

    drop_id: str
    folder: Path


def archived_ids(warehouse: Warehouse) -> list[str]:
    """The drop ids of ``raw.drops``, oldest export first; [] when the warehouse or the table does not exist yet.
    ReplayRefused when the warehouse is being written (DuckDB takes one writer and then no reader)."""
    if not Path(warehouse.database).exists():
        return []
    try:
        rows = warehouse.read("select drop_id from raw.drops group by drop_id order by max(export_datetime), drop_id")
    except duckdb.CatalogException:
        return []
    except duckdb.IOException:
        raise ReplayRefused(f"the warehouse {warehouse.database} is being written by a run: replay when it has "
                            "ended") from None
    return rows["drop_id"].tolist()


def archived_drop(locations: StudyLocations, warehouse: Warehouse, drop_id: str) -> ArchivedDrop:
    """The archived drop ``drop_id`` with its files checked (see the module). ReplayRefused, one line, when the id
    is not archived (listing the archived ids), its files are gone or changed, or the key is not the drop's."""
    ids = archived_ids(warehouse)
    if drop_id not in ids:
        listed = ", ".join(ids) if ids else "none yet"
        raise ReplayRefused(f"no archived drop {drop_id!r} in {warehouse.database}; archived drops: {listed}")
    row = warehouse.read("select records_sha256, key_fingerprint from raw.drops where drop_id = ? "
                         "order by loaded_at desc limit 1", [drop_id]).iloc[0]
    folder = Path(locations.inbox).expanduser().resolve() / drop_id
    try:
        files = open_drop(folder)
    except (DropError, FileNotFoundError, NotADirectoryError):
        raise ReplayRefused(f"drop {drop_id} is archived but its files are no longer in {folder}: put the drop "
                            "folder back into SSC_INBOX to replay it") from None
    if sha256_of(files.records_file) != row["records_sha256"]:
        raise ReplayRefused(f"drop {drop_id}: {files.records_file} is not the records file archived (its SHA-256 "
                            "differs from raw.drops.records_sha256): put the archived export back to replay it")
    fingerprint = key_from_environment({KEY_VARIABLE: locations.pseudonym_key}).fingerprint
    if isinstance(row["key_fingerprint"], str) and row["key_fingerprint"] != fingerprint:  # None: not recorded
        raise ReplayRefused(f"drop {drop_id} was pseudonymised with the key of fingerprint {row['key_fingerprint']}, "
                            f"SSC_PSEUDONYM_KEY's is {fingerprint}: set the study's key to replay it")
    return ArchivedDrop(drop_id, folder)


def replay_home(locations: StudyLocations, drop_id: str) -> Path:
    return locations.home_dir / REPLAYS / drop_id


def prepare_replay(locations: StudyLocations, drop: ArchivedDrop, environ: Mapping[str, str],
                   keep: str) -> dict[str, str]:
    """Empty the replay's home (all but the entry ``keep``, its lock file), copy the drop's two files into its
    inbox and the Dagster instance settings into its ``dagster/``. Returns the environment of the replay's run:
    ``environ`` with ``SSC_HOME``, ``SSC_INBOX``, ``DAGSTER_HOME`` and ``DBT_LOG_PATH`` of the replay and without
    ``NOT_PASSED_ON``."""
    home = replay_home(locations, drop.drop_id)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in home.iterdir():
        if entry.name == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    files = open_drop(drop.folder)
    inbox = home / "inbox"
    (inbox / drop.drop_id).mkdir(mode=0o700, parents=True)
    for path in (files.records_file, files.dictionary_file):  # the export holds identifiers: owner-only
        copy = inbox / drop.drop_id / path.name
        with os.fdopen(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out)
    (home / "dagster").mkdir(mode=0o700)
    shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    env = {name: value for name, value in environ.items() if name not in NOT_PASSED_ON}
    return env | {REPLAY_VARIABLE: drop.drop_id,
                  "SSC_HOME": str(home), "SSC_INBOX": str(inbox), "DAGSTER_HOME": str(home / "dagster"),
                  "DBT_LOG_PATH": str(home / "logs" / "dbt")}
