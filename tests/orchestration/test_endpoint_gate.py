"""The endpoint gate across two Dagster runs on one DuckDB warehouse: drop 1 is published; drop 2 loses the mRSS
of 4 of 25 patients (their mrss_date is rejected: too few cells for the field gate) and the run stops before the
outcomes, naming the endpoint and the field."""


import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.assets.endpoints import ENDPOINTS, endpoints
from quality.endpoints import mark_published
from orchestration.assets.outcomes import outcome_assets, outcome_key
from orchestration.assets.quality import FINDINGS
from orchestration.definitions import defs
from orchestration.resources import StudyLocations, Warehouse
from quality.findings import FINDING_SQL_TYPES
from quality.gates import ENDPOINT_GATE, OS_GATE, fields_gate
from quality.rules import RULES
from quality.steps import profile_fields
from study.definition import load_study

STUDY = load_study()

PATIENTS = [f"SSC-{i:04d}" for i in range(1, 26)]
LOST = PATIENTS[:4]  # drop 2: their mRSS dates are rejected


def records() -> pd.DataFrame:
    """raw.records: two mRSS assessments per patient (the other export columns are empty, so left out)."""
    rows = [{"record_id": rid, "redcap_event_name": event, "mrss_date": date, "mrss_total": total}
            for rid in PATIENTS
            for event, date, total in (("baseline_arm_1", "2020-01-10", "20"), ("month_12_arm_1", "2021-01-10", "15"))]
    return pd.DataFrame(rows).assign(_source_row=range(2, len(rows) + 2))


def rejected_dates(raw: pd.DataFrame, drop_id: str) -> pd.DataFrame:
    rule = RULES["date_format"]
    rows = raw[raw["record_id"].isin(LOST)]
    return pd.DataFrame({"drop_id": drop_id, "stage": "conformance", "rule": rule.rule, "severity": rule.severity,
                         "category": rule.category, "message": "mrss_date is not a valid date",
                         "action": rule.action, "record_id": rows["record_id"], "event": rows["redcap_event_name"],
                         "instrument": "skin_score", "instance": None, "field": "mrss_date",
                         "value": rows["mrss_date"], "source_row": rows["_source_row"], "subcategory": "value",
                         "hint": rule.hint})


def marts(with_mrss: list[str]) -> dict[str, pd.DataFrame]:
    adbds = pd.DataFrame([
        {"USUBJID": rid, "PARAMCD": "mrss_total", "SRCDOM": "skin_score", "SRCSEQ": seq, "AVISIT": tp,
         "AVISITN": order, "ADY": day, "ANL01FL": "Y", "AVAL": value, "BASE": 20.0,
         "CHG": None if tp == "baseline" else value - 20.0}
        for seq, (rid, (tp, order, day, value)) in enumerate(
            ((rid, visit) for rid in with_mrss for visit in (("baseline", 0, 0, 20.0), ("month_12", 4, 365, 15.0))),
            start=1)])
    return {
        "adsl": pd.DataFrame({"USUBJID": PATIENTS, "ild_baseline": False, "pah_baseline": False,
                              "subject_pseudonym": [f"mrn-of-{p}" for p in PATIENTS]}),
        "adbds": adbds,
        "adtte": pd.DataFrame({"USUBJID": PATIENTS, "PARAMCD": "OS", "CNSR": 1, "ADY": 400, "ANL01FL": "Y",
                               "exclusion_reason": None}),
        "adae": pd.DataFrame({"USUBJID": ["SSC-0001"], "ASTDT": ["2020-02-01"], "AETOXGR": [1], "AERELN": [1]}),
    }


