"""Figures of the study report, drawn with matplotlib (Agg) and returned as inline SVG text.

Every function takes plain DataFrames / lists and returns an SVG string ready to be embedded in HTML, or
``None`` when there is nothing to draw (the report then says "not available in this export"). The figures draw
what the analysis computed (curves, means, shares) and the marts' patient-level values; they estimate nothing.

The SVG is made fit for inlining and reproducible:
- text stays text (``svg.fonttype = none``): small, selectable, crisp in print;
- no XML prolog, DOCTYPE, RDF metadata or namespace URLs (nothing in the page points to any network address);
- every id is prefixed with the figure's name, so several figures in one page never share an id;
- ``svg.hashsalt`` is fixed and the date is left out, so the same input gives the same bytes.
"""

from __future__ import annotations

import io
import re
from typing import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.formatting import count, fraction, pct  # noqa: E402
from report.formatting import is_missing, sort_timepoints, timepoint_label, to_float  # noqa: E402

ACCENT = "#1f4e79"  # dark blue: the summary curve / mean
BAND = "#9dc3e6"  # light blue: confidence band
PATIENT = "#b8b8b8"  # light grey: individual patients
GRID = "#e6e6e6"

_RC = {
    "svg.fonttype": "none",
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.labelcolor": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "figure.dpi": 100,
}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "fig"


