"""The catalog of every data-quality rule the pipeline applies, whichever stage applies it.

Each rule has an id (the ``rule`` column of ``quality.findings``), a Kahn et al. (2016) category and
subcategory, a default severity and action, a description (for the README and the steward report) and a hint:
what the data steward should do in REDCap. The expectation suites copy these into each expectation's
``meta``, so GX Data Docs and the findings carry the same words. A short title names the rule for people (the
steward worklist), and ``consequences`` says which rules' findings follow from one of its findings (a missing
column: every finding on that column), so the worklist reports the cause once with its consequences under it.

Kahn categories: *conformance* (value: format, codes, ranges of the dictionary; relational: keys, events,
structure; computational: derived values agree with their inputs), *completeness* (a value or a record that
should be there is not), *plausibility* (uniqueness, atemporal: values believable, temporal: dates in a
believable order).

Stages: ``ingest`` (the reader of the export drop: structure, and faults of the file as a whole),
``conformance`` (raw.records, dictionary-driven suites and placement rules), ``plausibility`` (after staging, on
the timeline and the anchor dates), ``gates`` (fields rejected throughout, endpoints that lose their patients),
``marts`` (critical, blocking expectations on the marts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.settings import shown as _shown, soft_limits as _soft_limits, value as _setting
from quality.findings import ACTIONS, CATEGORIES, SEVERITIES, Finding


#: in ``Rule.consequences``: every finding on a cell of the field (a column missing or unusable as a whole)
ON_THE_FIELD = "*"


@dataclass(frozen=True)
class Rule:
    rule: str
    stage: str
    category: str
    subcategory: str | None
    severity: str
    action: str
    description: str
    hint: str
    title: str = ""  # a short name for people (the steward page's problem column, its CSV)
    # rules whose findings follow from a finding of this one, so the steward page shows them under it, once: a
    # finding not tied to a record takes the findings of these rules (ON_THE_FIELD: of any rule) on its field in
    # every record; a finding of a record takes those on the same record, event and field
    consequences: tuple[str, ...] = ()

    def __post_init__(self):
        assert self.category in CATEGORIES, self
        assert self.severity in SEVERITIES, self
        assert self.action in ACTIONS, self

    def finding(self, message: str, **where) -> Finding:
        """A finding of this rule with the catalog's category, severity, action and hint; ``where`` names the
        cell (record_id, event, instrument, instance, field, value, source_row)."""
        return Finding(rule=self.rule, severity=self.severity, category=self.category,
                       subcategory=self.subcategory, action=self.action, hint=self.hint, message=message, **where)


_RULES = (
    # ---- ingest (emitted by the lead's ingest; catalogued here) -------------------------------------------
    Rule("dictionary_field_missing", "ingest", "conformance", "relational", "error", "blocked",
         "A field of the study definition is missing from the data dictionary that came with the drop.",
         "Restore the field in the REDCap project (Designer) or agree a study-definition change with the lead.",
         title="Field missing from the data dictionary", consequences=(ON_THE_FIELD,)),
    Rule("dictionary_field_retyped", "ingest", "conformance", "relational", "error", "blocked",
         "A field's type, validation, range or choices differ between the drop's dictionary and the study "
         "definition.",
         "Undo the change in the REDCap Designer, or have the study definition updated before the next export.",
         title="Field changed in the data dictionary", consequences=(ON_THE_FIELD,)),
    Rule("dictionary_unreadable", "ingest", "conformance", "relational", "error", "blocked",
         "The drop's data dictionary cannot be read as a REDCap data dictionary (empty, too few columns, ragged).",
         "Export the data dictionary again from REDCap (Project Setup → Data Dictionary → Download).",
         title="Data dictionary unreadable"),
    Rule("records_unreadable", "ingest", "conformance", "relational", "error", "blocked",
         "The drop cannot be read at all: no records or dictionary file, or a records file that is not a REDCap "
         "export (no record_id header, NUL bytes, broken CSV); nothing was loaded.",
         "Check the drop folder and export the records again from REDCap (Data Exports → raw, CSV).",
         title="Records file unreadable"),
    Rule("dictionary_field_unexpected", "ingest", "conformance", "relational", "warning", "none",
         "The drop's dictionary has a field the study definition does not know; its data are not loaded.",
         "Tell the data manager; the field is ignored until the study definition includes it.",
         title="Unknown field in the data dictionary"),
    Rule("records_column_missing", "ingest", "conformance", "relational", "error", "blocked",
         "An export column of the study is missing from the records file; it is loaded as empty.",
         "Re-export with all instruments and fields selected (full export, raw values).",
         title="Column missing from the records file", consequences=(ON_THE_FIELD,)),
    Rule("records_column_unexpected", "ingest", "conformance", "relational", "warning", "none",
         "The records file has a column the study does not define; it is ignored.",
         "Check the export settings (raw data, no extra fields) or the project's Designer.",
         title="Unknown column in the records file"),
    Rule("unreadable_row", "ingest", "conformance", "relational", "error", "quarantined",
         "A row of the records file has a different number of cells than the header (ragged row); it is not "
         "loaded.",
         "Re-export the project; if it recurs, look for line breaks or stray quotes in free-text fields of "
         "that record.",
         title="Ragged row in the records file"),
    Rule("encoding_replaced", "ingest", "conformance", "value", "warning", "none",
         "Bytes that are not valid UTF-8 were replaced while reading the records file.",
         "Fix the special characters of the named record in REDCap (retype accented letters).",
         title="Unreadable characters replaced"),
    Rule("identifier_missing", "ingest", "completeness", "atemporal", "error", "none",
         "A required identifier (the MRN) is empty on a filled form: the patient cannot be linked to the hospital "
         "record by pseudonym (the pseudonym is empty).",
         "Enter the medical record number on the enrollment form.",
         title="Required identifier empty"),
    Rule("dob_invalid", "ingest", "conformance", "value", "error", "nulled",
         "The date of birth is not a valid date, so the age at day 0 cannot be computed (the value itself is "
         "never shown).",
         "Correct the date of birth on the enrollment form (YYYY-MM-DD).",
         title="Date of birth not a date"),
    # ---- conformance on raw.records: values against the dictionary -----------------------------------------
    Rule("date_format", "conformance", "conformance", "value", "error", "nulled",
         "A date field does not hold a valid ISO date (YYYY-MM-DD); impossible dates such as 2021-02-30 fail.",
         "Enter the date as YYYY-MM-DD and check that the day exists.",
         title="Not a valid date",
         consequences=("assessment_date_missing", "expected_visit_missing", "event_window_mismatch")),
    Rule("number_format", "conformance", "conformance", "value", "error", "nulled",
         "A number field does not hold a number.",
         "Enter a plain number with a decimal point (no units, no text).",
         title="Not a number"),
    Rule("integer_format", "conformance", "conformance", "value", "error", "nulled",
         "An integer field does not hold a whole number.",
         "Enter a whole number (no decimals, no units).",
         title="Not a whole number"),
    Rule("choice_code_invalid", "conformance", "conformance", "value", "error", "nulled",
         "A radio, dropdown or yes/no field holds a code that is not one of the dictionary's choices.",
         "Select one of the listed options on the form.",
         title="Code not among the choices"),
    Rule("checkbox_value_invalid", "conformance", "conformance", "value", "error", "nulled",
         "A checkbox choice column holds something other than 0 or 1.",
         "Re-tick or untick the option on the form (the export must show 0 or 1).",
         title="Checkbox not 0 or 1"),
    Rule("value_out_of_range", "conformance", "conformance", "value", "error", "nulled",
         "A number lies outside the dictionary's validation minimum/maximum.",
         "Check the source document and correct the value (often a typo or a unit error).",
         title="Outside the dictionary range"),
    Rule("calc_mismatch", "conformance", "conformance", "computational", "error", "excluded",
         "mRSS: the 17 sites are all filled and the total is filled, but the total is not their sum; per the "
         "analysis plan the assessment is reported and not analysed.",
         "Check the 17 site scores against the source and let REDCap recalculate the total (or correct the "
         "retrospective total).",
         title="mRSS total is not the sum of sites"),
    # ---- conformance on raw.records: placement (rows that cannot be placed are quarantined) -----------------
    Rule("record_id_missing", "conformance", "conformance", "relational", "error", "quarantined",
         "The row has no record id, so it cannot be attached to a patient; it is not loaded.",
         "Find the row in the export (source row) and delete it or assign it to its record in REDCap.",
         title="Row without a record id"),
    Rule("event_unknown", "conformance", "conformance", "relational", "error", "quarantined",
         "The row's redcap_event_name is blank or not an event of the study; it is not loaded.",
         "Move the data to a defined event (or have the event added to the study definition).",
         title="Event not in the study"),
    Rule("repeat_instrument_unknown", "conformance", "conformance", "relational", "error", "quarantined",
         "The row's redcap_repeat_instrument is not an instrument the study defines as repeating; it is not "
         "loaded.",
         "Check the project's repeating-instrument settings; re-enter the data on the right form.",
         title="Repeating instrument not in the study"),
    Rule("repeat_instance_invalid", "conformance", "conformance", "relational", "error", "quarantined",
         "redcap_repeat_instance is not a positive whole number, or is blank on a repeating-instrument row; "
         "the row cannot be keyed and is not loaded.",
         "Re-export; if it recurs, tell the data manager (the project's repeat settings may have changed).",
         title="Repeat instance not usable"),
    Rule("form_not_designated_for_event", "conformance", "conformance", "relational", "warning", "none",
         "A form has data at an event where the study does not designate it (form-event mapping); the data are "
         "kept.",
         "Check the event: move the form's data to the designated event, or confirm it is intended.",
         title="Form at an event that does not collect it"),
    # ---- completeness ----------------------------------------------------------------------------------------
    Rule("required_missing", "conformance", "completeness", "atemporal", "warning", "none",
         "A field the dictionary marks as required is empty on an assessment of its form.",
         "Complete the field from the source document, or mark it as unknown if it was not collected.",
         title="Required field empty"),
    Rule("assessment_date_missing", "conformance", "completeness", "atemporal", "error", "excluded",
         "The assessment has data but no date, so it cannot be placed in time and is not analysed.",
         "Enter the date of the assessment.",
         title="Assessment date missing", consequences=("expected_visit_missing", "event_window_mismatch")),
    Rule("anchor_date_missing", "conformance", "completeness", "atemporal", "error", "none",
         "A patient-level form (enrollment, vital status) has data but no date; the form is kept, the "
         "dates derived from it are unknown.",
         "Enter the date (enrollment date / date of last contact).",
         title="Enrollment or last-contact date missing"),
    Rule("record_without_enrollment", "conformance", "completeness", "relational", "error", "quarantined",
         "The record has no enrollment assessment, so the patient cannot be placed; all its rows are not "
         "loaded.",
         "Complete the enrollment form at the baseline event (or delete the stray record).",
         title="Record without enrollment"),
    Rule("record_without_infusion_date", "conformance", "completeness", "relational", "error", "quarantined",
         "The record has no valid infusion date, so day 0 is unknown; all its rows are not loaded.",
         "Enter the date of the first UC-MSC infusion (YYYY-MM-DD) on the infusion form.",
         title="Record without an infusion date"),
    Rule("expected_visit_missing", "plausibility", "completeness", "temporal", "warning", "none",
         "A scheduled window whose target day has passed (before death and the export date) has no skin "
         "score (mRSS) assessment.",
         "Enter the visit if it took place (check its date), or record why it was missed.",
         title="Expected visit missing"),
    # ---- plausibility: uniqueness ----------------------------------------------------------------------------
    Rule("duplicate_row", "conformance", "plausibility", "uniqueness", "warning", "quarantined",
         "The row is an exact copy of an earlier row of the export; the first copy is loaded, the copy is not.",
         "Nothing to fix in the data, unless REDCap itself shows the record twice (then tell the data manager).",
         title="Duplicate export row"),
    Rule("duplicate_key", "conformance", "plausibility", "uniqueness", "error", "blocked",
         "Two rows share record id, event, repeat instrument and instance but differ: the run stops at this "
         "gate.",
         "Tell the data manager: the export is inconsistent (re-export; merge the duplicated rows).",
         title="Two different rows for one key"),
    # ---- plausibility: temporal ------------------------------------------------------------------------------
    Rule("assessment_before_enrollment", "plausibility", "plausibility", "temporal", "error", "excluded",
         f"The assessment is dated more than {_shown(_setting('plausibility.enrollment_lookback'))} days before "
         "enrollment; it is not analysed.",
         "Check the year/month of the assessment date against the source.",
         title="Assessment long before enrollment"),
    Rule("assessment_after_death", "plausibility", "plausibility", "temporal", "error", "excluded",
         "The assessment is dated after the patient's date of death; it is not analysed.",
         "Check the assessment date and the date of death.",
         title="Assessment after death"),
    Rule("assessment_in_future", "plausibility", "plausibility", "temporal", "error", "excluded",
         "The assessment is dated after the export date; it is not analysed.",
         "Correct the date (often a typo in the year).",
         title="Assessment dated in the future"),
    Rule("ae_end_before_onset", "plausibility", "plausibility", "temporal", "error", "nulled",
         "The adverse event ends before it starts; the end date is not used.",
         "Check the onset and end dates of the adverse event.",
         title="Adverse event ends before onset"),
    Rule("death_before_last_assessment", "plausibility", "plausibility", "temporal", "warning", "none",
         "The date of death precedes the patient's latest dated assessment.",
         "Check the date of death on the vital status form and the dates of the later assessments.",
         title="Death before the last assessment"),
    Rule("event_window_mismatch", "plausibility", "plausibility", "temporal", "warning", "none",
         "The assessment was entered under a scheduled event whose window does not hold its date; the "
         "analysis places it by its date.",
         "Check the date; if it is right, move the form to the matching event (or leave it: the date wins).",
         title="Event does not match the date", consequences=("expected_visit_missing",)),
    # ---- plausibility: atemporal -----------------------------------------------------------------------------
    Rule("pasp_trv_inconsistent", "plausibility", "plausibility", "atemporal", "warning", "none",
         "Echo: PASP does not agree with the tricuspid regurgitation velocity (PASP = 4·TRV² + right atrial "
         f"pressure {_shown(_setting('plausibility.pasp_rap'))} mmHg, ± "
         f"{_shown(_setting('plausibility.pasp_tolerance'))} mmHg tolerance).",
         "Check PASP and TRV against the echo report (TRV is in m/s, PASP in mmHg).",
         title="PASP disagrees with TRV"),
    Rule("clinical_outlier", "plausibility", "plausibility", "atemporal", "warning", "none",
         "The value is within the dictionary's range but outside the clinical soft limits for this cohort.",
         "Confirm the value against the source document; no change is needed if it is right.",
         title="Outside clinical soft limits"),
    # ---- marts (critical, blocking) --------------------------------------------------------------------------
    Rule("mart_value_missing", "marts", "completeness", "atemporal", "error", "blocked",
         "A value every row of a mart must have is missing (an analysed adtte row, ANL01FL, without its time ADY).",
         "Pipeline defect: tell the lead.",
         title="Mart value missing"),
    Rule("mart_value_invalid", "marts", "conformance", "value", "error", "blocked",
         "A mart value is outside its allowed codes or range (age at day 0, AE grade, AE relation).",
         "Pipeline defect or an unflagged raw value: tell the lead.",
         title="Mart value not allowed"),
    Rule("mart_relational", "marts", "conformance", "relational", "error", "blocked",
         "Marts disagree: adtte must have exactly one row per adsl patient.",
         "Pipeline defect: tell the lead.",
         title="Marts disagree"),
    Rule("mart_window", "marts", "plausibility", "temporal", "error", "blocked",
         "An analysed adbds row (ANL01FL) has a study day (ADY) outside its analysis window (AVISIT).",
         "Pipeline defect: tell the lead.",
         title="Analysed row outside its window"),
    # ---- ingest: the export file as a whole (file-level faults; one finding per file, not per cell) ---------
    Rule("export_resaved", "ingest", "conformance", "relational", "warning", "none",
         "The records file was re-saved by a spreadsheet program (another encoding such as Windows-1252 or "
         "UTF-16, a ';' or tab delimiter, decimal commas, CRLF line ends) but could be read without guessing: it "
         "was read as such, and said once for the file.",
         "Export the records again from REDCap (Data Exports, CSV raw data) and copy the file into the drop "
         "without opening it in a spreadsheet program.",
         title="Export re-saved by a spreadsheet"),
    Rule("export_dates_not_iso", "ingest", "conformance", "value", "error", "blocked",
         "Dates are written day/month/year or month/day/year throughout (a spreadsheet re-save), not YYYY-MM-DD: "
         "which is the day cannot be told without guessing, so the drop is not loaded.",
         "Export the records again from REDCap (CSV raw data) and do not open the file in a spreadsheet program "
         "before it is dropped.",
         title="Dates not YYYY-MM-DD"),
    Rule("export_labels", "ingest", "conformance", "value", "warning", "none",
         "Choice fields (radio, yes/no, checkboxes, form status, events) came as labels ('Female', 'Checked', "
         "'Complete') instead of raw codes; they were mapped back to codes through the data dictionary.",
         "Next time choose raw data (not labels) in REDCap's Data Exports.",
         title="Labels exported instead of codes"),
    Rule("export_labels_mixed", "ingest", "conformance", "relational", "error", "blocked",
         "A choice field holds both raw codes and labels, so which is meant cannot be told without guessing; "
         "the drop is not loaded.",
         "Export the records again from REDCap with raw data for every field.",
         title="Codes and labels mixed in a column"),
    Rule("missing_data_code", "ingest", "completeness", "atemporal", "warning", "nulled",
         "A cell holds one of the project's REDCap missing-data codes (SSC_MISSING_DATA_CODES; by default "
         "REDCap's UNK, NASK, NA, …): the value is missing, with that reason, and never used as a value. "
         "Reported once per field and code, with its count and records. In a total whose components are fields "
         "too (the mRSS total) a code is a filled but unusable value: conformance reports it and the assessment "
         "is not analysed (the components' sum never replaces a filled total: analysis plan).",
         "Nothing to do if the value is truly unknown; enter it in REDCap if it can be found. A missing date of "
         "death or of an infusion keeps the patient out of the analyses that need it.",
         title="Missing-data code"),
    Rule("date_time_part", "ingest", "conformance", "value", "warning", "none",
         "A date field carries a midnight time part ('2019-03-14 00:00', left by a spreadsheet or ETL pass); "
         "the date part is used.",
         "Export the records again from REDCap (CSV raw data) without passing the file through other tools.",
         title="Date with a time part"),
    Rule("repeated_header", "ingest", "conformance", "relational", "warning", "none",
         "A line of the records file repeats the header: two exports were concatenated. The line is not a "
         "data row and is skipped; rows that appear in both exports are exact copies (duplicate_row).",
         "Export the whole project again in one file (REDCap Data Exports, all records) instead of joining "
         "batch exports.",
         title="Header repeated mid-file"),
    Rule("rows_swallowed_by_quote", "ingest", "conformance", "relational", "error", "blocked",
         "A stray double quote opened a quoted cell that ran over the following lines, so rows that REDCap "
         "wrote as rows of their own were read as one cell: they are counted as unreadable and the drop is "
         "not analysed.",
         "Export the records again; if it recurs, find the stray \" in a free-text field of the named record "
         "(e.g. an adverse-event term) and correct it in REDCap.",
         title="Rows swallowed by a stray quote"),
    # ---- plausibility: anchor dates (day 0, enrollment, death, last contact) checked against each other ------
    Rule("death_date_missing", "plausibility", "completeness", "temporal", "error", "excluded",
         "The vital status form records the patient as dead but the date of death is blank or unusable (a "
         "missing-data code, an impossible date): the death cannot be placed in time, so the patient is left "
         "out of the survival analysis (never censored as alive).",
         "Enter the date of death on the vital status form (YYYY-MM-DD); if it is truly unknown, tell the "
         "data manager.",
         title="Date of death missing"),
    Rule("death_before_day0", "plausibility", "plausibility", "temporal", "error", "excluded",
         "The date of death is before the first infusion (day 0): the death cannot be placed in time, so the "
         "patient is left out of the survival analysis.",
         "Check the date of death on the vital status form against the source (often a typo in the year), "
         "and the first infusion date.",
         title="Death before day 0"),
    Rule("death_before_enrollment", "plausibility", "plausibility", "temporal", "error", "excluded",
         "The date of death is before enrollment: the death cannot be placed in time, so the patient is left "
         "out of the survival analysis.",
         "Check the date of death on the vital status form and the enrollment date against the source.",
         title="Death before enrollment"),
    Rule("death_in_future", "plausibility", "plausibility", "temporal", "error", "excluded",
         "The date of death is after the export date, so it cannot have happened yet: the death cannot be "
         "placed in time, so the patient is left out of the survival analysis (never counted as a death then, "
         "nor censored as alive).",
         "Check the date of death on the vital status form against the source (often a typo in the year).",
         title="Death dated in the future"),
    Rule("day0_before_enrollment", "plausibility", "plausibility", "temporal", "error", "excluded",
         f"The first infusion (day 0) is more than {_shown(_setting('plausibility.enrollment_lookback'))} days "
         "before enrollment, so day 0 itself is in doubt: the "
         "patient is left out of the survival analysis and none of their assessments is placed in an "
         "analysis window.",
         "Check the date of the first infusion and the enrollment date against the source (often a typo in "
         "the year).",
         title="Day 0 long before enrollment"),
    Rule("last_contact_before_day0", "plausibility", "plausibility", "temporal", "error", "nulled",
         "The date of last contact is before the first infusion (day 0); it is not used, and a patient alive "
         "is censored at their latest dated assessment.",
         "Check the date of last contact on the vital status form (often a typo in the year).",
         title="Last contact before day 0"),
    # ---- gates on fields and endpoints ------------------------------------------------------------------------
    Rule("field_rejected_throughout", "gates", "conformance", "value", "error", "blocked",
         "A field is rejected as a whole: conformance rejected more than SSC_MAX_FIELD_REJECTED_SHARE (default "
         "20%) of its filled cells (at least SSC_FIELD_GATE_MIN_FILLED, default 20), or all of them (at least 5); "
         "the run stops at gate fields_usable naming the field, sample values and the likely cause.",
         "Fix the export, not the cells: export the records again from REDCap (raw data, CSV) and load the file "
         "unchanged; map a site's missing-data codes in SSC_MISSING_DATA_CODES.",
         title="Field unusable as a whole", consequences=(ON_THE_FIELD,)),
    Rule("endpoint_coverage_lost", "gates", "completeness", "atemporal", "error", "blocked",
         "An endpoint of the analysis plan had patients with analysable input in the last published run and has "
         "none now, or lost more than SSC_MAX_ENDPOINT_LOSS (default 10%) of them; the run stops at gate "
         "endpoint_coverage_kept naming the endpoint and the input field that emptied it.",
         "Look at the named field in REDCap and in the export (quality.field_profile counts its filled and "
         "rejected cells); correct it and export again.",
         title="Endpoint lost its patients"),
    Rule("os_patients_excluded", "gates", "completeness", "temporal", "error", "blocked",
         "More than SSC_MAX_OS_EXCLUDED (default 0) patients cannot be placed in time and are left out of overall "
         "survival (recorded as dead without a usable death date, two death dates, a death date before day 0 or "
         "enrollment or after the export date, day 0 in doubt, or a recorded death that no survival row carries); "
         "the run stops at gate os_exclusions_within_limit naming each record and the field to fix.",
         "Correct death_date on the vital status form (or the infusion/enrollment date the message names) in "
         "REDCap, or set SSC_MAX_OS_EXCLUDED to publish with such exclusions.",
         title="Patients left out of survival"),
    Rule("same_patient_two_records", "gates", "plausibility", "uniqueness", "error", "blocked",
         "Two records of the export carry the same MRN (compared by its keyed pseudonym): one patient entered "
         "twice would be counted twice in every analysis; the run stops at gate one_record_per_patient naming the "
         "records.",
         "Merge the two records in REDCap (keep one), or correct the MRN of the record that is another patient.",
         title="One patient in two records"),
    # ---- the engine itself -----------------------------------------------------------------------------------
    Rule("gx_expectation_error", "any", "conformance", "value", "error", "none",
         "An expectation could not be evaluated (GX raised an exception); its column was not checked.",
         "Pipeline defect: tell the lead (see the GX Data Docs for the exception).",
         title="Check could not be evaluated"),
)

RULES: dict[str, Rule] = {r.rule: r for r in _RULES}


def rules_markdown() -> str:
    """The catalog as a markdown table, grouped by Kahn category."""
    lines = ["| rule | stage | category | subcategory | severity | action | description | steward hint |",
             "|---|---|---|---|---|---|---|---|"]
    for category in CATEGORIES:
        for r in _RULES:
            if r.category == category:
                lines.append(f"| `{r.rule}` | {r.stage} | {r.category} | {r.subcategory or ''} | {r.severity} "
                             f"| {r.action} | {r.description} | {r.hint} |")
    return "\n".join(lines)


_COMMA_DECIMAL = re.compile(r"^\s*([-+]?\d+),(\d+)\s*$")


def hint_for(rule_id: str, value: object = None, default: str | None = None) -> str | None:
    """The steward hint for one finding; a few rules tailor it to the offending value."""
    text = value if isinstance(value, str) else None
    if rule_id == "number_format" and text is not None:
        m = _COMMA_DECIMAL.match(text)
        if m:
            return f"use a decimal point: {m.group(1)}.{m.group(2)}"
    if rule_id == "integer_format" and text is not None and _COMMA_DECIMAL.match(text):
        return "enter a whole number (no decimal comma)"
    if default is not None:
        return default
    r = RULES.get(rule_id)
    return r.hint if r else None


# ---- clinical soft limits (plausibility, atemporal) ---------------------------------------------------------
# Values outside these limits but inside the dictionary's hard validation range are warnings
# (`clinical_outlier`). They are settings, with their units and sources: [soft_limits.<field>] and
# plausibility.pasp_* of study/analysis_settings.toml (docs/settings.md).
SOFT_LIMITS: dict[str, tuple[float, float, str]] = _soft_limits()  # field -> (low, high, why)

# PASP = 4·TRV² + RAP, with RAP 3–15 mmHg; the tolerance absorbs rounding of TRV and RAP estimation.
PASP_RAP_MIN, PASP_RAP_MAX = _setting("plausibility.pasp_rap")
PASP_TOLERANCE = _setting("plausibility.pasp_tolerance")


CATALOG_DOC_HEADER = """# Data-quality rules

Every rule the pipeline applies, by Kahn category, with what the pipeline does and what the data steward does
in REDCap. Generated from `quality/rules.py` (`python -m quality.rules > docs/quality_rules.md`); a test keeps
the two in sync.

"""


if __name__ == "__main__":
    print(CATALOG_DOC_HEADER + rules_markdown())
