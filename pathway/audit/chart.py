"""The per-item status chart as inline SVG, drawn by hand: no plotting library to import.

Stable bytes: every coordinate is written with two decimals at most, and nothing but the inputs goes
into the markup. Every label is escaped, so the page can embed the SVG as trusted; text stays <text>,
in the page's font, and the viewBox alone sizes the chart, so it scales with the page's column.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from ..definition import STATUSES

# Yes and No are both documented answers: two shades of one hue, not green against red; what is not
# documented stands out. The words come from the pathway (`status_words`).
COLOURS = {"met": "#24425e", "not_met": "#7d9bb8", "missing": "#d9a441", "not_applicable": "#c9d1d6"}
INK = "#1d2327"            # the page's text colour (_report.css)
FONT = 12                  # user units; at the page's widest column, about the body text's size
CHAR = 0.62 * FONT         # a generous average character width (DejaVu Sans is among the widest)
ROW, BAR, PLOT = 22, 15, 400   # a row's height, a bar's thickness, and the length of 100 %
PAD = 8
TICKS = (0, 25, 50, 75, 100)
AXIS_LABEL = "share of evaluated referrals (%)"


def status_chart(items: Sequence[str], counts: Sequence[Sequence[int]], labels: Mapping[str, str]) -> str:
    """A horizontal stacked bar per item: the share of evaluated referrals in each status."""
    left = PAD + max((len(i) for i in items), default=0) * CHAR + PAD   # room for the longest item id
    width = left + PLOT + 2 * PAD                                         # and for half of "100" on the right
    legend, top = _legend(labels, left, width)
    parts = legend
    for row, (item, by) in enumerate(zip(items, counts)):
        y, total, done = top + row * ROW, sum(by), 0
        parts.append(f'<text x="{_n(left - PAD)}" y="{_n(y + ROW / 2 + 0.35 * FONT)}" text-anchor="end">'
                     f'{escape(item)}</text>')
        bar = f'y="{_n(y + (ROW - BAR) / 2)}" height="{BAR}"'
        if not total:
            parts.append(f'<rect x="{_n(left)}" width="{PLOT}" {bar} fill="none" stroke="{COLOURS["not_applicable"]}">'
                         f'<title>{escape(item)}: no evaluated referrals</title></rect>')
        for status, count in zip(STATUSES, by):
            if count:
                x0, x1 = left + PLOT * done / total, left + PLOT * (done + count) / total
                parts.append(f'<rect x="{_n(x0)}" width="{_n(x1 - x0)}" {bar} fill="{COLOURS[status]}">'
                             f'<title>{escape(item)}: {escape(labels[status])}, {count:,} of {total:,} '
                             f'({count / total:.1%})</title></rect>')
                done += count
    axis = top + len(items) * ROW + PAD / 2
    parts.append(f'<path d="M{_n(left)} {_n(axis)}H{_n(left + PLOT)}" stroke="{INK}"/>')
    for tick in TICKS:
        x = _n(left + PLOT * tick / 100)
        parts.append(f'<path d="M{x} {_n(axis)}v4" stroke="{INK}"/>'
                     f'<text x="{x}" y="{_n(axis + 4 + FONT)}" text-anchor="middle">{tick}</text>')
    height = axis + 4 + FONT * 2.6
    parts.append(f'<text x="{_n(left + PLOT / 2)}" y="{_n(height - FONT * 0.4)}" text-anchor="middle">'
                 f'{AXIS_LABEL}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" role="img" '
            f'aria-labelledby="chart-caption" font-size="{FONT}" fill="{INK}">\n' + "\n".join(parts) + "\n</svg>")


def _legend(labels: Mapping[str, str], left: float, width: float) -> tuple[list[str], float]:
    """A square and the pathway's word per status, in lines above the bars; and where the bars start.
    A line is one <text>, so the browser spaces the words; the estimate only decides where lines break."""
    lines: list[list[str]] = [[]]
    x = left
    for status in STATUSES:
        word = escape(labels[status])
        entry = (2 + len(labels[status])) * CHAR
        if lines[-1] and x + entry > width - PAD:
            lines.append([])
            x = left
        gap = f' dx="{2 * PAD}"' if lines[-1] else ""
        lines[-1].append(f'<tspan{gap} fill="{COLOURS[status]}">\u25a0</tspan><tspan dx="{PAD // 2}">{word}</tspan>')
        x += entry + 2 * PAD
    parts = [f'<text x="{_n(left)}" y="{PAD + FONT + k * ROW}">{"".join(line)}</text>' for k, line in enumerate(lines)]
    return parts, PAD + len(lines) * ROW


def _n(value: float) -> str:
    """Two decimals at most, so that float noise never reaches the bytes."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