def land(path, drop_id: str, findings: pd.DataFrame, mart_frames: dict[str, pd.DataFrame], raw: pd.DataFrame):
    """The warehouse as the steps before quality/findings and the marts leave it for one drop."""
    with duckdb.connect(str(path)) as conn:
        for schema in ("raw", "quality", "marts"):
            conn.execute(f"create schema if not exists {schema}")
        conn.execute("create or replace table raw.current_drop as "
                     "select ? as drop_id, 'records.csv' as records_file, 'sha' as records_sha256", [drop_id])
        conn.execute("create or replace table raw.records as select * from raw")
        conn.execute("create or replace table quality.quarantine (source_row INTEGER)")
        columns = ", ".join(f'"{c}" {t}' for c, t in FINDING_SQL_TYPES.items())
        conn.execute(f"create or replace table quality.findings ({columns})")
        if len(findings):
            conn.execute("insert into quality.findings select * from findings")
        for name, mart in mart_frames.items():
            conn.execute(f"create or replace table marts.{name} as select * from mart")


def findings_step():
    """quality/findings as far as the endpoint gate needs it: this run's field profile (the real function)."""
    @dg.asset(key=FINDINGS)
    def findings(context: dg.AssetExecutionContext, warehouse: Warehouse):
        with warehouse.connect() as conn:
            found = conn.execute("select * from quality.findings").df()
            drop_id = conn.execute("select drop_id from raw.current_drop").fetchone()[0]
            profile_fields(conn, found, STUDY, drop_id, context.run.run_id)
    return findings


def run(home, selection):
    resources = {"warehouse": Warehouse(database=str(home / "warehouse.duckdb")),
                 "locations": StudyLocations(inbox=str(home / "inbox"), home=str(home))}
    return dg.materialize([findings_step(), *selection], resources=resources, raise_on_error=False)


def checks(result) -> dict:
    return {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def materialized(result) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("endpoint_gate")
    warehouse = home / "warehouse.duckdb"
    mrss = next(a for a in outcome_assets if outcome_key("mrss") in a.keys)
    raw = records()

    land(warehouse, "drop-1", rejected_dates(raw, "drop-1").iloc[0:0], marts(PATIENTS), raw)
    first = run(home, [endpoints, mrss])
    assert first.success
    with Warehouse(database=str(warehouse)).connect() as conn:  # as the study report does once published
        mark_published(conn, first.run_id)

    second_findings = rejected_dates(raw, "drop-2")
    land(warehouse, "drop-2", second_findings, marts(PATIENTS[len(LOST):]), raw)
    second = run(home, [endpoints, mrss])
    return home, first, second, mrss


def test_the_first_run_passes_and_is_published(two_runs):
    home, first, _, mrss = two_runs
    assert {ENDPOINTS, outcome_key("mrss")} <= materialized(first)
    assert all(c.passed for c in checks(first).values())
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute("select endpoint, patients, published from quality.endpoint_coverage "
                            "where run_id = ? order by endpoint", [first.run_id]).fetchall()
    assert ("mrss", 25, True) in rows and ("overall_survival", 25, True) in rows


def test_the_second_run_stops_before_the_outcomes_naming_endpoint_and_field(two_runs):
    home, first, second, _ = two_runs
    gate = checks(second)[ENDPOINT_GATE]
    assert gate.passed is False and gate.severity == dg.AssetCheckSeverity.ERROR
    assert gate.description.startswith(
        "mrss: 21 patients with analysable input, 25 in the last published run (drop drop-1) (16% lost); "
        "the input that emptied it: mrss_date (42 usable cells now, 50 in the last published run; "
        "8 of 50 filled cells rejected)")
    assert checks(second)[OS_GATE].passed is True  # every adtte row analysed
    assert outcome_key("mrss") not in materialized(second)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        published = conn.execute("select distinct run_id, published from quality.endpoint_coverage").fetchall()
        profile = conn.execute("select * from quality.field_profile").df()
    assert sorted(published, key=lambda r: r[1]) == [(second.run_id, False), (first.run_id, True)]
    # the field gate alone lets this drop through: 16% of mrss_date is under its 20% limit
    assert fields_gate(profile, rejected_dates(records(), "drop-2"), STUDY, 0.20, 20)["passed"] is True


def test_outcomes_and_cohort_flow_wait_for_the_endpoint_gate():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] == "outcomes":
            assert ENDPOINTS in graph.get(key).parent_keys, key
    assert {ENDPOINT_GATE, OS_GATE} <= {c.name for c in graph.asset_check_keys
                                        if graph.get_check_spec(c).blocking}
