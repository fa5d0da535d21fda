"""Great Expectations Data Docs that render offline and show the drop's values as text.

Offline. GX 1.24's page templates (``great_expectations/render/view/templates``: ``page.j2``, ``index_page.j2``,
``js_script_imports.j2``, ``top_navbar.j2``) load Bootstrap, jQuery, Popper, bootstrap-table, bootstrap-datepicker,
bootstrap-dark, Font Awesome and Vega from CDNs, and the GX logo from S3. Those exact files, taken from the npm
registry's packages of the same versions (:data:`SOURCES`), are checked in under ``quality/data_docs_assets/``
(``<package>@<version>/<file>`` with each package's licence, listed with sha256 in ``manifest.json``; re-fetch with
``python -m quality.data_docs fetch``). After each site build :func:`finish_build` copies them to
``data_docs/static-vendor/`` and rewrites each CDN URL in the pages built to the local relative path (post-build:
GX puts custom template folders *after* its own in the Jinja loader, so its page templates cannot be replaced),
then parses every page it rewrote and raises :class:`DataDocsError` naming the page and URL if a script,
stylesheet, font, image or CSS ``url()`` still points at the network, or at a local file that is missing.

Safe values. GX inserts some values unescaped: unexpected values and the values of the index columns in the
"unexpected values" table cells, the run name in the "Info" table, and the run name and link path in the index's
bootstrap-table (which renders cells as HTML). Which strings GX escapes and which it does not varies by path, and
after rendering a payload cannot be told from GX's own markup, so no post-build sanitiser can repair a page. The
values are therefore escaped once, at output, whatever path they take: the renderers configured for the site
(:class:`SafeValidationResultsPageRenderer`, :class:`SafeSiteIndexPageRenderer`) replace each string of the
validation result (``result``, ``exception_info``, run name) or of the index links that contains a character
special to HTML or JavaScript (``< > & " ' \\ ` `` newline) by an inert token ``ssc0x<utf-8 hex>x0css``; the
views (:class:`SafeJinjaPageView`, :class:`SafeJinjaIndexPageView`) turn each token of the finished page back
into the HTML-escaped value (``\\``, newline and carriage return as character references too, so a value inside a
JavaScript string literal stays inside it). Ordinary values contain none of those characters and render as before.
Each page also gets a Content-Security-Policy meta tag: GX's pages need inline scripts and ``eval`` (Vega), so the
policy cannot stop inline script; it stops anything from being loaded from, or sent to, the network.

Retention. :func:`prune` keeps the validation results (``gx/uncommitted/validations``) and validation pages
(``data_docs/validations``) of the newest :data:`KEEP_DROPS` run names (drops), by latest run time.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable

from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.render.renderer import SiteIndexPageRenderer, ValidationResultsPageRenderer
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

ASSETS = Path(__file__).with_name("data_docs_assets")
MANIFEST = ASSETS / "manifest.json"
VENDOR = "static-vendor"  # folder under data_docs the assets are copied to
KEEP_DROPS = 60

# npm package, version, file in the package, the URLs GX 1.24's templates load it from, the SRI hash they pin.
SOURCES: tuple[tuple[str, str, str, tuple[str, ...], str | None], ...] = (
    ("jquery", "3.7.1", "dist/jquery.min.js", ("https://code.jquery.com/jquery-3.7.1.min.js",), None),
    ("popper.js", "1.12.9", "dist/umd/popper.min.js",
     ("https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js",),
     "sha384-ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q"),
    ("bootstrap", "4.3.1", "dist/css/bootstrap.min.css",
     ("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css",), None),
    ("bootstrap", "4.3.1", "dist/js/bootstrap.min.js",
     ("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js",),
     "sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM"),
    ("bootstrap-table", "1.19.1", "dist/bootstrap-table.min.css",
     ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css",), None),
    ("bootstrap-table", "1.19.1", "dist/bootstrap-table.min.js",
     ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js",), None),
    ("bootstrap-table", "1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
     ("https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
      "bootstrap-table-filter-control.min.js",), None),
    ("bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.css",
     ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",),
     None),
    ("bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
     ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
      "bootstrap-table-filter-control.min.css",), None),
    ("bootstrap-datepicker", "1.9.0", "dist/css/bootstrap-datepicker.min.css",
     ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css",), None),
    ("bootstrap-datepicker", "1.9.0", "dist/js/bootstrap-datepicker.min.js",
     ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js",), None),
    ("@forevolve/bootstrap-dark", "1.1.0", "dist/css/bootstrap-prefers-dark.css",
     ("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",), None),
    ("@fortawesome/fontawesome-free", "6.6.0", "css/all.min.css",
     ("https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css",), None),
    # the fonts all.min.css loads (woff2; its ttf fallbacks are for browsers without woff2, none of which run Vega 5)
    *(("@fortawesome/fontawesome-free", "6.6.0", f"webfonts/{font}.{ext}", (), None)
      for font in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")
      for ext in ("woff2",)),
    # jsDelivr's "npm/<package>@<major>" is the newest release of that major, its package.json "jsdelivr" file
    ("vega", "5.33.1", "build/vega.min.js", ("https://cdn.jsdelivr.net/npm/vega@5",), None),
    ("vega-lite", "5.23.0", "build/vega-lite.min.js", ("https://cdn.jsdelivr.net/npm/vega-lite@5",), None),
    ("vega-embed", "6.29.0", "build/vega-embed.min.js", ("https://cdn.jsdelivr.net/npm/vega-embed@6",), None),
)
# GX's own images, loaded from S3, served from the copy GX writes to data_docs/static/images
S3_IMAGES = re.compile(r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
                       r"(logo-long\.png|full_logo_dark\.png)(\?[^\"')\s]*)?")
LOCAL_IMAGE = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long-vector.svg"}
STATIC_LINK = re.compile(r'\b(href|src)="(?:\./|(?:\.\./)+)static/')
CSP = ("default-src 'self' 'unsafe-inline' 'unsafe-eval' data:; connect-src 'none'; form-action 'none'; "
       "base-uri 'none'; object-src 'none'")
CSP_TAG = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'


class DataDocsError(RuntimeError):
    """A Data Docs page would load something from the network, or a local file it needs is missing."""


def asset_path(package: str, version: str, file: str) -> str:
    """The asset's path under ``data_docs_assets`` (and ``static-vendor``): ``<package>@<version>/<file>``."""
    return f"{package}@{version}/{file}"


