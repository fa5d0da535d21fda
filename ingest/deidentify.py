"""Identifiers never land: ``mrn`` becomes a keyed pseudonym, ``dob`` becomes age at first infusion, and the
other identifier fields are dropped. Nothing here logs or returns an identifier value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import date

KEY_VARIABLE = "SSC_PSEUDONYM_KEY"
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
