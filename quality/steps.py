"""The quality steps of the nightly run against the warehouse: what each reads, validates, writes and judges.

Every function takes an open DuckDB connection (writable for those that write) and, for those that validate,
the step's :class:`~quality.gx_runner.GXRunner`; ``orchestration/assets/quality.py`` wraps each in an asset or
an asset check.

- :func:`check_conformance`: raw.records -> quality.conformance_findings (with a ``duplicate_key`` finding per
  loaded row that shares its key with another) and quality.quarantine.
- :func:`check_plausibility`: the timeline models -> quality.plausibility_findings.
- :func:`judge_drop`: quality.findings (every stage's findings), quality.reconciliation, quality.field_profile
  and the gates on the drop (:func:`quality.gates.evaluate_gates`).
- :func:`check_marts`: the critical expectations on marts adsl, adtte, adbds and adae.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from quality.conformance import WarehouseRecords, duplicate_key_findings, duplicate_keys, run_conformance
from quality.gates import evaluate_gates, field_profile_in, reconciliation_in
from quality.gx_runner import GXRunner, SuiteRun
from quality.marts import ADBDS_COLUMNS, ADBDS_ROWS, validate_marts
from quality.plausibility import plausibility_inputs, run_plausibility
from quality.store import (combine_findings, ordered_select, read_frame, write_field_profile, write_findings,
                           write_quarantine, write_reconciliation)
from study.definition import Study

MARTS = ("adsl", "adtte", "adbds", "adae")


@dataclass(frozen=True)
class StepResult:
    """What a validating step found: the ``findings`` it wrote (quality.findings columns), its GX ``runs``, the
    ``rows`` it validated (export rows; dated assessments) and the export rows it quarantined."""

    findings: pd.DataFrame
    runs: list[SuiteRun]
    rows: int
    quarantined_rows: int = 0


@dataclass(frozen=True)
class DropGate:
    """What :func:`judge_drop` found: the drop (raw.current_drop as a dict), quality.findings,
    quality.reconciliation, the field profile, the patients placed and the gates, in order."""

    drop: dict
    findings: pd.DataFrame
    reconciliation: pd.DataFrame
    profile: pd.DataFrame
    patients: int
    gates: list[dict] = field(default_factory=list)


def current_drop(conn: duckdb.DuckDBPyConnection) -> dict:
    """raw.current_drop (the drop being loaded: drop_id, records_file, records_sha256, export_rows...) as a
    dict; ``{}`` when there is none."""
    rows = conn.execute("select * from raw.current_drop").df().to_dict("records")
    return rows[0] if rows else {}


def check_conformance(conn: duckdb.DuckDBPyConnection, study: Study, runner: GXRunner) -> StepResult:
    """Validate raw.records, read a part at a time (:class:`~quality.conformance.WarehouseRecords`,
    :func:`quality.conformance.run_conformance`); write the findings, and the rows that
    still share a key after quarantine as ``duplicate_key`` findings (the ``no_duplicate_keys`` gate reads them),
    and the quarantine."""
    result = run_conformance(WarehouseRecords(conn), study, runner)
    findings = pd.concat([result.findings, duplicate_key_findings(duplicate_keys(result.kept, result.quarantine))],
                         ignore_index=True)
    write_findings(conn, "conformance", findings, current_drop(conn).get("drop_id"))
    write_quarantine(conn, result.quarantine)
    return StepResult(findings, result.runs, len(result.kept) + result.quarantined_rows, result.quarantined_rows)


def check_plausibility(conn: duckdb.DuckDBPyConnection, study: Study, runner: GXRunner) -> StepResult:
    """Validate the timeline, anchors, adverse events, echo and clinical measures
    (:func:`quality.plausibility.run_plausibility`) and write the findings."""
    frames = plausibility_inputs(conn)
    rows = len(frames["timeline"])
    # each frame handed over and no longer held here: run_plausibility lets the largest go once it has used them
    result = run_plausibility(timeline=frames.pop("timeline"), anchors=frames.pop("anchors"),
                              adverse_events=frames.pop("adverse_events"), echo=frames.pop("echo"),
                              measures=frames.pop("measures"), study=study, runner=runner)
    write_findings(conn, "plausibility", result.findings, current_drop(conn).get("drop_id"))
    return StepResult(result.findings, result.runs, rows)


def profile_fields(conn: duckdb.DuckDBPyConnection, findings: pd.DataFrame, study: Study, drop_id: str | None,
                   run_id: str) -> pd.DataFrame:
    """This run's field profile (:func:`quality.gates.field_profile_in`, counted in DuckDB), written as
    quality.field_profile (with ``run_id``)."""
    profile = field_profile_in(conn, findings, study, drop_id)
    write_field_profile(conn, profile.assign(run_id=run_id))
    return profile


def judge_drop(conn: duckdb.DuckDBPyConnection, study: Study, run_id: str, *, max_quarantine_share: float,
               max_field_rejected_share: float, field_gate_min_filled: int) -> DropGate:
    """The quality gate: combine every stage's findings into quality.findings, write quality.reconciliation and
    quality.field_profile, count the patients placed (intermediate.int_patient_anchors) and evaluate the gates
    on the drop with the given thresholds."""
    drop = current_drop(conn)
    findings = combine_findings(conn)
    patients = int(conn.execute("select count(*) from intermediate.int_patient_anchors").fetchone()[0])
    recon = reconciliation_in(conn, drop, study)
    write_reconciliation(conn, recon)
    profile = profile_fields(conn, findings, study, drop.get("drop_id"), run_id)
    gates = evaluate_gates(findings, recon, patients, study=study, max_quarantine_share=max_quarantine_share,
                           max_field_share=max_field_rejected_share, min_filled=field_gate_min_filled,
                           profile=profile)
    return DropGate(drop, findings, recon, profile, patients, gates)


def check_marts(conn: duckdb.DuckDBPyConnection, runner: GXRunner) -> dict[str, SuiteRun]:
    """The critical expectations (:func:`quality.marts.validate_marts`) on marts adsl, adtte, adbds (the columns and
    rows they judge: :data:`~quality.marts.ADBDS_COLUMNS`, :data:`~quality.marts.ADBDS_ROWS`) and adae;
    ``{mart: SuiteRun}``."""
    # each mart passed as read (rows in a fixed order: ordered_select), held by nothing here: validate_marts lets
    # adbds go once it has made its frame
    return validate_marts(adsl=read_frame(conn, ordered_select("marts.adsl")),
                          adtte=read_frame(conn, ordered_select("marts.adtte")),
                          adbds=read_frame(conn, ordered_select("marts.adbds", ADBDS_COLUMNS, ADBDS_ROWS)),
                          adae=read_frame(conn, ordered_select("marts.adae")), runner=runner)
