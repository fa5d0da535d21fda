"""Small hand-built inputs for the report tests: outcomes in the contract's shapes (numbers of the published
paper), mart frames with the architecture's columns, findings in the findings schema."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

TIMEPOINTS = [("baseline", 0), ("month_12", 365), ("month_36", 1095), ("month_60", 1825)]


def contract_outcomes() -> dict:
    return {
        "overall_survival": {
            "n": 41, "deaths": 3, "median_years": None,
            "estimates": [
                {"year": 1, "survival": 1.0, "ci_lower": 1.0, "ci_upper": 1.0, "at_risk": 41},
                {"year": 3, "survival": 0.9512195121951219, "ci_lower": 0.8191, "ci_upper": 0.9875, "at_risk": 39},
                {"year": 5, "survival": 0.926829268292683, "ci_lower": 0.7892, "ci_upper": 0.9757, "at_risk": 38},
            ],
        },
        "mrss": {
            "by_timepoint": [
                {"timepoint": "month_12", "n": 41, "mean": 13.95, "sd": 8.49, "median": 12.0},
                {"timepoint": "baseline", "n": 41, "mean": 18.68, "sd": 7.26, "median": 18.0},
                {"timepoint": "month_36", "n": 38, "mean": 13.29, "sd": 7.67, "median": 12.5},
                {"timepoint": "month_60", "n": 38, "mean": 12.39, "sd": 8.49, "median": 11.0},
            ],
            "change_from_baseline": [
                {"timepoint": "month_12", "n_paired": 41, "mean_change": -4.73, "sd_change": 5.1,
                 "t_test_p": 0.00002, "wilcoxon_p": 0.00004},
                {"timepoint": "month_60", "n_paired": 38, "mean_change": -6.2, "sd_change": 6.0,
                 "t_test_p": 0.0123456, "wilcoxon_p": 0.02},
            ],
        },
        "hrct_ild": {"n_ild": 27, "n_evaluable": 25, "improved": 6, "stable": 12, "worsened": 7,
                     "improved_or_stable_pct": 72.0},
        "pah": {"n": 8, "stable": 5, "worsened": 2, "not_evaluable": 1},
        "haq_di": {"by_timepoint": [{"timepoint": "baseline", "n": 40, "mean": 1.2, "sd": 0.6, "median": 1.1},
                                    {"timepoint": "month_60", "n": 36, "mean": 0.9, "sd": 0.5, "median": 0.8}]},
        "vascular": {
            "rcs_by_timepoint": [{"timepoint": "baseline", "n": 41, "mean": 5.1, "sd": 2.0, "median": 5.0},
                                 {"timepoint": "month_60", "n": 38, "mean": 3.2, "sd": 1.8, "median": 3.0}],
            "digital_ulcers_by_timepoint": [{"timepoint": "baseline", "n": 41, "patients_with_active_ulcers": 12},
                                            {"timepoint": "month_60", "n": 38, "patients_with_active_ulcers": 4}],
        },
        "adverse_events": {"n_events": 30, "n_patients": 15, "serious": 4, "related": 0,
                           "by_grade": {"1": 18, "2": 8, "3": 3, "4": 0, "5": 1}},
    }


def extra_outcomes() -> dict:
    """The extras in the shapes analysis/ produces (table1 as {n, rows}, lung_function with flat keys)."""
    return {
        "table1": {"n": 41, "rows": [
            {"characteristic": "Patients", "value": "41", "n": 41, "raw": {"count": 41}},
            {"characteristic": "Female", "value": "37 (90.2%)", "n": 41, "raw": {"count": 37}},
            {"characteristic": "Age (years)", "value": "41.2 (10.3); median 40 (33–49)", "n": 41, "raw": {}}]},
        "mrss_mixed_model": {
            "n_observations": 158, "n_patients": 41, "converged": True, "warnings": [],
            "random_intercept_variance": 40.1, "residual_variance": 12.3,
            "fixed_effects": [
                {"term": "intercept", "estimate": 18.1, "std_error": 1.1, "ci_lower": 15.9, "ci_upper": 20.3,
                 "p_value": 1e-20},
                {"term": "time_years", "estimate": -1.2, "std_error": 0.2, "ci_lower": -1.6, "ci_upper": -0.8,
                 "p_value": 0.0004}],
            "by_timepoint": {"estimates": [
                {"timepoint": "baseline", "n_observations": 41, "estimate": 18.6, "std_error": 1.1,
                 "ci_lower": 16.4, "ci_upper": 20.8}]}},
        "mrss_responders": [{"timepoint": "month_60", "n_paired": 38, "improved": 20, "stable": 14, "progressed": 4,
                             "improved_pct": 52.63, "progressed_pct": 10.5}],
        "lung_function": {
            "fvc_by_timepoint": [{"timepoint": "baseline", "n": 41, "mean": 78.0, "sd": 14.0, "median": 77.0},
                                 {"timepoint": "month_60", "n": 30, "mean": 75.5, "sd": 13.0, "median": 74.0}],
            "fvc_change_from_baseline": [{"timepoint": "month_60", "n_paired": 30, "mean_change": -2.5,
                                          "sd_change": 6.0, "t_test_p": 0.03, "wilcoxon_p": 0.04}],
            "dlco_by_timepoint": [{"timepoint": "baseline", "n": 40, "mean": 61.0, "sd": 15.0, "median": 60.0}],
            "dlco_change_from_baseline": [],
            "ild_progression": {"n_ild": 27, "by_timepoint": [
                {"timepoint": "month_12", "n_evaluable": 20, "progression": 3, "no_progression": 15,
                 "indeterminate": 2}],
                "latest": {"n_evaluable": 22, "progression": 5, "no_progression": 15, "indeterminate": 2},
                "patients": [{"record_id": "1", "timepoint": "month_12", "category": "progression"}]}},
        "cohort_flow": {"enrolled": 43, "infused": 41, "deaths": 3, "lost_to_follow_up": 1,
                        "assessed_by_timepoint": [{"timepoint": "baseline", "n_any": 41, "n_mrss": 41},
                                                  {"timepoint": "month_60", "n_any": 38, "n_mrss": 38}],
                        "median_follow_up_years": 5.4, "median_follow_up_method": "reverse Kaplan-Meier",
                        "median_observation_years": 5.2},
    }


def make_marts(n: int = 12, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [str(i + 1) for i in range(n)]
    day0 = pd.Timestamp("2018-01-15")
    adsl = pd.DataFrame({
        "record_id": ids, "subject_pseudonym": [f"{i:064x}" for i in range(n)],
        "sex": ["Female" if i % 6 else "Male" for i in range(n)], "age_years": rng.integers(25, 60, n),
        "ssc_subtype": ["Diffuse cutaneous SSc" if i % 3 else "Limited cutaneous SSc" for i in range(n)],
        "day0_date": day0, "n_infusions": 2, "disease_duration_years": rng.uniform(1, 8, n),
        "ild_baseline": [i % 2 == 0 for i in range(n)], "pah_baseline": [i % 5 == 0 for i in range(n)],
        "ab_scl70": [i % 3 != 0 for i in range(n)],
        "vital_status": ["Dead" if i in (2, 7) else "Alive" for i in range(n)],
        "death_date": [day0 + pd.Timedelta(days=500 + 300 * i) if i in (2, 7) else pd.NaT for i in range(n)],
        "death_cause": ["Infection" if i in (2, 7) else None for i in range(n)],
        "death_treatment_related": [False if i in (2, 7) else None for i in range(n)],
        "lost_to_follow_up": [i == 9 for i in range(n)],
        "baseline_mrss": rng.normal(18, 7, n).round(),
    })
    adtte = pd.DataFrame({"record_id": ids, "param": "OS", "day0_date": day0})
    days = [500 + 300 * i if i in (2, 7) else (900 if i == 9 else 1900 + 10 * i) for i in range(n)]
    adtte["time_days"] = days
    adtte["time_years"] = adtte["time_days"] / 365.25
    adtte["event"] = [1 if i in (2, 7) else 0 for i in range(n)]
    adtte["censor_reason"] = ["death" if e else "last contact" for e in adtte["event"]]
    rows = []
    for i, rid in enumerate(ids):
        base = {"mrss_total": rng.normal(19, 7), "haq_di": rng.uniform(0.3, 2.2), "rcs": rng.uniform(2, 8),
                "fvc_pct_pred": rng.normal(78, 12), "dlco_pct_pred": rng.normal(60, 12),
                "medsger_pv": float(rng.integers(0, 4))}
        for k, (tp, target) in enumerate(TIMEPOINTS):
            if days[i] < target:
                break
            for param, b in base.items():
                value = b if param == "medsger_pv" else b * (1 - 0.06 * k) + rng.normal(0, 1)
                if param == "mrss_total":
                    value = float(np.clip(round(value), 0, 51))
                rows.append({"record_id": rid, "param": param, "instrument": "x", "source_row": 2 + len(rows),
                             "timepoint": tp, "study_day": target, "analysed": True, "value": value})
    adbds = pd.DataFrame(rows)
    adae = pd.DataFrame({
        "record_id": ["1", "1", "3", "4", "8"], "source_row": [90, 91, 92, 93, 94], "repeat_instance": [1, 2, 1, 1, 1],
        "ae_term": ["Pneumonia", "Headache <severe> & \"odd\"", "Fever", "Rash", "Sepsis"],
        "onset_study_day": [100, 200, 30, 400, 800], "ae_grade": [3, 1, 2, 1, 5],
        "ae_serious": [True, False, False, False, True], "ae_relation": [1, 2, 1, 2, 1],
        "related": [False] * 5, "ae_outcome": [1, 1, 1, 1, 5]})
    adex = pd.DataFrame({"record_id": [r for r in ids for _ in (1, 2)], "repeat_instance": [1, 2] * n,
                         "infusion_reaction": [i == 3 for i in range(2 * n)]})
    return {"adsl": adsl, "adtte": adtte, "adbds": adbds, "adae": adae, "adex": adex}


def make_findings(n_records: int = 5, per_record: int = 3) -> pd.DataFrame:
    from quality.findings import Finding, findings_frame

    items = [Finding(rule="records_header", severity="error", category="conformance",
                     message="Column 'foo' is not in the dictionary", action="none",
                     hint="Re-export with the current dictionary")]
    for r in range(1, n_records + 1):
        for k in range(per_record if r != 2 else per_record + 3):
            items.append(Finding(
                rule="value_range" if k % 2 else "date_order", severity="error" if (k + r) % 3 else "warning",
                category="plausibility" if k % 2 else "conformance", message=f"Value out of range ({k})",
                action="nulled" if k % 2 else "none", record_id=str(r), event="month_12_arm_1",
                instrument="skin_score", instance=None, field="mrss_total", value=f"{60 + k}",
                source_row=10 * r + k, hint="Correct mrss_total in REDCap (0–51)"))
    items.append(Finding(rule="xss", severity="error", category="conformance", message="<script>alert(1)</script>",
                         action="quarantined", record_id="<b>9</b>", field="x", value="<img src=x onerror=alert(1)>",
                         hint="check"))
    return findings_frame(items)


def make_reconciliation() -> pd.DataFrame:
    return pd.DataFrame([
        {"drop_id": "2026-11-24T0200", "instrument": None, "export_rows": 500, "loaded_rows": 497,
         "quarantined_rows": 3},
        {"drop_id": "2026-11-24T0200", "instrument": "skin_score", "export_rows": 120, "loaded_rows": 119,
         "quarantined_rows": 1},
    ])


PROVENANCE = {"drop_id": "2026-11-24T0200", "records_file": "SScUMSCT_DATA_2026-11-24_0200.csv",
              "records_sha256": "ab" * 32, "run_id": "run-1234", "code_version": "0e4ef04",
              "generated_at": "2026-11-24T03:12:00+00:00"}


@pytest.fixture
def outcomes() -> dict:
    return copy.deepcopy({**contract_outcomes(), **extra_outcomes()})


@pytest.fixture
def marts() -> dict[str, pd.DataFrame]:
    return make_marts()


@pytest.fixture
def quality() -> dict:
    return {"findings": make_findings(), "reconciliation": make_reconciliation(),
            "gate_results": [{"gate": "conformance", "passed": True, "message": "ok"}]}


@pytest.fixture
def provenance() -> dict:
    return dict(PROVENANCE)


ALLOWED_LINKS = ("steward.html", "../data_docs/index.html")


def assert_self_contained(html: str) -> None:
    """Nothing in the page points to a network address: no http(s) URL anywhere in the text, and in the parsed
    markup every src / href / srcset / action / url() is a data: URI, a #fragment or one of the two relative
    report links; no <link>, <iframe>, <object>, <embed>, <base>, external script or @import."""
    import re
    from html.parser import HTMLParser

    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered

    def check_url(target: str) -> None:
        target = target.strip()
        assert not target.startswith("//"), target
        assert target.startswith(("data:", "#")) or target in ALLOWED_LINKS, f"external reference: {target!r}"

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.in_style = False

        def handle_starttag(self, tag, attrs):
            assert tag not in ("link", "iframe", "object", "embed", "base", "frame"), tag
            for name, value in attrs:
                name = name.lower()
                if name in ("src", "href", "xlink:href", "srcset", "poster", "action", "formaction", "data"):
                    check_url(value or "")
                if name == "style":
                    self.check_css(value or "")
            if tag == "script":
                assert not any(n.lower() == "src" for n, _ in attrs), "scripts must be inline"
            self.in_style = tag == "style"

        def handle_endtag(self, tag):
            self.in_style = False

        def handle_data(self, data):
            if self.in_style:
                self.check_css(data)

        @staticmethod
        def check_css(css: str) -> None:
            for match in re.finditer(r"url\(\s*['\"]?([^'\")\s]*)", css, re.I):
                assert match.group(1).startswith(("#", "data:")), f"external url(): {match.group(1)!r}"

    parser = Parser()
    parser.feed(html)
    parser.close()
