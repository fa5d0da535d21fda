"""The settings file: checked whole with errors naming file, key and problem; documented; the one source of the
thresholds the analysis and the quality checks apply."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import settings
from analysis.hrct import categorise_extent_change
from analysis.lung_function import classify_progression
from analysis.pah import pah
from analysis.responders import classify
from analysis.settings import (DOC_HEADER, KINDS, SETTINGS_FILE, SettingsError, documented, load, markdown, shown,
                               soft_limits)
from study.definition import load_study

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
TEXT = SETTINGS_FILE.read_text(encoding="utf-8")
DERIVED_SCORES = {"haq_di"}  # scored in dbt (int_haq_scored), not a dictionary field


def test_the_settings_document_matches_the_file():
    assert DOC.read_text(encoding="utf-8") == DOC_HEADER + markdown() + "\n", (
        "docs/settings.md is stale: run `.venv/bin/python -m analysis.settings > docs/settings.md`")


def test_every_setting_says_its_unit_use_and_a_source_that_is_the_plan_a_reference_or_a_project_choice():
    entries = documented()
    names = [e["name"] for e in entries]
    assert set(KINDS) <= set(names) and len(names) == len(set(names))
    for e in entries:
        assert set(e) == {"name", "value", "unit", "used_for", "source"}
        assert all(str(e[k]).strip() for k in e), e["name"]
        assert (e["source"].startswith(("analysis plan", "project choice"))
                or re.search(r"\b(19|20)\d\d\b", e["source"])), f"{e['name']}: source {e['source']!r}"


def test_soft_limits_are_for_study_fields_and_inside_their_validation_range():
    fields = load_study().by_name
    for name, (low, high, why) in soft_limits().items():
        assert name in fields or name in DERIVED_SCORES, name
        assert why
        field = fields.get(name)
        if field is not None and field.minimum:
            assert float(field.minimum) <= low, name
        if field is not None and field.maximum:
            assert high <= float(field.maximum), name


@pytest.mark.parametrize("value, text", [(5.0, "5"), (0.25, "0.25"), ((1, 3, 5), "1, 3, 5"), ((0, 45), "0–45"),
                                         (("month_12", "month_36"), "month_12, month_36"), ("month_60", "month_60")])
def test_values_are_shown_for_people(value, text):
    assert shown(value) == text


def broken(tmp_path: Path, old: str, new: str) -> Path:
    """The checkout's settings file with one passage changed."""
    assert TEXT.count(old) == 1, old
    path = tmp_path / "analysis_settings.toml"
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path


def test_the_checkout_file_loads_and_lists_lists_as_tuples():
    loaded = load()
    assert loaded["survival.years"].value == (1, 3, 5)
    assert loaded["soft_limits.mrss_total"].why and loaded["soft_limits.mrss_total"].value == (0, 45)


