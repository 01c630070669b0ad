"""The per-item status chart as inline SVG, drawn with matplotlib, byte-stable.

Stable bytes: a fixed hash salt for element ids, text kept as <text> (no
glyph paths, no font files), and no creation date in the metadata. The SVG is
matplotlib's own markup; the page embeds it as trusted, and every label in it
comes from the pathway: its item ids and its status words.
"""
from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..definition import STATUSES

# Yes and No are both documented answers: two shades of one hue, not green against red; what is not
# documented stands out. The words come from the pathway (`status_words`).
COLOURS = {"met": "#24425e", "not_met": "#7d9bb8", "missing": "#d9a441", "not_applicable": "#c9d1d6"}
WIDTH = 8.0         # inches (the page scales the SVG to its column)
FONT_SIZE = 9       # points
CHAR_WIDTH = 0.58   # of the font size: a generous average for the item ids' lower-case letters


_warming: threading.Thread | None = None


def warm_up() -> None:
    """Import matplotlib in the background (about a quarter of a second), so that the chart,
    drawn when the counts are final, costs only its drawing; `status_chart` waits for it. Not a
    daemon thread: if Ctrl+C ends the command meanwhile, Python lets the import finish before it
    exits (a daemon thread cut off inside an extension module's import can abort the process)."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=_quietly_import, name="import matplotlib")
        _warming.start()


def status_chart(items: Sequence[str], counts: Sequence[Sequence[int]], labels: Mapping[str, str]) -> str:
    """A horizontal stacked bar per item: the share of evaluated referrals in each status."""
    if _warming is not None:
        _warming.join()
    matplotlib, Figure, PolyCollection, Patch = _library()
    height = 0.32 * len(items) + 1.3   # inches
    with matplotlib.rc_context({"svg.hashsalt": "pathway-audit", "svg.fonttype": "none",
                                "font.family": "sans-serif", "font.size": FONT_SIZE}):
        figure = Figure(figsize=(WIDTH, height))
        # margins worked out here rather than measured (`tight_layout` draws the figure once more)
        margin = max((len(i) for i in items), default=0) * FONT_SIZE * CHAR_WIDTH / 72 + 0.15
        figure.subplots_adjust(left=min(0.6, margin / WIDTH), right=0.98, top=1 - 0.45 / height, bottom=0.55 / height)
        axes = figure.add_subplot()
        rows = list(range(len(items)))[::-1]
        bars, colours = [], []   # one collection of rectangles, not a patch each: a fraction of the cost
        left = [0.0] * len(items)
        for k, status in enumerate(STATUSES):
            shares = [100.0 * c[k] / sum(c) if sum(c) else 0.0 for c in counts]
            for y, x, width in zip(rows, left, shares):
                bars.append([(x, y - 0.35), (x + width, y - 0.35), (x + width, y + 0.35), (x, y + 0.35)])
                colours.append(COLOURS[status])
            left = [a + b for a, b in zip(left, shares)]
        axes.add_collection(PolyCollection(bars, facecolors=colours, edgecolors="white", linewidths=0.5),
                            autolim=False)
        axes.set_yticks(rows, labels=list(items))
        axes.set_ylim(-0.6, len(items) - 0.4)
        axes.set_xlim(0, 100)
        axes.set_xlabel("share of evaluated referrals (%)")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(handles=[Patch(facecolor=COLOURS[s], label=labels[s]) for s in STATUSES], ncols=4,
                    loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _inline(buffer.getvalue())


def _quietly_import() -> None:
    """The background import prints nothing if it fails (as it may when Ctrl+C stops the
    command while it runs): the chart imports again, and reports any real failure, itself."""
    with contextlib.suppress(Exception):
        _library()


def _library() -> tuple[Any, Any, Any, Any]:
    import matplotlib
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend
    from matplotlib.patches import Patch

    return matplotlib, Figure, PolyCollection, Patch


def _inline(svg: str) -> str:
    """Drop the XML prologue, the metadata (tool and version) and the fixed size, so the chart
    scales with the page and its bytes depend on the data alone."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img" aria-labelledby="chart-caption"',
                  svg, count=1)
