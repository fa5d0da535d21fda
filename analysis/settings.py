"""The study's analysis and data-quality settings: ``study/analysis_settings.toml``, read and checked once.

Each setting is a TOML table ``[<group>.<name>]`` with ``value``, ``unit``, ``used_for`` and ``source`` (the
contract's analysis plan, a published definition, or "project choice"); a clinical soft limit
``[soft_limits.<field>]`` has ``why`` (the reason its ``clinical_outlier`` warning gives) in place of
``used_for``. The modules that apply a threshold take it from here as the default of an explicit parameter::

    from analysis.settings import value
    THRESHOLD = value("hrct.extent_change")          # 5.0 (percentage points)

    documented()     # [{name, value, unit, used_for, source}], in file order: the report's Methods
    soft_limits()    # {field: (low, high, why)}: quality.rules.SOFT_LIMITS
    python -m analysis.settings > docs/settings.md   # the generated table (a test keeps it in sync)

The file is read on first use and checked whole: every setting this project reads must be there with a value of
its kind (:data:`KINDS`), nothing else may be, and each entry has its four texts. Otherwise
:class:`SettingsError` (a ValueError, so ``make run`` says it in one line without a traceback) names the file,
the key and what is wrong, e.g. ``study/analysis_settings.toml: hrct.extent_change: value must be a number
greater than 0, not 'five'``. Lists are returned as tuples.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from study.windows import load_windows

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = REPO_ROOT / "study" / "analysis_settings.toml"
SOFT_LIMITS_GROUP = "soft_limits"
TEXTS = ("unit", "used_for", "source")
SOFT_LIMIT_TEXTS = ("unit", "why", "source")


class SettingsError(ValueError):
    """The settings file cannot be used; the message names the file, the key and what is wrong."""


@dataclass(frozen=True)
class Setting:
    """One entry of the settings file; ``why`` only for a clinical soft limit."""

    name: str
    value: Any
    unit: str
    used_for: str
    source: str
    why: str | None = None


@dataclass(frozen=True)
class Kind:
    """What a setting's value must be: ``what`` for the error message, ``accepts`` the check."""

    what: str
    accepts: Callable[[Any], bool]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_TIMEPOINTS = tuple(w.timepoint for w in sorted(load_windows(), key=lambda w: w.order))
_WINDOWS = f"dbt_project/seeds/analysis_windows.csv: {', '.join(_TIMEPOINTS)}"

POSITIVE = Kind("a number greater than 0", lambda v: _number(v) and v > 0)
NON_NEGATIVE = Kind("a number, 0 or more", lambda v: _number(v) and v >= 0)
SHARE = Kind("a share greater than 0 and at most 1 (0.25 for 25%)", lambda v: _number(v) and 0 < v <= 1)
WHOLE = Kind("a whole number, 0 or more", lambda v: _whole(v) and v >= 0)
COUNT = Kind("a whole number, 1 or more", lambda v: _whole(v) and v >= 1)
DAYS = Kind("a whole number of days, 0 or more", lambda v: _whole(v) and v >= 0)
STUDY_DAY = Kind("a whole study day (negative before day 0)", _whole)
TIMES = Kind("a list of numbers greater than 0, in increasing order",
             lambda v: isinstance(v, list) and bool(v) and all(_number(x) and x > 0 for x in v)
             and all(a < b for a, b in zip(v, v[1:])))
RANGE = Kind("[low, high]: two numbers, low below high",
             lambda v: isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v) and v[0] < v[1])
TIMEPOINT = Kind(f"the name of an analysis window ({_WINDOWS})", lambda v: v in _TIMEPOINTS)
TIMEPOINT_LIST = Kind(f"a list of distinct analysis windows ({_WINDOWS})",
                      lambda v: isinstance(v, list) and bool(v) and all(x in _TIMEPOINTS for x in v)
                      and len(set(v)) == len(v))

