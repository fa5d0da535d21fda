"""Identifiers never land: ``mrn`` becomes a keyed pseudonym, ``dob`` becomes age at first infusion, and the
other identifier fields are dropped. Nothing here logs or returns an identifier value.

The key is ``SSC_PSEUDONYM_KEY``; without it a labelled demo key is used, and only for the bundled demo drop
(:func:`demo_key_refusal`): a real drop pseudonymised with a key anyone holding this code can use would have
pseudonyms anyone could recompute from an MRN. ``SSC_ALLOW_DEMO_KEY=1`` allows it for test and generated drops.
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
#: the bundled demo drop(s) of this checkout: the only drops the demo key is for
DEMO_INBOX = Path(__file__).resolve().parent.parent / "demo" / "inbox"
# Only for the bundled demo and tests: pseudonyms made with it are not secret.
DEMO_KEY = "ssc-umsct-DEMO-pseudonym-key-not-for-real-data"


@dataclass(frozen=True)
class PseudonymKey:
    secret: bytes
    label: str  # "environment" or "demo": recorded with the drop, never the key itself

    @property
    def is_demo(self) -> bool:
        return self.label == "demo"


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
