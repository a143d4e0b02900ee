"""The GX data docs open offline: every CDN asset has a local copy, the written pages load only
files of the site, and headless Chromium with the network blocked renders the index and a failed
validation with the suite, the expectation and the values it refused."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import great_expectations
import great_expectations.expectations as gxe
import pandas as pd
import pytest

from include.quality import data_docs
from include.quality.expectations import CHANNELS, reconciliation_expectations
from include.quality.gate import QualityGateFailed, Validation, gate
from local import browser

START, END = datetime(2026, 11, 20, 10, tzinfo=UTC), datetime(2026, 11, 20, 12, tzinfo=UTC)
GX_VIEW = Path(great_expectations.__file__).parent / "render/view"
# A request made for a page has the page's origin ("null" for file://) as initiator; the
# browser's own calls home (component updates, sign-in, network time) have none.
BROWSER_OWN = "not an origin"
# What a page asks for: stylesheets, scripts and images it loads (links a reader may follow are not loads).
_LOADS = re.compile(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"#]+)"|url\(\s*[\'"]?([^\'")]+)')


def test_every_cdn_asset_of_gx_templates_has_a_local_copy():
    loaded = set()
    for template in [*(GX_VIEW / "templates").glob("*.j2"), *(GX_VIEW / "static/styles").glob("*.css")]:
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", template.read_text()):
            loaded.update(re.findall(r'(?:src|href)="(https?://[^"]+)"', tag))
    # Exactly: a URL GX adds fails this, and so does a stale entry of ours.
    assert loaded == set(data_docs.CDN_ASSETS)
    files = data_docs.vendor_files()
    assert {path for path in data_docs.CDN_ASSETS.values() if path} <= set(files)
    assert all(source.is_file() and source.stat().st_size > 0 for source in files.values())


def test_an_unknown_remote_asset_is_refused_not_written():
    with pytest.raises(data_docs.RemoteAssetError, match="no local copy of https://cdn.example.com/x.js"):
        data_docs.offline_html('<script src="https://cdn.example.com/x.js"></script>', "")
    with pytest.raises(data_docs.RemoteAssetError, match="still loads a remote asset"):
        data_docs.offline_html("<style>body { background: url(https://cdn.example.com/x.png) }</style>", "")


def test_cdn_tags_point_at_the_site_copy_from_the_page_depth():
    html = (
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" '
        'integrity="sha384-x" crossorigin="anonymous"></script>'
        '<link rel="shortcut icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>'
        '<a href="https://greatexpectations.io">GX</a>'
    )
    assert data_docs.offline_html(html, "../../") == (
        '<script src="../../static/vendor/jquery/jquery.min.js"></script>'
        '<link rel="shortcut icon" href="../../static/images/favicon.ico" type="image/x-icon"/>'
        '<a href="https://greatexpectations.io">GX</a>'
    )


def test_s3_prefix_puts_the_site_and_its_results_on_s3():
    config = data_docs.project_config(s3_prefix="s3://c360-docs/quality/prod/", var_dir=Path("/unused"))
    site = config.data_docs_sites[data_docs.SITE_NAME]
    assert site["store_backend"] == {
        "class_name": "TupleS3StoreBackend",
        "bucket": "c360-docs",
        "prefix": "quality/prod",
    }
    assert config.stores[config.validation_results_store_name]["store_backend"] == {
        "class_name": "TupleS3StoreBackend",
        "bucket": "c360-docs",
        "prefix": "quality/prod/_validation_results",
    }
    assert config.analytics_enabled is False
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        data_docs.project_config(s3_prefix="c360-docs/quality")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Docs of one run: canonical_events fails on a channel, landing passes."""
    var_dir = tmp_path_factory.mktemp("var")
    events = pd.DataFrame({"event_id": ["e1", "e2", "e3"], "channel": ["email", "fax", "carrier-pigeon"]})
    checkpoints = {
        "landing": [
            Validation(
                "landing_reconciliation",
                pd.DataFrame(
                    {
                        "manifest_landed": [3],
                        "raw_records": [3],
                        "manifest_quarantined": [0],
                        "quarantined_records": [0],
                        "new_events": [3],
                        "canonical_events": [3],
                    }
                ),
                reconciliation_expectations(),
            )  # fmt: skip
        ],
        "canonical_events": [
            Validation(
                "engagement_events",
                events,
                [
                    gxe.ExpectColumnValuesToBeUnique(column="event_id"),
                    gxe.ExpectColumnValuesToBeInSet(column="channel", value_set=CHANNELS),
                ],
            )
        ],
    }
    with pytest.raises(QualityGateFailed):
        gate(checkpoints, START, END, data_docs.project_config(s3_prefix="", var_dir=var_dir))
    return var_dir / "reports/data_docs"


