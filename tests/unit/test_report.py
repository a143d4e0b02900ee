"""The engagement dashboard: its charts hold one bar per mart value, and headless Chromium draws them."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from include.reporting.dashboard import LATEST_NAME, write_report
from include.warehouse.seam import DuckDBWarehouse
from local import browser

START, END = datetime(2026, 11, 20, 4, tzinfo=UTC), datetime(2026, 11, 20, 7, tzinfo=UTC)
SCRIPT_CAMPAIGN = "<script>alert(1)</script>"
# 4 hours × 2 channels less the pairs without events (a gap must get no bar); 03:00 is before the interval.
VOLUME = [
    (datetime(2026, 11, 20, 3), "email", 40),
    (datetime(2026, 11, 20, 4), "email", 120),
    (datetime(2026, 11, 20, 4), "sms", 30),
    (datetime(2026, 11, 20, 5), "sms", 25),
    (datetime(2026, 11, 20, 6), "email", 90),
    (datetime(2026, 11, 20, 6), "sms", 10),
]
EXPECTED_BARS = {
    "volume-by-hour": len(VOLUME),
    "delivery-funnel": 2 * 3 - 1,  # channels × sent, delivered, engaged; SMS reports no engagement (null)
    "campaign-bounce-complaint": 3 * 2,  # campaigns × bounce rate, complaint rate
    "sms-cost-by-country": 2 * 2,  # countries × price, carrier fee
    "profile-sizes": 6,  # size buckets (test_dashboard_identity.py)
    "records-by-matched-by": 3,  # ways of matching
}
# Each mart as dbt builds it: column types, then rows.
MARTS = {
    "engagement_volume_by_hour": ("event_hour timestamp, channel varchar, events bigint", VOLUME),
    "channel_conversion": (
        "channel varchar, sent bigint, delivered bigint, engaged bigint, delivery_rate double, engagement_rate double",
        [("email", 250, 240, 80, 0.96, 0.333), ("sms", 65, 60, None, 0.923, None)],
    ),
    "campaign_performance": (
        "campaign varchar, sends bigint, deliveries bigint, opens bigint, clicks bigint, hard_bounces bigint, "
        "soft_bounces bigint, complaints bigint, unsubscribes bigint, delivery_rate double, open_rate double, "
        "click_rate double, bounce_rate double, complaint_rate double",
        [
            ("black-friday", 200, 190, 90, 30, 6, 4, 1, 3, 0.95, 0.47, 0.16, 0.05, 0.005),
            ("welcome", 100, 99, 60, 20, 1, 0, 0, 1, 0.99, 0.61, 0.2, 0.01, 0.0),
            (SCRIPT_CAMPAIGN, 10, 9, 1, 0, 1, 0, 1, 0, 0.9, 0.11, 0.0, 0.1, 0.11),
        ],
    ),
    "sms_cost_by_country": (
        "iso_country_code varchar, messages bigint, message_parts bigint, total_price double, "
        "total_carrier_fee double, total_cost double",
        [("US", 50, 55, 0.4311, 0.1452, 0.5763), ("GB", 15, 15, 0.549, 0.0, 0.549)],
    ),
    # Three of these five fall in [START, END).
    "quarantined_records": (
        "ingest_hour timestamp, reason varchar",
        [(datetime(2026, 11, 20, hour), "malformed_json") for hour in (3, 4, 6, 6, 7)],
    ),
    "suppression_list": ("address varchar", [(f"user{i}@example.com",) for i in range(4)]),
    "sms_opt_outs": ("phone_number varchar", [("+15550100",), ("+15550101",)]),
    # Identity (test_dashboard_identity.py): the builds ending at 05:00, END and after it.
    "profile_cluster_statistics": (
        "recorded_for timestamp, profiles bigint, source_records bigint, largest_profile_records bigint, "
        "profiles_of_1 bigint, profiles_of_2 bigint, profiles_of_3_to_5 bigint, profiles_of_6_to_10 bigint, "
        "profiles_of_11_to_50 bigint, profiles_over_50 bigint, merges_recorded bigint, splits_recorded bigint, "
        "records_moved bigint, links_must_link bigint, links_same_email bigint, links_model bigint",
        [
            (datetime(2026, 11, 20, 5), 8, 30, 12, 3, 2, 1, 1, 1, 0, 0, 0, 0, 1, 20, 5),
            (datetime(2026, 11, 20, 7), 9, 31, 12, 4, 2, 1, 1, 1, 0, 2, 1, 5, 1, 20, 6),
            (datetime(2026, 11, 20, 8), 10, 32, 12, 5, 2, 1, 1, 1, 0, 0, 0, 0, 1, 20, 7),
        ],
    ),
    "unified_profiles": (
        "profile_id varchar, source_record_count bigint",
        [("p-big", 12), ("p-mid", 7), ("p-small", 3), ("p-pair", 2), ("p-pair2", 2)]
        + [(f"p-one{i}", 1) for i in range(4)],
    ),
    "profile_link_evidence": (
        "profile_id varchar, record_key_l varchar, record_key_r varchar, linked_by varchar, comparison_order bigint, "
        "match_weight double",
        [
            (profile, left, right, linked_by, order, weight)
            for profile, left, right, linked_by, weight in [
                ("p-big", "crm:crm:1", "crm:crm:2", "model", 30.5),
                ("p-big", "crm:crm:2", "web:web:7", "same_email", 12.25),
                ("p-big", "crm:crm:3", "crm:crm:9", "same_email", -3.0),
                ("p-mid", "crm:crm:4", "loyalty:loyalty:5", "must_link", 20.0),
                ("p-pair", "crm:crm:6", "crm:crm:8", "model", 8.5),
                (None, "crm:crm:1", "crm:crm:99", "model", 40.0),  # a pair a never_link split
            ]
            for order in (1, 2)  # one row per comparison
        ],
    ),
}


def make_warehouse(path: Path, skip: tuple[str, ...] = ()) -> DuckDBWarehouse:
    """The marts in a DuckDB file, read through the warehouse seam as the dashboard task reads them."""
    with duckdb.connect(str(path)) as con:
        for table, (columns, rows) in MARTS.items():
            if table not in skip:
                con.execute(f"create table {table} ({columns})")
                con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
    return DuckDBWarehouse(path)


class Dashboard(HTMLParser):
    """What a reader sees in the page: bars per chart, headline cards, no-data notes and script elements."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.bars: dict[str, list[str]] = {}  # chart id → data-value of each rect.bar inside its svg
        self.cards: dict[str, str] = {}
        self.no_data: dict[str, str] = {}
        self.scripts = 0
        self._chart: str | None = None
        self._in_svg = False
        self._text_target: str | None = None
        self._card_label = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "figure" and "chart" in classes:
            self._chart = attributes["data-chart"]
            self.bars[self._chart] = []
        elif tag == "svg":
            self._in_svg = True
        elif tag == "rect" and "bar" in classes and self._chart and self._in_svg:
            self.bars[self._chart].append(attributes["data-value"])
        elif tag == "script":
            self.scripts += 1
        elif tag in ("div", "p") and classes and classes[0] in ("label", "number", "no-data"):
            self._text_target = classes[0]

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._chart = None
        elif tag == "svg":
            self._in_svg = False
        elif tag in ("div", "p"):
            self._text_target = None

    def handle_data(self, data: str) -> None:
        if self._text_target == "label":
            self._card_label += data
        elif self._text_target == "number":
            self.cards[self._card_label.strip()] = data.strip()
            self._card_label = ""
        elif self._text_target == "no-data" and self._chart:
            self.no_data[self._chart] = data


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return write_report(make_warehouse(out / "warehouse.duckdb"), out, START, END)


