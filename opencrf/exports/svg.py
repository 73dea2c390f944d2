"""The Stats & Charts page's SVG: horizontal bars for choices, histograms for numbers.

Drawn on the server like `ops/charts.py` (which sits above exports in the layers, so its
helpers are not imported here): no JavaScript, no inline styles (the Content Security Policy
allows neither), colours as presentation attributes. No font is named, so the text takes the
page's font, Japanese included. Every text that reaches the markup is escaped.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from opencrf.exports.summary import Bin

# Colour-blind-safe (Okabe–Ito), as the operations charts.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
WIDTH = 420  # narrow enough that the text stays readable when a phone scales the chart down
ROW = 22  # the height of one bar
FONT = 12
LABEL_MAX = 26  # characters of an option's label before it is cut (the whole one is its title)
Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Bars:
    """One series of a bar chart: a group's counts (and shares), one per option."""

    name: str
    counts: Sequence[int]
    percents: Sequence[float]


def text_width(text: str, size: int = FONT) -> float:
    """About how wide `text` is drawn: East Asian wide characters take a full em."""
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return size * (wide + 0.6 * (len(text) - wide))


def shorten(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit(text: str, room: float) -> str:
    """`text`, cut with "…" to at most LABEL_MAX characters and about `room` pixels wide."""
    text = shorten(text)
    while len(text) > 1 and text_width(text) > room:
        text = text[:-2] + "…"
    return text


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="#212529">{escape(text)}</text>'
    )


def _svg(title: str, width: float, height: float, body: list[str]) -> SafeString:
    label = escape(title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stats-chart" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="100%" aria-label="{label}">'
        f"<title>{label}</title>"
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every text is escaped)


def choice_bars(title: str, labels: Sequence[str], series: Sequence[Bars]) -> SafeString:
    """Horizontal bars, one row per option (one bar per series within it), each with its
    count and share at its end; a legend above when there is more than one series."""
    room = WIDTH * 0.45 - 8
    shown = [fit(label, room) for label in labels]
    left = 8 + max((text_width(label) for label in shown), default=0.0)
    right = 84  # room for "12,345 (100%)"
    legend, legend_height = _legend(series) if len(series) > 1 else ([], 0.0)
    top = 8 + legend_height
    band = ROW * len(series) + 6
    height = top + band * len(labels) + 4
    largest = max((c for one in series for c in one.counts), default=0) or 1
    scale = (WIDTH - left - right) / largest
    body = legend
    for n, (label, full) in enumerate(zip(shown, labels, strict=True)):
        y = top + band * n
        middle = y + band / 2 + FONT / 3
        body.append(
            f'<text x="{left - 6:.1f}" y="{middle:.1f}" text-anchor="end" font-size="{FONT}" '
            f'fill="#212529"><title>{escape(full)}</title>{escape(label)}</text>'
        )
        for s, one in enumerate(series):
            count, percent = one.counts[n], one.percents[n]
            bar_y = y + 3 + ROW * s
            length = count * scale
            colour = PALETTE[s % len(PALETTE)]
            body.append(
                f'<rect x="{left:.1f}" y="{bar_y + 3:.1f}" width="{length:.1f}" '
                f'height="{ROW - 6}" fill="{colour}"><title>{escape(one.name)} {escape(full)}: '
                f"{count:,} ({percent:.1f}%)</title></rect>"
            )
            body.append(
                _text(left + length + 4, bar_y + ROW / 2 + FONT / 3, f"{count:,} ({percent:.0f}%)")
            )
    body.append(
        f'<line x1="{left:.1f}" y1="{top}" x2="{left:.1f}" y2="{height - 4:.1f}" '
        'stroke="#6c757d" stroke-width="1"/>'
    )
    return _svg(title, WIDTH, height, body)


def _legend(series: Sequence[Bars]) -> tuple[list[str], float]:
    """A swatch and name per series, wrapped onto as many lines as they need; the parts and
    the height they take."""
    parts = []
    x, y = 8.0, 6.0
    for s, one in enumerate(series):
        name = fit(one.name, WIDTH - 36)
        width = 28 + text_width(name)
        if x > 8 and x + width > WIDTH:
            x, y = 8.0, y + ROW - 4
        colour = PALETTE[s % len(PALETTE)]
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y + 9, name))
        x += width
    return parts, y + ROW - 2


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Whole-number ticks from 0 past `top`, 1, 2 or 5 times a power of ten apart."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = max(1.0, next(m * power for m in (1, 2, 5, 10) if m * power >= raw))
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def number_text(value: float) -> str:
    """A number as short as it reads well: whole numbers whole, others to four significant
    digits (or two decimals for larger ones)."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1000:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def histogram_chart(title: str, bins: Sequence[Bin], fmt: Formatter = number_text) -> SafeString:
    """Adjacent vertical bars over the bins' range, count ticks on the left, edges below."""
    left, right, top, bottom = 52, 12, 10, 40
    height = 180
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ticks = nice_ticks(max((b.count for b in bins), default=0))
    peak = ticks[-1]
    body: list[str] = []
    for tick in ticks:
        y = top + plot_h * (1 - tick / peak)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
            'stroke="#dee2e6" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y + 4, f"{tick:,.0f}", anchor="end", size=10))
    slot = plot_w / max(len(bins), 1)
    for n, one in enumerate(bins):
        bar_h = plot_h * one.count / peak
        x, bar_w = left + slot * n, max(slot - 1, 1)
        body.append(
            f'<rect x="{x + 0.5:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="{PALETTE[0]}"><title>{escape(fmt(one.low))}–'
            f"{escape(fmt(one.high))}: {one.count:,}</title></rect>"
        )
    base = top + plot_h
    body.append(
        f'<line x1="{left}" y1="{base}" x2="{WIDTH - right}" y2="{base}" '
        'stroke="#6c757d" stroke-width="1"/>'
    )
    edges = [bins[0].low, *(b.high for b in bins)] if bins else []
    every = max(1, math.ceil(len(edges) / 7))  # at most about 7 edge labels
    for n, edge in enumerate(edges):
        if n % every == 0 or n == len(edges) - 1:
            body.append(_text(left + slot * n, base + 16, fmt(edge), anchor="middle", size=10))
    return _svg(title, WIDTH, height, body)
