"""The run's status where people read it: one line at the top of the study report, the same words as the
console's last line, the steward page's banner and the Dagster run's ``ssc/verdict`` tag.

The report carries its status between two markers, ``<!--ssc:status-->`` and ``<!--/ssc:status-->``, and says in
``<meta>`` tags which drop and run its figures come from (``ssc:drop``, ``ssc:export``, ``ssc:run``). The report asset fills the slot
when it renders (its run has passed every gate by then); when the run ends, the slot is rewritten with the run's
final verdict (orchestration/nightly.py), so a night that was blocked leaves the last published figures in place
under a banner saying they were not updated and why.

    shown = report_drop(report_html)       -> {"drop_id", "export", "run_id"} the report's figures come from
    status_html(verdict, shown)            -> the slot's HTML (markers included)
    with_status(report_html, slot_html)    -> the report with its slot replaced (ValueError if it has none)

``verdict`` is ``{"outcome": "published" | "blocked" | "failed", "text": ..., "errors": int, "warnings": int,
"run_id", "drop_id", "export"}``: the run's outcome and verdict text (orchestration/verdict.py), the open error and
warning findings of its drop (quality.findings), and the run, drop and export time it is about.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from report.publish import publish_text

START, END = "<!--ssc:status-->", "<!--/ssc:status-->"
_SLOT = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
_META = re.compile(r'<meta name="ssc:(drop|export|run)" content="([^"]*)">')


def drop_meta(shown: dict) -> str:
    """The ``<meta>`` tags naming the drop, export time and run a report's figures come from."""
    return "\n".join(f'<meta name="ssc:{name}" content="{html.escape(shown.get(key) or "", quote=True)}">'
                     for name, key in (("drop", "drop_id"), ("export", "export"), ("run", "run_id")))


def report_drop(report_html: str) -> dict:
    """``{"drop_id", "export", "run_id"}`` of a rendered report (empty strings when it does not say)."""
    found = dict(_META.findall(report_html))
    return {"drop_id": found.get("drop", ""), "export": found.get("export", ""), "run_id": found.get("run", "")}


def _when(export: str | None) -> str:
    return f" (exported {export[:16]})" if export else ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def status_text(verdict: dict, shown: dict) -> tuple[str, str]:
    """``(css, text)`` of the report's status line. ``shown`` is where the report's figures come from
    (``report_drop``), ``verdict`` the run being reported on (see the module docstring).

    - the run published this report: ``Status: published with 3 errors for the stewards. Drop D (exported …):
      every quality gate passed; 3 open errors and 12 warnings in the steward worklist.``
    - the run did not publish and the report is an earlier run's: ``Not updated since drop D (exported …): the
      drop E (exported …) was BLOCKED at <gate>: <reason>. …``
    - the run published this report and then failed: ``Status: FAILED at <step>: … The figures below are those of
      drop D, but the run that produced them did not finish.``

    A replay's run (``verdict["replay"]``: the drop id, ``make run DROP=<id>``) leads with ``Replay of drop D (make
    run DROP=D), not the published report.``
    """
    css, text = _status_text(verdict, shown)
    if verdict.get("replay"):  # make run DROP=<id>: a copy must not pass for the study's report
        text = (f"Replay of drop {verdict['replay']} (make run DROP={verdict['replay']}), not the published report. "
                + text)
    return css, text


def _status_text(verdict: dict, shown: dict) -> tuple[str, str]:
    outcome = verdict.get("outcome")
    text = verdict.get("text") or outcome or "not recorded"
    drop = shown.get("drop_id") or "unknown"
    this_run = not verdict.get("run_id") or not shown.get("run_id") or verdict.get("run_id") == shown.get("run_id")
    if outcome == "published":
        errors, warnings = int(verdict.get("errors") or 0), int(verdict.get("warnings") or 0)
        items = (f"{_plural(errors, 'open error') if errors else 'no open errors'} and "
                 f"{_plural(warnings, 'warning')} in the steward worklist" if errors or warnings
                 else "nothing open in the steward worklist")
        return ("warn" if errors else "ok",
                f"Status: {text}. Drop {drop}{_when(shown.get('export'))}: every quality gate passed; {items}.")
    if not this_run:
        run_drop = verdict.get("drop_id")
        which = ("this drop, loaded again," if run_drop == shown.get("drop_id")
                 else f"the drop {run_drop}{_when(verdict.get('export'))}" if run_drop else "the last drop")
        return ("bad", f"Not updated since drop {drop}{_when(shown.get('export'))}: {which} was {text}. "
                       f"The figures below are those of drop {drop}.")
    return ("bad", f"Status: {text}. The figures below are those of drop {drop}, but the run that produced them "
                   f"did not finish.")


def status_html(verdict: dict, shown: dict) -> str:
    """The slot (markers included) holding the status line."""
    css, text = status_text(verdict, shown)
    return f'{START}<div class="banner status {css}" id="status" role="status">{html.escape(text)}</div>{END}'


def with_status(report_html: str, slot_html: str) -> str:
    """``report_html`` with its status slot replaced by ``slot_html``; ValueError when it has no slot (a report
    rendered before the slot existed: the next published run will have one)."""
    new, count = _SLOT.subn(lambda _: slot_html, report_html, count=1)
    if not count:
        raise ValueError("the report has no status slot (<!--ssc:status-->)")
    return new


def restamp(path: Path, verdict: dict) -> bool:
    """Rewrite the status line of the published report at ``path`` for ``verdict`` (atomically, the rest byte for
    byte as it was). False when there is no report yet, or it has no slot (rendered by an older version)."""
    if not path.exists():
        return False
    page = path.read_text(encoding="utf-8")
    try:
        new = with_status(page, status_html(verdict, report_drop(page)))
    except ValueError:
        return False
    if new != page:
        publish_text(path, new)
    return True
