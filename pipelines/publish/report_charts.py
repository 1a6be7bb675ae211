"""Inline SVG charts for the run report: drawn here, no library, no network.

Each function returns one `<svg>` element as text, sized to its content, with
every label escaped. Bars are horizontal so Chinese labels read left to right.
Colours are fixed per meaning (risk levels, loaded/quarantined) so a reader
learns them once.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from pipelines.publish.sheets import display_width

LEVEL_COLORS = {"高": "#c0392b", "中": "#e67e22", "低": "#95a5a6"}
GOOD, BAD, NEUTRAL = "#2e86c1", "#c0392b", "#95a5a6"

_FONT = 12
_CHAR = 7  # px per narrow character at 12px; CJK characters count twice
_BAR, _GAP = 18, 6


def _text_px(text: str) -> int:
    return display_width(text) * _CHAR


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(items: Sequence[tuple[str, float]], color: str = GOOD, unit: str = "", width: int = 560) -> str:
    """One horizontal bar per (label, value), value printed at the bar's end."""
    return stacked_bar_chart([(label, {"": value}) for label, value in items], [("", color)], unit=unit,
                             width=width, legend=False)


def stacked_bar_chart(rows: Sequence[tuple[str, dict[str, float]]], series: Sequence[tuple[str, str]],
                      unit: str = "", width: int = 560, legend: bool = True, percent: bool = False,
                      detail: str | None = None) -> str:
    """One horizontal bar per row, split into series segments (name, colour).

    percent=True scales every bar to its own total (shares), else to the
    largest total (amounts). The total is printed after each bar, followed by
    the `detail` series' own value when that is not zero (a thin segment
    stays readable).
    """
    if not rows:
        return '<p class="empty">无数据 <span class="en">no data</span></p>'
    label_w = max(_text_px(label) for label, _ in rows) + 10
    totals = [sum(v.get(name, 0) or 0 for name, _ in series) for _, v in rows]
    ends = [_number(t) + unit + (f"（{detail} {_number(v[detail])}）" if detail and v.get(detail) else "")
            for (_, v), t in zip(rows, totals)]
    value_w = max(_text_px(e) for e in ends) + 12
    plot_w = max(width - label_w - value_w, 120)
    top = 26 if legend else 4
    height = top + len(rows) * (_BAR + _GAP) + 4
    parts = [f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">']
    if legend:
        x = label_w
        for name, color in series:
            parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{color}"/>'
                         f'<text x="{x + 16}" y="16" font-size="{_FONT}">{escape(name)}</text>')
            x += 16 + _text_px(name) + 18
    largest = max(totals) or 1
    for i, ((label, values), total, end_text) in enumerate(zip(rows, totals, ends)):
        y = top + i * (_BAR + _GAP)
        parts.append(f'<text x="{label_w - 6}" y="{y + _BAR - 5}" font-size="{_FONT}" '
                     f'text-anchor="end">{escape(label)}</text>')
        scale = plot_w / ((total or 1) if percent else largest)
        x = float(label_w)
        for name, color in series:
            value = values.get(name, 0) or 0
            w = value * scale
            if w > 0:
                tip = f"{label} {name} {_number(value)}{unit}".strip()
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{_BAR}" fill="{color}">'
                             f'<title>{escape(tip)}</title></rect>')
                x += w
        end = label_w + (plot_w if percent and total else total * scale)
        parts.append(f'<text x="{end + 6:.1f}" y="{y + _BAR - 5}" font-size="{_FONT}">'
                     f'{escape(end_text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
