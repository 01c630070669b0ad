"""The per-item documentation chart as inline SVG, drawn by hand: no plotting library to import.

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


WIDTH = 420                # the chart's width in user units: close to a phone's, so its words stay legible there
LINE = 16                  # a title line's height


def documentation_chart(rows: Sequence[tuple[str, int, int]], labels: Mapping[str, str], *, worst_first: bool = True,
                        labelled_by: str = "chart-caption", unit: str = "") -> str:
    """A bar per item, least documented first: of the referrals the item applies to, the share that
    document it (met and not met are both documented answers) and the share that do not. `rows`:
    (item title, documented, not documented) in pathway order; each title is written in full above its bar.
    The same for months or groups (`worst_first=False` keeps their order; `unit`: what is counted)."""
    order = sorted(range(len(rows)), key=lambda k: (-_share(rows[k][2], rows[k][1] + rows[k][2]), k)) \
        if worst_first else list(range(len(rows)))
    words = {"met": "documented", "missing": labels["missing"].lower()}
    legend, top = _legend({"met": "Documented", "missing": labels["missing"]}, PAD, WIDTH, ("met", "missing"))
    parts, y = legend, top
    plot = WIDTH - 2 * PAD
    for k in order:
        title, documented, missing = rows[k]
        total = documented + missing
        caption = (f"{documented / total:.0%} documented ({documented:,} of {total:,}{unit})" if total
                   else "applies to no evaluated referral")
        joined = f"{title} {caption}" if title.endswith(("?", ".", "!")) else f"{title}: {caption}"
        for line in _wrap(joined, int(plot / CHAR)):
            y += LINE
            parts.append(f'<text x="{PAD}" y="{_n(y - 4)}">{escape(line)}</text>')
        bar = f'y="{_n(y + 2)}" height="{BAR}"'
        if not total:
            parts.append(f'<rect x="{PAD}" width="{_n(plot)}" {bar} fill="none" stroke="{COLOURS["not_applicable"]}">'
                         f'<title>{escape(title)}: applies to no evaluated referral</title></rect>')
        done = 0
        for status, count in (("met", documented), ("missing", missing)):
            if count:
                x0, x1 = PAD + plot * done / total, PAD + plot * (done + count) / total
                parts.append(f'<rect x="{_n(x0)}" width="{_n(x1 - x0)}" {bar} fill="{COLOURS[status]}">'
                             f'<title>{escape(title)}: {escape(words[status])}, {count:,} of {total:,} '
                             f'({count / total:.1%})</title></rect>')
                done += count
        y += BAR + PAD + 2
    height = y + PAD
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" role="img" '
            f'aria-labelledby="{labelled_by}" font-size="{FONT}" fill="{INK}">\n' + "\n".join(parts) + "\n</svg>")


def _share(part: int, total: int) -> float:
    return part / total if total else -1.0   # an item that applies to no referral goes last


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most about `width` characters, broken at spaces."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _legend(labels: Mapping[str, str], left: float, width: float,
            statuses: Sequence[str] = STATUSES) -> tuple[list[str], float]:
    """A square and the pathway's word per status, in lines above the bars; and where the bars start.
    A line is one <text>, so the browser spaces the words; the estimate only decides where lines break."""
    lines: list[list[str]] = [[]]
    x = left
    for status in statuses:
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
