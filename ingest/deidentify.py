"""Identifiers never land: ``mrn`` becomes a keyed pseudonym, ``dob`` becomes age at first infusion, and the
other identifier fields are dropped. Nothing here logs or returns an identifier value.

The key is ``SSC_PSEUDONYM_KEY``; without it a labelled demo key is used, and only for the bundled demo drop
(:func:`demo_key_refusal`): a real drop pseudonymised with a key anyone holding this code can use would have
pseudonyms anyone could recompute from an MRN. ``SSC_ALLOW_DEMO_KEY=1`` allows it for test and generated drops.

The key itself is never stored or shown; its *fingerprint* is (:attr:`PseudonymKey.fingerprint`, recorded per drop
in ``raw.drops.key_fingerprint``). Two refusals keep the key honest, both before anything is written:
:func:`weak_key_refusal` (a key too weak to be a secret: short, whitespace, the documentation's ``<…>``
placeholder) and :func:`key_continuity` (a key that is not the key of the drop loaded last, unless ``SSC_REKEY``
names the new key's fingerprint for a deliberate re-keying).

``python -m ingest.deidentify`` prints the fingerprint of the ``SSC_PSEUDONYM_KEY`` in the environment, to tell
which of several keys is the one ``raw.drops`` recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ingest.drops import Drop, DropError, open_drop, scan_inbox, sha256_of

KEY_VARIABLE = "SSC_PSEUDONYM_KEY"
ALLOW_DEMO_KEY_VARIABLE = "SSC_ALLOW_DEMO_KEY"
REKEY_VARIABLE = "SSC_REKEY"
#: what the fingerprint is an HMAC of: a fixed text, so the fingerprint depends on the key alone
FINGERPRINT_LABEL = b"ssc-umsct pseudonym key fingerprint v1"
FINGERPRINT_LENGTH = 16  # hex characters (64 bits): enough to tell keys apart, nothing to learn the key from
MIN_KEY_LENGTH = 32  # characters; the README's recipe makes 64 (32 random bytes, hex)
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
#: the bundled demo drop(s) of this checkout: the only drops the demo key is for
DEMO_INBOX = Path(__file__).resolve().parent.parent / "demo" / "inbox"
# Only for the bundled demo and tests: pseudonyms made with it are not secret.
DEMO_KEY = "ssc-umsct-DEMO-pseudonym-key-not-for-real-data"


class KeyRefused(RuntimeError):
    """The drop must not be pseudonymised with this key (:func:`key_continuity`); the message is one line."""


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    label: str  # "environment" or "demo": recorded with the drop, never the key itself

    @property
    def is_demo(self) -> bool:
        return self.label == "demo"

    @property
    def fingerprint(self) -> str:
        """The first 16 hex characters of HMAC-SHA-256(key, :data:`FINGERPRINT_LABEL`): the same for the same
        key, different for another, and of no help in finding the key (or any pseudonym) from it."""
        return hmac.new(self.secret, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:FINGERPRINT_LENGTH]


@dataclass(frozen=True)
class LoadedKey:
    """The key a loaded drop was pseudonymised with, as ``raw.drops`` records it."""

    drop_id: str
    fingerprint: str | None  # None: loaded before fingerprints were recorded
    label: str  # "environment" or "demo"


@dataclass(frozen=True)
class KeyContinuity:
    """What :func:`key_continuity` decided. ``refusal``: one line, the drop must not be loaded; ``rekeyed_from``:
    the fingerprint of the previous drops' key when this load changes the key (accepted); ``note``: one line for
    the run's log (a re-keying, or an ``SSC_REKEY`` left set with nothing to re-key)."""

    refusal: str | None = None
    rekeyed_from: str | None = None
    note: str | None = None


def key_from_environment(environ=os.environ) -> PseudonymKey:
    value = environ.get(KEY_VARIABLE, "")
    if value:
        return PseudonymKey(value.encode("utf-8"), "environment")
    return PseudonymKey(DEMO_KEY.encode("utf-8"), "demo")


def demo_records_sha256(demo_inbox: Path = DEMO_INBOX) -> set[str]:
    """SHA-256 (hex) of the records file of each drop in the bundled demo inbox; empty when there is none."""
    try:
        return {sha256_of(open_drop(folder).records_file) for folder in scan_inbox(demo_inbox).drops}
    except DropError:
        return set()


