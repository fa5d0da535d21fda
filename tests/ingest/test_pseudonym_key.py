"""The pseudonym key is kept honest: a key too weak to be a secret (the docs' placeholder, short, whitespace) and
a key that is not the key of the drop loaded last are refused before anything is written; each drop records its
key's fingerprint in raw.drops, and a deliberate re-keying (SSC_REKEY = the new key's fingerprint) is recorded."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingest.deidentify import (DEMO_KEY, KeyRefused, LoadedKey, PseudonymKey, key_continuity, pseudonym,
                               weak_key_refusal)
from ingest.drops import newest_drop, open_drop
from ingest.land import land_drop, previous_key
from orchestration.assets.ingest import raw_records
from orchestration.resources import StudyLocations, Warehouse
from orchestration.verdict import BLOCKED, PUBLISHED, decide, read_events
from study.definition import load_study
from test_ingest import PATIENT, write_drop

REPO = Path(__file__).resolve().parents[2]
STUDY = load_study()
STUDY_KEY = PseudonymKey(("0123456789abcdef" * 4).encode(), "environment")
STUDY_KEY_FINGERPRINT = "14c7429104f661d4"  # openssl dgst -sha256 -hmac <key> of the label, first 16 hex
NEW_KEY = PseudonymKey(("fedcba9876543210" * 4).encode(), "environment")
DEMO = PseudonymKey(DEMO_KEY.encode(), "demo")


def env_key(text: str) -> PseudonymKey:
    return PseudonymKey(text.encode(), "environment")


def placeholder() -> str:
    """The SSC_PSEUDONYM_KEY line of docs/operating.md's environment file, as a new user would copy it."""
    (value,) = re.findall(r'^SSC_PSEUDONYM_KEY="(.*)"$', (REPO / "docs" / "operating.md").read_text(), re.M)
    return value


def pseudonyms(conn) -> list[tuple]:
    return conn.execute("select distinct mrn_pseudonym from raw.records where mrn_pseudonym is not null").fetchall()


def drops_table(conn) -> list[tuple]:
    return conn.execute("select drop_id, pseudonym_key, key_fingerprint, rekeyed_from from raw.drops "
                        "order by loaded_at").fetchall()


# ---- the fingerprint and the weak key -----------------------------------------------------------------------


def test_the_fingerprint_is_a_pinned_one_way_digest_of_the_key_alone():
    assert STUDY_KEY.fingerprint == STUDY_KEY_FINGERPRINT  # a changed label would "change" every study's key
    assert NEW_KEY.fingerprint != STUDY_KEY.fingerprint
    assert STUDY_KEY.fingerprint not in pseudonym("AB123", STUDY_KEY)


def test_the_placeholder_of_the_docs_is_refused_with_the_reason():
    message = weak_key_refusal(env_key(placeholder()))
    assert message == (
        "SSC_PSEUDONYM_KEY is too weak to be a secret: it holds '<' or '>', as the placeholder in docs/operating.md "
        "does: it is not a key; it holds whitespace (a space, tab or line break); make the study's key once with "
        "python3 -c 'import secrets; print(secrets.token_hex(32))' and keep it (README 'Pseudonym key')")


@pytest.mark.parametrize("text, reason", [
    ("a" * 31, "it is shorter than 32 characters"),
    ("a-real-secret", "it is shorter than 32 characters"),
    ("0123456789abcdef" * 4 + "\n", "it holds whitespace (a space, tab or line break)"),
    ("0123456789abcdef 0123456789abcdef", "it holds whitespace (a space, tab or line break)"),
    ("<" + "0" * 40 + ">", "it holds '<' or '>'"),
])
def test_a_key_too_weak_to_be_a_secret_is_refused_with_the_reason(text, reason):
    message = weak_key_refusal(env_key(text))
    assert message.startswith(f"SSC_PSEUDONYM_KEY is too weak to be a secret: {reason}")
    assert text.strip() not in message


@pytest.mark.parametrize("text", ["a" * 32, "0123456789abcdef" * 4, "Tr0ub4dor&3-correct-horse-battery-staple"])
def test_a_key_of_32_characters_or_more_without_whitespace_or_brackets_is_accepted(text):
    assert weak_key_refusal(env_key(text)) is None


def test_the_demo_key_is_left_to_the_demo_key_rule():
    assert weak_key_refusal(DEMO) is None


# ---- the key of the previous drops (pure) --------------------------------------------------------------------


