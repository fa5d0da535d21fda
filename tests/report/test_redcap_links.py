"""Links from the steward worklist to REDCap (SSC_REDCAP_RECORD_URL): the template is checked when the code
location loads, each record id is percent-encoded into it, and every record of the worklist opens its REDCap
page in a new tab; without the setting, no links."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from orchestration.definitions import build_definitions
from orchestration.publishing import publish_steward_report
from orchestration.resources import StudyLocations
from orchestration.settings import locations_config
from quality.findings import findings_frame
from quality.rules import RULES
from report.redcap_links import checked_template, record_url

TEMPLATE = "https://redcap.example.org/redcap_v14.5.0/DataEntry/record_home.php?pid=123&id={record_id}"
PASSED = [{"gate": "conformance", "passed": True, "message": "ok"}]


def findings(*records: str):
    """One clinical outlier per record, and a finding not tied to a record (a missing column)."""
    found = [RULES["clinical_outlier"].finding("esr_mm_h = 128 is outside the clinical soft limits 1–120 (ESR)",
                                               record_id=r, event="month_12_arm_1", instrument="labs",
                                               field="esr_mm_h", value="128", source_row=40 + i)
             for i, r in enumerate(records)]
    found.append(RULES["records_column_missing"].finding(
        "SSC_DATA.csv, line 1: column pft_date is missing from the records export", instrument="pft",
        field="pft_date"))
    return findings_frame(found)


def record_cells(page: str) -> list[str]:
    return re.findall(r'<td class="id">(.*?)</td>', page, re.S)


def test_a_record_id_is_percent_encoded_into_the_template():
    assert record_url(TEMPLATE, "SSC-0001") == TEMPLATE.replace("{record_id}", "SSC-0001")
    assert record_url(TEMPLATE, "12 a/b&c=d#e?") == TEMPLATE.replace("{record_id}", "12%20a%2Fb%26c%3Dd%23e%3F")
    assert record_url("", "SSC-0001") is None
    assert record_url(TEMPLATE, None) is None and record_url(TEMPLATE, "") is None


@pytest.mark.parametrize("template, problem", [
    ("https://redcap.example.org/redcap_v14.5.0/DataEntry/record_home.php?pid=123&id=", "must hold {record_id}"),
    ("javascript:alert(1)//{record_id}", "http:// or https://"),
    ("ftp://redcap.example.org/{record_id}", "http:// or https://"),
    ("redcap.example.org/record_home.php?id={record_id}", "http:// or https://"),
    ("https:///record_home.php?id={record_id}", "http:// or https://"),
])
def test_an_unusable_template_stops_the_loading_naming_the_setting(template, problem):
    with pytest.raises(ValueError, match="SSC_REDCAP_RECORD_URL") as refused:
        locations_config({"SSC_REDCAP_RECORD_URL": template})
    assert problem in str(refused.value) and "\n" not in str(refused.value)
    with pytest.raises(ValueError, match="SSC_REDCAP_RECORD_URL"):
        build_definitions({"SSC_REDCAP_RECORD_URL": template})


def test_a_usable_template_is_read_from_the_environment_when_a_run_starts(monkeypatch):
    assert checked_template(f" {TEMPLATE} ") == TEMPLATE and checked_template("") == ""
    assert "redcap_record_url" not in locations_config({})
    config = locations_config({"SSC_REDCAP_RECORD_URL": TEMPLATE.replace("https", "http")})
    assert config["redcap_record_url"].env_var_name == "SSC_REDCAP_RECORD_URL"  # the UI shows the variable's name
    assert StudyLocations().redcap_record_url == ""


def test_every_record_of_the_worklist_links_to_its_redcap_page_in_a_new_tab(tmp_path):
    locations = StudyLocations(inbox=str(tmp_path / "inbox"), home=str(tmp_path), redcap_record_url=TEMPLATE)
    page = publish_steward_report(locations, findings("SSC-0002", "SSC 7/<b>"), gate_results=PASSED,
                                  provenance={"drop_id": "2026-11-25T0200", "run_id": "run-9"})
    html = (tmp_path / "reports" / "steward.html").read_text(encoding="utf-8")
    assert page.endswith("steward.html")
    cells = record_cells(html)
    linked = [c for c in cells if c.startswith("<a ")]
    assert len(cells) == 3 and len(linked) == 2  # the missing column is not tied to a record: no link
    hrefs = {htmllib.unescape(re.search(r'href="([^"]*)"', c)[1]): htmllib.unescape(re.sub(r"<[^>]+>", "", c))
             for c in linked}
    assert hrefs == {TEMPLATE.replace("{record_id}", "SSC-0002"): "SSC-0002",
                     TEMPLATE.replace("{record_id}", "SSC%207%2F%3Cb%3E"): "SSC 7/<b>"}
    for cell in linked:
        assert 'target="_blank"' in cell and "noopener" in re.search(r'rel="([^"]*)"', cell)[1].split()
    assert "<b>" not in html  # the record id is text, escaped, in the cell and in its title


def test_without_the_setting_records_are_plain_text(tmp_path):
    locations = StudyLocations(inbox=str(tmp_path / "inbox"), home=str(tmp_path))
    publish_steward_report(locations, findings("SSC-0002"), gate_results=PASSED, provenance={"drop_id": "d"})
    html = (tmp_path / "reports" / "steward.html").read_text(encoding="utf-8")
    assert "SSC-0002" in record_cells(html) and "record_home.php" not in html and 'target="_blank"' not in html
