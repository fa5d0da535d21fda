"""Figures of the study report, drawn with matplotlib (Agg) and returned as inline SVG text.

Every function takes plain DataFrames / lists and returns an SVG string ready to be embedded in HTML, or
``None`` when there is nothing to draw (the report then says "not available in this export").

The SVG is made fit for inlining and reproducible:
- text stays text (``svg.fonttype = none``): small, selectable, crisp in print;
- no XML prolog, DOCTYPE, RDF metadata or namespace URLs (nothing in the page points to any network address);
- every id is prefixed with the figure's name, so several figures in one page never share an id;
- ``svg.hashsalt`` is fixed and the date is left out, so the same input gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from typing import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

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


def kaplan_meier_steps(time: Sequence[float], event: Sequence[int]) -> pd.DataFrame:
    """KM estimate with the 95% CI by the log(−log) transform (lifelines' default) as a step table:
    time, survival, ci_lower, ci_upper (one row per distinct time, starting at t = 0)."""
    try:
        from lifelines import KaplanMeierFitter

        kmf = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, int))
        sf = kmf.survival_function_.iloc[:, 0]
        band = kmf.confidence_interval_survival_function_
        return pd.DataFrame({"time": sf.index.to_numpy(float), "survival": sf.to_numpy(float),
                             "ci_lower": band.iloc[:, 0].to_numpy(float),
                             "ci_upper": band.iloc[:, 1].to_numpy(float)})
    except ImportError:  # pragma: no cover - lifelines is a dependency; a plain estimator as a fallback
        return _km_plain(np.asarray(time, float), np.asarray(event, int))


def _km_plain(t: np.ndarray, e: np.ndarray) -> pd.DataFrame:  # pragma: no cover
    times = np.unique(np.concatenate([[0.0], t]))
    s, var, rows = 1.0, 0.0, []
    for u in times:
        at_risk = int((t >= u).sum())
        d = int(((t == u) & (e == 1)).sum())
        if at_risk and d:
            s *= 1 - d / at_risk
            if at_risk > d:
                var += d / (at_risk * (at_risk - d))
        if 0 < s < 1 and var > 0:
            se = math.sqrt(var / math.log(s) ** 2)
            lo, hi = s ** math.exp(1.96 * se), s ** math.exp(-1.96 * se)
        else:
            lo = hi = s
        rows.append((u, s, lo, hi))
    return pd.DataFrame(rows, columns=["time", "survival", "ci_lower", "ci_upper"])


def km_figure(adtte: pd.DataFrame | None, *, mark_year: float | None = 5.0) -> str | None:
    """Kaplan–Meier curve of overall survival (years), 95% CI band, censor ticks, numbers at risk below."""
    if adtte is None or adtte.empty or not {"time_years", "event"} <= set(adtte.columns):
        return None
    data = adtte
    if "param" in data.columns:
        os_rows = data[data["param"].astype(str) == "OS"]
        data = os_rows if not os_rows.empty else data
    t = pd.to_numeric(data["time_years"], errors="coerce")
    e = pd.to_numeric(data["event"], errors="coerce")
    ok = t.notna() & e.notna() & (t >= 0)
    t, e = t[ok].to_numpy(float), e[ok].astype(int).to_numpy()
    if t.size == 0:
        return None
    steps = kaplan_meier_steps(t, e)

    horizon = max(1, int(math.ceil(max(t.max(), mark_year or 0))))
    ticks = list(range(0, horizon + 1))
    with plt.rc_context(_RC):
        fig = plt.figure(figsize=(7.2, 4.4))
        grid = fig.add_gridspec(2, 1, height_ratios=[5, 0.55], hspace=0.36)
        ax = fig.add_subplot(grid[0])
        risk_ax = fig.add_subplot(grid[1], sharex=ax)

        ax.fill_between(steps["time"], 100 * steps["ci_lower"], 100 * steps["ci_upper"], step="post",
                        color=BAND, alpha=0.55, linewidth=0, label="95% CI")
        ax.step(steps["time"], 100 * steps["survival"], where="post", color=ACCENT, linewidth=2,
                label="Overall survival")
        cens = t[e == 0]
        if cens.size:
            surv_at = np.array([steps.loc[steps["time"] <= c, "survival"].iloc[-1] for c in cens])
            ax.plot(cens, 100 * surv_at, linestyle="none", marker="|", markersize=9, markeredgewidth=1.4,
                    color=ACCENT, label="Censored")
        if mark_year is not None and t.max() >= mark_year:
            s5 = steps.loc[steps["time"] <= mark_year, "survival"].iloc[-1]
            ax.axvline(mark_year, color="#888888", linestyle=":", linewidth=1)
            ax.annotate(f"{mark_year:g} years: {100 * s5:.1f}%", xy=(mark_year, 100 * s5),
                        xytext=(-8, -22), textcoords="offset points", ha="right", fontsize=9, color="#222222")
        ax.set_ylim(0, 102)
        ax.set_xlim(0, horizon + 0.05)
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
        for tick in ticks:
            risk_ax.text(tick, 0.5, str(int((t >= tick).sum())), ha="center", va="center", fontsize=9)
        return svg_text(fig, "km-overall-survival", "Kaplan–Meier estimate of overall survival with 95% "
                        "confidence band, censoring ticks and numbers at risk")


# --------------------------------------------------------------------------------------- trajectories


MAX_PATIENT_LINES = 200  # more grey lines than this are unreadable, and slow to draw and to load


def trajectory_figure(values: pd.DataFrame | None, summary: Iterable[dict] | None = None, *, name: str,
                      ylabel: str, title: str = "", ylim: tuple[float, float] | None = None,
                      max_lines: int = MAX_PATIENT_LINES) -> str | None:
    """Individual patient lines (light grey) and mean ± SD by timepoint.

    ``values``: record_id, timepoint, value (analysed values). ``summary``: rows {timepoint, n, mean, sd}
    (e.g. from outcomes.json); where absent the mean and SD are computed from ``values``. With more than
    ``max_lines`` patients, every k-th patient (by record id) is drawn, and the legend says how many; the mean
    and SD always use every patient.
    """
    summary_rows = [r for r in (summary or []) if isinstance(r, dict) and not is_missing(r.get("timepoint"))]
    has_values = values is not None and not values.empty
    if not has_values and not summary_rows:
        return None
    if has_values:
        values = values.assign(value=pd.to_numeric(values["value"], errors="coerce")).dropna(
            subset=["value", "timepoint"])
    tps = sort_timepoints(([*values["timepoint"]] if has_values else [])
                          + [r["timepoint"] for r in summary_rows])
    if not tps:
        return None
    pos = {tp: i for i, tp in enumerate(tps)}

    stats = {}
    for r in summary_rows:
        stats[str(r["timepoint"])] = (to_float(r.get("mean")), to_float(r.get("sd")), to_float(r.get("n")))
    if has_values:
        for tp, grp in values.groupby("timepoint"):
            if str(tp) not in stats:
                v = grp["value"].to_numpy(float)
                stats[str(tp)] = (float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else None, float(v.size))

    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.2, 3.9))
        shown = total = 0
        if has_values:
            patients = sorted(values["record_id"].unique(), key=str)
            total = len(patients)
            step = -(-total // max_lines)  # ceil: draw at most max_lines patients
            drawn = set(patients[::step])
            shown = len(drawn)
            for _, grp in values[values["record_id"].isin(drawn)].groupby("record_id", sort=True):
                grp = grp.assign(_x=grp["timepoint"].map(pos)).dropna(subset=["_x"]).sort_values("_x")
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


def bar_by_timepoint(rows: Iterable[dict] | None, *, name: str, numerator: str, denominator: str, ylabel: str,
                     title: str = "") -> str | None:
    """Bars of numerator / denominator (as %) by timepoint, annotated "k/n"."""
    rows = [r for r in (rows or []) if isinstance(r, dict) and not is_missing(r.get("timepoint"))]
    rows = [r for r in rows if to_float(r.get(denominator))]
    if not rows:
        return None
    by_tp = {str(r["timepoint"]): r for r in rows}
    tps = sort_timepoints(by_tp)
    ks = [to_float(by_tp[tp].get(numerator)) or 0.0 for tp in tps]
    ns = [to_float(by_tp[tp].get(denominator)) or 0.0 for tp in tps]
    shares = [100 * k / n if n else 0.0 for k, n in zip(ks, ns)]
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(7.2, 3.2))
        ax.bar(range(len(tps)), shares, color=ACCENT, width=0.6)
        for i, (k, n, s) in enumerate(zip(ks, ns, shares)):
            ax.text(i, s + 1.5, f"{int(k)}/{int(n)}", ha="center", va="bottom", fontsize=8.5)
        ax.set_xticks(range(len(tps)))
        ax.set_xticklabels([timepoint_label(tp) for tp in tps], fontsize=8.5)
        top = max(shares) if shares else 0
        ax.set_ylim(0, max(10.0, min(100.0, top * 1.25 + 5)))
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        return svg_text(fig, name, title or ylabel)
