"""Generate a synthetic cohort as a REDCap export drop.

    python -m study.generate --patients 2000 --seed 7 --out /tmp/inbox \\
        [--drop-name 2026-11-24T0200] [--export-date 2026-11-24] [--defects] [--defect-rate 0.01] \\
        [--canaries] [--bom]

Writes ``OUT/<drop_name>/`` (records file, data dictionary, events/form_event_mapping/repeating copies) and,
with ``--defects``, the list of injected faults to ``OUT/<drop_name>.injected_defects.csv`` (outside the drop).
The export datetime is ``--export-date`` at 02:00, or taken from ``--drop-name`` when that reads as one
(``2026-11-24T0200``); the default is 2026-11-24 02:00. Nothing in the export is dated on or after it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

from study.cohort import CohortGenerator
from study.defects import inject_defects, write_defects
from study.definition import load_study
from study.export import cohort_rows, default_drop_name, parse_drop_name, write_drop

DEFAULT_EXPORT = dt.datetime(2026, 11, 24, 2, 0)


def resolve_export(export_date: str | None, drop_name: str | None) -> tuple[dt.datetime, str]:
    """The export datetime and drop name from the options (either may imply the other)."""
    if export_date:
        export_dt = dt.datetime.combine(dt.date.fromisoformat(export_date), dt.time(2, 0))
    else:
        export_dt = (parse_drop_name(drop_name) if drop_name else None) or DEFAULT_EXPORT
    return export_dt, drop_name or default_drop_name(export_dt)


def generate(patients: int, seed: int, out: Path, drop_name: str | None = None, export_date: str | None = None,
             defects: bool = False, defect_rate: float = 0.01, canaries: bool = False, bom: bool = False) -> dict:
    """Write the drop; return paths and counts."""
    study = load_study()
    export_dt, drop_name = resolve_export(export_date, drop_name)
    gen = CohortGenerator(seed, export_dt.date(), canaries=canaries, study=study)
    rows = cohort_rows(gen.cohort(patients), study)
    injected = None
    if defects:
        injected = inject_defects(rows, study, random.Random(f"ssc-defects:{seed}"), defect_rate, export_dt.date())
    out = Path(out)
    records = write_drop(rows, out, drop_name, export_dt, bom=bom, study=study)
    result = {"drop": records.parent, "records": records, "rows": len(rows), "defects_file": None}
    if injected is not None:
        path = out / f"{drop_name}.injected_defects.csv"
        write_defects(injected, path)
        result.update(defects_file=path, defects=len(injected))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m study.generate", description=__doc__.split("\n")[1])
    ap.add_argument("--patients", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--drop-name")
    ap.add_argument("--export-date", help="YYYY-MM-DD (export time 02:00)")
    ap.add_argument("--defects", action="store_true")
    ap.add_argument("--defect-rate", type=float, default=0.01, help="defects per export row (default 0.01)")
    ap.add_argument("--canaries", action="store_true", help="identifier values become canary strings")
    ap.add_argument("--bom", action="store_true", help="lead the records file with a UTF-8 BOM")
    args = ap.parse_args(argv)
    result = generate(args.patients, args.seed, args.out, args.drop_name, args.export_date, args.defects,
                      args.defect_rate, args.canaries, args.bom)
    msg = f"wrote {result['records']} ({result['rows']} rows)"
    if result["defects_file"]:
        msg += f"; {result['defects']} defects listed in {result['defects_file']}"
    print(msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
