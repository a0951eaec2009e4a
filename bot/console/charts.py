"""Small charts drawn on the server as inline SVG: no JavaScript, no chart library, works offline.

Colours come from CSS classes (admin.css, "dashboard" section), so the charts follow the page's
palette; every bar and point carries a <title>, which browsers show on hover and screen readers read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from bot.console.insights import Day

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
MAX_X_LABELS = 10
_RATE_STEPS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Series:
    """One stacked part of the bars: its name (for tooltips), CSS class and a value per bar."""

    name: str
    css: str
    values: Sequence[float]


def _nice_ceiling(value: float) -> int:
    """The axis top for counts: 1, 2, 5, 10, 20, 50... at least `value`."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(int(step * power) for step in (1, 2, 5, 10) if step * power >= value)


def _frame(labels: Sequence[str], ticks: list[tuple[float, str]], title: str) -> list[str]:
    """The opening tag, horizontal grid lines with their labels, and the x labels (about ten at most)."""
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="xMidYMid meet"><title>{escape(title)}</title><g class="chart-grid">']
    bottom = HEIGHT - BOTTOM
    for share, text in ticks:
        y = bottom - share * (bottom - TOP)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(text)}</text>')
    parts.append('</g><g class="chart-x">')
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    band = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    for index, label in enumerate(labels):
        if index % every == 0:
            x = LEFT + band * (index + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(label)}</text>')
    parts.append("</g>")
    return parts


def stacked_bars(labels: Sequence[str], series: Sequence[Series], *, title: str, tips: Sequence[str]) -> Markup:
    """One bar per label, its parts stacked bottom-up in the order of `series`; `tips` are the hover texts."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = _nice_ceiling(max(totals, default=0))
    ticks = [(0.0, "0"), (0.5, f"{top / 2:g}"), (1.0, str(top))] if top > 1 else [(0.0, "0"), (1.0, "1")]
    parts = _frame(labels, ticks, title)
    band = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    height = HEIGHT - BOTTOM - TOP
    for index, tip in enumerate(tips):
        x = LEFT + band * index + band * 0.15
        y: float = HEIGHT - BOTTOM
        parts.append(f'<g class="chart-bar"><title>{escape(tip)}</title>')
        for part in series:
            h = part.values[index] / top * height
            if h > 0:
                y -= h
                parts.append(f'<rect class="{part.css}" x="{x:.1f}" y="{y:.1f}" width="{band * 0.7:.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_line(labels: Sequence[str], values: Sequence[float | None], *, title: str, tips: Sequence[str], css: str) -> Markup:
    """A line of shares (0..1) with a dot per known value; the line breaks over days without data."""
    top = next((step for step in _RATE_STEPS if step >= max((v for v in values if v is not None), default=0)), 1.0)
    parts = _frame(labels, [(0.0, "0%"), (0.5, f"{top * 50:g}%"), (1.0, f"{top * 100:g}%")], title)
    band = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    height = HEIGHT - BOTTOM - TOP
    points = [
        (LEFT + band * (index + 0.5), HEIGHT - BOTTOM - value / top * height) if value is not None else None
        for index, value in enumerate(values)
    ]
    path, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        path.append(f"{'L' if pen_down else 'M'}{point[0]:.1f},{point[1]:.1f}")
        pen_down = True
    if path:
        parts.append(f'<path class="{css}" d="{" ".join(path)}" fill="none"/>')
    for point, tip in zip(points, tips):
        if point is not None:
            parts.append(f'<circle class="{css}" cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3.5"><title>{escape(tip)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def dashboard_charts(daily: Sequence[Day]) -> dict[str, Markup]:
    """The dashboard's two charts over time: drafts per day by outcome, and the fallback rate per day."""
    labels = [f"{d.day.month}/{d.day.day}" for d in daily]
    names = [f"{d.day.month}月{d.day.day}日" for d in daily]
    drafts = stacked_bars(
        labels,
        [Series("直接批准", "s-approved", [d.approved for d in daily]), Series("改后批准", "s-edited", [d.edited for d in daily]),
         Series("不发", "s-rejected", [d.rejected for d in daily]), Series("待处理等", "s-other", [d.other for d in daily])],
        title="每天的草稿数，按处理结果分色",
        tips=[f"{name}：共 {d.drafts} 条，直接批准 {d.approved}，改后批准 {d.edited}，不发 {d.rejected}，待处理等 {d.other}"
              for name, d in zip(names, daily)],
    )
    fallback = rate_line(
        labels, [d.fallback_rate for d in daily], title="每天的未识别率", css="s-fallback",
        tips=[f"{name}：未识别 {d.fallback} / {d.drafts} 条（{d.fallback_rate:.0%}）" if d.drafts else f"{name}：没有草稿"
              for name, d in zip(names, daily)],
    )
    return {"drafts": drafts, "fallback": fallback}
