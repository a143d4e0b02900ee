"""A self-contained HTML dashboard of the engagement and identity marts, written once per run.

Charts are inline SVG (charts.py), so the file renders offline with nothing fetched. Every data
mark is a ``<rect class="bar" data-value=…>``, one per non-null value in the mart. The page
depends only on the warehouse and the interval, never on the clock: same data, same bytes.
The marts are read through the warehouse seam (include/warehouse/seam.py) with plain SQL that
DuckDB and Athena both run.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from include.reporting.charts import CHART_WIDTH, COUNT, PERCENT, USD, BarChart, ChartFrame, Series, format_value
from include.warehouse.seam import MissingRelation, Warehouse, records

HOUR = timedelta(hours=1)
LATEST_NAME = "engagement-latest.html"
# Tableau 10: hues that stay distinct for the common kinds of colour blindness.
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
FUNNEL_COLOURS = {"sent": "#a0cbe8", "delivered": "#4e79a7", "engaged": "#1d3f66"}
RATE_COLOURS = {"bounce rate": "#f28e2b", "complaint rate": "#e15759"}
COST_COLOURS = {"price": "#4e79a7", "carrier fee": "#a0cbe8"}
PROFILE_COLOURS = {"profiles": "#59a14f"}
RECORD_COLOURS = {"records": "#76b7b2"}
# profile_cluster_statistics' size buckets, smallest first.
SIZE_BUCKETS = {
    "profiles_of_1": "1",
    "profiles_of_2": "2",
    "profiles_of_3_to_5": "3–5",
    "profiles_of_6_to_10": "6–10",
    "profiles_of_11_to_50": "11–50",
    "profiles_over_50": "over 50",
}
# profile_cluster_statistics has one links_<matched_by> column per way a record matched.
MATCHED_BY_PREFIX = "links_"
# The profiles whose strongest and weakest links the dashboard shows, largest first.
LARGEST_PROFILES = 5
CAMPAIGN_COLUMNS = {
    "campaign": None,
    "sends": COUNT,
    "deliveries": COUNT,
    "opens": COUNT,
    "clicks": COUNT,
    "hard_bounces": COUNT,
    "soft_bounces": COUNT,
    "complaints": COUNT,
    "unsubscribes": COUNT,
    "delivery_rate": PERCENT,
    "open_rate": PERCENT,
    "click_rate": PERCENT,
    "bounce_rate": PERCENT,
    "complaint_rate": PERCENT,
}

STYLE = """
body { margin: 0; background: #f4f5f7; color: #1f2933;
  font: 14px/1.45 "DejaVu Sans", "Liberation Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 0; }
.interval { color: #52606d; margin: 0 0 8px; }
.cards { margin-top: 12px; display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card, figure.chart, .table-wrap { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0, 0, 0, .1); }
.card { padding: 12px 14px; }
.card .label { color: #52606d; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .number { font-size: 24px; font-weight: bold; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .number.missing { font-size: 15px; font-weight: normal; color: #8a4b08; padding-top: 7px; }
figure.chart, .table-wrap { margin: 12px 0 0; padding: 14px 16px; }
.table-wrap { overflow-x: auto; }
figcaption { font-size: 16px; font-weight: bold; }
figcaption .sub { display: block; font-size: 12px; font-weight: normal; color: #52606d; }
figure.chart svg { display: block; width: 100%; height: auto; margin-top: 6px; }
figure.chart .note { color: #52606d; font-size: 12px; margin: 4px 0 0; }
svg text { fill: #3e4c59; }
svg text.value { fill: #1f2933; font-size: 11px; }
svg .grid { stroke: #e4e7eb; }
svg .axis { stroke: #9aa5b1; }
svg .highlight { fill: #fff5d1; }
svg rect.bar:hover { opacity: .8; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0 0; padding: 0;
  font-size: 13px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
.no-data { color: #8a4b08; background: #fffbea; border-left: 3px solid #f0b429; padding: 8px 12px; margin: 10px 0 0; }
table { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; width: 100%; }
th, td { padding: 5px 6px; border-bottom: 1px solid #e4e7eb; text-align: right; white-space: nowrap; }
th { color: #52606d; font-weight: 600; white-space: normal; vertical-align: bottom; }
th:first-child, td:first-child { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 120px; }
tbody tr:nth-child(even) { background: #f9fafb; }
""".strip()


@dataclass(frozen=True)
class Section:
    """One mart's rows, or None when the table is not in the warehouse."""

    table: str
    rows: list[dict] | None

    @property
    def no_data_note(self) -> str | None:
        if self.rows is None:
            return f"No data: table {self.table} is not in the warehouse."
        if not self.rows:
            return f"No data: table {self.table} has no rows."
        return None


def write_report(wh: Warehouse, out_dir: Path, interval_start: datetime, interval_end: datetime) -> Path:
    """Write the dashboard for [interval_start, interval_end) and refresh engagement-latest.html beside it."""
    start, end = _naive_utc(interval_start), _naive_utc(interval_end)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"engagement-{start:%Y%m%dT%H}-{end:%Y%m%dT%H}.html"
    path.write_text(render_report(wh, start, end), encoding="utf-8")
    shutil.copyfile(path, out_dir / LATEST_NAME)
    return path


def render_report(wh: Warehouse, start: datetime, end: datetime) -> str:
    """The page for [start, end), naive UTC."""
    volume = _fetch(wh, "engagement_volume_by_hour", "event_hour, channel, events", "event_hour, channel")
    conversion = _fetch(wh, "channel_conversion", "channel, sent, delivered, engaged", "channel")
    # Worst bounce rate first: those campaigns put the sending reputation at risk.
    campaigns = _fetch(wh, "campaign_performance", ", ".join(CAMPAIGN_COLUMNS), "bounce_rate desc nulls last, campaign")
    sms_costs = _fetch(
        wh,
        "sms_cost_by_country",
        "iso_country_code, messages, total_price, total_carrier_fee, total_cost",
        "total_cost desc, iso_country_code",
    )
    channels = sorted({_label(row["channel"]) for row in volume.rows or []})
    channel_colours = {channel: PALETTE[i % len(PALETTE)] for i, channel in enumerate(channels)}
    interval = f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Customer engagement {interval} UTC</title>",
            f"<style>\n{STYLE}\n</style></head>",
            "<body><main>",
            "<h1>Customer engagement</h1>",
            f'<p class="interval">Generated for interval {interval} (UTC)</p>',
            _headlines(wh, volume, channel_colours, start, end),
            "<h2>Engagement</h2>",
            _volume_chart(volume, channel_colours, start, end),
            _funnel_chart(conversion),
            "<h2>Campaigns</h2>",
            _campaign_rates_chart(campaigns),
            _campaign_table(campaigns),
            "<h2>SMS</h2>",
            _sms_cost_chart(sms_costs),
            "<h2>Identity</h2>",
            _identity_section(wh, end),
            "</main></body></html>",
            "",
        ]
    )


def _naive_utc(moment: datetime) -> datetime:
    """The marts hold naive UTC timestamps: an aware datetime is converted, a naive one taken as UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _fetch(wh: Warehouse, table: str, columns: str, order_by: str) -> Section:
    try:
        frame = wh.query_df(f"select {columns} from {wh.relation(table)} order by {order_by}")
    except MissingRelation:
        return Section(table, None)
    return Section(table, records(frame))  # DECIMAL is float64 already: it mixes with the charts' arithmetic


def _count(wh: Warehouse, table: str, where: str = "", params: Sequence = ()) -> int | None:
    try:
        return int(wh.query_df(f"select count(*) as n from {wh.relation(table)} {where}", params)["n"].iloc[0])
    except MissingRelation:
        return None


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


# Headline numbers


def _headlines(wh: Warehouse, volume: Section, channel_colours: dict[str, str], start: datetime, end: datetime) -> str:
    per_channel = {channel: 0 for channel in channel_colours}
    for row in volume.rows or []:
        per_channel[_label(row["channel"])] += row["events"] or 0
    quarantined = _count(wh, "quarantined_records", "where ingest_hour >= ? and ingest_hour < ?", [start, end])
    totals = [
        _card("Events", None if volume.rows is None else sum(per_channel.values())),
        _card("Quarantined in interval", quarantined),
        _card("Suppressed addresses", _count(wh, "suppression_list")),
        _card("SMS opt-outs", _count(wh, "sms_opt_outs")),
    ]
    channels = [_card(channel, events, channel_colours[channel]) for channel, events in per_channel.items()]
    return f'<section class="cards">{"".join(totals)}</section><section class="cards">{"".join(channels)}</section>'


def _card(label: str, number: int | None, colour: str | None = None) -> str:
    swatch = f'<span class="swatch" style="background:{colour}"></span>' if colour else ""
    number_html = (
        '<div class="number missing">no data</div>' if number is None else f'<div class="number">{number:,}</div>'
    )
    return f'<div class="card"><div class="label">{swatch}{escape(_label(label))}</div>{number_html}</div>'


# The four charts and the campaign table


def _volume_chart(volume: Section, channel_colours: dict[str, str], start: datetime, end: datetime) -> str:
    frame = ChartFrame("volume-by-hour", "Volume by channel and hour", "Events per hour (UTC), stacked by channel")
    if volume.no_data_note:
        return frame.no_data(volume.no_data_note)
    # A continuous time axis, so quiet hours show as gaps instead of vanishing.
    first, last = volume.rows[0]["event_hour"], volume.rows[-1]["event_hour"]
    hours = [first + i * HOUR for i in range(int((last - first) / HOUR) + 1)]
    position = {hour: i for i, hour in enumerate(hours)}
    events: dict[str, list[int | None]] = {channel: [None] * len(hours) for channel in channel_colours}
    for row in volume.rows:
        events[_label(row["channel"])][position[row["event_hour"]]] = row["events"]
    in_interval = [i for i, hour in enumerate(hours) if start <= hour < end]
    chart = BarChart(
        [f"{hour:%Y-%m-%d %H:00}" for hour in hours],
        [Series(channel, colour, events[channel]) for channel, colour in channel_colours.items()],
        unit=COUNT,
        stacked=True,
        horizontal=False,
        value_axis_label="events",
        tick_labels=_hour_tick_labels(hours),
        highlight=(in_interval[0], in_interval[-1]) if in_interval else None,
    )
    note = "Shaded: the hours of this run." if in_interval else "None of these hours is in this run's interval."
    return frame.render(chart.svg(), channel_colours, note)


def _hour_tick_labels(hours: list[datetime]) -> list[tuple[str, ...]]:
    """Every k-th hour labelled, k chosen so labels never overlap; the date under the first label of each day."""
    room_per_label = 56
    fitting = CHART_WIDTH // room_per_label
    every = next(
        (k for k in (1, 2, 3, 4, 6, 12) if len(hours) / k <= fitting), 24 * math.ceil(len(hours) / 24 / fitting)
    )
    labels: list[tuple[str, ...]] = []
    labelled_day = None
    for hour in hours:
        if (hour.toordinal() * 24 + hour.hour) % every:
            labels.append(())
        elif hour.date() == labelled_day:
            labels.append((f"{hour:%H:00}",))
        else:
            labelled_day = hour.date()
            labels.append((f"{hour:%H:00}", f"{hour:%b %d}"))
    return labels


def _funnel_chart(conversion: Section) -> str:
    frame = ChartFrame(
        "delivery-funnel",
        "Delivery funnel",
        "Messages sent, delivered and engaged, per channel (no engaged bar: the channel reports no engagement)",
    )
    if conversion.no_data_note:
        return frame.no_data(conversion.no_data_note)
    rows = conversion.rows
    chart = BarChart(
        [_label(row["channel"]) for row in rows],
        [Series(stage, colour, [row[stage] for row in rows]) for stage, colour in FUNNEL_COLOURS.items()],
        unit=COUNT,
        stacked=False,
        horizontal=False,
        value_axis_label="messages",
    )
    return frame.render(chart.svg(), FUNNEL_COLOURS)


def _campaign_rates_chart(campaigns: Section) -> str:
    frame = ChartFrame(
        "campaign-bounce-complaint",
        "Bounce and complaint rates by campaign",
        "Bounces per send, complaints per delivery",
    )
    if campaigns.no_data_note:
        return frame.no_data(campaigns.no_data_note)
    rows = campaigns.rows
    (bounce, bounce_colour), (complaint, complaint_colour) = RATE_COLOURS.items()
    chart = BarChart(
        [_label(row["campaign"]) for row in rows],
        [
            Series(bounce, bounce_colour, [row["bounce_rate"] for row in rows]),
            Series(complaint, complaint_colour, [row["complaint_rate"] for row in rows]),
        ],
        unit=PERCENT,
        stacked=False,
        horizontal=True,
        value_axis_label="%",
    )
    return frame.render(chart.svg(), RATE_COLOURS)


def _campaign_table(campaigns: Section) -> str:
    if campaigns.no_data_note:
        return ""
    head = "".join(f"<th>{escape(name.replace('_', ' '))}</th>" for name in CAMPAIGN_COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(_label(row[name]) if unit is None else format_value(row[name], unit))}</td>"
            for name, unit in CAMPAIGN_COLUMNS.items()
        )
        + "</tr>"
        for row in campaigns.rows
    )
    return (
        '<div class="table-wrap"><table data-table="campaign_performance">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _sms_cost_chart(costs: Section) -> str:
    frame = ChartFrame("sms-cost-by-country", "SMS cost by country", "Total cost in USD: price plus carrier fee")
    if costs.no_data_note:
        return frame.no_data(costs.no_data_note)
    rows = costs.rows
    (price, price_colour), (fee, fee_colour) = COST_COLOURS.items()
    chart = BarChart(
        [_label(row["iso_country_code"]) for row in rows],
        [
            Series(price, price_colour, [row["total_price"] for row in rows]),
            Series(fee, fee_colour, [row["total_carrier_fee"] for row in rows]),
        ],
        unit=USD,
        stacked=True,
        horizontal=True,
        value_axis_label="USD",
        stack_labels=[f"{format_value(row['total_cost'], USD)}  ({row['messages'] or 0:,} messages)" for row in rows],
    )
    return frame.render(chart.svg(), COST_COLOURS)


# Identity: cluster statistics of the newest build up to the interval's end, and the links of the largest profiles


def _identity_section(wh: Warehouse, end: datetime) -> str:
    statistics = _newest_statistics(wh, end)
    row = statistics.rows[0] if statistics.rows else {}
    cards = [
        _card("Profiles", row.get("profiles")),
        _card("Source records", row.get("source_records")),
        _card("Largest profile (records)", row.get("largest_profile_records")),
        _card("Merges recorded", row.get("merges_recorded")),
        _card("Splits recorded", row.get("splits_recorded")),
        _card("Records moved", row.get("records_moved")),
    ]
    return "".join(
        [
            f'<section class="cards">{"".join(cards)}</section>',
            _profile_size_chart(statistics),
            _matched_by_chart(statistics),
            _largest_profiles_table(wh),
        ]
    )


def _newest_statistics(wh: Warehouse, end: datetime) -> Section:
    """The row of the newest build at or before the interval's end (a later build's is not this run's)."""
    table = "profile_cluster_statistics"
    try:
        frame = wh.query_df(
            f"select * from {wh.relation(table)} where recorded_for <= ? order by recorded_for desc limit 1", [end]
        )
    except MissingRelation:
        return Section(table, None)
    return Section(table, records(frame))


def _profile_size_chart(statistics: Section) -> str:
    frame = ChartFrame("profile-sizes", "Profile sizes", "Profiles by how many source records they hold")
    if statistics.no_data_note:
        return frame.no_data(statistics.no_data_note)
    row = statistics.rows[0]
    chart = BarChart(
        list(SIZE_BUCKETS.values()),
        [Series("profiles", PROFILE_COLOURS["profiles"], [row[column] for column in SIZE_BUCKETS])],
        unit=COUNT,
        stacked=False,
        horizontal=False,
        value_axis_label="profiles",
    )
    note = f"The build for the interval ending {row['recorded_for']:%Y-%m-%d %H:%M}."
    return frame.render(chart.svg(), PROFILE_COLOURS, note)


def _matched_by_chart(statistics: Section) -> str:
    frame = ChartFrame(
        "records-by-matched-by",
        "How records matched",
        "Source records by profile_links.matched_by: an override, the rule that linked them, the model, or none",
    )
    if statistics.no_data_note:
        return frame.no_data(statistics.no_data_note)
    counts = {
        column.removeprefix(MATCHED_BY_PREFIX): value
        for column, value in statistics.rows[0].items()
        if column.startswith(MATCHED_BY_PREFIX)
    }
    chart = BarChart(
        list(counts),
        [Series("records", RECORD_COLOURS["records"], list(counts.values()))],
        unit=COUNT,
        stacked=False,
        horizontal=True,
        value_axis_label="records",
    )
    return frame.render(chart.svg(), RECORD_COLOURS)


def _largest_profiles_table(wh: Warehouse) -> str:
    """Each of the largest profiles' strongest and weakest link by match weight: record keys, never names."""
    try:
        largest = records(
            wh.query_df(
                f"select profile_id, source_record_count from {wh.relation('unified_profiles')} "
                f"order by source_record_count desc, profile_id limit {LARGEST_PROFILES}"
            )
        )
        ids = [row["profile_id"] for row in largest]
        links = (
            records(
                wh.query_df(
                    "select profile_id, record_key_l, record_key_r, linked_by, match_weight "
                    f"from {wh.relation('profile_link_evidence')} "
                    f"where comparison_order = 1 and profile_id in ({', '.join('?' * len(ids))}) "
                    "order by match_weight desc, record_key_l, record_key_r",
                    ids,
                )
            )
            if ids
            else []
        )
    except MissingRelation:
        return '<p class="no-data">No data: unified_profiles or profile_link_evidence is not in the warehouse.</p>'
    if not links:
        return '<p class="no-data">No data: no profile has links between source records.</p>'
    per_profile: dict[str, list[dict]] = {}
    for link in links:  # strongest first
        per_profile.setdefault(link["profile_id"], []).append(link)
    head = "".join(
        f"<th>{name}</th>"
        for name in ("profile", "records", "links", "strongest link", "weight", "weakest link", "weight")
    )
    body = "".join(
        f"<tr><td>{escape(row['profile_id'])}</td><td>{row['source_record_count']:,}</td>"
        f"<td>{len(per_profile[row['profile_id']]):,}</td>"
        f"{_link_cells(per_profile[row['profile_id']][0])}{_link_cells(per_profile[row['profile_id']][-1])}</tr>"
        for row in largest
        if row["profile_id"] in per_profile
    )
    return (
        '<div class="table-wrap"><table data-table="largest-profiles-links">'
        "<caption>The largest profiles' strongest and weakest links by log2 match weight "
        "(each link's comparisons: profile_link_evidence)</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _link_cells(link: dict) -> str:
    keys = f"{escape(link['record_key_l'])} – {escape(link['record_key_r'])}<br>{escape(link['linked_by'])}"
    return f"<td>{keys}</td><td>{link['match_weight']:.2f}</td>"
