"""Small hand-built inputs for the report tests: an analysis results dataset written by hand (the published
paper's figures), mart frames with the architecture's columns, findings in the findings schema."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import ard

TIMEPOINTS = [("baseline", 0), ("month_12", 365), ("month_36", 1095), ("month_60", 1825)]


def _rows(analysis: str, rows: list[tuple]) -> list[dict]:
    """(statistic, value, keys) → ARD rows of one analysis (source 'hand-written')."""
    return [ard.row(analysis, statistic, value, source="hand-written", **keys) for statistic, value, keys in rows]


def _summaries(parameter: str, table: dict) -> list[tuple]:
    """{timepoint: (n, mean, sd, median)} → summary rows."""
    return [(s, v, {"parameter": parameter, "timepoint": tp, "n": values[0]})
            for tp, values in table.items() for s, v in zip(("n", "mean", "sd", "median"), values)]


def _counts(denominator: int, counts: dict, **keys) -> list[tuple]:
    return [row for group, k in counts.items()
            for row in (("n", k, {**keys, "group": group, "n": denominator}),
                        ("pct", 100.0 * k / denominator, {**keys, "group": group, "n": denominator}))]


def paper_ard() -> pd.DataFrame:
    """A fixed, small ARD written by hand with the published paper's figures (Alip et al. 2024), every analysis
    the report prints, including a three-step survival curve and a deaths listing."""
    os_, mrss, p = {"parameter": "OS"}, {"parameter": "mrss_total"}, {"parameter": "hrct_change"}
    pah_, du, med = {"parameter": "echo_pasp_mmhg"}, {"parameter": "du_active_count"}, {"parameter": "medsger_pv"}
    rows = _rows("overall_survival", [
        ("n", 41, os_), ("deaths", 3, os_), ("n_excluded", 0, os_), ("median_years", None, os_),
        *[(s, v, {**os_, "timepoint": f"year_{y}"}) for y, values in
          {1: (1.0, 1.0, 1.0, 41), 3: (0.9512195121951219, 0.8191, 0.9875, 39),
           5: (0.926829268292683, 0.7892, 0.9757, 38)}.items()
          for s, v in zip(("survival", "ci_lower", "ci_upper", "at_risk"), values)]])
    rows += _rows("overall_survival_curve", [
        *[(s, v, {**os_, "group": str(i)}) for i, values in enumerate(
            [(0.0, 1.0, 1.0, 1.0, 41, 0), (1.4, 0.9756, 0.8392, 0.9966, 41, 0), (2.9, 0.9512, 0.8191, 0.9875, 40, 0),
             (4.6, 0.9268, 0.7892, 0.9757, 39, 1), (5.8, 0.9268, 0.7892, 0.9757, 38, 38)])
          for s, v in zip(("time_years", "survival", "ci_lower", "ci_upper", "at_risk", "n_censored"), values)],
        *[(s, v, {**os_, "timepoint": f"year_{y}"}) for y, (k, d) in
          enumerate([(41, 0), (41, 0), (40, 1), (39, 2), (39, 2), (38, 3)])
          for s, v in (("at_risk", k), ("deaths", d))]])
    rows += _rows("deaths", [(s, v, {"group": rid}) for rid, values in
                             {"SSC-0007": (True, 1.4, "Pneumonia", False), "SSC-0019": (True, 2.9, None, None),
                              "SSC-0031": (True, 4.6, "Sudden cardiac death", True)}.items()
                             for s, v in zip(("placed", "time_years", "cause", "treatment_related"), values)])
    rows += _rows("mrss", _summaries("mrss_total", {
        "baseline": (41, 18.6829, 7.2561, 18.0), "month_12": (41, 13.95, 8.49, 12.0),
        "month_36": (38, 13.29, 7.67, 12.5), "month_60": (38, 12.39, 8.49, 11.0)}) + [
        (s, v, {**mrss, "timepoint": tp, "n": values[0]}) for tp, values in
        {"month_12": (41, -4.73, 5.1, 0.00002, 0.00004), "month_60": (38, -6.2, 6.0, 0.0123456, 0.02)}.items()
        for s, v in zip(("n_paired", "mean_change", "sd_change", "t_test_p", "wilcoxon_p"), values)])
    rows += _rows("hrct_ild", [("n", 27, p), *_counts(27, {"evaluable": 25, "not_evaluable": 2}, **p),
                               *_counts(25, {"improved": 6, "stable": 12, "worsened": 7, "uncategorised": 0}, **p),
                               *_counts(25, {"improved_or_stable": 18}, **p)])
    rows += _rows("pah", [("n", 8, pah_), *_counts(8, {"evaluable": 7, "not_evaluable": 1}, **pah_),
                          *_counts(7, {"stable": 5, "worsened": 2}, **pah_)])
    rows += _rows("haq_di", _summaries("haq_di", {"baseline": (40, 1.2, 0.6, 1.125), "month_60": (36, 0.9, 0.5, 0.8)}))
    rows += _rows("vascular", _summaries("rcs", {"baseline": (41, 5.1, 2.0, 5.0), "month_60": (38, 3.2, 1.8, 3.0)}) + [
        row for tp, (n, k) in {"baseline": (41, 12), "month_60": (38, 4)}.items()
        for row in (("n", n, {**du, "timepoint": tp}), *_counts(n, {"active": k}, **du, timepoint=tp))] + [
        row for tp, (n, grades) in {"baseline": (40, {"0": 2, "1": 17, "2": 11, "3": 10, "4": 0})}.items()
        for row in (("n", n, {**med, "timepoint": tp}), *_counts(n, grades, **med, timepoint=tp))])
    events = {"AESER": {"serious": (4, 3, 1.8), "not_serious": (26, 14, 11.7), "not_recorded": (0, 0, 0.0)},
              "AREL": {"related": (0, 0, 0.0), "not_related": (30, 15, 13.47)},
              "AETOXGR": {"1": (18, 11, 8.08), "2": (8, 6, 3.59), "3": (3, 3, 1.35), "4": (0, 0, 0.0),
                           "5": (1, 1, 0.45), "not_recorded": (0, 0, 0.0)},
              "AERELN": {"1": (20, 12, 8.98), "2": (10, 7, 4.49), "3": (0, 0, 0.0), "4": (0, 0, 0.0),
                              "5": (0, 0, 0.0), "not_recorded": (0, 0, 0.0)},
              "AEOUTN": {"1": (27, 13, 12.13), "5": (1, 1, 0.45), "not_recorded": (2, 2, 0.9)}}
    rows += _rows("adverse_events", [
        ("n_events", 30, {}), ("n_patients", 15, {}), ("patient_years", 222.64476, {}),
        ("pct_patients", 100 * 15 / 41, {"n": 41}), ("rate_per_100py", 13.474, {}),
        *[(s, v, {"parameter": parameter, "group": g}) for parameter, table in events.items()
          for g, values in table.items() for s, v in zip(("n_events", "n_patients", "rate_per_100py"), values)],
        *[("pct_patients", 100 * values[1] / 41, {"parameter": parameter, "group": g, "n": 41})
          for parameter, table in events.items() for g, values in table.items()],
        ("n_infusions", 67, {"parameter": "infusion_reaction"}), ("n_patients", 41, {"parameter": "infusion_reaction"}),
        ("n_infusions", 3, {"parameter": "infusion_reaction", "group": "reaction", "n": 67}),
        ("pct_infusions", 100 * 3 / 67, {"parameter": "infusion_reaction", "group": "reaction", "n": 67}),
        ("n_patients", 3, {"parameter": "infusion_reaction", "group": "reaction", "n": 41}),
        ("pct_patients", 100 * 3 / 41, {"parameter": "infusion_reaction", "group": "reaction", "n": 41})])
    rows += _rows("adverse_event_listing", [
        (s, v, {"group": "SSC-0003/month_12_arm_1/1"}) for s, v in
        (("record_id", "SSC-0003"), ("term", "Pneumonia <severe>"), ("onset_study_day", 400), ("ae_grade", 3),
         ("serious", True), ("ae_relation", 1), ("ae_outcome", 1))])
    rows += _rows("table1", [
        ("label", "Patients", {"n": 41}), ("count", 41, {"n": 41}),
        *[(s, v, {"parameter": "AGE", "n": 41}) for s, v in
          (("label", "Age (years)"), ("n", 41), ("mean", 41.2345), ("sd", 10.2961), ("median", 40.0), ("q1", 33.0),
           ("q3", 49.0))],
        *[(s, v, {"parameter": "SEX", "group": "F", "n": 41}) for s, v in
          (("label", "Female"), ("count", 37), ("denominator", 41), ("pct", 100 * 37 / 41))]])
    model, by_tp = {"parameter": "mrss_total"}, {"parameter": "mrss_total"}
    rows += _rows("mrss_mixed_model", [
        ("n_observations", 158, model), ("n_patients", 41, model), ("random_intercept_variance", 40.1, model),
        ("residual_variance", 12.3, model), ("converged", True, model),
        *[(s, v, {**model, "group": term, "n": 158}) for term, values in
          {"intercept": (18.1, 1.1, 15.9, 20.3, 1e-20), "time_years": (-1.2, 0.2, -1.6, -0.8, 0.0004)}.items()
          for s, v in zip(("estimate", "std_error", "ci_lower", "ci_upper", "p_value"), values)]])
    rows += _rows("mrss_mixed_model_by_timepoint", [
        ("n_observations", 158, by_tp), ("n_patients", 41, by_tp), ("random_intercept_variance", 40.0, by_tp),
        ("residual_variance", 12.0, by_tp), ("converged", True, by_tp),
        *[(s, v, {**by_tp, "timepoint": "baseline"}) for s, v in
          zip(("n_observations", "estimate", "std_error", "ci_lower", "ci_upper", "n_patients"),
              (42, 18.6, 1.1, 16.4, 20.8, 41))]])
    rows += _rows("mrss_responders", [("n_paired", 38, {**mrss, "timepoint": "month_60"}),
                                      *_counts(38, {"improved": 20, "stable": 14, "progressed": 4}, **mrss,
                                               timepoint="month_60"),
                                      ("n", 41, {**mrss, "timepoint": "month_60"}),
                                      *_counts(41, {"not_evaluable": 3}, **mrss, timepoint="month_60")])
    ild = {"parameter": "ild_progression"}
    rows += _rows("lung_function", _summaries("fvc_pct_pred", {"baseline": (41, 78.0, 14.0, 77.0),
                                                               "month_60": (30, 75.5, 13.0, 74.0)})
                  + _summaries("dlco_pct_pred", {"baseline": (40, 61.0, 15.0, 60.0)}) + [
        (s, v, {"parameter": "fvc_pct_pred", "timepoint": "month_60", "n": 30}) for s, v in
        zip(("n_paired", "mean_change", "sd_change", "t_test_p", "wilcoxon_p"), (30, -2.5, 6.0, 0.03, 0.04))] + [
        ("n", 27, ild), ("n", 20, {**ild, "timepoint": "month_12"}),
        *_counts(20, {"progression": 3, "no_progression": 15, "indeterminate": 2}, **ild, timepoint="month_12"),
        *_counts(27, {"not_evaluable": 7}, **ild, timepoint="month_12"),
        ("n", 22, {**ild, "timepoint": "latest"}),
        *_counts(22, {"progression": 5, "no_progression": 15, "indeterminate": 2}, **ild, timepoint="latest"),
        *_counts(27, {"not_evaluable": 5}, **ild, timepoint="latest")])
    rows += _rows("cohort_flow", [
        ("enrolled", 43, {}), ("infused", 41, {}), ("deaths", 3, {}), ("lost_to_follow_up", 1, {}),
        *[row for tp, (n_any, n_mrss) in {"baseline": (41, 41), "month_60": (38, 38)}.items()
          for row in (("n", n_any, {"timepoint": tp}), ("n", n_mrss, {"parameter": "mrss_total", "timepoint": tp}))],
        ("median_follow_up_years", 5.4, os_), ("median_observation_years", 5.2, os_),
        ("method", "reverse Kaplan-Meier", os_)])
    return ard.frame(rows)


def without(results: pd.DataFrame, *analyses: str) -> pd.DataFrame:
    """The ARD without the rows of the analyses named."""
    return results[~results["analysis"].isin(analyses)].reset_index(drop=True)


def make_marts(n: int = 12, seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [str(i + 1) for i in range(n)]
    day0 = pd.Timestamp("2018-01-15")
    adsl = pd.DataFrame({
        "USUBJID": ids, "subject_pseudonym": [f"{i:064x}" for i in range(n)],
        "SEX": ["F" if i % 6 else "M" for i in range(n)], "AGE": rng.integers(25, 60, n),
        "ssc_subtype": ["Diffuse cutaneous SSc" if i % 3 else "Limited cutaneous SSc" for i in range(n)],
        "TRTSDT": day0, "n_infusions": 2, "disease_duration_years": rng.uniform(1, 8, n),
        "ild_baseline": [i % 2 == 0 for i in range(n)], "pah_baseline": [i % 5 == 0 for i in range(n)],
        "ab_scl70": [i % 3 != 0 for i in range(n)],
        "vital_status": ["Dead" if i in (2, 7) else "Alive" for i in range(n)],
        "DTHFL": ["Y" if i in (2, 7) else None for i in range(n)],
        "DTHDT": [day0 + pd.Timedelta(days=500 + 300 * i) if i in (2, 7) else pd.NaT for i in range(n)],
        "death_date_recorded": [str((day0 + pd.Timedelta(days=500 + 300 * i)).date()) if i in (2, 7) else None
                                for i in range(n)],
        "DTHCAUS": ["Infection" if i in (2, 7) else None for i in range(n)],
        "death_treatment_related": [False if i in (2, 7) else None for i in range(n)],
        "lost_to_follow_up": [i == 9 for i in range(n)],
        "baseline_mrss": rng.normal(18, 7, n).round(),
    })
    adtte = pd.DataFrame({"USUBJID": ids, "PARAMCD": "OS", "STARTDT": day0})
    days = [500 + 300 * i if i in (2, 7) else (900 if i == 9 else 1900 + 10 * i) for i in range(n)]
    adtte["ADY"] = days
    adtte["AVAL"] = adtte["ADY"] / 365.25
    adtte["CNSR"] = [0 if i in (2, 7) else 1 for i in range(n)]
    adtte["EVNTDESC"] = ["death" if c == 0 else "last contact" for c in adtte["CNSR"]]
    adtte["ANL01FL"] = "Y"
    adtte["exclusion_reason"] = None
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
                rows.append({"USUBJID": rid, "PARAMCD": param, "SRCDOM": "x", "SRCSEQ": 2 + len(rows),
                             "AVISIT": tp, "ADY": target, "ANL01FL": "Y",
                             "ABLFL": "Y" if tp == "baseline" else None, "AVAL": value})
    adbds = pd.DataFrame(rows)
    adae = pd.DataFrame({
        "USUBJID": ["1", "1", "3", "4", "8"], "SRCSEQ": [90, 91, 92, 93, 94], "repeat_instance": [1, 2, 1, 1, 1],
        "VISIT": ["month_3_arm_1", "month_6_arm_1", "month_1_arm_1", "month_12_arm_1", "month_24_arm_1"],
        "AETERM": ["Pneumonia", "Headache <severe> & \"odd\"", "Fever", "Rash", "Sepsis"],
        "ASTDY": [100, 200, 30, 400, 800], "AETOXGR": [3, 1, 2, 1, 5],
        "AESER": ["Y", "N", "N", "N", "Y"], "AERELN": [1, 2, 1, 2, 1],
        "AREL": ["NOT RELATED"] * 5, "AEOUTN": [1, 1, 1, 1, 5]})
    adex = pd.DataFrame({"USUBJID": [r for r in ids for _ in (1, 2)], "repeat_instance": [1, 2] * n,
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


ALLOWED_LINKS = ("steward.html", "steward_worklist.csv", "../data_docs/index.html")


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
