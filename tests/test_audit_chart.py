"""The audit's status chart: hand-drawn SVG whose bars, titles and text say what the counts say."""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from pathway.audit.chart import COLOURS, FONT, PAD, PLOT, status_chart
from pathway.definition import STATUSES, Pathway

from .conftest import ROOT

NS = {"svg": "http://www.w3.org/2000/svg"}
WORDS = {"met": "Yes", "not_met": "No", "missing": "Not documented", "not_applicable": "Not applicable"}


def segments(svg: str) -> dict[str, list[tuple[float, float, str, str]]]:
    """Each item's bar segments, left to right: (x, width, fill, title)."""
    bars: dict[str, list[tuple[float, float, str, str]]] = {}
    for rect in ET.fromstring(svg).iterfind("svg:rect", NS):
        title = rect.findtext("svg:title", namespaces=NS)
        if title is not None and rect.get("fill") != "none":
            item = title.split(": ", 1)[0]
            bars.setdefault(item, []).append((float(rect.get("x", "")), float(rect.get("width", "")),
                                              rect.get("fill", ""), title))
    return bars


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iterfind("svg:text", NS)]


def test_bar_widths_are_shares_of_the_counts_stacked_in_status_order_with_items_in_the_given_order() -> None:
    svg = status_chart(["z.last", "a.first"], [[3, 1, 0, 0], [1, 1, 1, 1]], WORDS)
    bars = segments(svg)
    assert list(bars) == ["z.last", "a.first"]   # not sorted
    assert [(round(w, 2), fill) for _, w, fill, _ in bars["z.last"]] == [(PLOT * 0.75, COLOURS["met"]),
                                                                         (PLOT * 0.25, COLOURS["not_met"])]
    assert [round(w, 2) for _, w, _, _ in bars["a.first"]] == [PLOT / 4] * 4
    assert [fill for _, _, fill, _ in bars["a.first"]] == [COLOURS[s] for s in STATUSES]
    for row in bars.values():
        starts = [x for x, _, _, _ in row]
        ends = [x + w for x, w, _, _ in row]
        assert starts[1:] == [round(e, 2) for e in ends[:-1]]   # no gap, no overlap
        assert round(ends[-1] - starts[0], 2) == PLOT            # 100 %, every row alike
    assert bars["z.last"][0][0] == bars["a.first"][0][0]
    item_ys = [float(t.get("y", "")) for t in ET.fromstring(svg).iterfind("svg:text", NS) if t.text in bars]
    assert item_ys == sorted(item_ys)


def test_each_segment_has_a_title_with_item_word_count_and_share() -> None:
    bars = segments(status_chart(["trial.done"], [[1234, 0, 1, 0]], WORDS))
    assert [t for _, _, _, t in bars["trial.done"]] == ["trial.done: Yes, 1,234 of 1,235 (99.9%)",
                                                        "trial.done: Not documented, 1 of 1,235 (0.1%)"]


def test_text_is_text_and_the_svg_scales_and_is_named_by_the_caption(pathway: Pathway) -> None:
    labels = {s: pathway.status_words[s].label for s in STATUSES}
    ids = [i.id for i in pathway.items]
    svg = status_chart(ids, [[1, 2, 3, 4]] * len(ids), labels)
    root = ET.fromstring(svg)
    assert (root.get("role"), root.get("aria-labelledby")) == ("img", "chart-caption")
    assert root.get("width") is None and root.get("height") is None
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox", ""))
    legend = [t for t in texts(svg) if t.startswith("\u25a0")]   # a square before each word, in lines
    assert "".join(legend) == "".join(f"\u25a0{labels[s]}" for s in STATUSES)
    assert texts(svg)[len(legend):] == [*ids, "0", "25", "50", "75", "100", "share of evaluated referrals (%)"]


def test_every_label_is_escaped() -> None:
    svg = status_chart(['x<&"'], [[1, 0, 0, 0]], {**WORDS, "met": 'Yes <b>&"'})
    assert "<b>" not in svg and 'x<&"' not in svg
    assert 'x&lt;&amp;&quot;' in svg and "Yes &lt;b&gt;&amp;&quot;" in svg
    assert texts(svg)[1] == 'x<&"'
    assert segments(svg)['x<&"'][0][3] == 'x<&": Yes <b>&", 1 of 1 (100.0%)'


def test_no_evaluated_referrals_draws_empty_bars() -> None:
    svg = status_chart(["a.one", "b.two"], [[0, 0, 0, 0], [0, 0, 0, 0]], WORDS)
    assert segments(svg) == {}
    empty = [r for r in ET.fromstring(svg).iterfind("svg:rect", NS) if r.get("fill") == "none"]
    assert [r.findtext("svg:title", namespaces=NS) for r in empty] == ["a.one: no evaluated referrals",
                                                                       "b.two: no evaluated referrals"]
    assert [float(r.get("width", "")) for r in empty] == [PLOT, PLOT]
    assert not re.search(r"nan|inf", svg)
    assert texts(status_chart([], [], WORDS))[1:] == ["0", "25", "50", "75", "100", "share of evaluated referrals (%)"]


def test_the_left_margin_makes_room_for_the_longest_item_id() -> None:
    long = "section." + "very_long_item_id_" * 4
    short, wide = (status_chart(ids, [[1, 0, 0, 0]] * len(ids), WORDS) for ids in (["a"], ["a", long]))
    x_short, x_wide = (segments(svg)["a"][0][0] for svg in (short, wide))
    assert x_wide - PAD >= len(long) * 0.6 * FONT + PAD > x_short   # 0.6 em: a wide font's average letter
    assert float(ET.fromstring(wide).get("viewBox", "").split()[2]) >= x_wide + PLOT


def test_the_same_counts_give_the_same_bytes_with_two_decimals_at_most() -> None:
    args = (["a.one", "b.two"], [[1, 2, 0, 0], [2, 1, 3, 7]], WORDS)
    svg = status_chart(*args)
    assert svg == status_chart(*args)
    numbers = re.findall(r' (?:x|y|dx|width|height|viewBox|d)="([^"]*)"', svg)
    assert numbers and all(re.fullmatch(r"[-\d. MHv]*", n) for n in numbers)
    assert not re.search(r"\d\.\d{3}", " ".join(numbers))


def test_drawing_the_chart_imports_no_plotting_library() -> None:
    code = ("import sys\nfrom pathway.audit.chart import status_chart\n"
            "status_chart(['a'], [[1, 2, 3, 4]], dict(met='Y', not_met='N', missing='M', not_applicable='A'))\n"
            "print(sorted({'matplotlib', 'numpy'} & {m.split('.')[0] for m in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout == "[]\n"
