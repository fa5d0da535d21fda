from report import formatting as fmt


def test_presentation():
    assert fmt.auto(True) == "Yes" and fmt.auto(3) == "3" and fmt.auto(2.675) == "2.68" and fmt.auto(None) == "–"
    assert fmt.auto("demo") == "demo"
    assert fmt.humanize("pseudonym_key_is_demo") == "Pseudonym key is demo"
    assert fmt.humanize("plausibility") == "Plausibility"


def test_timepoints():
    assert fmt.timepoint_label("baseline") == "Baseline"
    assert fmt.timepoint_label("month_12") == "Month 12"
    assert fmt.timepoint_label(None) == "Outside every window"
    assert fmt.sort_timepoints(["month_60", "month_3", "baseline", "month_12", None]) == [
        "baseline", "month_3", "month_12", "month_60"]
    assert sorted(["10", "2", "1"], key=fmt.natural_key) == ["1", "2", "10"]
