"""Atomic publishing: complete file or the old one, never a partial write or a stray temp file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from report.publish import publish_files, publish_json, publish_text


def test_publish_text_replaces_atomically(tmp_path):
    target = tmp_path / "reports" / "report.html"
    publish_text(target, "<p>one</p>")
    publish_text(target, "<p>two – ü</p>")
    assert target.read_text(encoding="utf-8") == "<p>two – ü</p>"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    assert target.stat().st_mode & 0o044  # readable by others, not left at mkstemp's 0600


def test_publish_json_sorted_indented_and_strict(tmp_path):
    target = tmp_path / "outcomes.json"
    publish_json(target, {"b": 1, "a": {"d": np.float64(0.5), "c": np.int64(2)}, "z": None})
    text = target.read_text(encoding="utf-8")
    assert text == json.dumps({"a": {"c": 2, "d": 0.5}, "b": 1, "z": None}, indent=2, sort_keys=True) + "\n"

    for bad in ({"x": math.nan}, {"x": np.float64("inf")}, {"x": object()}):
        with pytest.raises((ValueError, TypeError)):
            publish_json(target, bad)
        assert json.loads(target.read_text(encoding="utf-8"))["b"] == 1  # the old file is intact
        assert sorted(p.name for p in tmp_path.iterdir()) == ["outcomes.json"]


def test_failure_during_replace_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "steward.html"
    publish_text(target, "old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("report.publish.os.replace", boom)
    with pytest.raises(OSError):
        publish_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["steward.html"]


def test_files_published_together_are_all_replaced_or_none(tmp_path, monkeypatch):
    json_path, csv_path = tmp_path / "outcomes.json", tmp_path / "ard.csv"
    publish_files({json_path: "{}\n", csv_path: "a,b\n"})
    assert (json_path.read_text(), csv_path.read_text()) == ("{}\n", "a,b\n")

    with pytest.raises(UnicodeEncodeError):  # the second text fails before any target is touched
        publish_files({json_path: '{"new": 1}\n', csv_path: "\udcff"})
    assert (json_path.read_text(), csv_path.read_text()) == ("{}\n", "a,b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ard.csv", "outcomes.json"]
