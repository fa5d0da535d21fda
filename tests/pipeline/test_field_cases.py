"""REDCap exports as they really arrive, end to end: each field case ends as is right for it.

Right is one of two things. Where the export can be read without guessing, the published figures are those
of the clean export (every contract key of outcomes.json equal). Where it cannot, a clear stop: exit code 1,
the console names the file, the record, the field and what to do, with no traceback; the last published
outputs are untouched; and the steward worklist says the same. Every case is a night after a good night: the
case's drop lands in a copy of the home where `make run` published the clean demo. The drops are made in code
from the demo drop (tests/field_cases.py), one builder per kind of fault.

The readable kinds (a European spreadsheet re-save, a labels export, a date column with a time part,
Windows-1252 accents, a Mac's folders and files) arrive together in one drop: each is read back in isolation,
cell for cell, by tests/ingest/test_export_kinds.py; here their sum must publish the clean figures, and each
must be said once. The kinds that must stop each have a night of their own.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from field_cases import (
    HEADER, ROWS, as_labels, column, concatenated, dates_reordered, day0, dead_records, decimal_commas, mac_litter,
    set_cells, stray_quote, trailing_zeros_dropped, with_time_part, write_drop,
)
from test_nightly import figures_of, outcomes, query, run_nightly, verdicts_shown

pytestmark = pytest.mark.slow

CONTRACT_KEYS = ("overall_survival", "mrss", "hrct_ild", "pah", "haq_di", "vascular", "adverse_events")
NEXT_NIGHT = "2026-11-25T0200"
RECORDS = "SSC_DATA_2026-11-24_0200.csv"
PUBLISHED = ("outcomes.json", "report.html")


@pytest.fixture(scope="module")
def published_home(demo_run) -> Path:
    return demo_run[0]


class Night:
    """One run of the nightly job on a case's drop, in a copy of the published home."""

    def __init__(self, root: Path, published_home: Path, build):
        self.home = root / "home"
        shutil.copytree(published_home, self.home)
        self.before = {name: figures_of(self.home / "reports" / name) for name in PUBLISHED}
        self.inbox = root / "inbox"
        self.drop = build(self.inbox)
        self.result = run_nightly(self.home, self.inbox)
        self.console = self.result.stdout + self.result.stderr
        self.steward = (self.home / "reports" / "steward.html").read_text(encoding="utf-8")
        (log,) = re.findall(r"full log: (\S+)", self.result.stdout)[-1:]
        self.log = Path(log).read_text(encoding="utf-8", errors="replace")

    def figures(self) -> dict:
        return {key: outcomes(self.home)[key] for key in CONTRACT_KEYS}

    def published_again(self) -> bool:
        return json.loads((self.home / "reports" / "outcomes.json").read_text())["provenance"]["drop_id"] == NEXT_NIGHT

    def untouched(self) -> bool:
        return all(figures_of(self.home / "reports" / name) == data for name, data in self.before.items())

    def rules(self) -> set[str]:
        return {r for (r,) in query(self.home, "select distinct rule from quality.findings")}


def night(name: str, build):
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory, published_home):
        return Night(tmp_path_factory.mktemp(name), published_home, build)
    return fixture


def assert_no_traceback(n: Night) -> None:
    assert "Traceback" not in n.console and "dagster._core" not in n.console, n.console[-3000:]


def assert_clear_stop(n: Night, *names: str) -> None:
    """Exit 1, no traceback, the names on the console and on the steward page, the published files untouched."""
    assert n.result.returncode == 1, n.console[-3000:]
    assert_no_traceback(n)
    for name in names:
        assert name in n.result.stdout, (name, n.result.stdout[-3000:])
        assert name in n.steward, name
    assert n.untouched()
    verdict = n.result.stdout.strip().splitlines()[-1]
    assert verdict.startswith("nightly: BLOCKED at ") and any(name in verdict for name in names), verdict
    assert "Final status of this run: BLOCKED at" in n.steward


