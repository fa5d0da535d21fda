"""The outcomes of the demo drop and of a generated 2,000-patient drop are those pinned in ``pinned/``.

The demo comparison reuses the session's demo run. The 2,000-patient run takes about a minute, so it is marked
``registry`` and runs in ``make test-registry`` (CI runs it after ``make test``).

    python tests/pipeline/test_outcomes_pinned.py --repin DEMO_HOME REGISTRY_HOME   # re-pin (see pinned/README.md)
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

PINNED = Path(__file__).resolve().parent / "pinned"
REPO = Path(__file__).resolve().parents[2]
REL_TOLERANCE = 1e-9  # floating-point noise only; any real change of a figure is far larger


def published(home: Path) -> dict:
    outcomes = json.loads((Path(home) / "reports" / "outcomes.json").read_text(encoding="utf-8"))
    outcomes.pop("provenance", None)
    return outcomes


def pinned(name: str) -> dict:
    path = PINNED / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def differences(expected, actual, path: str = "$") -> list[str]:
    """Where ``actual`` differs from ``expected``: one line per path; floats equal within REL_TOLERANCE."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = [f"{path}.{k}: missing" for k in expected.keys() - actual.keys()]
        out += [f"{path}.{k}: not pinned" for k in actual.keys() - expected.keys()]
        for key in expected.keys() & actual.keys():
            out += differences(expected[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} items, pinned {len(expected)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, f"{path}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return [] if math.isclose(expected, actual, rel_tol=REL_TOLERANCE, abs_tol=1e-12) else [
            f"{path}: {actual!r}, pinned {expected!r}"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: {actual!r}, pinned {expected!r}"]
    return []


def test_differences_finds_a_changed_figure():
    pinned_ = {"mrss": {"by_timepoint": [{"timepoint": "baseline", "mean": 18.68, "n": 41}]}}
    changed = {"mrss": {"by_timepoint": [{"timepoint": "baseline", "mean": 18.69, "n": 41}]}}
    assert differences(pinned_, changed) == ["$.mrss.by_timepoint[0].mean: 18.69, pinned 18.68"]
    assert differences(pinned_, json.loads(json.dumps(pinned_))) == []
    assert differences({"n": 41}, {"n": 41.0}) == ["$.n: 41.0, pinned 41"]


@pytest.mark.slow
def test_demo_outcomes_are_the_pinned_ones(demo_run):
    home, _ = demo_run
    assert differences(pinned("outcomes_demo.json"), published(home)) == []


@pytest.mark.registry
def test_2000_patient_outcomes_are_the_pinned_ones(tmp_path):
    root = tmp_path / "bench"  # make bench's SSC_HOME: the drop and the kept run's home under root/bench/
    run = subprocess.run([sys.executable, "tests/benchmark.py", "--patients", "2000", "--seed", "2000", "--keep"],
                         cwd=REPO, capture_output=True, text=True, timeout=1800,
                         env={**{k: v for k, v in os.environ.items() if not k.startswith("SSC_")},
                              "SSC_HOME": str(root)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = differences(pinned("outcomes_registry_2000.json.gz"), published(root / "bench" / "runs" / "2000-2000-1"))
    assert found == [], "\n".join(found[:40])


def repin(demo_home: Path, registry_home: Path) -> None:
    (PINNED / "outcomes_demo.json").write_text(
        json.dumps(published(demo_home), indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    with gzip.GzipFile(PINNED / "outcomes_registry_2000.json.gz", "wb", mtime=0) as handle:
        handle.write(json.dumps(published(registry_home), indent=2, sort_keys=True, ensure_ascii=False).encode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Re-pin the outcomes (see tests/pipeline/pinned/README.md).")
    parser.add_argument("--repin", nargs=2, type=Path, metavar=("DEMO_HOME", "REGISTRY_HOME"), required=True)
    repin(*parser.parse_args().repin)