def svg_text(fig, name: str, title: str = "") -> str:
    """Serialise ``fig`` as inline-ready SVG (see module docstring) and close it."""
    slug = _slug(name)
    buf = io.StringIO()
    try:
        with plt.rc_context({"svg.hashsalt": f"ssc-report-{slug}", "svg.fonttype": "none"}):
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                     "Type": None}, bbox_inches="tight", pad_inches=0.05)
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, flags=re.S)
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{slug}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{slug}-{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{slug}-{m.group(1)}"', svg)

    def _root(match: re.Match) -> str:
        attrs = match.group(1)
        width = re.search(r'width="([\d.]+)pt"', attrs)
        viewbox = re.search(r'viewBox="([^"]+)"', attrs)
        max_w = f"{float(width.group(1)):.0f}pt" if width else "100%"
        vb = f' viewBox="{viewbox.group(1)}"' if viewbox else ""
        return (f'<svg class="fig" id="{slug}" role="img" aria-labelledby="{slug}-title" version="1.1"{vb} '
                f'width="100%" style="max-width:{max_w};height:auto" preserveAspectRatio="xMidYMid meet">'
                f'<title id="{slug}-title">{_xml_escape(title or name)}</title>')

    svg = re.sub(r"<svg([^>]*)>", _root, svg, count=1)
    return svg.strip() + "\n"


def _xml_escape(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# --------------------------------------------------------------------------------------------------- KM


def km_figure(steps: pd.DataFrame | None, at_risk: Sequence[tuple[int, int]], *,
              mark: tuple[float, float] | None = None) -> str | None:
    """Kaplan–Meier curve of overall survival (years), 95% CI band, censor ticks, numbers at risk below.

    ``steps``: the step function as the analysis gives it (time_years, survival, ci_lower, ci_upper, n_censored;
    one row per distinct time from 0); ``at_risk``: (year, patients at risk) for each tick of the time axis;
    ``mark``: (year, survival) annotated on the curve (e.g. the 5-year estimate). Nothing is estimated here."""
    if steps is None or steps.empty or not at_risk:
        return None
    ticks = [year for year, _ in at_risk]
    time = steps["time_years"].to_numpy(float)
    with plt.rc_context(_RC):
        fig = plt.figure(figsize=(7.2, 4.4))
        grid = fig.add_gridspec(2, 1, height_ratios=[5, 0.55], hspace=0.36)
        ax = fig.add_subplot(grid[0])
        risk_ax = fig.add_subplot(grid[1], sharex=ax)

        ax.fill_between(time, 100 * steps["ci_lower"], 100 * steps["ci_upper"], step="post",
                        color=BAND, alpha=0.55, linewidth=0, label="95% CI")
        ax.step(time, 100 * steps["survival"], where="post", color=ACCENT, linewidth=2, label="Overall survival")
        censored = steps[steps["n_censored"] > 0]
        if len(censored):
            ax.plot(censored["time_years"], 100 * censored["survival"], linestyle="none", marker="|", markersize=9,
                    markeredgewidth=1.4, color=ACCENT, label="Censored")
        if mark is not None:
            year, survival = mark
            ax.axvline(year, color="#888888", linestyle=":", linewidth=1)
            ax.annotate(f"{year:g} years: {pct(survival)}", xy=(year, 100 * survival),
                        xytext=(-8, -22), textcoords="offset points", ha="right", fontsize=9, color="#222222")
        ax.set_ylim(0, 102)
        ax.set_xlim(0, max(ticks) + 0.05)
        ax.set_yticks(range(0, 101, 20))
        ax.set_yticklabels([f"{v}%" for v in range(0, 101, 20)])
        ax.set_ylabel("Overall survival")
        ax.set_xlabel("Years since first infusion")
        ax.set_xticks(ticks)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        ax.legend(loc="lower left", frameon=False, fontsize=9)

        risk_ax.set_ylim(0, 1)
        risk_ax.axis("off")
        risk_ax.text(-0.05, 0.5, "Number at risk", transform=risk_ax.get_yaxis_transform(), ha="right",
                     va="center", fontsize=9, fontweight="bold")
        for year, n in at_risk:
            risk_ax.text(year, 0.5, count(n), ha="center", va="center", fontsize=9)
        return svg_text(fig, "km-overall-survival", "Kaplan–Meier estimate of overall survival with 95% "
                        "confidence band, censoring ticks and numbers at risk")


# --------------------------------------------------------------------------------------- trajectories


MAX_PATIENT_LINES = 200  # more grey lines than this are unreadable, and slow to draw and to load


def trajectory_figure(values: pd.DataFrame | None, summary: Iterable[dict] | None = None, *, name: str,
                      ylabel: str, title: str = "", ylim: tuple[float, float] | None = None,
                      max_lines: int = MAX_PATIENT_LINES) -> str | None:
    """Individual patient lines (light grey) and mean ± SD by timepoint.

    ``values``: record_id, timepoint, value (the analysed values of the mart). ``summary``: the analysis' rows
    {timepoint, n, mean, sd}; a timepoint without one shows no mean. With more than ``max_lines`` patients, every
    k-th patient (by record id) is drawn, and the legend says how many; the mean and SD are of every patient.
    """
    summary_rows = [r for r in (summary or []) if isinstance(r, dict) and not is_missing(r.get("timepoint"))]
    has_values = values is not None and not values.empty
    if not has_values and not summary_rows:
        return None
    if has_values:
        values = values.assign(value=pd.to_numeric(values["value"], errors="coerce")).dropna(
            subset=["value", "timepoint"])
    tps = sort_timepoints(([*values["timepoint"].unique()] if has_values else [])
                          + [r["timepoint"] for r in summary_rows])
    if not tps:
        return None
    pos = {tp: i for i, tp in enumerate(tps)}
    stats = {str(r["timepoint"]): (to_float(r.get("mean")), to_float(r.get("sd")), to_float(r.get("n")))
             for r in summary_rows}

    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.2, 3.9))
        shown = total = 0
        if has_values:
            patients = sorted(values["record_id"].unique(), key=str)
            total = len(patients)
            step = -(-total // max_lines)  # ceil: draw at most max_lines patients
            drawn = set(patients[::step])
            shown = len(drawn)
            lines = values[values["record_id"].isin(drawn)]
            lines = lines.assign(_x=lines["timepoint"].map(pos)).dropna(subset=["_x"])
            # one stable sort for all patients: each patient's points in timepoint order, as drawn
            for _, grp in lines.sort_values("_x", kind="stable").groupby("record_id", sort=True):
                if len(grp) == 1:
                    ax.plot(grp["_x"], grp["value"], linestyle="none", marker="o", markersize=2.5,
                            color=PATIENT, alpha=0.8, zorder=1)
                else:
                    ax.plot(grp["_x"], grp["value"], color=PATIENT, linewidth=0.8, alpha=0.75, zorder=1)
        xs, means, sds = [], [], []
        for tp in tps:
            m, s, _ = stats.get(tp, (None, None, None))
            if m is not None:
                xs.append(pos[tp])
                means.append(m)
                sds.append(s if s is not None else 0.0)
        if xs:
            ax.errorbar(xs, means, yerr=sds, color=ACCENT, linewidth=2, marker="o", markersize=5,
                        capsize=4, elinewidth=1.4, zorder=3, label="Mean ± SD")
        if has_values:
            label = "Individual patients" if shown == total else f"Individual patients ({shown} of {total} shown)"
            ax.plot([], [], color=PATIENT, linewidth=1, label=label)
        labels = []
        for tp in tps:
            n = stats.get(tp, (None, None, None))[2]
            labels.append(f"{timepoint_label(tp)}\nn={int(n)}" if n is not None else timepoint_label(tp))
        ax.set_xticks(range(len(tps)))
        ax.set_xticklabels(labels, fontsize=8.5)
        ax.set_xlim(-0.4, len(tps) - 0.6)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        ax.legend(loc="upper right", frameon=False, fontsize=9)
        return svg_text(fig, name, title or ylabel)


def bar_by_timepoint(rows: Iterable[dict] | None, *, name: str, ylabel: str, title: str = "") -> str | None:
    """Bars of a percentage by timepoint, annotated "k/n": rows {timepoint, count, denominator, pct (0–100)}
    as the analysis gives them (timepoints without a denominator are left out)."""
    rows = [r for r in (rows or []) if isinstance(r, dict) and not is_missing(r.get("timepoint"))
            and to_float(r.get("denominator"))]
    if not rows:
        return None
    by_tp = {str(r["timepoint"]): r for r in rows}
    tps = sort_timepoints(by_tp)
    shares = [to_float(by_tp[tp].get("pct")) or 0.0 for tp in tps]
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.2, 3.2))
        ax.bar(range(len(tps)), shares, color=ACCENT, width=0.6)
        for i, (tp, share) in enumerate(zip(tps, shares)):
            ax.text(i, share + 1.5, fraction(by_tp[tp].get("count"), by_tp[tp].get("denominator")), ha="center",
                    va="bottom", fontsize=8.5)
        ax.set_xticks(range(len(tps)))
        ax.set_xticklabels([timepoint_label(tp) for tp in tps], fontsize=8.5)
        top = max(shares) if shares else 0
        ax.set_ylim(0, max(10.0, min(100.0, top * 1.25 + 5)))
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        return svg_text(fig, name, title or ylabel)
