"""A self-contained HTML dashboard of the engagement marts, written once per run.

Charts are inline SVG drawn here, so the file renders offline with nothing fetched. Every data
mark is a ``<rect class="bar" data-value=…>``, one per non-null value in the mart. The page
depends only on the warehouse and the interval, never on the clock: same data, same bytes.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path

import duckdb

HOUR = timedelta(hours=1)
LATEST_NAME = "engagement-latest.html"
CHART_WIDTH = 1040
# Tableau 10: hues that stay distinct for the common kinds of colour blindness.
PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
FUNNEL_COLOURS = {"sent": "#a0cbe8", "delivered": "#4e79a7", "engaged": "#1d3f66"}
RATE_COLOURS = {"bounce rate": "#f28e2b", "complaint rate": "#e15759"}
COST_COLOURS = {"price": "#4e79a7", "carrier fee": "#a0cbe8"}
COUNT, PERCENT, USD = "count", "percent", "usd"
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


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[float | None]  # one per category; None draws no bar


def write_report(
    con: duckdb.DuckDBPyConnection, out_dir: Path, interval_start: datetime, interval_end: datetime
) -> Path:
    """Write the dashboard for [interval_start, interval_end) and refresh engagement-latest.html beside it."""
    start, end = _naive_utc(interval_start), _naive_utc(interval_end)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"engagement-{start:%Y%m%dT%H}-{end:%Y%m%dT%H}.html"
    path.write_text(render_report(con, start, end), encoding="utf-8")
    shutil.copyfile(path, out_dir / LATEST_NAME)
    return path


def render_report(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> str:
    """The page for [start, end), naive UTC."""
    volume = _fetch(con, "engagement_volume_by_hour", "event_hour, channel, events", "event_hour, channel")
    conversion = _fetch(con, "channel_conversion", "channel, sent, delivered, engaged", "channel")
    # Worst bounce rate first: those campaigns put the sending reputation at risk.
    campaigns = _fetch(
        con, "campaign_performance", ", ".join(CAMPAIGN_COLUMNS), "bounce_rate desc nulls last, campaign"
    )
    sms_costs = _fetch(
        con,
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
            _headlines(con, volume, channel_colours, start, end),
            "<h2>Engagement</h2>",
            _volume_chart(volume, channel_colours, start, end),
            _funnel_chart(conversion),
            "<h2>Campaigns</h2>",
            _campaign_rates_chart(campaigns),
            _campaign_table(campaigns),
            "<h2>SMS</h2>",
            _sms_cost_chart(sms_costs),
            "</main></body></html>",
            "",
        ]
    )


def _naive_utc(moment: datetime) -> datetime:
    """The marts hold naive UTC timestamps: an aware datetime is converted, a naive one taken as UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _fetch(con: duckdb.DuckDBPyConnection, table: str, columns: str, order_by: str) -> Section:
    try:
        cursor = con.execute(f"select {columns} from {table} order by {order_by}")
    except duckdb.CatalogException:
        return Section(table, None)
    names = [column[0] for column in cursor.description]
    # DECIMAL sums come back as Decimal, which does not mix with the float arithmetic of the charts.
    rows = [[float(value) if isinstance(value, Decimal) else value for value in row] for row in cursor.fetchall()]
    return Section(table, [dict(zip(names, row, strict=True)) for row in rows])


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str = "", params: Sequence = ()) -> int | None:
    try:
        return con.execute(f"select count(*) from {table} {where}", list(params)).fetchone()[0]
    except duckdb.CatalogException:
        return None


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


# Headline numbers


def _headlines(
    con: duckdb.DuckDBPyConnection, volume: Section, channel_colours: dict[str, str], start: datetime, end: datetime
) -> str:
    per_channel = {channel: 0 for channel in channel_colours}
    for row in volume.rows or []:
        per_channel[_label(row["channel"])] += row["events"] or 0
    quarantined = _count(con, "quarantined_records", "where ingest_hour >= ? and ingest_hour < ?", [start, end])
    totals = [
        _card("Events", None if volume.rows is None else sum(per_channel.values())),
        _card("Quarantined in interval", quarantined),
        _card("Suppressed addresses", _count(con, "suppression_list")),
        _card("SMS opt-outs", _count(con, "sms_opt_outs")),
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
            f"<td>{escape(_label(row[name]) if unit is None else _format_value(row[name], unit))}</td>"
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
        stack_labels=[f"{_format_value(row['total_cost'], USD)}  ({row['messages'] or 0:,} messages)" for row in rows],
    )
    return frame.render(chart.svg(), COST_COLOURS)