#: every setting the project reads, with the kind of its value (a soft limit, any ``soft_limits.<field>``: RANGE)
KINDS: dict[str, Kind] = {
    "survival.years": TIMES,
    "hrct.first_day": STUDY_DAY,
    "hrct.last_day": STUDY_DAY,
    "hrct.extent_change": POSITIVE,
    "pah.pasp_rise": POSITIVE,
    "pah.death_horizon": POSITIVE,
    "pah.final_timepoint": TIMEPOINT,
    "responders.timepoints": TIMEPOINT_LIST,
    "responders.min_points": NON_NEGATIVE,
    "responders.min_fraction": SHARE,
    "lung_function.fvc_major": POSITIVE,
    "lung_function.fvc_minor": POSITIVE,
    "lung_function.dlco_decline": POSITIVE,
    "mixed_model.min_study_day": STUDY_DAY,
    "plausibility.enrollment_lookback": DAYS,
    "plausibility.pasp_rap": RANGE,
    "plausibility.pasp_tolerance": NON_NEGATIVE,
    "gates.all_rejected_min_filled": COUNT,
    "gates.timepoint_min_patients": WHOLE,
}

#: settings that must be in order: (lower, higher, why)
ORDERED = (("hrct.first_day", "hrct.last_day", "the first day must come before the last"),
           ("lung_function.fvc_minor", "lung_function.fvc_major", "the moderate FVC decline must be below the major"))


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _entry(name: str, entry: dict, fail: Callable[[str, str], None]) -> Setting:
    """One checked entry ``[name]`` of the file; ``fail(name, problem)`` raises."""
    soft = name.startswith(SOFT_LIMITS_GROUP + ".")
    texts = SOFT_LIMIT_TEXTS if soft else TEXTS
    keys = ("value", *texts)
    missing = [k for k in keys if k not in entry]
    unknown = sorted(set(entry) - set(keys))
    if missing or unknown:
        fail(name, "; ".join(([f"missing {', '.join(missing)}"] if missing else [])
                             + ([f"unknown key {', '.join(unknown)} (an entry has {', '.join(keys)})"]
                                if unknown else [])))
    for key in texts:
        if not isinstance(entry[key], str) or not entry[key].strip():
            fail(name, f"{key} must be a text (not empty), not {entry[key]!r}")
    kind = RANGE if soft else KINDS.get(name)
    if kind is None:
        fail(name, f"not a setting this project reads (the settings are {', '.join(KINDS)} and "
                   f"{SOFT_LIMITS_GROUP}.<field>)")
    if not kind.accepts(entry["value"]):
        fail(name, f"value must be {kind.what}, not {entry['value']!r}")
    value = tuple(entry["value"]) if isinstance(entry["value"], list) else entry["value"]
    if soft:
        field = name.split(".", 1)[1]
        used_for = (f"warning clinical_outlier when {field} is outside this range (the value is kept): "
                    f"{entry['why']}")
        return Setting(name, value, entry["unit"], used_for, entry["source"], entry["why"])
    return Setting(name, value, entry["unit"], entry["used_for"], entry["source"])


def load(path: Path = SETTINGS_FILE) -> dict[str, Setting]:
    """{name: Setting} of a settings file, in file order, checked whole; SettingsError naming file, key and what
    is wrong."""
    shown = _shown_path(Path(path))

    def fail(name: str, problem: str):
        raise SettingsError(f"{shown}: {name}: {problem}")

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"{shown}: the settings file is missing (it is part of the checkout)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{shown}: not valid TOML: {exc}") from None
    found: dict[str, Setting] = {}
    for group, entries in data.items():
        if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
            fail(group, f"must hold tables [{group}.<name>], each with value, unit, used_for and source")
        for name, entry in entries.items():
            setting = _entry(f"{group}.{name}", entry, fail)
            found[setting.name] = setting
    for name in KINDS:
        if name not in found:
            fail(name, "missing (each setting the project reads must be in the file)")
    for lower, higher, why in ORDERED:
        if not found[lower].value < found[higher].value:
            fail(lower, f"{found[lower].value!r} is not below {higher} {found[higher].value!r}: {why}")
    return found


