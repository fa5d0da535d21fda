"""marts -> outcomes -> analysis/results: one asset per outcome of the analysis plan, then the ARD.

Each outcome asset reads the marts its analysis needs (read-only) and returns its rows of the analysis results
dataset (``analysis.results.ANALYSES``; the statistics live in ``analysis/``); the UI shows them, with a plot
for survival and the trajectories. One asset per outcome keeps the lineage (which marts feed which outcome),
the timing and a failing step's name per outcome. ``analysis/results`` puts the rows together, in a fixed order,
and writes them to the warehouse as ``analysis.results``; the reports are rendered from it.
"""


import base64
import time

import dagster as dg
import pandas as pd

from analysis import ard
from analysis._common import analysed_values
from analysis.ard import Results
from analysis.cohort import enrolled_patients
from analysis.results import ANALYSES, Analysis, cohort_flow_results
from orchestration.assets.dbt import model_key
from orchestration.assets.endpoints import ENDPOINTS
from orchestration.assets.quality import CONFORMANCE
from orchestration.markdown import results_markdown
from orchestration.resources import Warehouse
from quality.marts import ADBDS_ROWS
from report.figures import trajectory_figure
from report.study_report import summary_rows, survival_figure

#: the Dagster view of each analysis
OUTCOMES = ANALYSES
RESULTS = dg.AssetKey(["analysis", "results"])


def _trajectory_plot(analysis: str, param: str, ylabel: str):
    def plot(marts: dict, rows: pd.DataFrame) -> str | None:
        return trajectory_figure(analysed_values(marts["adbds"], param), summary_rows(Results(rows), analysis, param),
                                 name=f"asset-{param}", ylabel=ylabel)
    return plot


#: (marts, the outcome's ARD rows) -> SVG shown in the Dagster UI
PLOTS = {
    "overall_survival": lambda marts, rows: survival_figure(Results(rows)),
    "mrss": _trajectory_plot("mrss", "mrss_total", "mRSS (0–51)"),
    "haq_di": _trajectory_plot("haq_di", "haq_di", "HAQ-DI (0–3)"),
}


def outcome_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["outcomes", name])


def _plot_metadata(name: str, svg: str) -> dg.MetadataValue:
    # a standalone SVG image needs its namespace (the report's inline SVGs do without it)
    if "xmlns=" not in svg.split(">", 1)[0]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return dg.MetadataValue.md(f"![{name}](data:image/svg+xml;base64,{encoded})")


def read_marts(warehouse: Warehouse, analysis: Analysis) -> dict[str, pd.DataFrame]:
    """The marts ``analysis`` reads, as :meth:`Warehouse.read_tables` reads them, adbds only the rows of its
    instruments (``Analysis.adbds_instruments``; all rows when it names none) and the columns it reads
    (``Analysis.adbds_columns``; all when it names none)."""
    instruments = analysis.adbds_instruments if "adbds" in analysis.marts else ()
    marts = warehouse.read_tables(*(f"marts.{m}" for m in analysis.marts if not (m == "adbds" and instruments)))
    if instruments:
        marts["adbds"] = warehouse.read_part("marts.adbds", analysis.adbds_columns,
                                             where=f"SRCDOM in ({', '.join('?' for _ in instruments)})",
                                             params=list(instruments))
    return marts


def _build(analysis: Analysis) -> dg.AssetsDefinition:
    @dg.asset(
        key=outcome_key(analysis.name),
        group_name="outcomes",
        deps=[model_key(m) for m in analysis.marts] + [ENDPOINTS],
        description=analysis.description,
        kinds={"python"},
    )
    def _outcome(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
        started = time.perf_counter()
        marts = read_marts(warehouse, analysis)
        rows = analysis.results(*(marts[m] for m in analysis.marts))
        seconds = time.perf_counter() - started
        context.log.info(f"{analysis.name} computed in {seconds:.2f} s")
        metadata = {"result": dg.MetadataValue.md(results_markdown(rows)), "rows": len(rows),
                    "seconds": round(seconds, 3)}
        svg = PLOTS[analysis.name](marts, rows) if analysis.name in PLOTS else None
        if svg:
            metadata["plot"] = _plot_metadata(analysis.name, svg)
        context.add_output_metadata(metadata)
        return rows

    return _outcome


COHORT_FLOW_ADBDS = ("USUBJID", "PARAMCD", "AVISIT", "ANL01FL", "AVAL")


@dg.asset(
    key=outcome_key("cohort_flow"),
    group_name="outcomes",
    deps=[model_key("adsl"), model_key("adbds"), model_key("adtte"), model_key("stg_redcap__enrollment"),
          CONFORMANCE, ENDPOINTS],
    description="Cohort flow: enrolled, infused, assessed at each timepoint, deaths, lost to follow-up.",
    kinds={"python"},
)
def cohort_flow_outcome(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    marts = warehouse.read_tables("marts.adsl", "marts.adtte")
    # the columns and rows of adbds the cohort flow counts from (analysis.cohort.cohort_flow: the analysed rows,
    # ANL01FL 'Y'): 5 of its 19 columns (nearly every row is analysed: 1,876,183 of 1,893,376 at 20,000 patients)
    marts["adbds"] = warehouse.read_part("marts.adbds", COHORT_FLOW_ADBDS, where=ADBDS_ROWS)
    with warehouse.connect(read_only=True) as conn:
        enrolled = enrolled_patients(conn)
    rows = cohort_flow_results(marts["adsl"], marts["adbds"], marts["adtte"], enrolled)
    context.add_output_metadata({"result": dg.MetadataValue.md(results_markdown(rows)), "rows": len(rows)})
    return rows


OUTCOME_NAMES = tuple(a.name for a in ANALYSES) + ("cohort_flow",)


@dg.asset(
    key=RESULTS,
    group_name="outcomes",
    ins={name: dg.AssetIn(key=outcome_key(name)) for name in OUTCOME_NAMES},
    kinds={"duckdb"},
    pool="warehouse",
    description="The analysis results dataset (ARD): every outcome's rows, in a fixed order, as the warehouse "
                "table analysis.results (analysis, parameter, timepoint, group, statistic, value, value_text, n, "
                "source); outcomes.json, ard.csv and the study report are rendered from it.",
)
def analysis_results(context: dg.AssetExecutionContext, warehouse: Warehouse, **outcomes: pd.DataFrame):
    results = ard.concat(outcomes[name] for name in OUTCOME_NAMES)
    with warehouse.connect() as conn:
        ard.write_table(conn, results)
    context.add_output_metadata({"rows": len(results), "table": "analysis.results",
                                 "analyses": ", ".join(results["analysis"].drop_duplicates())})
    return results


outcome_assets = [_build(a) for a in ANALYSES] + [analysis_results]