def validation_page(site: Path, suite: str) -> Path:
    (page,) = (site / "validations" / suite).rglob("*.html")
    return page


def test_written_pages_load_only_files_of_the_site(site: Path):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == 5  # the index, two suites, two validations
    for page in pages:
        html = page.read_text()
        for reference in (next(filter(None, groups)) for groups in _LOADS.findall(html)):
            assert not re.match(r"[a-z]+:", reference), f"{page.name} loads {reference}"
            assert (page.parent / reference).resolve().is_file(), f"{page.name}: {reference} is not in the site"


def render(page: Path | str) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and every URL requested on its behalf.

    Host resolution is mapped to nothing, so no request can leave the machine; Chromium's
    NetLog records each one with the origin it was made for.
    """
    with tempfile.TemporaryDirectory(prefix="c360-chromium-") as scratch:
        netlog = Path(scratch) / "netlog.json"
        command = [
            browser.chromium_binary(), *browser.HEADLESS_FLAGS, f"--user-data-dir={scratch}/profile",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}", "--dump-dom",
            page.resolve().as_uri() if isinstance(page, Path) else page,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
        log = json.loads(netlog.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # Each job logs a begin event with the URL and an end event without.
    requested = [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and "url" in event.get("params", {})
        and event["params"].get("initiator") != BROWSER_OWN
    ]  # fmt: skip
    return result.stdout, requested


def text(dom: str) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def chromium() -> None:
    try:
        browser.chromium_binary()
    except browser.ChromiumMissing as missing:
        raise pytest.fail.Exception(f"{missing} (the data docs tests open the pages in it)", pytrace=False) from None


def test_the_recorder_sees_what_a_cdn_page_asks_for(chromium, tmp_path: Path):
    """The control: GX's own head, unrewritten, is caught asking the CDNs."""
    page = tmp_path / "cdn.html"
    page.write_text((GX_VIEW / "templates/js_script_imports.j2").read_text())
    _, requested = render(page)
    assert "https://code.jquery.com/jquery-3.7.1.min.js" in requested
    assert "https://cdn.jsdelivr.net/npm/vega@5" in requested


def test_index_renders_offline_with_every_suite(chromium, site: Path):
    dom, requested = render(site / "index.html")
    assert requested == []
    # bootstrap-table (a local script) built the rows: one per validation and per suite.
    rows = re.findall(r'<tr class="clickable-row" data-href="([^"]+)" data-index="\d+">', dom)
    assert sorted(rows) == sorted(
        [
            str(validation_page(site, "engagement_events").relative_to(site)),
            str(validation_page(site, "landing_reconciliation").relative_to(site)),
            "expectations/engagement_events.html",
            "expectations/landing_reconciliation.html",
        ]
    )
    assert "20261120T10-20261120T12" in text(dom)


def test_failed_validation_renders_offline_with_the_refused_values(chromium, site: Path):
    dom, requested = render(validation_page(site, "engagement_events"))
    assert requested == []
    page = text(dom)
    assert "Expectation Suite: engagement_events" in page and "Status: Failed" in page
    assert "Unsuccessful Expectations 1" in page
    # bootstrap-table puts a hidden "Loading, please wait" in each table it builds.
    assert re.search(
        r"channel (Loading, please wait )?Status Expectation Observed Value values must belong to this set: email text"
        r" media voice whatsapp \. 2 unexpected values found\. ≈66\.67% of 3 total rows\. Unexpected Value Count"
        r" carrier-pigeon 1 fax 1",
        page,
    ), page
    assert re.search(
        r"event_id (Loading, please wait )?Status Expectation Observed Value values must be unique\.", page
    )


def test_suite_page_renders_offline(chromium, site: Path):
    dom, requested = render(site / "expectations/landing_reconciliation.html")
    assert requested == []
    assert "Values in manifest_landed and raw_records must always be equal." in text(dom)
