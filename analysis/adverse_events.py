"""Adverse events (adae) and infusion reactions (adex): events, patients and rates per 100 patient-years.

"Related" is the mart's analysis causality ``adae.AREL`` 'RELATED' (relation possible, probable or definite;
defined once, in ``adae.sql``); this module only counts it. Codes are read from the numeric variables (AETOXGR,
AERELN, AEOUTN).
"""

from __future__ import annotations

import pandas as pd

from analysis._common import flagged, fnum, num, truthy

GRADES = ("1", "2", "3", "4", "5")
RELATIONS = ("1", "2", "3", "4", "5")
OUTCOMES = ("1", "2", "3", "4", "5", "6")
NOT_RECORDED = "not_recorded"


def patient_years(adtte: pd.DataFrame | None) -> float | None:
    """Total observation time: the sum of adtte AVAL (years) over the OS rows (PARAMCD 'OS') with a time; None
    without adtte rows."""
    if adtte is None or adtte.empty:
        return None
    return fnum(num(adtte.loc[adtte["PARAMCD"] == "OS", "AVAL"]).sum())


def rate_per_100py(events: int, years: float | None) -> float | None:
    """events / years × 100; None when ``years`` is 0 or missing."""
    return events / years * 100.0 if years else None


def _tally(adae: pd.DataFrame, mask: pd.Series, years: float | None) -> dict:
    n_events = int(mask.sum())
    return {"n_events": n_events, "n_patients": int(adae.loc[mask, "USUBJID"].nunique()),
            "rate_per_100py": rate_per_100py(n_events, years)}


def events_by_code(adae: pd.DataFrame, column: str, codes: tuple[str, ...], years: float | None) -> dict:
    """{code: {n_events, n_patients, rate_per_100py}} for each code of ``column`` (e.g. AETOXGR 1–5), then
    ``not_recorded`` (blank). Requires USUBJID and ``column`` (codes as numbers)."""
    values = num(adae[column])
    out = {c: _tally(adae, values == int(c), years) for c in codes}
    out[NOT_RECORDED] = _tally(adae, values.isna(), years)
    return out


def events_by_flag(adae: pd.DataFrame, flag: pd.Series, yes: str, no: str, years: float | None, *,
                   blank: str | None = None) -> dict:
    """{yes: …, no: …[, blank: …]} ({n_events, n_patients, rate_per_100py}) of ``flag``, a True/False/NULL
    series on adae's rows. With ``blank`` a NULL is counted apart; without, a NULL counts as False. Requires
    USUBJID."""
    known = flag.notna() if blank else pd.Series(True, index=adae.index)
    flag = truthy(flag)
    out = {yes: _tally(adae, flag, years), no: _tally(adae, known & ~flag, years)}
    if blank:
        out[blank] = _tally(adae, ~known, years)
    return out


def infusion_reactions(adex: pd.DataFrame | None) -> dict:
    """{n_infusions, n_patients_infused, n_reactions (infusions with a reaction), n_patients (patients with
    one)}. Requires USUBJID and infusion_reaction (BOOLEAN)."""
    if adex is None or adex.empty:
        return {"n_infusions": 0, "n_patients_infused": 0, "n_reactions": 0, "n_patients": 0}
    reaction = truthy(adex["infusion_reaction"])
    return {"n_infusions": int(len(adex)), "n_patients_infused": int(adex["USUBJID"].nunique()),
            "n_reactions": int(reaction.sum()), "n_patients": int(adex.loc[reaction, "USUBJID"].nunique())}


def adverse_events(adae: pd.DataFrame | None, adex: pd.DataFrame | None = None,
                   adtte: pd.DataFrame | None = None) -> dict:
    """{n_events, n_patients, patient_years, events_per_100_patient_years, by_seriousness, by_relatedness,
    by_grade, by_relation, by_outcome, infusion_reactions}.

    Each ``by_…`` maps a category to {n_events, n_patients, rate_per_100py}: by_seriousness 'serious',
    'not_serious', 'not_recorded' (adae.AESER 'Y', 'N', NULL); by_relatedness 'related', 'not_related'
    (adae.AREL); by_grade / by_relation codes 1–5 and by_outcome codes 1–6 (AETOXGR, AERELN, AEOUTN), each with
    'not_recorded'. Rates use the total OS observation time of adtte (:func:`patient_years`).
    """
    adae = adae if adae is not None else pd.DataFrame(
        columns=["USUBJID", "AETOXGR", "AESER", "AERELN", "AREL", "AEOUTN"])
    years = patient_years(adtte)
    return {
        "n_events": int(len(adae)),
        "n_patients": int(adae["USUBJID"].nunique()),
        "patient_years": years,
        "events_per_100_patient_years": rate_per_100py(int(len(adae)), years),
        "by_seriousness": events_by_flag(adae, _serious(adae), "serious", "not_serious", years, blank=NOT_RECORDED),
        "by_relatedness": events_by_flag(adae, _related(adae), "related", "not_related", years),
        "by_grade": events_by_code(adae, "AETOXGR", GRADES, years),
        "by_relation": events_by_code(adae, "AERELN", RELATIONS, years),
        "by_outcome": events_by_code(adae, "AEOUTN", OUTCOMES, years),
        "infusion_reactions": infusion_reactions(adex),
    }


def _serious(adae: pd.DataFrame) -> pd.Series:
    """AESER as True ('Y'), False ('N') or NULL (not recorded)."""
    return adae["AESER"].map({"Y": True, "N": False})


def _related(adae: pd.DataFrame) -> pd.Series:
    """The analysis causality AREL 'RELATED' (the study's rule, applied in adae.sql)."""
    return adae["AREL"].eq("RELATED")


def serious_or_related(adae: pd.DataFrame | None) -> list[dict]:
    """Listing of the serious or related adverse events, in adae's order: [{record_id (USUBJID), event_name (VISIT),
    instance (repeat_instance), term (AETERM), onset_study_day (ASTDY), ae_grade (AETOXGR), serious (AESER),
    ae_relation (AERELN), ae_outcome (AEOUTN)}], under the REDCap field names of the ARD."""
    if adae is None or adae.empty:
        return []
    listed = adae.assign(serious=_serious(adae))[flagged(adae["AESER"]) | _related(adae)]
    return [{"record_id": str(r["USUBJID"]), "event_name": r["VISIT"], "instance": fnum(r["repeat_instance"]),
             "term": None if pd.isna(r["AETERM"]) else str(r["AETERM"]),
             "onset_study_day": fnum(r["ASTDY"]), "ae_grade": fnum(r["AETOXGR"]),
             "serious": None if pd.isna(r["serious"]) else bool(r["serious"]),
             "ae_relation": fnum(r["AERELN"]), "ae_outcome": fnum(r["AEOUTN"])}
            for _, r in listed.iterrows()]
