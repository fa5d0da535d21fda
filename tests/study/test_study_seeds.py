"""What the dictionary says about a field (type, unit, formula) and the seeds generated from it, on a small
hand-written dictionary."""

from __future__ import annotations

from study.definition import Study, parse_dictionary
from study.seeds import choice_rows, field_rows, visit_instruments

HEADER = ("Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider "
          "Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,"
          "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
          "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation")
EMPTY_TAIL = ",,,,,"  # the last five columns, empty
DICTIONARY = "\n".join([HEADER, *(line + EMPTY_TAIL for line in [
    "record_id,enrollment,,text,Study ID,,,,,,,,y",
    "mrn,enrollment,,text,Hospital medical record number,,,,,,y,,y",
    "phone,enrollment,,text,Contact phone,,,phone,,,y,,",
    "sex,enrollment,,radio,Sex,\"1, Female | 2, Male\",,,,,,,y",
    "visit_date,visit,,text,Date of visit,,,date_ymd,,,,,y",
    "weight_kg,visit,,text,Body weight (kg),,,number_1dp,25,150,,,",
    "score,visit,,text,Score (0-10),,,integer,0,10,,,",
    "grade,visit,,radio,Grade,\"A, Low | B, High\",,,,,,,",
    "seen,visit,,yesno,Seen by the physician,,,,,,,,",
    "aids,visit,,checkbox,Aids used,\"1, Cane | 2, Walker\",,,,,,,",
    "total,visit,,calc,Total (0-20),[score] + [score],,,,,,,",
    "ratio,visit,,calc,Ratio,round([score] / 2),,,,,,,",
    "dose_mg,infusion,,text,Dose (mg),,,number,,,,,",
])])
STUDY = Study(fields=parse_dictionary(DICTIONARY), events=(),
              form_events=(("baseline_arm_1", "enrollment"), ("baseline_arm_1", "visit"), ("month_1_arm_1", "visit"),
                           ("baseline_arm_1", "infusion"), ("month_1_arm_1", "infusion")),
              repeating=(("baseline_arm_1", "infusion"),))


def test_field_types_units_and_formulas_come_from_the_dictionary():
    f = STUDY.by_name
    assert {name: f[name].sql_type for name in f} == {
        "record_id": "VARCHAR", "mrn": "VARCHAR", "phone": "VARCHAR", "sex": "INTEGER", "visit_date": "DATE",
        "weight_kg": "DOUBLE", "score": "INTEGER", "grade": "VARCHAR", "seen": "BOOLEAN", "aids": "BOOLEAN",
        "total": "DOUBLE", "ratio": "DOUBLE", "dose_mg": "DOUBLE"}
    assert (f["weight_kg"].unit, f["dose_mg"].unit, f["score"].unit, f["total"].unit) == ("kg", "mg", "", "")
    assert f["total"].calc_terms == ("score", "score")
    assert f["ratio"].calculation == "round([score] / 2)" and f["ratio"].calc_terms == ()
    assert f["score"].calc_terms == ()


def test_visit_instruments_are_collected_at_several_events_and_do_not_repeat():
    assert visit_instruments(STUDY) == ("visit",)


def test_fields_seed_one_row_per_data_column_with_the_project_names():
    rows = [(r["field_order"], r["export_column"], r["field"], r["instrument"], r["staging_column"], r["sql_type"],
             r["label"], r["unit"], r["is_measure"]) for r in field_rows(STUDY)]
    assert rows == [
        ("1", "mrn_pseudonym", "mrn", "enrollment", "subject_pseudonym", "VARCHAR",
         "Pseudonym of the hospital medical record number", "", "false"),
        ("2", "sex", "sex", "enrollment", "sex_code", "INTEGER", "Sex", "", "false"),
        ("3", "visit_date", "visit_date", "visit", "visit_date", "DATE", "Date of visit", "", "false"),
        ("4", "weight_kg", "weight_kg", "visit", "weight_kg", "DOUBLE", "Body weight (kg)", "kg", "true"),
        ("5", "score", "score", "visit", "score", "INTEGER", "Score (0-10)", "", "true"),
        ("6", "grade", "grade", "visit", "grade", "VARCHAR", "Grade", "", "false"),
        ("7", "seen", "seen", "visit", "seen", "BOOLEAN", "Seen by the physician", "", "false"),
        ("8", "aids___1", "aids", "visit", "aids___1", "BOOLEAN", "Aids used: Cane", "", "false"),
        ("9", "aids___2", "aids", "visit", "aids___2", "BOOLEAN", "Aids used: Walker", "", "false"),
        ("10", "total", "total", "visit", "total", "DOUBLE", "Total (0-20)", "", "true"),
        ("11", "ratio", "ratio", "visit", "ratio", "DOUBLE", "Ratio", "", "true"),
        ("12", "dose_mg", "dose_mg", "infusion", "dose_mg", "DOUBLE", "Dose (mg)", "mg", "false"),
    ]


def test_choices_seed_every_choice_with_its_export_column():
    assert [(r["field"], r["export_column"], r["code"], r["label"]) for r in choice_rows(STUDY)] == [
        ("sex", "sex", "1", "Female"), ("sex", "sex", "2", "Male"),
        ("grade", "grade", "A", "Low"), ("grade", "grade", "B", "High"),
        ("seen", "seen", "1", "Yes"), ("seen", "seen", "0", "No"),
        ("aids", "aids___1", "1", "Cane"), ("aids", "aids___2", "2", "Walker"),
    ]
