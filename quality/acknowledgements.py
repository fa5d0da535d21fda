"""The stewards' register of acknowledged warnings: ``SSC_HOME/acknowledgements.csv``.

A steward who checked a warning in REDCap and found the value correct (``verified_correct``), or that it cannot
be corrected (``cannot_be_fixed``), records it here; the warning then leaves the worklist (it is listed, folded,
under "acknowledged") and stays in ``quality.findings``. Like REDCap's Data Quality module, which lets a
discrepancy be marked as verified and excluded, but an *error* (an unusable value) cannot be acknowledged away:
it must be fixed in REDCap.

The register is a CSV file, one row per finding key (quality/history.py), appended to and never rewritten: the
latest row of a key is the one that counts. Columns (``COLUMNS``): finding_key, record_id, event, instrument,
instance, field, rule (the key's parts), finding_id (the worklist row's id the steward gave), decision, reason,
who, date (YYYY-MM-DD, UTC), value_fingerprint (of the values when acknowledged; never the value). An
acknowledgement *lapses* when the value changes: the fingerprint of tonight's values differs from the register's.

Adding an entry (the worklist shows each row's id)::

    python -m quality.acknowledgements add <finding-id> --decision verified_correct --reason "..." --by "initials"
    make ack ID=<finding-id> DECISION=verified_correct REASON="..." BY="initials"

The id is looked up in what the worklist was last rendered from (``SSC_HOME/reports/steward.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from quality.history import KEY_COLUMNS, identify, key_table
from quality.rules import RULES

REGISTER = "acknowledgements.csv"
DECISIONS = ("verified_correct", "cannot_be_fixed")
COLUMNS = ("finding_key", *KEY_COLUMNS, "finding_id", "decision", "reason", "who", "date", "value_fingerprint")
#: what the worklist was last rendered from (orchestration/publishing.py writes it beside the page)
WORKLIST_INPUTS = Path("reports") / "steward.json"

ACKNOWLEDGED = "acknowledged"
LAPSED = "lapsed"


class AcknowledgementRefused(ValueError):
    """The entry cannot be added; the message says why and what to do."""


def read_register(path: Path) -> pd.DataFrame:
    """The register's entries that count: the latest row of each finding key (``COLUMNS``; empty if no file)."""
    if not Path(path).exists():
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).reindex(columns=list(COLUMNS)).fillna("")
    return frame.drop_duplicates("finding_key", keep="last").reset_index(drop=True)


@dataclass(frozen=True)
class Acknowledgement:
    """A register entry as it stands tonight: ``state`` is ``ACKNOWLEDGED`` (same value as when acknowledged) or
    ``LAPSED`` (the value changed)."""

    state: str
    finding_id: str
    decision: str
    reason: str
    who: str
    date: str


def match(findings: pd.DataFrame | None, register: pd.DataFrame | None) -> dict[str, Acknowledgement]:
    """{finding_key: Acknowledgement} for tonight's *warning* keys that the register holds (an error is never
    acknowledged, whatever the register says)."""
    if register is None or not len(register) or findings is None or not len(findings):
        return {}
    entries = register.set_index("finding_key")
    out = {}
    for key, severity, fingerprint in zip(*(key_table(findings)[c] for c in
                                            ("finding_key", "severity", "value_fingerprint"))):
        if severity != "warning" or key not in entries.index:
            continue
        e = entries.loc[key]
        out[key] = Acknowledgement(ACKNOWLEDGED if e["value_fingerprint"] == fingerprint else LAPSED,
                                   e["finding_id"], e["decision"], e["reason"], e["who"], e["date"])
    return out


def _where(row: pd.Series) -> str:
    parts = [f"record {row['record_id']}" if row["record_id"] else "", f"event {row['event']}" if row["event"] else "",
             f"field {row['field']}" if row["field"] else ""]
    return ", ".join(p for p in parts if p) or "the file as a whole"


