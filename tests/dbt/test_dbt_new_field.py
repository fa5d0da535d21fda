"""A numeric field added to the data dictionary, and nowhere else, is typed in staging, listed in the long
measures table and checked by conformance (issue 7: the dictionary drives the warehouse).

On copies of the study definition and of the dbt project: the field is added to the dictionary only, the seeds
are regenerated from it (study.seeds), a tiny warehouse is built from three export rows of one patient and
validated by the conformance suites, then dbt builds staging and int_measures_long on it. No SQL is edited.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.land import landed_columns
from quality.conformance import run_conformance
from quality.store import combine_findings, write_findings, write_quarantine
from study.definition import DEFINITION_DIR, DICTIONARY_COLUMNS, load_study
from study.seeds import SEEDS_DIR, write_seeds

REPO = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
DROP_ID = "2026-11-24T0200"

# The new field, as a REDCap dictionary row: a whole number 0..10 on the skin score form.
NEW_FIELD = {"field_name": "mrss_new_score", "form_name": "skin_score", "field_type": "text",
             "field_label": "New skin score (0-10)", "validation": "integer", "validation_min": "0",
             "validation_max": "10"}

# One patient: enrollment + a baseline skin score, the first infusion, a month-1 skin score whose new score is
# out of the dictionary's range. (source row: cells)
ROWS = {
    2: {"record_id": "0001", "redcap_event_name": "baseline_arm_1", "sex": "1", "enrollment_date": "2020-01-06",
        "ssc_subtype": "1", "mrss_date": "2020-01-08", "mrss_total": "20", "mrss_new_score": "7"},
    3: {"record_id": "0001", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "infusion",
        "redcap_repeat_instance": "1", "infusion_date": "2020-01-10"},
    4: {"record_id": "0001", "redcap_event_name": "month_1_arm_1", "mrss_date": "2020-02-10",
        "mrss_total": "18", "mrss_new_score": "11"},
}


def _definition_with_new_field(directory: Path) -> Path:
    """study/definition copied into ``directory``, the new field's row added after the skin score's last field."""
    shutil.copytree(DEFINITION_DIR, directory)
    path = directory / "dictionary.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    last_skin = max(i for i, row in enumerate(rows) if row[1] == "skin_score")
    rows.insert(last_skin + 1, [NEW_FIELD.get(column, "") for column in DICTIONARY_COLUMNS])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return directory


def _records(study) -> pd.DataFrame:
    columns = ["_drop_id", "_source_row", *landed_columns(study)]
    frame = pd.DataFrame([{**dict.fromkeys(columns), **cells, "_drop_id": DROP_ID, "_source_row": row}
                          for row, cells in ROWS.items()], columns=columns)
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """(conformance findings, connection to the warehouse dbt built) for the copy with the new field."""
    tmp = tmp_path_factory.mktemp("new_field")
    study = load_study(_definition_with_new_field(tmp / "definition"))
    project = tmp / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    write_seeds(study, project / SEEDS_DIR.relative_to(REPO / "dbt_project"))

    records = _records(study)
    result = run_conformance(records, study)
    path = tmp / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema raw")
        conn.register("records_frame", records)
        varchar = ", ".join(f'cast("{c}" as varchar) as "{c}"' for c in records.columns if c != "_source_row")
        conn.execute(f"create table raw.records as select cast(_source_row as integer) as _source_row, {varchar} "
                     f"from records_frame")
        write_findings(conn, "conformance", result.findings, DROP_ID)
        write_quarantine(conn, result.quarantine)
        combine_findings(conn)

    env = {**os.environ, "SSC_WAREHOUSE": str(path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    run = subprocess.run([str(DBT), "build", "--select", "+int_measures_long", "--exclude-resource-type", "unit_test",
                          "--project-dir", str(project), "--profiles-dir", str(project),
                          "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    conn = duckdb.connect(str(path), read_only=True)
    yield result.findings, conn
    conn.close()


def test_conformance_checks_the_new_field_against_the_dictionary_range(warehouse):
    findings, _ = warehouse
    mine = findings[findings["field"] == "mrss_new_score"]
    assert list(zip(mine["source_row"], mine["rule"], mine["value"], mine["action"])) == [
        (4, "value_out_of_range", "11", "nulled")]


def test_staging_types_the_new_field_and_nulls_the_rejected_cell(warehouse):
    _, conn = warehouse
    assert conn.execute("select data_type from information_schema.columns where table_schema = 'staging' "
                        "and table_name = 'stg_redcap__skin_score' and column_name = 'mrss_new_score'"
                        ).fetchall() == [("INTEGER",)]
    assert conn.execute("select source_row, mrss_new_score from staging.stg_redcap__skin_score order by source_row"
                        ).fetchall() == [(2, 7), (4, None)]


def test_the_new_field_is_a_measure_in_the_long_table(warehouse):
    _, conn = warehouse
    assert conn.execute("select source_row, instrument, value from intermediate.int_measures_long "
                        "where param = 'mrss_new_score' order by source_row").fetchall() == [
        (2, "skin_score", 7.0), (4, "skin_score", None)]
