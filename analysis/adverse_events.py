"""Adverse events and infusion reactions."""

from __future__ import annotations

import pandas as pd

from analysis._common import fnum, num, truthy

CODES = ("1", "2", "3", "4", "5")
RELATED_CODES = (3, 4, 5)  # possible, probable, definite


def _code_counts(series: pd.Series) -> dict[str, int]:
    codes = num(series)
    return {c: int((codes == int(c)).sum()) for c in CODES}


def adverse_events(adae: pd.DataFrame, adex: pd.DataFrame | None = None,
                   adtte: pd.DataFrame | None = None) -> dict:
    """{n_events, n_patients, serious, related, related_patients, by_grade, by_relation, grade_missing,
    relation_missing, events_per_100_patient_years, infusion_reactions: {n_infusions, n_reactions, n_patients}}.

    related = ae_relation 3, 4 or 5 (events with a blank relation are not counted as related).
    The rate's denominator is the total OS observation time in adtte (years).
    """
    adae = adae if adae is not None else pd.DataFrame(columns=["record_id", "ae_grade", "ae_serious", "ae_relation"])
    relation = num(adae["ae_relation"])
    related = relation.isin(RELATED_CODES)
    result = {
        "n_events": int(len(adae)),
        "n_patients": int(adae["record_id"].nunique()),
        "serious": int(truthy(adae["ae_serious"]).sum()),
        "related": int(related.sum()),
        "related_patients": int(adae.loc[related, "record_id"].nunique()),
        "by_grade": _code_counts(adae["ae_grade"]),
        "by_relation": _code_counts(adae["ae_relation"]),
        "grade_missing": int(num(adae["ae_grade"]).isna().sum()),
        "relation_missing": int(relation.isna().sum()),
        "events_per_100_patient_years": None,
        "patient_years": None,
    }
    if adtte is not None and not adtte.empty:
        tte = adtte if "param" not in adtte else adtte[adtte["param"].isna() | (adtte["param"] == "OS")]
        years = fnum(num(tte["time_years"]).sum())
        result["patient_years"] = years
        if years:
            result["events_per_100_patient_years"] = result["n_events"] / years * 100.0
    if adex is not None:
        reaction = truthy(adex["infusion_reaction"]) if len(adex) else pd.Series(dtype=bool)
        result["infusion_reactions"] = {
            "n_infusions": int(len(adex)),
            "n_reactions": int(reaction.sum()),
            "n_patients": int(adex.loc[reaction, "record_id"].nunique()) if len(adex) else 0,
        }
    else:
        result["infusion_reactions"] = {"n_infusions": 0, "n_reactions": 0, "n_patients": 0}
    return result
