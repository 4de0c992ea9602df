"""Server-rendered SVG charts (no JavaScript, no chart library): bars, stacked bars, lines, horizontal bars.

Every chart is an inline ``<svg role="img">`` with a title, y axis with gridlines and tick
labels, x labels (thinned when there are many), a legend, and a ``<title>`` tooltip on every
bar and point. Bars carry ``class="bar"`` and points ``class="point"`` with ``data-value``; a
target (e.g. the province's 99 % satisfaction) is a dashed ``class="target"`` line. Numbers are
written the Vietnamese way (``1.234``, ``12,5 %``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from markupsafe import Markup, escape

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 36, 48
PALETTE = ("#0b5394", "#e69138", "#6aa84f", "#a64d79", "#3d85c6", "#cc0000", "#999999", "#f1c232")
Number = Optional[float]


@dataclass
class Series:
    """One data series: ``values[i]`` belongs to label ``i`` (None: no value)."""

    key: str
    label: str
    values: Sequence[Number]
    color: str = ""


def number(value: Number, percent: bool = False, digits: int = 1) -> str:
    """``value`` written the Vietnamese way: ``1.234``, ``3,5``, ``99 %`` (ratios when ``percent``)."""
    if value is None:
        return "–"
    value = round(value * 100 if percent else value, 6)
    if float(value).is_integer():
        text = f"{int(value):,}".replace(",", ".")
    else:
        text = f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text} %" if percent else text


def short_label(label: str) -> str:
    """A bucket label for an axis: ``2024-03-04`` → ``04/03``, ``2024-W10`` → ``T10/24``."""
    if len(label) == 10 and label[4] == "-" and label[7] == "-":
        return f"{label[8:]}/{label[5:7]}"
    if "-W" in label:
        year, week = label.split("-W", 1)
        return f"T{week}/{year[2:]}"
    return label


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _colors(series: Sequence[Series]) -> List[Series]:
    return [Series(s.key, s.label, s.values, s.color or PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]


def _frame(title: str, chart_id: str, body: Iterable[str], legend: Sequence[Series], y_max: float,
           percent: bool, labels: Sequence[str], height: int = HEIGHT) -> Markup:
    plot_h = height - TOP - BOTTOM
    parts = [f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>']
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(number(value, percent))}</text>')
    parts.extend(body)
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}"/>')
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    every = max(1, math.ceil(len(labels) / 14))
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + slot * (i + 0.5)
            parts.append(f'<text class="xlabel" x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                         f'{escape(short_label(label))}</text>')
    x = LEFT
    for s in legend:
        parts.append(f'<rect class="key" x="{x}" y="8" width="12" height="12" fill="{s.color}"/>'
                     f'<text class="legend" x="{x + 16}" y="18">{escape(s.label)}</text>')
        x += 28 + 7 * len(s.label)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text inside went through escape()


def _empty(values: Iterable[Number]) -> bool:
    return all(not v for v in values)


def bar_chart(title: str, chart_id: str, labels: Sequence[str], series: Sequence[Series], *, stacked: bool = False,
              percent: bool = False, target: Number = None, target_label: str = "") -> Markup:
    """Vertical bars per label: side by side, or ``stacked``; an optional dashed target line."""
    series = _colors(series)
    if stacked:
        top = max([sum(s.values[i] or 0 for s in series) for i in range(len(labels))] or [0])
    else:
        top = max([v or 0 for s in series for v in s.values] or [0])
    highest = max(top, target or 0)
    y_max = min(1.0, _nice_max(highest)) if percent else _nice_max(highest)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    inner = slot * 0.8
    body: List[str] = []
    for i, label in enumerate(labels):
        base = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            if value is None:
                continue
            h = plot_h * (value / y_max)
            if stacked:
                x, w, y = LEFT + slot * i + slot * 0.1, inner, TOP + plot_h - plot_h * (base / y_max) - h
                base += value
            else:
                w = inner / len(series)
                x, y = LEFT + slot * i + slot * 0.1 + w * j, TOP + plot_h - h
            body.append(f'<rect class="bar" data-series="{escape(s.key)}" data-value="{value}" x="{x:.1f}" '
                        f'y="{y:.1f}" width="{max(w - 1, 0.5):.1f}" height="{h:.1f}" fill="{s.color}">'
                        f'<title>{escape(label)} · {escape(s.label)}: {escape(number(value, percent))}</title></rect>')
    body += _target(target, target_label, y_max, percent)
    if _empty(v for s in series for v in s.values):
        body.append(_no_data())
    return _frame(title, chart_id, body, series, y_max, percent, labels)


def line_chart(title: str, chart_id: str, labels: Sequence[str], series: Sequence[Series], *,
               percent: bool = False, target: Number = None, target_label: str = "",
               y_max: Number = None) -> Markup:
    """Lines with a dot per value (a gap where a value is missing); an optional dashed target line."""
    series = _colors(series)
    top = max([v or 0 for s in series for v in s.values] + [target or 0])
    y_max = y_max or (min(1.0, _nice_max(top)) if percent else _nice_max(top))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    body: List[str] = []
    for s in series:
        runs: List[List[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * (value / y_max)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle class="point" data-series="{escape(s.key)}" data-value="{value}" cx="{x:.1f}" '
                        f'cy="{y:.1f}" r="3" fill="{s.color}"><title>{escape(labels[i])} · {escape(s.label)}: '
                        f'{escape(number(value, percent))}</title></circle>')
        body[:0] = [f'<polyline class="line" points="{" ".join(run)}" stroke="{s.color}"/>' for run in runs if run]
    body += _target(target, target_label, y_max, percent)
    if all(v is None for s in series for v in s.values):
        body.append(_no_data())
    return _frame(title, chart_id, body, series, y_max, percent, labels)


def hbar_chart(title: str, chart_id: str, rows: Sequence[Tuple[str, float]], *, percent: bool = False,
               color: str = PALETTE[0]) -> Markup:
    """Horizontal bars, one per ``(label, value)`` row (ranked lists: top intents, top questions)."""
    rows = list(rows)
    left, bar_h = 260, 22
    height = TOP + max(1, len(rows)) * bar_h + 28
    x_max = _nice_max(max([v for _, v in rows] or [0]))
    plot_w = WIDTH - left - RIGHT - 60
    parts = [f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{escape(chart_id)}-title">{escape(title)}</title>']
    for i in range(5):
        x = left + plot_w * i / 4
        parts.append(f'<line class="grid" x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height - 28}"/>'
                     f'<text class="tick" x="{x:.1f}" y="{height - 12}" text-anchor="middle">'
                     f'{escape(number(x_max * i / 4, percent))}</text>')
    for i, (label, value) in enumerate(rows):
        y = TOP + i * bar_h
        w = plot_w * (value / x_max)
        text = label if len(label) <= 38 else label[:37] + "…"
        parts.append(f'<text class="ylabel" x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(text)}</text>'
                     f'<rect class="bar" data-series="{escape(label)}" data-value="{value}" x="{left}" y="{y + 3}" '
                     f'width="{max(w, 0.5):.1f}" height="{bar_h - 6}" fill="{color}"><title>{escape(label)}: '
                     f'{escape(number(value, percent))}</title></rect>'
                     f'<text class="value" x="{left + w + 6:.1f}" y="{y + 15}">{escape(number(value, percent))}</text>')
    if not rows:
        parts.append(f'<text class="nodata" x="{WIDTH / 2}" y="{TOP + 12}" text-anchor="middle">'
                     'Không có số liệu trong khoảng này</text>')
    parts.append(f'<line class="axis" x1="{left}" y1="{TOP - 6}" x2="{left}" y2="{height - 28}"/></svg>')
    return Markup("".join(parts))  # noqa: S704 - every text inside went through escape()


def _target(target: Number, label: str, y_max: float, percent: bool) -> List[str]:
    if target is None:
        return []
    plot_h = HEIGHT - TOP - BOTTOM
    y = TOP + plot_h - plot_h * (min(target, y_max) / y_max)
    text = f"{label} {number(target, percent)}".strip()
    return [f'<line class="target" data-value="{target}" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
            f'y2="{y:.1f}"><title>{escape(text)}</title></line>',
            f'<text class="target-label" x="{WIDTH - RIGHT - 4}" y="{y - 5:.1f}" text-anchor="end">'
            f'{escape(text)}</text>']


def _no_data() -> str:
    return (f'<text class="nodata" x="{(WIDTH + LEFT) / 2}" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2}" '
            'text-anchor="middle">Không có số liệu trong khoảng này</text>')