def require_chromium() -> None:
    """A missing browser fails the test: skipping would hide that the page was never rendered."""
    try:
        browser.chromium_binary()
    except browser.ChromiumMissing as missing:
        message = f"{missing} (the report tests open the page in headless Chromium)"
        raise pytest.fail.Exception(message, pytrace=False) from None


def test_written_per_interval_and_as_latest(report: Path) -> None:
    assert report.name == "engagement-20261120T04-20261120T07.html"
    assert (report.parent / LATEST_NAME).read_bytes() == report.read_bytes()
    assert "Generated for interval 2026-11-20 04:00 – 2026-11-20 07:00 (UTC)" in report.read_text()


def test_same_data_gives_the_same_bytes(report: Path, tmp_path: Path) -> None:
    again = write_report(make_warehouse(tmp_path / "warehouse.duckdb"), tmp_path, START, END)
    assert again.read_bytes() == report.read_bytes()


def test_each_chart_has_one_bar_per_value(report: Path) -> None:
    page = Dashboard(report.read_text())
    assert {chart: len(values) for chart, values in page.bars.items()} == EXPECTED_BARS
    assert sorted(map(int, page.bars["volume-by-hour"])) == sorted(events for *_, events in VOLUME)
    assert page.bars["delivery-funnel"] == ["250", "240", "80", "65", "60"]
    # Worst bounce rate first.
    assert page.bars["campaign-bounce-complaint"] == ["0.1", "0.11", "0.05", "0.005", "0.01", "0.0"]