def add(path: Path, findings: pd.DataFrame, finding_id: str, decision: str, reason: str, who: str,
        today: str | None = None) -> pd.DataFrame:
    """Append to the register at ``path`` one row per finding key of the worklist row ``finding_id`` (of
    ``findings``, quality.findings columns), with its value fingerprint; returns the rows added.

    Raises :class:`AcknowledgementRefused` when the decision is not one of ``DECISIONS``, the reason or the name
    is empty, no finding has that id, or the row is an error (naming the rule and saying to fix it in REDCap)."""
    finding_id = finding_id.strip().lower()
    if decision not in DECISIONS:
        raise AcknowledgementRefused(f"acknowledgements: decision must be one of {', '.join(DECISIONS)}, "
                                     f"not {decision!r}")
    if not reason.strip() or not who.strip():
        raise AcknowledgementRefused("acknowledgements: give a reason (--reason) and who checked it (--by)")
    frame = identify(findings)
    chosen = frame[frame["problem_id"] == finding_id]
    if not len(chosen):
        raise AcknowledgementRefused(
            f"acknowledgements: no finding with id {finding_id} on the worklist; copy the id from the worklist "
            "(steward.html: under each row's severity; steward_worklist.csv: column finding_id)")
    errors = chosen[chosen["severity"].astype(str).str.lower() == "error"]
    if len(errors):
        first = errors.iloc[0]
        rule = RULES.get(first["rule"])
        hint = f": {rule.hint}" if rule is not None and rule.hint else "."
        raise AcknowledgementRefused(
            f"acknowledgements: {finding_id} is an error, rule {first['rule']}"
            f"{f' ({rule.title})' if rule is not None and rule.title else ''} at {_where(first.fillna(''))}: "
            f"an error cannot be acknowledged; fix it in REDCap{hint}")
    keys = key_table(chosen)
    rows = pd.DataFrame({
        "finding_key": keys["finding_key"], **{c: keys[c] for c in KEY_COLUMNS}, "finding_id": finding_id,
        "decision": decision, "reason": " ".join(reason.split()), "who": " ".join(who.split()),
        "date": today or datetime.now(timezone.utc).date().isoformat(),
        "value_fingerprint": keys["value_fingerprint"]}, columns=list(COLUMNS))
    rows = rows.astype(object).where(rows.notna(), "")
    path = Path(path)
    new = not path.exists()
    # the register names records: owner-only, like everything under SSC_HOME
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a", encoding="utf-8",
                   newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if new:
            writer.writerow(COLUMNS)
        writer.writerows(rows.itertuples(index=False, name=None))
    return rows


def worklist_findings(home: Path) -> pd.DataFrame:
    """The findings the worklist was last rendered from (``SSC_HOME/reports/steward.json``)."""
    path = Path(home) / WORKLIST_INPUTS
    if not path.exists():
        raise AcknowledgementRefused(f"acknowledgements: no worklist in {path.parent} yet: run the nightly job first")
    return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")).get("findings") or [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quality.acknowledgements",
                                     description="The stewards' register of acknowledged warnings "
                                                 f"(SSC_HOME/{REGISTER}).")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="acknowledge the warning of a worklist row (its id)")
    adding.add_argument("finding_id", help="the row's id: under its severity in steward.html, column finding_id in the CSV")
    adding.add_argument("--decision", required=True, choices=DECISIONS)
    adding.add_argument("--reason", required=True, help="why the value is correct or cannot be fixed")
    adding.add_argument("--by", required=True, help="who checked it (name or initials)")
    adding.add_argument("--home", help="SSC_HOME (default: the environment's SSC_HOME)")
    args = parser.parse_args(argv)
    if args.home or os.environ.get("SSC_HOME"):
        home = Path(args.home or os.environ["SSC_HOME"]).expanduser().resolve()
    else:
        from orchestration.settings import home_dir

        home = home_dir(os.environ)
    try:
        rows = add(home / REGISTER, worklist_findings(home), args.finding_id, args.decision, args.reason, args.by)
    except AcknowledgementRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    print(f"acknowledgements: {args.finding_id} acknowledged ({args.decision}, {len(rows)} "
          f"finding{'' if len(rows) == 1 else 's'}) in {home / REGISTER}; it leaves the worklist at the next run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
