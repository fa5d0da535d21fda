"""Adverse events (adae) and infusion reactions (adex): events, patients and rates per 100 patient-years.

"Related" is the mart's ``adae.related`` flag (relation possible, probable or definite; defined once, in
``adae.sql``); this module only counts it.
"""

from __future__ import annotations

import pandas as pd

from analysis._common import fnum, num, truthy

GRADES = ("1", "2", "3", "4", "5")
RELATIONS = ("1", "2", "3", "4", "5")
OUTCOMES = ("1", "2", "3", "4", "5", "6")
NOT_RECORDED = "not_recorded"


def patient_years(adtte: pd.DataFrame | None) -> float | None:
    """Total observation time: the sum of adtte ``time_years`` over the OS rows (param 'OS' or missing) with a
    time; None without adtte rows."""
    if adtte is None or adtte.empty:
        return None
    tte = adtte if "param" not in adtte else adtte[adtte["param"].isna() | (adtte["param"] == "OS")]
    return fnum(num(tte["time_years"]).sum())


def rate_per_100py(events: int, years: float | None) -> float | None:
    """events / years × 100; None when ``years`` is 0 or missing."""
    return events / years * 100.0 if years else None


def _tally(adae: pd.DataFrame, mask: pd.Series, years: float | None) -> dict:
    n_events = int(mask.sum())
    return {"n_events": n_events, "n_patients": int(adae.loc[mask, "record_id"].nunique()),
            "rate_per_100py": rate_per_100py(n_events, years)}


def events_by_code(adae: pd.DataFrame, column: str, codes: tuple[str, ...], years: float | None) -> dict:
    """{code: {n_events, n_patients, rate_per_100py}} for each code of ``column`` (e.g. ae_grade 1–5), then
    ``not_recorded`` (blank). Requires record_id and ``column`` (codes as numbers)."""
    values = num(adae[column])
    out = {c: _tally(adae, values == int(c), years) for c in codes}
    out[NOT_RECORDED] = _tally(adae, values.isna(), years)
    return out


def events_by_flag(adae: pd.DataFrame, column: str, yes: str, no: str, years: float | None, *,
                   blank: str | None = None) -> dict:
    """{yes: …, no: …[, blank: …]} ({n_events, n_patients, rate_per_100py}) of a BOOLEAN column. With ``blank``
    a NULL is counted apart; without, a NULL counts as False. Requires record_id and ``column``."""
    flag = truthy(adae[column])
    known = adae[column].notna() if blank else pd.Series(True, index=adae.index)
    out = {yes: _tally(adae, flag, years), no: _tally(adae, known & ~flag, years)}
    if blank:
        out[blank] = _tally(adae, ~known, years)
    return out


def infusion_reactions(adex: pd.DataFrame | None) -> dict:
    """{n_infusions, n_patients_infused, n_reactions (infusions with a reaction), n_patients (patients with
    one)}. Requires record_id and infusion_reaction (BOOLEAN)."""
    if adex is None or adex.empty:
        return {"n_infusions": 0, "n_patients_infused": 0, "n_reactions": 0, "n_patients": 0}
    reaction = truthy(adex["infusion_reaction"])
    return {"n_infusions": int(len(adex)), "n_patients_infused": int(adex["record_id"].nunique()),
            "n_reactions": int(reaction.sum()), "n_patients": int(adex.loc[reaction, "record_id"].nunique())}


def adverse_events(adae: pd.DataFrame | None, adex: pd.DataFrame | None = None,
                   adtte: pd.DataFrame | None = None) -> dict:
    """{n_events, n_patients, patient_years, events_per_100_patient_years, by_seriousness, by_relatedness,
    by_grade, by_relation, by_outcome, infusion_reactions}.

    Each ``by_…`` maps a category to {n_events, n_patients, rate_per_100py}: by_seriousness 'serious',
    'not_serious', 'not_recorded' (adae.ae_serious); by_relatedness 'related', 'not_related' (adae.related);
    by_grade / by_relation codes 1–5 and by_outcome codes 1–6 (ae_grade, ae_relation, ae_outcome), each with
    'not_recorded'. Rates use the total OS observation time of adtte (:func:`patient_years`).
    """
    adae = adae if adae is not None else pd.DataFrame(
        columns=["record_id", "ae_grade", "ae_serious", "ae_relation", "related", "ae_outcome"])
    years = patient_years(adtte)
    return {
        "n_events": int(len(adae)),
        "n_patients": int(adae["record_id"].nunique()),
        "patient_years": years,
        "events_per_100_patient_years": rate_per_100py(int(len(adae)), years),
        "by_seriousness": events_by_flag(adae, "ae_serious", "serious", "not_serious", years, blank=NOT_RECORDED),
        "by_relatedness": events_by_flag(adae, "related", "related", "not_related", years),
        "by_grade": events_by_code(adae, "ae_grade", GRADES, years),
        "by_relation": events_by_code(adae, "ae_relation", RELATIONS, years),
        "by_outcome": events_by_code(adae, "ae_outcome", OUTCOMES, years),
        "infusion_reactions": infusion_reactions(adex),
    }


def serious_or_related(adae: pd.DataFrame | None) -> list[dict]:
    """Listing of the serious or related adverse events, in adae's order: [{record_id, event_name, instance, term,
    onset_study_day, ae_grade, serious, ae_relation, ae_outcome}]. Requires record_id, event_name,
    repeat_instance, ae_term, onset_study_day, ae_grade, ae_serious, ae_relation, related, ae_outcome."""
    if adae is None or adae.empty:
        return []
    listed = adae[truthy(adae["ae_serious"]) | truthy(adae["related"])]
    return [{"record_id": str(r["record_id"]), "event_name": r["event_name"], "instance": fnum(r["repeat_instance"]),
             "term": None if pd.isna(r["ae_term"]) else str(r["ae_term"]),
             "onset_study_day": fnum(r["onset_study_day"]), "ae_grade": fnum(r["ae_grade"]),
             "serious": None if pd.isna(r["ae_serious"]) else bool(r["ae_serious"]),
             "ae_relation": fnum(r["ae_relation"]), "ae_outcome": fnum(r["ae_outcome"])}
            for _, r in listed.iterrows()]