# ---------------------------------------------------------------------------------------------------- fetching

def fetch(dest: Path = ASSETS) -> list[dict]:
    """Download :data:`SOURCES` with ``npm pack`` (the npm registry) into ``dest`` with each package's licence, check
    the SRI hashes GX pins, write ``manifest.json``; the manifest's rows. Needs ``npm`` and the registry."""
    rows = []
    by_package: dict[tuple[str, str], list] = {}
    for source in SOURCES:
        by_package.setdefault(source[:2], []).append(source)
    final, dest = dest, Path(tempfile.mkdtemp(prefix="data_docs_assets.", dir=dest.parent))
    with tempfile.TemporaryDirectory() as tmp:
        for (package, version), sources in by_package.items():
            out = subprocess.run(["npm", "pack", f"{package}@{version}", "--json", "--pack-destination", tmp],
                                 check=True, capture_output=True, text=True, cwd=tmp)
            with tarfile.open(Path(tmp) / json.loads(out.stdout)[0]["filename"]) as tar:
                names = tar.getnames()
                licences = [n for n in names if re.fullmatch(r"package/(LICEN[CS]E|COPYING)(\.\w+)?", n, re.I)]
                spdx = json.load(tar.extractfile("package/package.json")).get("license")
                if not licences and spdx:  # popper.js 1.12.9 ships no LICENSE: its package.json states it
                    licences = ["package/package.json"]
                if not licences:
                    raise DataDocsError(f"npm package {package}@{version} states no licence")
                for member, file, urls, sri in [(f"package/{s[2]}", s[2], s[3], s[4]) for s in sources] + [
                        (n, n.removeprefix("package/"), (), None) for n in licences]:
                    data = tar.extractfile(member).read()
                    if sri and sri != "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode():
                        raise DataDocsError(f"{package}@{version}/{file} differs from the file GX pins ({sri})")
                    target = dest / asset_path(package, version, file)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    rows.append({"package": package, "version": version, "file": file,
                                 "license": spdx, "path": asset_path(package, version, file), "bytes": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest(), "cdn": list(urls)})
    (dest / "manifest.json").write_text(json.dumps(rows, indent=1) + "\n")
    # the vega packages keep their files in build/, which the repository's .gitignore excludes
    (dest / ".gitignore").write_text("!build/\n")
    dest.chmod(0o755)
    if final.exists():
        shutil.rmtree(final)
    dest.rename(final)
    return rows


# ---------------------------------------------------------------------------------------------- values as text

_SPECIAL = re.compile(r"[<>&\"'\\`\n\r]")
_TOKEN = re.compile(r"ssc0x([0-9a-f]*)x0css")


