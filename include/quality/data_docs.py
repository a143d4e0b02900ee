"""Where the Great Expectations data docs are written, and pages that open without a network.

Locally the site is `var/reports/data_docs/` and the validation results it is built from are
kept in `var/gx/validation_results/`; with `C360_DATA_DOCS_S3_PREFIX=s3://bucket/prefix` both
go to S3 (the results under `<prefix>/_validation_results/`). The two live together because
GX deletes a site page whose result its store no longer holds.

GX's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega from CDNs
(GX declined to ship them: great_expectations#8734). The views below rewrite each of those URLs
to a copy written into the site's `static/vendor/`, taken from a pinned PyPI package or, where
PyPI has none, from `include/quality/data_docs_static/`; a page that still names a remote asset fails
to render rather than reach out.
"""

from __future__ import annotations

import importlib.util
import re
from datetime import datetime, timedelta
from pathlib import Path

from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

from include import settings

SITE_NAME = "customer360"
S3_RESULTS_FOLDER = "_validation_results"
# The index lists the newest results only (it reads each one it lists); older pages stay on the site.
INDEX_LIMIT = 500
VENDOR_DIR = ("static", "vendor")
STATIC_DIR = Path(__file__).parent / "data_docs_static"

# Each CDN URL in GX's templates → its copy under static/vendor/ (None: the tag is dropped).
CDN_ASSETS: dict[str, str | None] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    # The bundle carries Popper, so the separate Popper script goes.
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.bundle.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": None,
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/bootstrap-table-filter-control.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker/bootstrap-datepicker.standalone.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker/bootstrap-datepicker.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark/bootstrap-prefers-dark.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "font-awesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}
# GX's logos on its own bucket (navbar image, dark-mode CSS background) → the images GX copies into static/images/.
GX_WEB_ASSETS = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/([\w.-]+)(\?[^\"')\s]*)?"
)
GX_IMAGES = {"logo-long.png": "logo-long.png", "full_logo_dark.png": "logo-long.png"}
CONTENT_TYPES = {".js": "application/javascript", ".css": "text/css", ".woff2": "font/woff2"}

_SCRIPT = re.compile(r'<script\b[^>]*\bsrc="(https?://[^"]+)"[^>]*>\s*</script>')
_LINK = re.compile(r'<link\b[^>]*\bhref="(https?://[^"]+)"[^>]*>')
_GX_STATIC = re.compile(r"""(["'(])(?:\./|(?:\.\./)+)static/""")
_REMOTE_FETCH = re.compile(
    r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="https?://|url\(\s*[\'"]?https?://'
)


class RemoteAssetError(ValueError):
    """A page still loads something from the network: GX's templates changed, extend CDN_ASSETS."""


def vendor_files() -> dict[str, Path]:
    """Every file the rewritten pages load, by its path under static/vendor/."""
    import xstatic.pkg.bootstrap
    import xstatic.pkg.bootstrap_datepicker
    import xstatic.pkg.font_awesome
    import xstatic.pkg.jquery

    bootstrap = Path(xstatic.pkg.bootstrap.BASE_DIR)
    datepicker = Path(xstatic.pkg.bootstrap_datepicker.BASE_DIR)
    font_awesome = Path(xstatic.pkg.font_awesome.BASE_DIR)
    # Located, not imported: splink's package import is heavy and only its files are needed.
    vega = Path(importlib.util.find_spec("splink").submodule_search_locations[0]) / "internals/files/external_js"
    return {
        "bootstrap/bootstrap.min.css": bootstrap / "css/bootstrap.min.css",
        "bootstrap/bootstrap.bundle.min.js": bootstrap / "js/bootstrap.bundle.min.js",
        "jquery/jquery.min.js": Path(xstatic.pkg.jquery.BASE_DIR) / "jquery.min.js",
        "bootstrap-datepicker/bootstrap-datepicker.standalone.css": datepicker / "bootstrap-datepicker.standalone.css",
        "bootstrap-datepicker/bootstrap-datepicker.js": datepicker / "bootstrap-datepicker.js",
        "font-awesome/css/all.min.css": font_awesome / "css/all.min.css",
        # The CSS lists woff2 before ttf and every browser that runs the pages reads woff2.
        **{f"font-awesome/webfonts/{font.name}": font for font in sorted((font_awesome / "webfonts").glob("*.woff2"))},
        "vega/vega.min.js": vega / "vega@5.31.0",
        "vega/vega-lite.min.js": vega / "vega-lite@5.2.0",
        "vega/vega-embed.min.js": vega / "vega-embed@6.20.2",
        **{
            f"{library.name}/{asset.name}": asset
            for library in sorted(STATIC_DIR.iterdir())
            if library.is_dir()
            for asset in sorted(library.iterdir())
            if asset.suffix in CONTENT_TYPES
        },
    }


