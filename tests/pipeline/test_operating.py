"""Operating it: the bundled demo runs with no settings at all (no key, no SSC_ALLOW_DEMO_KEY), and the night's
log file is plain text (no colour codes from dbt); SSC_HOME is owner-only."""

from __future__ import annotations

import re
import stat

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


def test_ssc_home_is_readable_by_its_owner_only(demo_run):
    """Pseudonymised data and the run history: the home 0700, everything in it without group or other access."""
    home, _ = demo_run
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    shared = [p for p in home.rglob("*") if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert not shared, shared[:5]
    assert stat.S_IMODE((home / "warehouse.duckdb").stat().st_mode) == 0o600