@pytest.mark.parametrize("old, new, message", [
    ('[hrct.extent_change]\nvalue = 5.0', '[hrct.extent_change]\nvalue = "five"',
     "hrct.extent_change: value must be a number greater than 0, not 'five'"),
    ('[responders.min_fraction]\nvalue = 0.25', '[responders.min_fraction]\nvalue = 25',
     "responders.min_fraction: value must be a share greater than 0 and at most 1 (0.25 for 25%), not 25"),
    ('[pah.final_timepoint]\nvalue = "month_60"', '[pah.final_timepoint]\nvalue = "month_61"',
     "pah.final_timepoint: value must be the name of an analysis window"),
    ('[survival.years]\nvalue = [1, 3, 5]', '[survival.years]\nvalue = [1, 5, 3]',
     "survival.years: value must be a list of numbers greater than 0, in increasing order, not [1, 5, 3]"),
    ('[soft_limits.mrss_total]\nvalue = [0, 45]', '[soft_limits.mrss_total]\nvalue = [45, 0]',
     "soft_limits.mrss_total: value must be [low, high]: two numbers, low below high, not [45, 0]"),
    ('[hrct.first_day]\nvalue = 1', '[hrct.first_day]\nvalue = 2008',
     "hrct.first_day: 2008 is not below hrct.last_day 2007"),
    ('[gates.all_rejected_min_filled]\nvalue = 5', '[gates.all_rejected_min_filled]\nvalue = true',
     "gates.all_rejected_min_filled: value must be a whole number, 1 or more, not True"),
    ('unit = "% of the lungs"\n', '',
     "soft_limits.hrct_extent_pct: missing unit"),
    ('[pah.pasp_rise]', '[pah.pasp_limit]', "pah.pasp_limit: not a setting this project reads"),
    ('[mixed_model.min_study_day]\nvalue = -90\n', '[mixed_model.min_study_day]\nvalue = -90\ncomment = "x"\n',
     "mixed_model.min_study_day: unknown key comment"),
    ('[hrct.extent_change]', '[hrct.extent_change', "not valid TOML"),
])
def test_an_unusable_file_names_the_file_the_key_and_the_problem(tmp_path, old, new, message):
    path = broken(tmp_path, old, new)
    with pytest.raises(SettingsError) as raised:
        load(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)  # make run says it in one line: "nightly: not started: …"


def test_a_setting_left_out_is_named(tmp_path):
    start = TEXT.index("[gates.timepoint_min_patients]")
    path = tmp_path / "analysis_settings.toml"
    path.write_text(TEXT[:start] + TEXT[TEXT.index("# ---- clinical soft limits"):], encoding="utf-8")
    with pytest.raises(SettingsError, match=r"gates\.timepoint_min_patients: missing \(each setting"):
        load(path)


def test_value_of_an_unknown_name_fails_naming_it():
    with pytest.raises(SettingsError, match="study/analysis_settings.toml: hrct.nope: no such setting"):
        settings.value("hrct.nope")


# ---- the modules apply the parameters they are given (their defaults come from the file) --------------------


def test_other_thresholds_given_explicitly_are_applied():
    assert categorise_extent_change(6.0) == "worsened"
    assert categorise_extent_change(6.0, threshold=7.0) == "stable"
    # mRSS 20 -> 14: a fall of 6 points, 30% of baseline
    assert classify(20, 14) == "improved"
    assert classify(20, 14, min_points=6) == "stable"  # must exceed 6 strictly
    assert classify(20, 14, min_fraction=0.35) == "stable"
    assert classify_progression(7.0, 16.0) == "progression"
    assert classify_progression(7.0, 16.0, dlco_limit=20.0) == "no_progression"
    assert classify_progression(7.0, None, fvc_minor=8.0) == "no_progression"


def test_pah_reasons_quote_the_thresholds_it_applied():
    import pandas as pd

    adsl = pd.DataFrame({"USUBJID": ["1", "2"], "pah_baseline": [True, True]})
    adbds = pd.DataFrame({"USUBJID": ["1", "1", "2", "2"], "PARAMCD": "echo_pasp_mmhg",
                          "AVISIT": ["baseline", "month_60"] * 2, "ADY": [0, 1825] * 2,
                          "AVAL": [40.0, 52.0, 40.0, 45.0], "ANL01FL": "Y"})
    adtte = pd.DataFrame({"USUBJID": ["1", "2"], "PARAMCD": "OS", "AVAL": [6.0, 6.0], "CNSR": [1, 1],
                          "ANL01FL": "Y", "exclusion_reason": None})
    default = {p["record_id"]: (p["category"], p["reason"]) for p in pah(adsl, adbds, adtte)["patients"]}
    assert default == {"1": ("worsened", "PASP rise ≥ 10 mmHg"), "2": ("stable", "PASP rise < 10 mmHg")}
    wider = {p["record_id"]: (p["category"], p["reason"]) for p in pah(adsl, adbds, adtte, rise_limit=15)["patients"]}
    assert wider == {"1": ("stable", "PASP rise < 15 mmHg"), "2": ("stable", "PASP rise < 15 mmHg")}
