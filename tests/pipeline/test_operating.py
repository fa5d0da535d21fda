"""Operating it: the bundled demo runs with no settings at all (no key, no SSC_ALLOW_DEMO_KEY), and the night's
log file is plain text (no colour codes from dbt)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def test_the_demo_runs_on_the_demo_key_without_being_allowed_to(demo_run):
    _, result = demo_run
    lines = result.stdout.strip().splitlines()
    assert any("SSC_PSEUDONYM_KEY is not set" in line for line in lines)
    assert lines[-1].startswith("nightly: published")


def test_the_nights_log_is_plain_text(demo_run):
    home, _ = demo_run
    (log,) = (home / "logs").glob("nightly-*.log")
    text = log.read_text(encoding="utf-8")
    assert " OK loaded seed file " in text  # dbt's progress lines, which carried colour codes, are in it
    assert not ANSI.search(text), ANSI.search(text).group(0)
