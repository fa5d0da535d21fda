from report import formatting as fmt


def test_formats():
    assert fmt.prop_pct(0.926829268) == "92.7%"
    assert fmt.pct(72.0) == "72.0%"
    assert fmt.mean_sd(18.6829, 7.2561) == "18.68 (7.26)"
    assert fmt.mean_sd(None, 1) == "–"
    assert fmt.pvalue(0.0004) == "<0.001" and fmt.pvalue(0.001) == "0.001" and fmt.pvalue(0.04567) == "0.046"
    assert fmt.pvalue(float("nan")) == "–"
    assert fmt.n_pct(18, 25) == "18 (72.0%)" and fmt.n_pct(0, 0) == "0"
    assert fmt.ci(0.789, 0.976, proportion=True) == "78.9–97.6"


def test_timepoints():
    assert fmt.timepoint_label("baseline") == "Baseline"
    assert fmt.timepoint_label("month_12") == "Month 12"
    assert fmt.timepoint_label(None) == "Outside every window"
    assert fmt.sort_timepoints(["month_60", "month_3", "baseline", "month_12", None]) == [
        "baseline", "month_3", "month_12", "month_60"]
    assert sorted(["10", "2", "1"], key=fmt.natural_key) == ["1", "2", "10"]
