"""Small SVG charts for the operations report pages: lines and bars, with axes and a legend.

The markup is written here rather than by a charting library so that it needs no JavaScript
and no inline styles (the Content Security Policy allows neither): colours and fonts are SVG
presentation attributes. Every text that reaches the markup (titles, labels, series names) is
escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe (Okabe–Ito), in the order series take them.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 64


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: no measurement at that point (a gap)


Formatter = Callable[[float], str]


def plain_number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def nice_ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 past `top` (1, 2 or 5 times a power of ten apart).

    `whole`: the values are counts, so no tick falls between two whole numbers.
    """
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, 1)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area and the mapping from values to coordinates."""

    points: int
    top: float
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def plot_width(self) -> float:
        return self.width - LEFT - RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - TOP - BOTTOM

    def y(self, value: float) -> float:
        return TOP + self.plot_height * (1 - value / self.top)

    def slot(self) -> float:
        return self.plot_width / max(self.points, 1)

    def x_center(self, index: int) -> float:
        return LEFT + self.slot() * (index + 0.5)


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="#212529">{escape(text)}</text>'
    )


def _axes(frame: _Frame, ticks: list[float], labels: Sequence[str], fmt: Formatter) -> list[str]:
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{frame.width - RIGHT}" y2="{y:.1f}" '
            'stroke="#dee2e6" stroke-width="1"/>'
        )
        parts.append(_text(LEFT - 6, y + 4, fmt(tick), anchor="end", size=10))
    bottom = frame.height - BOTTOM
    parts.append(
        f'<line x1="{LEFT}" y1="{bottom}" x2="{frame.width - RIGHT}" y2="{bottom}" '
        'stroke="#6c757d" stroke-width="1"/>'
    )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#6c757d" '
        'stroke-width="1"/>'
    )
    every = max(1, math.ceil(len(labels) / 12))  # at most about 12 labels under the axis
    for index, label in enumerate(labels):
        if index % every == 0 or index == len(labels) - 1:
            parts.append(_text(frame.x_center(index), bottom + 16, label, size=10))
    return parts


def _legend(frame: _Frame, series: Sequence[Series]) -> list[str]:
    parts = []
    x = float(LEFT)
    y = frame.height - 18
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, one.name, anchor="start"))
        x += 30 + 7 * len(one.name) + 7 * sum(ord(c) > 0x2E80 for c in one.name)
    return parts


def _svg(title: str, frame: _Frame, body: list[str]) -> SafeString:
    label = escape(title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ops-chart" role="img" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="100%" aria-label="{label}" '
        f'font-family="sans-serif"><title>{label}</title>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every text is escaped)


def _empty(title: str, message: str) -> SafeString:
    frame = _Frame(points=1, top=1.0, height=80)
    return _svg(title, frame, [_text(WIDTH / 2, 44, message)])


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Formatter = plain_number,
    empty: str = "",
    whole: bool = False,
) -> SafeString:
    """One line per series over the `labels` (x axis); None values break the line."""
    values = [v for one in series for v in one.values if v is not None]
    if not labels or not values:
        return _empty(title, empty)
    ticks = nice_ticks(max(values), whole=whole)
    frame = _Frame(points=len(labels), top=ticks[-1])
    body = _axes(frame, ticks, labels, fmt)
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        for run in _runs(one.values):
            coords = " ".join(f"{frame.x_center(i):.1f},{frame.y(v):.1f}" for i, v in run)
            if len(run) == 1:
                x, y = coords.split(",")
                body.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
            else:
                body.append(
                    f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
    body += _legend(frame, series)
    return _svg(title, frame, body)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive measured points, split at gaps."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Formatter = plain_number,
    empty: str = "",
    whole: bool = False,
) -> SafeString:
    """Stacked bars: one bar per label, one coloured segment per series."""
    totals = [sum(one.values[i] or 0 for one in series) for i in range(len(labels))]
    if not labels or not series:
        return _empty(title, empty)
    ticks = nice_ticks(max(totals), whole=whole)
    frame = _Frame(points=len(labels), top=ticks[-1])
    body = _axes(frame, ticks, labels, fmt)
    bar = frame.slot() * 0.6
    for i in range(len(labels)):
        base = 0.0
        for index, one in enumerate(series):
            value = one.values[i] or 0
            if value <= 0:
                continue
            y_top, y_base = frame.y(base + value), frame.y(base)
            body.append(
                f'<rect x="{frame.x_center(i) - bar / 2:.1f}" y="{y_top:.1f}" '
                f'width="{bar:.1f}" height="{y_base - y_top:.1f}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(one.name)} '
                f"{escape(labels[i])}: {escape(fmt(value))}</title></rect>"
            )
            base += value
    body += _legend(frame, series)
    return _svg(title, frame, body)


def byte_scale(largest: float) -> tuple[float, str]:
    """The divisor and unit that show `largest` bytes as a readable number."""
    for divisor, unit in ((1024**4, "TB"), (1024**3, "GB"), (1024**2, "MB"), (1024, "KB")):
        if largest >= divisor:
            return float(divisor), unit
    return 1.0, "B"


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """What a chart shows, independent of how it is drawn (SVG on the page, ReportLab in PDF)."""

    key: str
    title: str
    kind: str  # "line" or "bar" (stacked)
    labels: list[str]
    series: list[Series]
    empty: str = ""
    whole: bool = True  # counts; False for sizes

    def svg(self) -> SafeString:
        draw = bar_chart if self.kind == "bar" else line_chart
        return draw(self.title, self.labels, self.series, empty=self.empty, whole=self.whole)
