"""marts -> outcomes: one asset per outcome of the analysis plan, each a pure function of the marts.

The statistics live in ``analysis/``; an asset only reads the marts it needs (read-only), calls the function
and shows the result as a markdown table in the Dagster UI.
"""


import base64
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd

import dagster as dg

from analysis.adverse_events import adverse_events
from analysis.cohort import cohort_flow
from analysis.continuous import haq_di_outcome, mrss_outcome
from analysis.hrct import hrct_ild
from analysis.lung_function import lung_function
from analysis.mixed_model import mrss_mixed_model
from analysis.outcomes import assert_jsonable
from analysis.pah import pah
from analysis.responders import mrss_responders
from analysis.survival import overall_survival
from analysis.table1 import table1
from analysis.vascular import vascular
from orchestration.assets.dbt import mart_key
from orchestration.assets.endpoints import ENDPOINTS
from orchestration.markdown import outcome_markdown
from orchestration.resources import Warehouse
from report.figures import km_figure, trajectory_figure


def _analysed(adbds: pd.DataFrame, param: str) -> pd.DataFrame:
    rows = adbds[(adbds["param"] == param) & adbds["analysed"].fillna(False).astype(bool)]
    return rows[["record_id", "timepoint", "value"]].dropna()


def _survival_plot(marts: dict, result: dict) -> str | None:
    return km_figure(marts["adtte"])


def _trajectory_plot(param: str, ylabel: str):
    def plot(marts: dict, result: dict) -> str | None:
        return trajectory_figure(_analysed(marts["adbds"], param), result.get("by_timepoint"),
                                 name=f"asset-{param}", ylabel=ylabel)
    return plot


@dataclass(frozen=True)
class Outcome:
    name: str
    function: Callable[..., dict | list]
    marts: tuple[str, ...]  # passed to the function in this order
    description: str
    in_contract: bool = True  # a key of outcomes.json fixed by the contract
    plot: Callable[[dict, dict], str | None] | None = None  # (marts, result) -> SVG shown in the Dagster UI


OUTCOMES = (
    Outcome("overall_survival", overall_survival, ("adtte",),
            "Kaplan–Meier overall survival from day 0, 95% CI by log(−log), S(t) at 1, 3 and 5 years.",
            plot=_survival_plot),
    Outcome("mrss", mrss_outcome, ("adbds",),
            "mRSS by timepoint and change from baseline (paired t-test and Wilcoxon signed-rank).",
            plot=_trajectory_plot("mrss_total", "mRSS (0–51)")),
    Outcome("hrct_ild", hrct_ild, ("adsl", "adbds"),
            "HRCT in ILD: category of the latest follow-up scan (recorded, or derived from extent change)."),
    Outcome("pah", pah, ("adsl", "adbds", "adtte"),
            "PAH on echo at 5 years: stable, worsened (PASP rise ≥ 10 mmHg or death ≤ 5 y), not evaluable."),
    Outcome("haq_di", haq_di_outcome, ("adbds",), "HAQ-DI by timepoint.",
            plot=_trajectory_plot("haq_di", "HAQ-DI (0–3)")),
    Outcome("vascular", vascular, ("adbds",),
            "Raynaud's Condition Score, active digital ulcers and Medsger peripheral vascular severity."),
    Outcome("adverse_events", adverse_events, ("adae", "adex", "adtte"),
            "Adverse events by grade, seriousness and relation; infusion reactions; events per 100 patient-years."),
    Outcome("table1", table1, ("adsl",), "Baseline characteristics (Table 1).", in_contract=False),
    Outcome("mrss_mixed_model", mrss_mixed_model, ("adbds",),
            "Linear mixed model of mRSS over time (random intercept per patient), every assessment.",
            in_contract=False),
    Outcome("mrss_responders", mrss_responders, ("adbds",),
            "mRSS responders at 1, 3 and 5 years (fall > 5 points and ≥ 25%; progression the mirror).",
            in_contract=False),
    Outcome("lung_function", lung_function, ("adsl", "adbds"),
            "FVC and DLCO trajectories and ILD progression (FVC ≥ 10%, or 5–9% with DLCO ≥ 15%).",
            in_contract=False),
)


def outcome_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["outcomes", name])


def _build(outcome: Outcome) -> dg.AssetsDefinition:
    @dg.asset(
        key=outcome_key(outcome.name),
        group_name="outcomes",
        deps=[mart_key(m) for m in outcome.marts] + [ENDPOINTS],
        description=outcome.description,
        kinds={"python"},
    )
    def _outcome(context: dg.AssetExecutionContext, warehouse: Warehouse):  # a dict or a list of rows
        started = time.perf_counter()
        marts = warehouse.read_tables(*(f"marts.{m}" for m in outcome.marts))
        result = assert_jsonable(outcome.function(*(marts[m] for m in outcome.marts)))
        seconds = time.perf_counter() - started
        context.log.info(f"{outcome.name} computed in {seconds:.2f} s")
        metadata = {"result": dg.MetadataValue.md(outcome_markdown(result)), "seconds": round(seconds, 3)}
        svg = outcome.plot(marts, result) if outcome.plot else None
        if svg:
            # a standalone SVG image needs its namespace (the report's inline SVGs do without it)
            if "xmlns=" not in svg.split(">", 1)[0]:
                svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
            encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            metadata["plot"] = dg.MetadataValue.md(f"![{outcome.name}](data:image/svg+xml;base64,{encoded})")
        context.add_output_metadata(metadata)
        return result

    return _outcome


outcome_assets = [_build(o) for o in OUTCOMES]


ENROLLED_SQL = """
    select count(distinct record_id) from (
        select record_id from staging.stg_redcap__enrollment
        union all
        select record_id from quality.quarantine where rule = 'record_without_infusion_date'
    )
"""


def enrolled_patients(conn) -> int:
    """Patients enrolled: distinct records with a placed enrollment assessment (staging), plus the records
    quarantined only because they have no infusion date (enrolled, never infused). Counted from placed data,
    never from the raw text (a repeated header line or a stray row is not a patient)."""
    return int(conn.execute(ENROLLED_SQL).fetchall()[0][0])


@dg.asset(
    key=outcome_key("cohort_flow"),
    group_name="outcomes",
    deps=[mart_key("adsl"), mart_key("adbds"), mart_key("adtte"),
          dg.AssetKey(["staging", "stg_redcap__enrollment"]), dg.AssetKey(["quality", "conformance"]), ENDPOINTS],
    description="Cohort flow: enrolled, infused, assessed at each timepoint, deaths, lost to follow-up.",
    kinds={"python"},
)
def cohort_flow_outcome(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dict:
    marts = warehouse.read_tables("marts.adsl", "marts.adbds", "marts.adtte")
    with warehouse.connect(read_only=True) as conn:
        enrolled = enrolled_patients(conn)
    result = assert_jsonable(cohort_flow(marts["adsl"], marts["adbds"], marts["adtte"], enrolled))
    context.add_output_metadata({"result": dg.MetadataValue.md(outcome_markdown(result))})
    return result
