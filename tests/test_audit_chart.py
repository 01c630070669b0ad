"""The audit's documentation chart: hand-drawn SVG whose bars, titles and text say what the counts say."""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from pathway.audit.chart import COLOURS, PAD, WIDTH, documentation_chart
from pathway.definition import STATUSES, Pathway

from .conftest import ROOT

NS = {"svg": "http://www.w3.org/2000/svg"}
WORDS = {"met": "Yes", "not_met": "No", "missing": "Not documented", "not_applicable": "Not applicable"}
PLOT = WIDTH - 2 * PAD


def segments(svg: str) -> dict[str, list[tuple[float, float, str, str]]]:
    """Each item's bar segments, left to right: (x, width, fill, title), in drawing order."""
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


def test_items_are_drawn_least_documented_first_documented_against_not_documented() -> None:
    svg = documentation_chart([("First item", 3, 1), ("Second item", 1, 3), ("Third item", 2, 2)], WORDS)
    bars = segments(svg)
    assert list(bars) == ["Second item", "Third item", "First item"]   # 75 %, 50 %, 25 % not documented
    assert [(round(w, 2), fill) for _, w, fill, _ in bars["First item"]] == [
        (round(PLOT * 0.75, 2), COLOURS["met"]), (round(PLOT * 0.25, 2), COLOURS["missing"])]
    for row in bars.values():
        starts = [x for x, _, _, _ in row]
        ends = [x + w for x, w, _, _ in row]
        assert starts[1:] == [round(e, 2) for e in ends[:-1]]   # no gap, no overlap
        assert round(ends[-1] - starts[0], 2) == round(PLOT, 2)  # 100 %, every row alike
    assert texts(svg)[1:] == ["Second item: 25% documented (1 of 4)", "Third item: 50% documented (2 of 4)",
                              "First item: 75% documented (3 of 4)"]


def test_ties_keep_the_pathway_order_and_an_item_that_applies_to_none_goes_last() -> None:
    svg = documentation_chart([("Never applies", 0, 0), ("B", 1, 1), ("A", 2, 2)], WORDS)
    assert texts(svg)[1:] == ["B: 50% documented (1 of 2)", "A: 50% documented (2 of 4)",
                              "Never applies: applies to no evaluated referral"]
    empty = [r for r in ET.fromstring(svg).iterfind("svg:rect", NS) if r.get("fill") == "none"]
    assert [r.findtext("svg:title", namespaces=NS) for r in empty] == ["Never applies: applies to no evaluated referral"]


def test_each_segment_has_a_title_with_the_count_and_share() -> None:
    bars = segments(documentation_chart([("Was the trial done?", 1234, 1)], WORDS))
    assert [t for _, _, _, t in bars["Was the trial done?"]] == [
        "Was the trial done?: documented, 1,234 of 1,235 (99.9%)",
        "Was the trial done?: not documented, 1 of 1,235 (0.1%)"]


def test_long_titles_wrap_and_the_svg_scales_and_is_named_by_the_caption(pathway: Pathway) -> None:
    labels = {s: pathway.status_words[s].label for s in STATUSES}
    rows = [(i.title, 3, 1) for i in pathway.items]
    svg = documentation_chart(rows, labels)
    root = ET.fromstring(svg)
    assert (root.get("role"), root.get("aria-labelledby")) == ("img", "chart-caption")
    assert root.get("width") is None and root.get("height") is None
    assert re.fullmatch(rf"0 0 {WIDTH} [\d.]+", root.get("viewBox", ""))
    assert texts(svg)[0] == f"\u25a0Documented\u25a0{labels['missing']}"
    lines = texts(svg)[1:]
    assert all(len(line) <= PLOT / (0.62 * 12) for line in lines)   # wrapped to the chart's width
    joined = " ".join(lines)
    assert all(i.title in joined for i in pathway.items)   # every title in full, words as the rules give them


def test_every_label_is_escaped() -> None:
    svg = documentation_chart([('x<&"', 1, 0)], {**WORDS, "missing": 'No <b>&"'})
    assert "<b>" not in svg and 'x<&"' not in svg
    assert 'x&lt;&amp;&quot;' in svg and "No &lt;b&gt;&amp;&quot;" in svg
    assert segments(svg)['x<&"'][0][3] == 'x<&": documented, 1 of 1 (100.0%)'


def test_the_same_counts_give_the_same_bytes_with_two_decimals_at_most() -> None:
    args = ([("a one", 1, 2), ("b two", 2, 1)], WORDS)
    svg = documentation_chart(*args)
    assert svg == documentation_chart(*args)
    numbers = re.findall(r' (?:x|y|dx|width|height|viewBox|d)="([^"]*)"', svg)
    assert numbers and all(re.fullmatch(r"[-\d. MHv]*", n) for n in numbers)
    assert not re.search(r"\d\.\d{3}", " ".join(numbers))


def test_drawing_the_chart_imports_no_plotting_library() -> None:
    code = ("import sys\nfrom pathway.audit.chart import documentation_chart\n"
            "documentation_chart([('a', 1, 2)], dict(met='Y', not_met='N', missing='M', not_applicable='A'))\n"
            "print(sorted({'matplotlib', 'numpy'} & {m.split('.')[0] for m in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout == "[]\n"
