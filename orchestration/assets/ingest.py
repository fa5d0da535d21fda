"""inbox -> raw: pick the newest export drop, de-identify it and land it in DuckDB with its provenance."""


import time

import dagster as dg

from ingest.deidentify import KEY_VARIABLE, KeyRefused, demo_key_refusal, key_from_environment, weak_key_refusal
from ingest.drops import DropError, newest_drop, scan_inbox, sha256_of
from ingest.land import land_drop
from ingest.normalise import parse_missing_data_codes
from ingest.reader import UnreadableFileError
from orchestration.publishing import publish_steward_report
from orchestration.resources import StudyLocations, Warehouse
from orchestration.version import code_version
from quality.findings import findings_frame
from quality.rules import RULES
from quality.store import write_findings
from study.definition import load_study


@dg.asset(
    key=["raw", "records"],
    group_name="raw",
    kinds={"duckdb", "csv"},
    pool="warehouse",
    description="The newest REDCap export drop in the inbox, de-identified, as raw.records (all text) with "
                "provenance (drop, file SHA-256, source row, load time); every drop's snapshot is kept in "
                "raw_archive.",
)
def raw_records(context: dg.AssetExecutionContext, warehouse: Warehouse, locations: StudyLocations):
    started = time.perf_counter()
    study = load_study()
    key = key_from_environment({KEY_VARIABLE: locations.pseudonym_key})
    try:
        inbox = scan_inbox(locations.inbox)
        if inbox.describe_ignored():
            context.log.info(inbox.describe_ignored())
        drop = newest_drop(inbox)
        context.log.info(f"newest drop: {drop.drop_id} ({drop.records_file.name}, {drop.dictionary_file.name})")
        provenance = {"drop_id": drop.drop_id, "export_datetime": str(drop.export_datetime),
                      "records_file": drop.records_file.name, "run_id": context.run.run_id}
        refusal = weak_key_refusal(key) or demo_key_refusal(key, drop, allow_demo_key=locations.allow_demo_key)
        if refusal:
            _refuse(locations, [], refusal, gate="pseudonym_key",
                    provenance=provenance | {"records_sha256": sha256_of(drop.records_file)})
        with warehouse.connect() as conn:
            result = land_drop(conn, drop, study, key, code_version=code_version(),
                               missing_codes=parse_missing_data_codes(locations.missing_data_codes),
                               rekey=locations.rekey)
            if not result.stops:
                write_findings(conn, "ingest", findings_frame(result.findings), drop.drop_id)
    except KeyRefused as exc:
        _refuse(locations, [], str(exc), gate="pseudonym_key",
                provenance=provenance | {"records_sha256": sha256_of(drop.records_file)})
    except (DropError, UnreadableFileError) as exc:
        _refuse(locations, [RULES["records_unreadable"].finding(str(exc))], str(exc))
    if result.stops:
        _refuse(locations, result.findings, "; ".join(f.message for f in result.stops),
                provenance=provenance | {"records_sha256": result.records_sha256})
    if key.is_demo:
        context.log.warning(
            "SSC_PSEUDONYM_KEY is not set: MRN pseudonyms are made with the DEMO key (fine for the bundled demo "
            "and tests, not for real data)"
        )
    if result.key_note:
        context.log.warning(result.key_note)
    for finding in result.findings:
        if finding.source_row is None and finding.rule != "records_column_unexpected":
            context.log.warning(finding.message)

    context.log.info(
        f"{result.export_rows} export rows, {result.readable_rows} landed, {result.unreadable_rows} unreadable; "
        f"{len(result.findings)} ingest findings ({len(result.blocked)} structural) in "
        f"{time.perf_counter() - started:.2f} s"
        + (" — same files as already loaded, nothing rewritten" if result.already_loaded else "")
    )
    return dg.MaterializeResult(
        metadata={
            "drop": result.drop.drop_id,
            "records_file": result.drop.records_file.name,
            "records_sha256": result.records_sha256,
            "dictionary_file": result.drop.dictionary_file.name,
            "dictionary_sha256": result.dictionary_sha256,
            "export_datetime": result.drop.export_datetime.isoformat(),
            "export_rows": result.export_rows,
            "loaded_rows": result.readable_rows,
            "unreadable_rows": result.unreadable_rows,
            "structural_findings": len(result.blocked),
            "already_loaded": result.already_loaded,
            "archive_table": f"raw_archive.{result.archive_table}",
            "pseudonym_key": result.pseudonym_key,
            "key_fingerprint": result.key_fingerprint,
            "rekeyed_from": result.rekeyed_from or "",
            "seconds": round(time.perf_counter() - started, 3),
        },
    )


def _refuse(locations: StudyLocations, findings, reason: str, provenance: dict | None = None,
            gate: str = "readable_drop"):
    """The drop cannot be loaded: the steward worklist says why, and the run stops here naming file and fix."""
    publish_steward_report(locations, findings, gate_results=[
        {"gate": gate, "passed": False, "message": reason}], provenance=provenance)
    raise dg.Failure(description=f"The export drop cannot be loaded: {reason}")
