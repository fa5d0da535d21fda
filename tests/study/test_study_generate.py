"""The generic cohort generator: CLI, determinism, canaries, realism, speed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from study.generate import generate, main

EXPORT = dt.date(2026, 11, 24)


def load(records: Path) -> pd.DataFrame:
    return pd.read_csv(records, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    result = generate(600, 11, out)
    return {"result": result, "df": load(result["records"])}


def test_cli_writes_a_drop(tmp_path, capsys):
    assert main(["--patients", "5", "--seed", "2", "--out", str(tmp_path), "--drop-name", "2025-01-31T0200"]) == 0
    drop = tmp_path / "2025-01-31T0200"
    assert (drop / "SSC_DATA_2025-01-31_0200.csv").exists()
    assert (drop / "SSC_DataDictionary_2025-01-31.csv").exists()
    assert "wrote" in capsys.readouterr().out
    # the export date bounds every date of the export
    df = load(drop / "SSC_DATA_2025-01-31_0200.csv")
    dates = [c for c in df.columns if c.endswith("_date") or c == "dob"]
    assert all(v < "2025-01-31" for c in dates for v in df[c] if v)


def test_export_date_option(tmp_path):
    result = generate(3, 1, tmp_path, export_date="2024-06-30")
    assert result["records"].parent.name == "2024-06-30T0200"
    assert result["records"].name == "SSC_DATA_2024-06-30_0200.csv"


def test_deterministic_for_a_seed(tmp_path):
    a = generate(40, 5, tmp_path / "a", defects=True, bom=True)
    b = generate(40, 5, tmp_path / "b", defects=True, bom=True)
    c = generate(40, 6, tmp_path / "c")
    assert a["records"].read_bytes() == b["records"].read_bytes()
    assert a["defects_file"].read_bytes() == b["defects_file"].read_bytes()
    assert a["records"].read_bytes() != c["records"].read_bytes()
    assert a["records"].read_bytes().startswith(b"\xef\xbb\xbf")


def test_patient_does_not_depend_on_cohort_size(tmp_path):
    small = load(generate(5, 9, tmp_path / "s")["records"])
    large = load(generate(20, 9, tmp_path / "l")["records"])
    assert small.equals(large[large.record_id.isin(small.record_id.unique())].reset_index(drop=True))


def test_canaries(tmp_path):
    result = generate(30, 4, tmp_path, canaries=True, defects=True)
    df = load(result["records"])
    enrol = df[df.mrn != ""]
    assert enrol.mrn.str.fullmatch(r"CANARYMRN\d+").all()
    assert enrol.patient_name.str.fullmatch(r"Canaryname Zq\d+").all()
    assert enrol.phone.str.fullmatch(r"\+99 CANARY \d+").all()
    text = result["defects_file"].read_text()
    assert "CANARY" not in text.upper()
    plain = load(generate(30, 4, tmp_path / "plain")["records"])
    assert not plain.mrn.str.contains("CANARY").any()


def test_identifiers_look_real(cohort):
    df = cohort["df"]
    enrol = df[df.enrollment_date != ""]
    assert enrol.mrn.str.fullmatch(r"HN\d{7}").all()
    dob = pd.to_datetime(enrol.dob)
    assert dob.min() >= pd.Timestamp("1950-01-01") and dob.max() <= pd.Timestamp("1995-12-31")
    assert enrol.patient_name.str.contains(" ").all()


def test_cohort_is_realistic(cohort):
    df = cohort["df"]
    enrol = df[df.enrollment_date != ""]
    n = len(enrol)
    assert n == 600
    assert 0.5 < (enrol.ild_baseline == "1").mean() < 0.7
    assert 0.13 < (enrol.pah_baseline == "1").mean() < 0.27
    vital = df[df.redcap_event_name == "end_of_follow_up_arm_1"]
    assert len(vital) == n
    assert set(vital.vital_status) == {"1", "2", "3"}
    dead = vital[vital.vital_status == "2"]
    assert (dead.death_date != "").all() and (dead.death_cause != "").all()
    assert (vital[vital.vital_status != "2"].death_date == "").all()
    # enrolment over years: many patients administratively censored before 5 years
    inf = df[df.redcap_repeat_instrument == "infusion"]
    day0 = pd.to_datetime(inf.groupby("record_id").infusion_date.min())
    follow = (pd.Timestamp(EXPORT) - day0).dt.days / 365.25
    assert follow.min() < 1 and follow.max() > 6 and (follow < 5).mean() > 0.3
    assert inf.groupby("record_id").size().max() >= 3
    # ~8 % deaths by 5 years (Kaplan-Meier)
    from lifelines import KaplanMeierFitter

    v = vital.set_index("record_id")
    end = pd.to_datetime(v.death_date.where(v.death_date != "", v.last_contact_date))
    years = (end - day0.reindex(v.index)).dt.days / 365.25
    s5 = KaplanMeierFitter().fit(years, v.vital_status == "2").survival_function_at_times(5.0).iloc[0]
    assert 0.86 < s5 < 0.97


def test_skin_scores_and_echo_are_consistent(cohort):
    df = cohort["df"]
    skin = df[df.mrss_date != ""]
    sites = [c for c in df.columns if c.startswith("mrss_") and c not in ("mrss_date", "mrss_total")]
    full = skin[(skin[sites] != "").all(axis=1)]
    assert (full[sites].astype(int).sum(axis=1) == full.mrss_total.astype(int)).all()
    assert ((skin.mrss_total != "") & (skin.mrss_face == "")).any()  # retrospective total-only entries
    echo = df[df.echo_pasp_mmhg != ""]
    rap = echo.echo_pasp_mmhg.astype(float) - 4 * echo.echo_trv_ms.astype(float) ** 2
    assert rap.between(4, 11).all()
    hrct = df[df.hrct_date != ""]
    assert (hrct[hrct.redcap_event_name == "baseline_arm_1"].hrct_change == "").all()
    assert (hrct.hrct_change != "").any() and ((hrct.hrct_change == "") & (hrct.hrct_extent_pct != "")).any()
    ae = df[df.redcap_repeat_instrument == "adverse_event"]
    assert ae.ae_relation.isin(["1", "2"]).mean() > 0.85 and ae.ae_relation.isin(["3", "4"]).any()


def test_mrss_falls_on_average(cohort):
    df = cohort["df"]
    skin = df[(df.mrss_total != "") & df.redcap_event_name.isin(["baseline_arm_1", "month_12_arm_1",
                                                                 "month_60_arm_1"])]
    means = skin.groupby("redcap_event_name").mrss_total.apply(lambda s: s.astype(int).mean())
    assert means["baseline_arm_1"] > means["month_12_arm_1"] > means["month_60_arm_1"]


def test_some_assessments_under_the_wrong_event(cohort):
    df = cohort["df"]
    skin = df[(df.mrss_date != "") & df.redcap_event_name.str.startswith("month_")]
    inf = df[df.redcap_repeat_instrument == "infusion"]
    day0 = pd.to_datetime(inf.groupby("record_id").infusion_date.min())
    day = (pd.to_datetime(skin.mrss_date) - day0.reindex(skin.record_id).values).dt.days
    target = skin.redcap_event_name.str.extract(r"month_(\d+)")[0].astype(int).map(
        {1: (1, 60), 3: (61, 136), 6: (137, 273), 12: (274, 547), 24: (548, 912), 36: (913, 1277),
         48: (1278, 1642), 60: (1643, 2007)})
    inside = [lo <= d <= hi for d, (lo, hi) in zip(day, target)]
    assert 0 < inside.count(False) < 0.05 * len(inside)


def test_two_thousand_patients_with_defects_are_generated(tmp_path):  # its speed is make bench's
    result = generate(2000, 1, tmp_path, defects=True)
    assert result["rows"] > 15000


def test_canaries_change_identifiers_only(tmp_path):
    plain = load(generate(25, 8, tmp_path / "p")["records"])
    canary = load(generate(25, 8, tmp_path / "c", canaries=True)["records"])
    others = [c for c in plain.columns if c not in ("mrn", "patient_name", "phone")]
    assert plain[others].equals(canary[others])
    assert not plain.mrn.equals(canary.mrn)


def test_a_registry_has_one_mrn_per_patient():
    """Random 7-digit MRNs would repeat about 20 times in 20,000 patients: one patient in two records to the
    pipeline (gate one_record_per_patient)."""
    from study.cohort import registry_mrn

    mrns = {registry_mrn(2000, i) for i in range(1, 100_001)}
    assert len(mrns) == 100_000 and all(len(m) == 9 and m.startswith("HN") for m in mrns)