@dataclass(frozen=True)
class ChartFrame:
    """The figure around a chart: caption, legend, and the note that stands in for a chart without data."""

    chart_id: str
    title: str
    subtitle: str

    def _opening(self) -> str:
        return (
            f'<figure class="chart" data-chart="{escape(self.chart_id)}">'
            f'<figcaption>{escape(self.title)}<span class="sub">{escape(self.subtitle)}</span></figcaption>'
        )

    def render(self, svg: str, legend: dict[str, str], note: str = "") -> str:
        items = "".join(
            f'<li><span class="swatch" style="background:{colour}"></span>{escape(name)}</li>'
            for name, colour in legend.items()
        )
        footer = f'<p class="note">{escape(note)}</p>' if note else ""
        return f'{self._opening()}<ul class="legend">{items}</ul>{svg}{footer}</figure>'

    def no_data(self, note: str) -> str:
        return f'{self._opening()}<p class="no-data">{escape(note)}</p></figure>'


# Numbers


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == PERCENT:
        return f"{value * 100:.2f}%"
    if unit == USD:
        # SMS prices are fractions of a cent per part: small totals need more digits.
        return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"
    return f"{value:,.0f}"


def _format_tick(value: float, unit: str) -> str:
    if unit == PERCENT:
        return f"{value * 100:.4g}%"
    if unit == USD:
        return f"${value:,.4g}"
    return f"{value:,.0f}"


def _nice_ticks(maximum: float, integer: bool, target: int = 5) -> list[float]:
    """0 up to the first round number at or above maximum, in steps of 1, 2, 2.5 or 5 × 10^n."""
    if maximum <= 0:
        return [0, 1]
    raw_step = maximum / target
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    if integer:
        step = max(1, math.ceil(step))
    # Rounding keeps 3 × 0.1 from printing as 0.30000000000000004.
    return [round(i * step, 12) for i in range(math.ceil(maximum / step - 1e-9) + 1)]


# The SVG bar chart every section draws with: vertical or horizontal, grouped or stacked.

VERTICAL_LEFT_MARGIN = 76  # room for the value ticks and the rotated axis label
PLOT_HEIGHT_VERTICAL = 260
CHAR_WIDTH = 7.0  # average advance of a 12px sans-serif character, to size margins from text