def offline_html(html: str, root: str) -> str:
    """The page with every CDN asset pointing at the site's copy; root is the path from the page to the site root."""

    def local(url: str) -> str | None:
        if url not in CDN_ASSETS:
            raise RemoteAssetError(f"no local copy of {url}")
        path = CDN_ASSETS[url]
        return None if path is None else f"{root}{'/'.join(VENDOR_DIR)}/{path}"

    def script(match: re.Match) -> str:
        src = local(match[1])
        return "" if src is None else f'<script src="{src}"></script>'

    def link(match: re.Match) -> str:
        href = local(match[1])
        return "" if href is None else f'<link rel="stylesheet" href="{href}">'

    def image(match: re.Match) -> str:
        if match[1] not in GX_IMAGES:
            raise RemoteAssetError(f"no local copy of {match[0]}")
        return f"{root}static/images/{GX_IMAGES[match[1]]}"

    html = GX_WEB_ASSETS.sub(image, _LINK.sub(link, _SCRIPT.sub(script, html)))
    # GX's own relative static paths, from the page's real depth (its favicon template is one level short).
    html = _GX_STATIC.sub(lambda match: f"{match[1]}{root}static/", html)
    if remote := _REMOTE_FETCH.search(html):
        raise RemoteAssetError(f"the page still loads a remote asset: {html[remote.start() : remote.end() + 80]}")
    return html


def page_root(document) -> str:
    """The relative path from a rendered page to the site root, by GX's page layout (as its navbar computes it).

    Index: index.html; suite: expectations/<suite, dots as folders>.html;
    validation: validations/<suite, dots as folders>/<run name>/<run time>/<batch>.html.
    """
    renderer = document.renderer_type or ""
    dots = (document.expectation_suite_name or "").count(".")
    if "ValidationResults" in renderer or "ProfilingResults" in renderer:
        return "../" * (dots + 4)
    if "ExpectationSuite" in renderer:
        return "../" * (dots + 1)
    return ""


class OfflinePageView(DefaultJinjaPageView):
    def render(self, document, template=None, **kwargs):
        return offline_html(super().render(document, template, **kwargs), page_root(document))


class OfflineIndexPageView(DefaultJinjaIndexPageView):
    def render(self, document, template=None, **kwargs):
        return offline_html(super().render(document, template, **kwargs), page_root(document))


class OfflineSiteBuilder(SiteBuilder):
    """GX's site builder that also writes the vendored assets, through the site's own store (disk or S3)."""

    def build(self, resource_identifiers=None, build_index: bool = True):
        built = super().build(resource_identifiers, build_index=build_index)
        static = self.target_store.store_backends["static_assets"]
        for path, source in vendor_files().items():
            content_type = CONTENT_TYPES[Path(path).suffix]
            static.set((*VENDOR_DIR, *path.split("/")), source.read_bytes(), content_type=content_type)
        return built


def _s3_location(prefix: str) -> tuple[str, str]:
    if not prefix.startswith("s3://"):
        raise ValueError(f"{settings.DATA_DOCS_S3_PREFIX_ENV} must look like s3://bucket/prefix, not {prefix!r}")
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    return bucket, key.strip("/")


def site_config(s3_prefix: str | None, var_dir: Path) -> dict:
    if s3_prefix:
        bucket, key = _s3_location(s3_prefix)
        backend = {"class_name": "TupleS3StoreBackend", "bucket": bucket, "prefix": key}
    else:
        backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(var_dir / "reports/data_docs")}
    view = {"module_name": __name__, "class_name": OfflinePageView.__name__}
    return {
        "module_name": __name__,
        "class_name": OfflineSiteBuilder.__name__,
        "store_backend": backend,
        # The how-to buttons and walkthrough modal are GX onboarding, not our data.
        "show_how_to_buttons": False,
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "validation_results_limit": INDEX_LIMIT,
            "view": {"module_name": __name__, "class_name": OfflineIndexPageView.__name__},
        },
        "site_section_builders": {"expectations": {"view": view}, "validations": {"view": view}, "profiling": "None"},
    }


def results_store_backend(s3_prefix: str | None, var_dir: Path) -> dict:
    if s3_prefix:
        bucket, key = _s3_location(s3_prefix)
        return {
            "class_name": "TupleS3StoreBackend",
            "bucket": bucket,
            "prefix": f"{key}/{S3_RESULTS_FOLDER}".lstrip("/"),
        }
    return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(var_dir / "gx/validation_results")}


def project_config(s3_prefix: str | None = None, var_dir: Path | None = None) -> DataContextConfig:
    """An ephemeral GX context's config: suites and checkpoints live in code, results and docs persist.

    s3_prefix None reads C360_DATA_DOCS_S3_PREFIX ("" or unset: local); var_dir defaults to settings.VAR_DIR.
    On S3 the store uses boto3's default credentials (the worker's role).
    """
    s3_prefix = s3_prefix if s3_prefix is not None else settings.data_docs_s3_prefix()
    var_dir = var_dir or settings.VAR_DIR
    defaults = InMemoryStoreBackendDefaults()
    stores = defaults.stores
    stores[defaults.validation_results_store_name]["store_backend"] = results_store_backend(s3_prefix, var_dir)
    return DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={SITE_NAME: site_config(s3_prefix, var_dir)},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )


def prune_results(context, run_time: datetime) -> int:
    """Remove the validation results of runs timed more than the retention before ``run_time``.

    The next site build drops their pages (GX removes a page whose result its store no longer
    holds). Timed by the data interval, not the clock: a replay of an old interval prunes nothing newer.
    """
    keep_from = run_time - timedelta(days=settings.data_docs_retention_days())
    store = context.validation_results_store
    expired = [key for key in store.list_keys() if key.run_id.run_time < keep_from]
    for key in expired:
        store.remove_key(key)
    return len(expired)
