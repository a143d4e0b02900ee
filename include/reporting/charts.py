"""The SVG bar chart every dashboard section draws with, the figure around it, and its numbers.

Vertical or horizontal, grouped or stacked. Every data mark is a ``<rect class="bar"
data-value=…>``, one per non-null value; the chart is inline SVG, so the page renders offline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

CHART_WIDTH = 1040
COUNT, PERCENT, USD = "count", "percent", "usd"
VERTICAL_LEFT_MARGIN = 76  # room for the value ticks and the rotated axis label
PLOT_HEIGHT_VERTICAL = 260
CHAR_WIDTH = 7.0  # average advance of a 12px sans-serif character, to size margins from text


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    values: Sequence[float | None]  # one per category; None draws no bar


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


def format_value(value: float | None, unit: str) -> str:
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


# The chart


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
        self.stack_labels = self.stack_labels or [format_value(extent, self.unit) for extent in extents]
        # Vertical bars may carry a value label above them, up to the top tick.
        self.top = 10 if self.horizontal else 24
        if self.horizontal:
            self.band = 30.0 if self.stacked else 14.0 + 13 * len(self.series)
            longest_name = max(len(_truncate(name)) for name in self.categories)
            self.left = min(14 + longest_name * CHAR_WIDTH, 240)
            bar_labels = (
                self.stack_labels
                if self.stacked
                else [format_value(v, self.unit) for s in self.series for v in s.values]
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
            tooltip = f"{name} · {series.name}: {format_value(value, self.unit)}"
            parts.append(_svg_rect("bar", x, y, w, h, series.colour, value, series.name, tooltip))
            # Vertical bars get a value label only where it fits above them.
            if not self.stacked and (self.horizontal or thickness >= 34):
                parts.append(self._value_label(format_value(value, self.unit), x, y, w, h))
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