def test_headlines(report: Path) -> None:
    cards = Dashboard(report.read_text()).cards
    assert cards["Events"] == "315"
    assert (cards["email"], cards["sms"]) == ("250", "65")
    assert cards["Quarantined in interval"] == "3"
    assert (cards["Suppressed addresses"], cards["SMS opt-outs"]) == ("4", "2")


def test_campaign_names_are_escaped(report: Path) -> None:
    html = report.read_text()
    assert SCRIPT_CAMPAIGN not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert Dashboard(html).scripts == 0


def test_missing_and_empty_tables_leave_a_note(tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb", skip=("sms_cost_by_country", "sms_opt_outs"))
    warehouse.execute(f"delete from {warehouse.relation('channel_conversion')}")
    page = Dashboard(write_report(warehouse, tmp_path, START, END).read_text())
    assert page.no_data == {
        "delivery-funnel": "No data: table channel_conversion has no rows.",
        "sms-cost-by-country": "No data: table sms_cost_by_country is not in the warehouse.",
    }
    assert page.bars["delivery-funnel"] == page.bars["sms-cost-by-country"] == []
    assert len(page.bars["volume-by-hour"]) == EXPECTED_BARS["volume-by-hour"]
    assert page.cards["SMS opt-outs"] == "no data"


def test_chromium_renders_every_chart(report: Path) -> None:
    require_chromium()
    rendered = Dashboard(browser.dump_dom(report))
    assert {chart: len(values) for chart, values in rendered.bars.items()} == EXPECTED_BARS
    assert rendered.scripts == 0


def test_screenshot_shows_the_charts(report: Path, tmp_path: Path) -> None:
    require_chromium()
    png = browser.screenshot(report, tmp_path / "report.png", width=1000, height=900)
    width, height, rows = decode_png(png.read_bytes())
    # The page is white and grey; only the bars and legend swatches have colour.
    coloured = sum(1 for row in rows for x in range(0, len(row), 3) if max(row[x : x + 3]) - min(row[x : x + 3]) > 40)
    assert coloured > 0.05 * width * height, (
        f"{coloured} coloured pixels of {width * height}: the charts did not render"
    )


def decode_png(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", png[16:29])
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), "unexpected PNG format"
    channels = 3 if colour_type == 2 else 4
    position, compressed = 8, bytearray()
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        if png[position + 4 : position + 8] == b"IDAT":
            compressed += png[position + 8 : position + 8 + length]
        position += length + 12
    raw = zlib.decompress(bytes(compressed))
    stride = width * channels
    previous, rows = bytearray(stride), []
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(bytes(line) if channels == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
        previous = line
    return width, height, rows


def unfilter(kind: int, line: bytearray, previous: bytearray, channels: int) -> bytearray:
    """Undo one scanline's PNG filter (RFC 2083 §6)."""
    if kind == 2:
        return bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            estimate = left + up - up_left
            distances = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
            predictor = left if distances[0] <= min(distances[1:]) else up if distances[1] <= distances[2] else up_left
            line[i] = (line[i] + predictor) & 0xFF
    return line