@lru_cache(maxsize=1)
def settings() -> dict[str, Setting]:
    """The checkout's settings (:data:`SETTINGS_FILE`), read once."""
    return load(SETTINGS_FILE)


def value(name: str) -> Any:
    """The value of one setting (a list as a tuple); SettingsError for a name the file does not hold."""
    found = settings().get(name)
    if found is None:
        raise SettingsError(f"{_shown_path(SETTINGS_FILE)}: {name}: no such setting")
    return found.value


def soft_limits() -> dict[str, tuple[float, float, str]]:
    """{field: (low, high, why)}: the clinical soft limits (``[soft_limits.<field>]``)."""
    prefix = SOFT_LIMITS_GROUP + "."
    return {s.name[len(prefix):]: (*s.value, s.why) for s in settings().values() if s.name.startswith(prefix)}


def documented() -> list[dict]:
    """Every setting as ``{name, value, unit, used_for, source}``, in file order (``value`` as the code uses it:
    a number, a name, or a tuple; a soft limit's tuple is (low, high)); :func:`shown` writes a value for people."""
    return [{"name": s.name, "value": s.value, "unit": s.unit, "used_for": s.used_for, "source": s.source}
            for s in settings().values()]


def shown(value: Any) -> str:
    """A setting's value for people: 5.0 → '5', (1, 3, 5) → '1, 3, 5', a soft limit (0, 45) → '0–45'."""
    if isinstance(value, tuple):
        parts = [shown(v) for v in value]
        return "–".join(parts) if len(value) == 2 and all(_number(v) for v in value) else ", ".join(parts)
    return f"{value:g}" if _number(value) else str(value)


DOC_HEADER = """# Analysis and data-quality settings

Every threshold the analysis and the data-quality checks apply, with its unit, what it decides and where it comes
from. Generated from `study/analysis_settings.toml` (`.venv/bin/python -m analysis.settings > docs/settings.md`);
a test keeps the two in sync. `analysis.settings.documented()` gives the report the same entries.

Change a value in `study/analysis_settings.toml`, not in code: `analysis/settings.py` reads the file once and
checks it whole (an unknown, missing or unusable entry stops the code location loading, and `make run` says
which file, key and problem in one line). A changed value changes published figures or findings, so
`tests/pipeline/test_outcomes_pinned.py` fails until the outcomes are re-pinned on purpose
(`tests/pipeline/pinned/README.md`). Source "analysis plan" is the contract's plan
([docs/contract.md](contract.md)); "project choice" marks a number of this project's own.

Not in this file: the analysis windows (study days of each timepoint) are the dbt seed
`dbt_project/seeds/analysis_windows.csv`, read by dbt and by `study/windows.py`; the thresholds of the blocking
gates that an operator may set per installation are environment variables (`SSC_MAX_QUARANTINE_SHARE`,
`SSC_MAX_FIELD_REJECTED_SHARE`, `SSC_FIELD_GATE_MIN_FILLED`, `SSC_MAX_ENDPOINT_LOSS`, `SSC_MAX_OS_EXCLUDED`),
fields of the `locations` resource (`orchestration/settings.py`, `orchestration/resources.py`; README,
"Gates and their settings"), shown with their values on the Dagster UI's resource page and in each check's
metadata.

"""


def markdown() -> str:
    """The settings as a Markdown table (docs/settings.md without its header)."""
    lines = ["| setting | value | unit | used for | source |", "|---|---|---|---|---|"]
    for s in documented():
        cells = (f"`{s['name']}`", shown(s["value"]), s["unit"], s["used_for"], s["source"])
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(DOC_HEADER + markdown())