def assert_clean_figures(n: Night, published_home: Path) -> None:
    assert n.result.returncode == 0, n.console[-3000:]
    assert_no_traceback(n)
    assert n.published_again()
    assert n.figures() == {key: outcomes(published_home)[key] for key in CONTRACT_KEYS}


# ---- 01: re-saved by US Excel: Windows-1252, CRLF, m/d/yyyy dates -> a clear stop -------------------------------


def _excel_us(inbox):
    rows = dates_reordered(HEADER, trailing_zeros_dropped(HEADER, ROWS), "mdy")
    return write_drop(inbox, HEADER, rows, name=NEXT_NIGHT, encoding="cp1252", newline="\r\n")


excel_us = night("excel_us", _excel_us)


def test_01_a_us_excel_resave_stops_once_at_file_level(excel_us):
    assert_clear_stop(excel_us, RECORDS, "YYYY-MM-DD", "export the records again from REDCap")
    assert "date_format" not in excel_us.steward  # one finding for the file, not one per cell
    assert excel_us.result.stdout.count(RECORDS) <= 3


# ---- 02, 05, 07c, 11, 14, 14b: what can be read without guessing, together -> the clean figures --------------


ACCENTED = "Éruption cutanée – « légère »"


def _readable(inbox):
    i = column(HEADER, "ae_term")
    record = next(r[0] for r in ROWS if r[i])
    rows = set_cells(HEADER, ROWS, {(record, "ae_term"): ACCENTED, (record, "patient_name"): "Zoë Ångström"})
    rows = with_time_part(HEADER, rows, "mrss_date")  # 07c
    rows = as_labels(HEADER, rows)  # 05
    rows = decimal_commas(HEADER, trailing_zeros_dropped(HEADER, rows))  # 02
    drop = write_drop(inbox, HEADER, rows, name=NEXT_NIGHT, delimiter=";", newline="\r\n",
                      encoding="cp1252")  # 02, 11
    mac_litter(inbox, drop)  # 14, 14b
    return drop


readable = night("readable", _readable)


def test_what_can_be_read_without_guessing_publishes_the_clean_figures(readable, published_home):
    assert_clean_figures(readable, published_home)
    assert not {"number_format", "date_format", "choice_code_invalid", "checkbox_value_invalid",
                "encoding_replaced"} & readable.rules()


def test_02_a_european_excel_resave_is_read_and_said_once(readable):
    (said,) = query(readable.home, "select message from quality.findings where rule = 'export_resaved' "
                                   "and message like '%re-saved%'")
    assert "semicolon-delimited" in said[0] and "Windows-1252" in said[0]
    assert query(readable.home, "select count(*) from quality.findings where rule = 'export_resaved'") == [(2,)]


def test_05_a_labels_export_is_mapped_back_through_the_dictionary(readable):
    assert query(readable.home, "select count(*) from quality.findings where rule = 'export_labels'") == [(1,)]


def test_07c_a_date_column_with_a_time_part_keeps_the_primary_endpoint(readable, published_home):
    assert query(readable.home, "select field from quality.findings where rule = 'date_time_part'") == [("mrss_date",)]
    assert outcomes(readable.home)["mrss"] == outcomes(published_home)["mrss"]


def test_11_windows_1252_accents_are_read_correctly(readable):
    assert (ACCENTED,) in query(readable.home, "select AETERM from marts.adae")


def test_14_mac_folders_and_appledouble_files_are_ignored_and_listed_once(readable):
    assert readable.log.count("ignored 1 entry that is not a drop folder named YYYY-MM-DDTHHMM: __MACOSX/") >= 1
    assert "(?P<" not in readable.console + readable.log  # no raw regular expression
    assert "._" not in readable.console


# ---- 06 and 08: deaths that cannot be placed in time -> a clear stop naming each record -------------------------
# 06: REDCap missing-data codes, one on the death date of a dead patient; 08: a death date typed with the wrong
# year, before day 0. Both in one drop: the overall-survival gate must name each record and death_date.


CODED_DEATH, _ = dead_records(HEADER, ROWS)[0]
TYPO_DEATH, TYPO_DATE = dead_records(HEADER, ROWS)[-1]


