"""The per-item status chart as inline SVG, drawn with matplotlib, byte-stable.

Stable bytes: a fixed hash salt for element ids, text kept as <text> (no
glyph paths, no font files), and no creation date in the metadata. The SVG is
matplotlib's own markup; the page embeds it as trusted, and every label in it
comes from the pathway's item ids and fixed words.
"""
from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence

from ..definition import STATUSES

COLOURS = {"met": "#1f6b3a", "not_met": "#9b2c1e", "missing": "#d9a441", "not_applicable": "#a7b0b6"}
LABELS = {"met": "Met", "not_met": "Not met", "missing": "Missing", "not_applicable": "Not applicable"}


_warming: threading.Thread | None = None


def warm_up(items: Sequence[str]) -> None:
    """Import matplotlib and draw a throwaway chart in the background (its first drawing loads
    fonts and caches), so that the real one, drawn when the counts are final, costs only itself.
    `status_chart` waits for it: matplotlib's settings are global, so two drawings never overlap."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=_draw, args=(list(items), [[1] * len(STATUSES)] * len(items)), daemon=True)
        _warming.start()


def status_chart(items: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    """A horizontal stacked bar per item: the share of evaluated referrals in each status."""
    if _warming is not None:
        _warming.join()
    return _draw(items, counts)


def _draw(items: Sequence[str], counts: Sequence[Sequence[int]]) -> str:
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend

    with matplotlib.rc_context({"svg.hashsalt": "pathway-audit", "svg.fonttype": "none",
                                "font.family": "sans-serif", "font.size": 9}):
        figure = Figure(figsize=(8.0, 0.32 * len(items) + 1.3))
        axes = figure.add_subplot()
        rows = list(range(len(items)))[::-1]
        left = [0.0] * len(items)
        for k, status in enumerate(STATUSES):
            shares = [100.0 * c[k] / sum(c) if sum(c) else 0.0 for c in counts]
            axes.barh(rows, shares, left=left, color=COLOURS[status], label=LABELS[status], height=0.7,
                      edgecolor="white", linewidth=0.5)
            left = [a + b for a, b in zip(left, shares)]
        axes.set_yticks(rows, labels=list(items))
        axes.set_xlim(0, 100)
        axes.set_xlabel("share of evaluated referrals (%)")
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        axes.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _inline(buffer.getvalue())


def _inline(svg: str) -> str:
    """Drop the XML prologue, the metadata (tool and version) and the fixed size, so the chart
    scales with the page and its bytes depend on the data alone."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img" aria-labelledby="chart-caption"',
                  svg, count=1)