def test_continuity_by_hand():
    last = LoadedKey("2026-11-24T0200", STUDY_KEY_FINGERPRINT, "environment")
    assert key_continuity(STUDY_KEY, None) == key_continuity(STUDY_KEY, last) == key_continuity(
        NEW_KEY, LoadedKey("2026-11-24T0200", None, "environment"))  # nothing to compare with: accepted
    assert key_continuity(STUDY_KEY, last).refusal is None and key_continuity(STUDY_KEY, last).rekeyed_from is None
    # the first real key after the public demo key: accepted, and recorded as a change of key
    demo_last = LoadedKey("2026-11-24T0200", DEMO.fingerprint, "demo")
    assert key_continuity(STUDY_KEY, demo_last).rekeyed_from == DEMO.fingerprint
    assert key_continuity(STUDY_KEY, demo_last).refusal is None
    # the study's key lost from the environment (cron without the environment file): refused
    assert key_continuity(DEMO, last).refusal == (
        "SSC_PSEUDONYM_KEY is not set, and the demo key is not the key of the previous drops (last: drop "
        "2026-11-24T0200, key fingerprint 14c7429104f661d4): pseudonyms would change; set SSC_PSEUDONYM_KEY to the "
        "study's key (README 'Pseudonym key')")


def test_ssc_rekey_set_with_nothing_to_re_key_says_remove_it():
    last = LoadedKey("2026-11-24T0200", STUDY_KEY_FINGERPRINT, "environment")
    for previous in (None, last):
        decided = key_continuity(STUDY_KEY, previous, rekey=STUDY_KEY_FINGERPRINT)
        assert (decided.refusal, decided.rekeyed_from) == (None, None)
        assert decided.note == "SSC_REKEY is set but there is nothing to re-key: remove it from the environment"


# ---- landing: recorded, accepted, refused, re-keyed -----------------------------------------------------------


def test_the_first_drop_records_its_key_fingerprint_and_the_same_key_is_accepted(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        assert previous_key(conn) is None
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-23T0200", PATIENT[:2])), STUDY, STUDY_KEY)
        second = land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT)), STUDY, STUDY_KEY)
        assert drops_table(conn) == [("2026-11-23T0200", "environment", STUDY_KEY_FINGERPRINT, None),
                                     ("2026-11-24T0200", "environment", STUDY_KEY_FINGERPRINT, None)]
        assert previous_key(conn) == LoadedKey("2026-11-24T0200", STUDY_KEY_FINGERPRINT, "environment")
    assert second.key_note is None and second.rekeyed_from is None


def test_a_changed_key_is_refused_naming_the_last_drop_and_nothing_is_written(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-23T0200", PATIENT)), STUDY, STUDY_KEY)
        before = conn.execute("select table_schema, table_name from information_schema.tables order by all").fetchall()
        for rekey, wrong in (("", ""), ("1", " (SSC_REKEY is set but is not this key's fingerprint)"),
                             (STUDY_KEY_FINGERPRINT, " (SSC_REKEY is set but is not this key's fingerprint)")):
            with pytest.raises(KeyRefused) as refused:
                land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT)), STUDY, NEW_KEY,
                          rekey=rekey)
            assert str(refused.value) == (
                "SSC_PSEUDONYM_KEY is not the key of the previous drops (last: drop 2026-11-23T0200, key fingerprint "
                f"14c7429104f661d4; this key's: {NEW_KEY.fingerprint}): pseudonyms would change; restore the study's "
                "key (README 'Pseudonym key'), or, to re-key deliberately, run once with "
                f"SSC_REKEY={NEW_KEY.fingerprint}{wrong}")
        # the same drop again with another key is a change of key too
        with pytest.raises(KeyRefused, match="last: drop 2026-11-23T0200"):
            land_drop(conn, open_drop(tmp_path / "2026-11-23T0200"), STUDY, NEW_KEY)
        assert conn.execute("select table_schema, table_name from information_schema.tables order by all"
                            ).fetchall() == before
        assert drops_table(conn) == [("2026-11-23T0200", "environment", STUDY_KEY_FINGERPRINT, None)]


def test_a_deliberate_re_keying_is_accepted_once_and_recorded(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-23T0200", PATIENT)), STUDY, STUDY_KEY)
        rekeyed = land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT)), STUDY, NEW_KEY,
                            rekey=NEW_KEY.fingerprint.upper())
        after = land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-25T0200", PATIENT)), STUDY, NEW_KEY)
        assert drops_table(conn) == [
            ("2026-11-23T0200", "environment", STUDY_KEY_FINGERPRINT, None),
            ("2026-11-24T0200", "environment", NEW_KEY.fingerprint, STUDY_KEY_FINGERPRINT),
            ("2026-11-25T0200", "environment", NEW_KEY.fingerprint, None)]
        assert pseudonyms(conn) == [(pseudonym("CANARYMRN7", NEW_KEY),)]
    assert rekeyed.rekeyed_from == STUDY_KEY_FINGERPRINT
    assert rekeyed.key_note == (
        f"re-keyed (SSC_REKEY): pseudonyms are now made with the key of fingerprint {NEW_KEY.fingerprint}; those "
        "made before (last: drop 2026-11-23T0200) with 14c7429104f661d4 do not match them; raw.drops records it; "
        "remove SSC_REKEY from the environment")
    assert after.key_note is None and after.rekeyed_from is None