def _deaths(inbox):
    wrong = f"{int(TYPO_DATE[:4]) - 3}{TYPO_DATE[4:]}"
    assert wrong < day0(HEADER, ROWS, TYPO_DEATH)
    rows = set_cells(HEADER, ROWS, {(CODED_DEATH, "death_date"): "UNK", ("SSC-0010", "echo_pasp_mmhg"): "NA",
                                    ("SSC-0002", "haq_dressing"): "NASK", (TYPO_DEATH, "death_date"): wrong})
    return write_drop(inbox, HEADER, rows, name=NEXT_NIGHT)


deaths = night("deaths", _deaths)


def test_06_a_death_without_a_usable_date_is_never_counted_alive(deaths):
    assert_clear_stop(deaths, CODED_DEATH, "death_date")
    coded = query(deaths.home, "select field, value from quality.findings where rule = 'missing_data_code'")
    assert set(coded) >= {("death_date", "UNK"), ("echo_pasp_mmhg", "NA"), ("haq_dressing", "NASK")}
    assert not {"date_format", "number_format", "choice_code_invalid"} & deaths.rules()
    assert (CODED_DEATH, "death_date") in query(deaths.home, "select record_id, field from quality.findings "
                                                             "where rule = 'death_date_missing'")


def test_08_a_death_before_day0_stops_naming_the_record_not_inside_a_dbt_test(deaths):
    assert_clear_stop(deaths, TYPO_DEATH, "death_date")
    assert "value_between_adtte" not in deaths.console
    assert (TYPO_DEATH, "death_date") in query(deaths.home, "select record_id, field from quality.findings "
                                                            "where rule = 'death_before_day0'")


def test_a_blocked_night_leaves_the_report_in_place_under_a_not_updated_banner(deaths, published_home):
    shown = verdicts_shown(deaths.home, deaths.result.stdout)
    assert shown["console"].startswith("BLOCKED at os_exclusions_within_limit: ")
    assert shown["console"] == shown["tag"] == shown["steward"]
    published = outcomes(published_home)["provenance"]["drop_id"]
    ((drop, exported),) = query(deaths.home, "select drop_id, cast(export_datetime as varchar) from raw.current_drop")
    assert drop == NEXT_NIGHT
    assert shown["report"] == (f"Not updated since drop {published} (exported 2026-11-24 02:00): the drop "
                               f"{NEXT_NIGHT} (exported {exported[:16]}) was {shown['console']}. The figures "
                               f"below are those of drop {published}.")
    assert deaths.untouched()  # the figures are as they were: only the status line changed


# ---- 10: two batch exports concatenated -> header skipped, copies quarantined, same figures ----------------------


concat = night("concat", lambda inbox: write_drop(inbox, HEADER, ROWS, name=NEXT_NIGHT,
                                        raw_lines=concatenated(HEADER, ROWS, split=240, overlap=11)))


def test_10_concatenated_batches_count_patients_from_placed_data(concat, published_home):
    assert_clean_figures(concat, published_home)
    assert outcomes(concat.home)["cohort_flow"]["enrolled"] == outcomes(published_home)["cohort_flow"]["enrolled"]
    (row,) = query(concat.home, "select export_rows, loaded_rows, quarantined_rows from quality.reconciliation "
                                "where instrument is null")
    assert row == (len(ROWS) + 11, len(ROWS), 11)
    assert {"repeated_header", "duplicate_row"} <= concat.rules()


# ---- a stray quote that swallows rows -> a clear stop naming the lines -------------------------------------------


QUOTED = sorted({r[0] for r in ROWS if r[column(HEADER, "ae_term")]})[-2]
stray = night("stray", lambda inbox: write_drop(inbox, HEADER, ROWS, name=NEXT_NIGHT,
                                       raw_lines=stray_quote(HEADER, ROWS, QUOTED)))


def test_a_stray_quote_never_swallows_rows_silently(stray):
    assert_clear_stop(stray, RECORDS, QUOTED, "lines ")