def demo_key_refusal(key: PseudonymKey, drop: Drop, *, allow_demo_key: bool,
                     demo_inbox: Path = DEMO_INBOX) -> str | None:
    """None when ``drop`` may be pseudonymised with ``key``: a key from the environment, the demo key on the
    bundled demo drop (its records file has the SHA-256 of a records file in ``demo_inbox``), or the demo key
    with ``allow_demo_key`` (``SSC_ALLOW_DEMO_KEY=1``: test and generated drops). Otherwise one line naming the
    drop and what to do."""
    if not key.is_demo or allow_demo_key or sha256_of(drop.records_file) in demo_records_sha256(demo_inbox):
        return None
    return (f"drop {drop.drop_id} ({drop.records_file.name}) is not the bundled demo drop and {KEY_VARIABLE} is not "
            f"set, so its pseudonyms would be made with the public demo key: set {KEY_VARIABLE} (see README "
            f"'Pseudonym key') or {ALLOW_DEMO_KEY_VARIABLE}=1 for a test drop")


def weak_key_refusal(key: PseudonymKey) -> str | None:
    """None when ``key`` can be a secret; otherwise one line with the reasons, without the key: shorter than
    :data:`MIN_KEY_LENGTH` characters, whitespace (a space, tab or line break), or ``<`` / ``>`` (the placeholder
    of docs/operating.md copied literally). The demo key is not judged: :func:`demo_key_refusal` limits it."""
    if key.is_demo:
        return None
    text = key.secret.decode("utf-8", errors="replace")
    reasons = [reason for reason, weak in (
        ("it holds '<' or '>', as the placeholder in docs/operating.md does: it is not a key",
         "<" in text or ">" in text),
        ("it holds whitespace (a space, tab or line break)", any(c.isspace() for c in text)),
        (f"it is shorter than {MIN_KEY_LENGTH} characters", len(text) < MIN_KEY_LENGTH)) if weak]
    if not reasons:
        return None
    return (f"{KEY_VARIABLE} is too weak to be a secret: {'; '.join(reasons)}; make the study's key once with "
            f"{MAKE_A_KEY} and keep it (README 'Pseudonym key')")


def key_continuity(key: PseudonymKey, previous: LoadedKey | None, rekey: str = "") -> KeyContinuity:
    """Whether a drop may be pseudonymised with ``key`` after ``previous`` (the drop loaded last; None: none).

    Accepted: no previous drop, a previous drop loaded before fingerprints were recorded, the same key, or a
    previous drop on the public demo key (its pseudonyms were never secret: a study's first real key follows
    it). A different key is refused, naming the last drop and both fingerprints, unless ``rekey``
    (``SSC_REKEY``) is the new key's fingerprint: a deliberate re-keying, accepted and returned as
    ``rekeyed_from``. ``rekey`` is never repeated in a message (it might hold a key pasted by mistake)."""
    rekey = rekey.strip().lower()
    stale = (f"{REKEY_VARIABLE} is set but there is nothing to re-key: remove it from the environment"
             if rekey else None)
    if previous is None or previous.fingerprint is None or previous.fingerprint == key.fingerprint:
        return KeyContinuity(note=stale)
    if previous.label == "demo":
        return KeyContinuity(rekeyed_from=previous.fingerprint, note=stale)
    if rekey == key.fingerprint:
        return KeyContinuity(rekeyed_from=previous.fingerprint, note=(
            f"re-keyed ({REKEY_VARIABLE}): pseudonyms are now made with the key of fingerprint {key.fingerprint}; "
            f"those made before (last: drop {previous.drop_id}) with {previous.fingerprint} do not match them; "
            f"raw.drops records it; remove {REKEY_VARIABLE} from the environment"))
    last = f"(last: drop {previous.drop_id}, key fingerprint {previous.fingerprint}"
    if key.is_demo:
        return KeyContinuity(refusal=(
            f"{KEY_VARIABLE} is not set, and the demo key is not the key of the previous drops {last}): pseudonyms "
            f"would change; set {KEY_VARIABLE} to the study's key (README 'Pseudonym key')"))
    wrong = f" ({REKEY_VARIABLE} is set but is not this key's fingerprint)" if rekey else ""
    return KeyContinuity(refusal=(
        f"{KEY_VARIABLE} is not the key of the previous drops {last}; this key's: {key.fingerprint}): pseudonyms "
        f"would change; restore the study's key (README 'Pseudonym key'), or, to re-key deliberately, run once "
        f"with {REKEY_VARIABLE}={key.fingerprint}{wrong}"))


def pseudonym(mrn: str | None, key: PseudonymKey) -> str | None:
    """HMAC-SHA-256 of the normalised MRN (trimmed, upper case), hex."""
    if mrn is None or not mrn.strip():
        return None
    return hmac.new(key.secret, mrn.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def parse_iso_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        return None


def age_in_years(born: date, on: date) -> int:
    """Completed years of age on a date (the birthday counts)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


if __name__ == "__main__":
    _key = key_from_environment()
    print(f"{KEY_VARIABLE} fingerprint: {_key.fingerprint}" + (" (not set: the demo key's)" if _key.is_demo else ""))
