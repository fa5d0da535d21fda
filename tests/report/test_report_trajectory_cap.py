"""Large cohorts: the trajectory figure draws a readable subset of patient lines; the mean and n are the
analysis' own, of every patient."""

import pandas as pd

from report.figures import trajectory_figure


def cohort(n: int) -> pd.DataFrame:
    return pd.DataFrame([(f"P{i:04d}", tp, float(i % 30)) for i in range(n) for tp in ("baseline", "month_12")],
                        columns=["record_id", "timepoint", "value"])


def summary(n: int) -> list[dict]:
    return [{"timepoint": tp, "n": n, "mean": 14.5, "sd": 8.7} for tp in ("baseline", "month_12")]


def test_all_lines_below_the_cap():
    svg = trajectory_figure(cohort(40), summary(40), name="small", ylabel="mRSS")
    assert "shown" not in svg and "n=40" in svg


def test_a_subset_of_lines_above_the_cap_with_every_patient_in_the_mean():
    svg = trajectory_figure(cohort(450), summary(450), name="large", ylabel="mRSS", max_lines=200)
    assert "150 of 450 shown" in svg  # every 3rd patient
    assert "n=450" in svg


def test_without_the_analysis_summary_nothing_is_estimated():
    svg = trajectory_figure(cohort(40), None, name="lines", ylabel="mRSS")
    assert "n=40" not in svg and "Mean ± SD" not in svg and "Individual patients" in svg