def test_re_keying_the_drop_already_loaded_pseudonymises_it_again(tmp_path):
    drop = open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        land_drop(conn, drop, STUDY, STUDY_KEY)
        again = land_drop(conn, drop, STUDY, NEW_KEY, rekey=NEW_KEY.fingerprint)
        assert not again.already_loaded
        assert drops_table(conn) == [("2026-11-24T0200", "environment", NEW_KEY.fingerprint, STUDY_KEY_FINGERPRINT)]
        assert pseudonyms(conn) == [(pseudonym("CANARYMRN7", NEW_KEY),)]


def test_drops_loaded_before_fingerprints_were_recorded_are_accepted_and_the_new_one_recorded(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-23T0200", PATIENT)), STUDY, STUDY_KEY)
        for column in ("key_fingerprint", "rekeyed_from"):  # raw.drops as this version found it
            conn.execute(f"alter table raw.drops drop column {column}")
        assert previous_key(conn) == LoadedKey("2026-11-23T0200", None, "environment")
        land_drop(conn, open_drop(write_drop(tmp_path / "2026-11-24T0200", PATIENT)), STUDY, NEW_KEY)
        assert drops_table(conn) == [("2026-11-23T0200", "environment", None, None),
                                     ("2026-11-24T0200", "environment", NEW_KEY.fingerprint, None)]
        assert conn.execute("select key_fingerprint from raw.current_drop").fetchall() == [(NEW_KEY.fingerprint,)]


# ---- one run of raw/records: the verdict, the steward page, no key anywhere ----------------------------------


def test_raw_records_refuses_weak_and_changed_keys_and_no_key_is_written_anywhere(tmp_path):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    demo = newest_drop(REPO / "demo" / "inbox").records_file.parent
    shutil.copytree(demo, inbox / "2026-11-24T0200")
    keys = {"study": "0123456789abcdef" * 4, "new": "fedcba9876543210" * 4, "placeholder": placeholder()}

    def run(key: str, rekey: str = ""):
        resources = {"warehouse": Warehouse(database=str(home / "warehouse.duckdb")),
                     "locations": StudyLocations(inbox=str(inbox), home=str(home), pseudonym_key=key, rekey=rekey)}
        result = dg.materialize([raw_records], resources=resources, instance=instance, raise_on_error=False)
        logs = instance.all_logs(result.run_id)
        return decide(read_events(logs)), "\n".join(str(entry) for entry in logs)

    with dg.instance_for_test() as instance:
        weak, weak_log = run(keys["placeholder"])
        assert (weak.outcome, weak.gate) == (BLOCKED, "raw/records")
        assert weak.text.startswith("BLOCKED at raw/records: The export drop cannot be loaded: SSC_PSEUDONYM_KEY is "
                                    "too weak to be a secret: it holds '<' or '>'")
        assert "too weak to be a secret" in (home / "reports" / "steward.html").read_text()
        assert not (home / "warehouse.duckdb").exists()

        first, first_log = run(keys["study"])
        assert first.outcome == PUBLISHED
        shutil.copytree(demo, inbox / "2026-11-25T0200")
        changed, changed_log = run(keys["new"])
        assert changed.text == (
            "BLOCKED at raw/records: The export drop cannot be loaded: SSC_PSEUDONYM_KEY is not the key of the "
            f"previous drops (last: drop 2026-11-24T0200, key fingerprint {STUDY_KEY_FINGERPRINT}; this key's: "
            f"{NEW_KEY.fingerprint}): pseudonyms would change; restore the study's key (README 'Pseudonym key'), or, "
            f"to re-key deliberately, run once with SSC_REKEY={NEW_KEY.fingerprint}")
        assert "is not the key of the previous drops" in (home / "reports" / "steward.html").read_text()

        rekeyed, rekeyed_log = run(keys["new"], rekey=NEW_KEY.fingerprint)
        assert rekeyed.outcome == PUBLISHED
        assert any(p.text.startswith("re-keyed (SSC_REKEY)") for p in rekeyed.problems)
        logs = weak_log + first_log + changed_log + rekeyed_log

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert drops_table(conn) == [("2026-11-24T0200", "environment", STUDY_KEY_FINGERPRINT, None),
                                     ("2026-11-25T0200", "environment", NEW_KEY.fingerprint, STUDY_KEY_FINGERPRINT)]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files
    for key in keys.values():
        assert key not in logs
        for token in (key.encode(), key.split()[0].encode()):
            assert not [p for p in files if token in p.read_bytes()], key