@dataclass
class BarChart:
    categories: list[str]
    series: list[Series]
    unit: str
    stacked: bool
    horizontal: bool
    value_axis_label: str
    tick_labels: list[tuple[str, ...]] | None = None  # per category; default: its name, () for none
    highlight: tuple[int, int] | None = None  # first and last category index to shade
    stack_labels: list[str] | None = None  # text at the end of each stack; default: its total

    def __post_init__(self) -> None:
        values = [[s.values[i] or 0 for s in self.series] for i in range(len(self.categories))]
        extents = [sum(column) if self.stacked else max(column) for column in values]
        self.ticks = _nice_ticks(max(extents, default=0), integer=self.unit == COUNT)
        self.stack_labels = self.stack_labels or [_format_value(extent, self.unit) for extent in extents]
        # Vertical bars may carry a value label above them, up to the top tick.
        self.top = 10 if self.horizontal else 24
        if self.horizontal:
            self.band = 30.0 if self.stacked else 14.0 + 13 * len(self.series)
            longest_name = max(len(_truncate(name)) for name in self.categories)
            self.left = min(14 + longest_name * CHAR_WIDTH, 240)
            bar_labels = (
                self.stack_labels
                if self.stacked
                else [_format_value(v, self.unit) for s in self.series for v in s.values]
            )
            longest_bar_label = max(len(label) for label in bar_labels)
            self.value_length = CHART_WIDTH - self.left - (20 + longest_bar_label * CHAR_WIDTH)
            self.category_length = self.band * len(self.categories)
            self.height = self.top + self.category_length + 46
        else:
            self.left = VERTICAL_LEFT_MARGIN
            self.category_length = CHART_WIDTH - self.left - 16
            self.band = self.category_length / len(self.categories)
            self.value_length = PLOT_HEIGHT_VERTICAL
            self.height = self.top + self.value_length + 50

    def _scale(self, value: float) -> float:
        return value / self.ticks[-1] * self.value_length

    def _box(self, category: int, offset: float, thickness: float, low: float, high: float) -> tuple[float, ...]:
        """x, y, width, height of what spans offset..offset+thickness in a category's band and low..high in value."""
        along = category * self.band + offset
        if self.horizontal:
            return self.left + self._scale(low), self.top + along, self._scale(high) - self._scale(low), thickness
        baseline = self.top + self.value_length
        return self.left + along, baseline - self._scale(high), thickness, self._scale(high) - self._scale(low)

    def svg(self) -> str:
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_WIDTH} {self.height:.0f}" '
            f'width="{CHART_WIDTH}" height="{self.height:.0f}" font-size="12" role="img">'
        ]
        if self.highlight:
            first, last = self.highlight
            parts.append(
                _svg_rect("highlight", *self._box(first, 0, (last - first + 1) * self.band, 0, self.ticks[-1]))
            )
        parts += self._value_axis()
        for category in range(len(self.categories)):
            parts += self._bars(category)
            parts.append(self._category_label(category))
        parts.append("</svg>")
        return "".join(parts)

    def _bars(self, category: int) -> list[str]:
        name = self.categories[category]
        thickness = self.band * (0.7 if self.stacked else 0.8 / len(self.series))
        parts, stacked_to, drawn = [], 0.0, False
        for index, series in enumerate(self.series):
            value = series.values[category]
            if value is None:
                continue
            drawn = True
            if self.stacked:
                offset, low, high = self.band * 0.15, stacked_to, stacked_to + value
                stacked_to = high
            else:
                offset, low, high = self.band * 0.1 + index * thickness, 0, value
            x, y, w, h = self._box(category, offset, thickness, low, high)
            tooltip = f"{name} · {series.name}: {_format_value(value, self.unit)}"
            parts.append(_svg_rect("bar", x, y, w, h, series.colour, value, series.name, tooltip))
            # Vertical bars get a value label only where it fits above them.
            if not self.stacked and (self.horizontal or thickness >= 34):
                parts.append(self._value_label(_format_value(value, self.unit), x, y, w, h))
        if self.stacked and drawn and (self.horizontal or self.band >= 44):
            x, y, w, h = self._box(category, self.band * 0.15, thickness, 0, stacked_to)
            parts.append(self._value_label(self.stack_labels[category], x, y, w, h))
        return parts

    def _value_label(self, text: str, x: float, y: float, w: float, h: float) -> str:
        if self.horizontal:
            return _svg_text(text, x + w + 5, y + h / 2 + 4, "start", "value")
        return _svg_text(text, x + w / 2, y - 4, "middle", "value")

    def _value_axis(self) -> list[str]:
        parts = []
        end = self.top + self.category_length
        for tick in self.ticks:
            label = _format_tick(tick, self.unit)
            if self.horizontal:
                x = self.left + self._scale(tick)
                parts += [_svg_line("grid", x, self.top, x, end), _svg_text(label, x, end + 16, "middle")]
            else:
                y = self.top + self.value_length - self._scale(tick)
                right = self.left + self.category_length
                parts += [_svg_line("grid", self.left, y, right, y), _svg_text(label, self.left - 8, y + 4, "end")]
        if self.horizontal:
            parts.append(_svg_line("axis", self.left, self.top, self.left, end))
            centre = self.left + self.value_length / 2
            parts.append(_svg_text(self.value_axis_label, centre, end + 36, "middle", "axis-label"))
        else:
            baseline = self.top + self.value_length
            parts.append(_svg_line("axis", self.left, baseline, self.left + self.category_length, baseline))
            x, y = 12, self.top + self.value_length / 2
            parts.append(
                f'<text class="axis-label" x="{x}" y="{y:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 {x} {y:.1f})">{escape(self.value_axis_label)}</text>'
            )
        return parts

    def _category_label(self, category: int) -> str:
        name = self.categories[category]
        lines = self.tick_labels[category] if self.tick_labels else (name,)
        if not lines:
            return ""
        if self.horizontal:
            y = self.top + (category + 0.5) * self.band + 4
            return (
                f'<text x="{self.left - 8:.1f}" y="{y:.1f}" text-anchor="end">'
                f"<title>{escape(name)}</title>{escape(_truncate(lines[0]))}</text>"
            )
        x = self.left + (category + 0.5) * self.band
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>' for n, line in enumerate(lines)
        )
        return f'<text y="{self.top + self.value_length + 18:.1f}" text-anchor="middle">{spans}</text>'


def _truncate(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg_rect(
    css: str,
    x: float,
    y: float,
    width: float,
    height: float,
    fill: str | None = None,
    value: float | None = None,
    series: str = "",
    tooltip: str = "",
) -> str:
    attributes = f'class="{css}" x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{max(height, 0):.1f}"'
    if fill:
        attributes += f' fill="{fill}"'
    if value is not None:
        attributes += f' data-value="{escape(str(value))}" data-series="{escape(series)}"'
    title = f"<title>{escape(tooltip)}</title>" if tooltip else ""
    return f"<rect {attributes}>{title}</rect>"


def _svg_line(css: str, x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="{css}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


def _svg_text(text: str, x: float, y: float, anchor: str, css: str = "") -> str:
    css_attribute = f' class="{css}"' if css else ""
    return f'<text{css_attribute} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
