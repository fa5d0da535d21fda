"""ingest.normalise.normalise_export given the distinct cells the reader found (ParsedRecords.distinct) normalises
exactly as it does finding them itself, also where one step changes a column that a later step tests again."""

from __future__ import annotations

import csv

import pandas as pd

from ingest.normalise import normalise_export, parse_missing_data_codes
from ingest.reader import parse_records
from study.definition import load_study

STUDY = load_study()


def _parsed(tmp_path, rows):
    path = tmp_path / "SSC_DATA_2026-11-24_0200.csv"
    header = list(STUDY.export_columns)
    with open(path, "w", newline="", encoding="utf-8") as handle:  # a European spreadsheet re-save: ';'
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        writer.writerows([row.get(c, "") for c in header] for row in rows)
    return parse_records(path, set(header), STUDY.event_names)


def _normalised(parsed, distinct):
    frame = pd.DataFrame(parsed.cells.T, columns=parsed.header, dtype=object)
    findings = normalise_export(frame, STUDY, parsed.format, parse_missing_data_codes(None), parsed.source, distinct)
    return frame, findings


def test_the_readers_distinct_cells_give_the_same_frame_and_findings(tmp_path):
    rows = [
        # a year-first date with a midnight time part: made YYYY-MM-DD by one step, its time part cut by the next
        {"record_id": "1", "redcap_event_name": "month_12_arm_1", "mrss_date": "2021/06/14 00:00", "mrss_total": "12"},
        {"record_id": "2", "redcap_event_name": "month_12_arm_1", "mrss_date": "2021-06-15", "mrss_total": "13",
         "mrss_face": "UNK"},
        {"record_id": "1", "redcap_event_name": "baseline_arm_1", "sex": "Female", "enrollment_date": " NASK "},
        {"record_id": "2", "redcap_event_name": "baseline_arm_1", "sex": "Male", "enrollment_date": "2020-01-02"},
        {"record_id": "1", "redcap_event_name": "baseline_arm_1", "redcap_repeat_instrument": "infusion",
         "redcap_repeat_instance": "1", "infusion_weight_kg": "61,5", "infusion_date": "2020.6.15"},
    ]
    parsed = _parsed(tmp_path, rows)
    assert set(parsed.distinct["mrss_date"]) == {"2021/06/14 00:00", "2021-06-15"}
    assert set(parsed.distinct["enrollment_date"]) == {" NASK ", "2020-01-02"}

    told, told_findings = _normalised(parsed, parsed.distinct)
    found, found_findings = _normalised(_parsed(tmp_path, rows), None)  # the same file, distinct cells not given

    assert told.equals(found)
    assert [vars(f) for f in told_findings] == [vars(f) for f in found_findings]
    assert told["mrss_date"].tolist()[:2] == ["2021-06-14", "2021-06-15"]
    assert told["mrss_total"].tolist()[:2] == ["12", "13"] and told["mrss_face"].tolist()[:2] == [None, None]
    assert told["enrollment_date"].tolist()[2:4] == [None, "2020-01-02"]
    assert told["sex"].tolist()[2:4] == ["1", "2"]
    assert told["infusion_weight_kg"].tolist()[4] == "61.5"
    assert told["infusion_date"].tolist()[4] == "2020-06-15"
    assert {f.rule for f in told_findings} >= {"missing_data_code", "export_labels", "date_time_part",
                                               "export_resaved"}