def mask(value: Any) -> Any:
    """``value`` with each string (also inside dicts, lists and tuples) that contains a character special to HTML
    or JavaScript replaced by an inert token (``ssc0x<utf-8 hex>x0css``); other values unchanged."""
    if isinstance(value, str):
        return f"ssc0x{value.encode('utf-8').hex()}x0css" if _SPECIAL.search(value) else value
    if isinstance(value, dict):
        return {key: mask(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(mask(item) for item in value)
    return value


def _as_text(value: str) -> str:
    escaped = html.escape(value, quote=True)
    return escaped.replace("\\", "&#92;").replace("`", "&#96;").replace("\n", "&#10;").replace("\r", "&#13;")


def unmask(page: str) -> str:
    """``page`` with each token of :func:`mask` replaced by its value, HTML-escaped (safe as text, in an attribute
    and inside a JavaScript string literal)."""
    return _TOKEN.sub(lambda m: _as_text(bytes.fromhex(m.group(1)).decode("utf-8")), page)


class SafeValidationResultsPageRenderer(ValidationResultsPageRenderer):
    """GX's validation page renderer, given the result with its drop-derived strings masked (:func:`mask`)."""

    def render(self, validation_results, suite_parameters=None):
        masked = copy.copy(validation_results)
        masked.results = []
        for result in validation_results.results:
            result = copy.copy(result)
            result.result = mask(result.result)
            result.exception_info = mask(result.exception_info)
            masked.results.append(result)
        masked.meta = dict(validation_results.meta)
        run_id = masked.meta.get("run_id")
        if isinstance(run_id, RunIdentifier):
            masked.meta["run_id"] = RunIdentifier(run_name=mask(run_id.run_name), run_time=run_id.run_time)
        elif run_id is not None:
            masked.meta["run_id"] = mask(run_id)
        return super().render(masked, suite_parameters)


class SafeSiteIndexPageRenderer(SiteIndexPageRenderer):
    """GX's index renderer, given the links (run names, paths) masked (:func:`mask`)."""

    @classmethod
    def render(cls, index_links_dict):
        return super().render({key: (value if key == "cta_object" else mask(value))
                               for key, value in index_links_dict.items()})


class SafeJinjaPageView(DefaultJinjaPageView):
    """GX's page view; masked values come out HTML-escaped (:func:`unmask`)."""

    def render(self, document, template=None, **kwargs):
        return unmask(super().render(document, template, **kwargs))


class SafeJinjaIndexPageView(DefaultJinjaIndexPageView):
    """GX's index view; masked values come out HTML-escaped (:func:`unmask`)."""

    def render(self, document, template=None, **kwargs):
        return unmask(super().render(document, template, **kwargs))


def site_config(data_docs_dir: str | Path) -> dict:
    """The GX ``SiteBuilder`` config of the one Data Docs site at ``data_docs_dir``, with the safe renderers and
    views (section and index builders as GX's defaults otherwise; "how to" buttons off)."""
    def classes(renderer: str, view: str) -> dict:
        return {"renderer": {"module_name": __name__, "class_name": renderer},
                "view": {"module_name": __name__, "class_name": view}}

    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(Path(data_docs_dir).resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                               **classes("SafeSiteIndexPageRenderer", "SafeJinjaIndexPageView")},
        "site_section_builders": {
            "validations": {"class_name": "DefaultSiteSectionBuilder", "source_store_name": "validation_results_store",
                            **classes("SafeValidationResultsPageRenderer", "SafeJinjaPageView")},
        },
    }


# --------------------------------------------------------------------------------------------------- offline

class _Loads(HTMLParser):
    """What a page loads: (tag, attribute, URL) of scripts, stylesheets/icons, images, and CSS url()/@import."""

    CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for attribute in {"script": ("src",), "link": ("href",), "img": ("src", "srcset"), "iframe": ("src",),
                          "source": ("src", "srcset"), "embed": ("src",), "object": ("data",),
                          "video": ("src", "poster"), "audio": ("src",)}.get(tag, ()):
            if attrs.get(attribute) and not (tag == "link" and "stylesheet" not in (attrs.get("rel") or "")
                                              and "icon" not in (attrs.get("rel") or "")):
                self.loads.append((f"<{tag} {attribute}>", attrs[attribute]))
        if attrs.get("style"):
            self._css(f"<{tag} style>", attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css("<style>", data)

    def _css(self, where, text):
        self.loads += [(where, a or b) for a, b in self.CSS_URL.findall(text)]


def _rewrite(text: str, page: Path, root: Path) -> str:
    vendor = os.path.relpath(root / VENDOR, page.parent).replace(os.sep, "/")
    static = os.path.relpath(root / "static", page.parent).replace(os.sep, "/")
    for package, version, file, urls, sri in SOURCES:
        local = f"{vendor}/{asset_path(package, version, file)}"
        for url in urls:
            if sri:  # a file:// page cannot fetch with CORS, which SRI needs; the manifest's sha256 pins the file
                text = text.replace(f'"{url}" integrity="{sri}" crossorigin="anonymous"', f'"{local}"')
            text = text.replace(f'"{url}"', f'"{local}"')
    text = S3_IMAGES.sub(lambda m: f"{static}/images/{LOCAL_IMAGE[m.group(1)]}", text)
    # GX's favicon.j2 counts one "../" too few on validation pages
    text = STATIC_LINK.sub(lambda m: f'{m.group(1)}="{static}/', text)
    if CSP_TAG not in text:
        text = text.replace("<head>", f"<head>\n    {CSP_TAG}", 1)
    return text


def check_page(page: Path, text: str | None = None) -> None:
    """Raise :class:`DataDocsError` naming ``page`` and the URL if the page loads anything from the network
    (http, https, protocol-relative) or a local file that does not exist."""
    parser = _Loads()
    parser.feed(page.read_text(encoding="utf-8") if text is None else text)
    for where, url in parser.loads:
        if re.match(r"(?i)(https?:)?//", url):
            raise DataDocsError(f"Data Docs page {page} loads {url} ({where}) from the network: "
                                f"add it to quality.data_docs.SOURCES and run `python -m quality.data_docs fetch`")
        if not re.match(r"(?i)(data|blob|about|javascript):|#", url):
            target = page.parent / url.split("?")[0].split("#")[0]
            if not target.exists():
                raise DataDocsError(f"Data Docs page {page} loads {url} ({where}), which is missing: {target}")


def publish_assets(root: Path) -> bool:
    """Copy the checked-in assets to ``root/static-vendor`` unless the same manifest is already there; True when
    copied (the pages built before then may point at the network: localise them all)."""
    target = root / VENDOR
    if (target / "manifest.json").exists() and (target / "manifest.json").read_bytes() == MANIFEST.read_bytes():
        return False
    if target.exists():
        shutil.rmtree(target)
    # file by file, not copytree: that copies the checkout's modes, and SSC_HOME is owner-only (the process umask)
    for source in sorted(ASSETS.rglob("*"), key=lambda path: (path == MANIFEST, path)):  # the manifest last
        if source.is_file() and source.name != ".gitignore":
            copy = target / source.relative_to(ASSETS)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    return True


def localize(root: Path, pages: Iterable[Path]) -> int:
    """Rewrite the CDN and S3 URLs of ``pages`` (HTML files under ``root``) to the local copies and check each
    (:func:`check_page`); the number of pages rewritten."""
    changed = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new = _rewrite(text, page, root)
        check_page(page, new)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def finish_build(root: str | Path, built: Iterable[tuple[str, ...]] | None = None) -> int:
    """After a GX site build into ``root``: publish the assets and localise ``index.html`` and the pages of the
    ``built`` resources (``("validations" | "expectations", *identifier.to_tuple())``), or every page when
    ``built`` is None or the assets were (re)published; the number of pages rewritten."""
    root = Path(root)
    if publish_assets(root) or built is None:
        pages = sorted(p for p in root.rglob("*.html") if VENDOR not in p.relative_to(root).parts)
    else:
        pages = [root / "index.html"] + [root.joinpath(*parts[:-1], parts[-1] + ".html") for parts in built]
    return localize(root, [p for p in pages if p.exists()])


# ------------------------------------------------------------------------------------------------- retention

def prune(context, root: str | Path | None, keep: int = KEEP_DROPS) -> list[str]:
    """Delete the GX validation results, and their Data Docs pages under ``root/validations``, of all but the
    ``keep`` run names (drops) last validated; the run names pruned, oldest first."""
    store = context.validation_results_store
    keys = store.list_keys()
    latest: dict[str, Any] = {}
    for key in keys:
        name = key.run_id.run_name
        latest[name] = max(latest.get(name, key.run_id.run_time), key.run_id.run_time)
    ordered = sorted(latest, key=lambda name: latest[name])
    pruned = set(ordered[:max(len(ordered) - keep, 0)])
    for key in keys:
        if key.run_id.run_name not in pruned:
            continue
        store.remove_key(key)
        if root is not None:
            parts = key.to_tuple()
            Path(root, "validations", *parts[:-1], parts[-1] + ".html").unlink(missing_ok=True)
    if pruned:  # the run name and run time folders left empty
        base = getattr(store.store_backend, "full_base_directory", None)
        for folder in [Path(base)] * (base is not None) + [Path(root, "validations")] * (root is not None):
            for path, _, _ in os.walk(folder, topdown=False):
                if Path(path) != folder and not os.listdir(path):
                    os.rmdir(path)
    return [name for name in ordered if name in pruned]


if __name__ == "__main__" and sys.argv[1:] == ["fetch"]:
    for row in fetch():
        print(f"{row['path']}  {row['bytes']:>9,}  {row['sha256'][:16]}")
