"""No wording in the rules, templates or any rendered report states a decision about a child."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pathway.definition import Pathway
from pathway.report import Report
from pathway.render import render, render_form
from pathway.service import check, referral_values
from pathway.yamlsrc import Located

from .conftest import ROOT

DECISION_WORDS = re.compile(
    r"eligib|candidat|recommend|should (?:receive|have|get)\b|\bapprov|indicated for|suitable for (?:ITB|implant|the pump)"
    r"|qualif(?:y|ies) for|\bverdict",
    re.IGNORECASE,
)


CONTRACT_IDS = ("max_tolerated_or_recommended",)
"""Value ids fixed by checklist-v2 that the word list would catch: the recommended dose of a drug, never a
decision about a child. Only the id itself is exempt; its label and every other text are checked."""


def without_disclaimer(text: str, disclaimer: str) -> str:
    text = " ".join(text.split()).replace(disclaimer, "")
    for ident in CONTRACT_IDS:
        text = text.replace(ident, "")
    return text


def test_disclaimer_negates_every_decision(pathway: Pathway) -> None:
    d = pathway.disclaimer
    assert "discussion aid" in d
    assert "not an eligibility decision, a prescription or a recommendation" in d


@pytest.mark.parametrize("folder", ["rules", "templates"])
def test_content_files_use_no_decision_words(pathway: Pathway, folder: str) -> None:
    hits = []
    for path in sorted((ROOT / folder).rglob("*")):
        if path.is_file():
            text = without_disclaimer(path.read_text(encoding="utf-8"), pathway.disclaimer)
            hits += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in DECISION_WORDS.finditer(text)]
    assert hits == []


def test_no_rendered_report_uses_decision_words(pathway: Pathway) -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert pathway.cases
    for case in pathway.cases:
        values = referral_values(pathway, Located(case.file, case.referral))
        report = check(pathway, values, at=at)
        for fmt in ("html", "md", "json"):
            text = without_disclaimer(render(report, fmt), pathway.disclaimer)
            assert not DECISION_WORDS.search(text), (case.name, fmt, DECISION_WORDS.search(text))
    assert not DECISION_WORDS.search(without_disclaimer(render_form(pathway), pathway.disclaimer))


def test_the_detector_would_catch_a_decision() -> None:
    for phrase in ("This child is eligible", "a good candidate", "ITB is recommended",
                   "should receive a pump", "approved for implant", "indicated for implant"):
        assert DECISION_WORDS.search(phrase), phrase


def test_readme_states_the_tool_is_advisory() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "discussion aid" in readme
    assert Path(ROOT / "README.md").is_file()


# -- H12: the checklist read as a score or a decision ----------------------------------------------

PASS_FAIL_WORDS = {"pass", "passed", "fail", "failed", "met", "not met", "ok", "ticked", "eligible", "ineligible",
                   "suitable", "unsuitable", "meets criteria", "criterion met", "criterion not met"}
PASS_FAIL_ICONS = set("✔✓✅☑✘✗✕✖❌☒×✚+-")
TALLY = re.compile(r"\b(?:yes|no|met|not met)\b[\s:=·,(]{0,3}\d+|\d+[\s:=·,(]{0,3}(?:yes|no|met|not met)\b",
                   re.IGNORECASE)
"""A count of answers beside a status word, either way round: 'Yes: 11', 'Met 11', '11 yes', '(no 3)'."""


def test_status_words_are_not_a_pass_fail_pair(pathway: Pathway) -> None:
    words = pathway.status_words
    assert {s: w.label for s, w in words.items()} == {
        "met": "Yes", "not_met": "No", "missing": "Not documented", "not_applicable": "Not applicable"}
    for status, w in words.items():
        assert w.label.casefold() not in PASS_FAIL_WORDS, status
        assert not set(w.icon) & PASS_FAIL_ICONS, (status, w.icon)
    assert len({w.icon for w in words.values()}) == 4, "each status has an icon of its own"


def test_the_tally_detector_would_catch_a_score() -> None:
    for shown in ("Met: 11 · Not met: 3", "Yes: 11", "● Yes 11", "11 yes, 3 no", "(met 11, not met 3)", "No: 3"):
        assert TALLY.search(shown), shown
    for fine in ("14 of 16 applicable items documented; 3 points to discuss.", "Not yet documented (2): No current infection",
                 "Is the child free of current infection?", "No points to discuss", "Age: 9 years"):
        assert not TALLY.search(fine), fine


def _human_formats(pathway: Pathway, report: Report) -> dict[str, str]:
    """Every format a person reads one referral's checklist in."""
    from pathway.mdt.packet import Included, build_packet
    from pathway.mdt.render import render_html
    from pathway.web.cds import card_for
    from pathway.web.pages import Pages

    packet = build_packet(pathway, [Included("r.yaml", report)], [], generated_at=AT)
    card = card_for(report, "http://127.0.0.1:8000/", pathway.short_title)
    return {
        "html": render(report, "html"),
        "md": render(report, "md"),
        "web panel": Pages(pathway).panel(report),
        "packet": render_html(packet),
        "packet (pdf source)": render_html(packet, pdf=True),
        "cds card": card.summary + "\n" + card.detail,
    }


AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


def visible_text(markup: str) -> str:
    """What a person reads of a page: no style sheet, no tags, entities decoded, white space folded."""
    import html

    text = re.sub(r"<(style|script)\b.*?</\1>", " ", markup, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_no_human_format_tallies_yes_or_no(pathway: Pathway) -> None:
    assert pathway.cases
    for case in pathway.cases:
        report = check(pathway, referral_values(pathway, Located(case.file, case.referral)), at=AT)
        for fmt, text in _human_formats(pathway, report).items():
            plain = visible_text(text)
            assert not TALLY.search(plain), (case.name, fmt, TALLY.search(plain))
            assert not re.search(r"\b(?:Met|Not met)\b", plain), (case.name, fmt)


def test_the_summaries_say_the_same_whether_an_answer_is_yes_or_no(pathway: Pathway) -> None:
    """Turning a documented yes into a documented no changes that item's own status word and nothing a
    person reads as the referral's summary: the report's summary, the packet's cover, the CDS card and
    the form's live summary are byte-identical. The JSON still counts the statuses, for machines."""
    import json

    base = {"referral_id": "R-FLIP", "diagnosis_cp": "yes", "age_years": 9, "physiotherapy": "yes",
            "occupational_therapy": "yes", "orthotics": "no", "trial_status": "done", "trial_response": "positive"}
    flipped = {**base, "physiotherapy": "no", "occupational_therapy": "no", "orthotics": "yes"}
    reports = [check(pathway, referral_values(pathway, Located("r.yaml", v)), at=AT) for v in (base, flipped)]
    yes, no = (json.loads(r.to_json())["summary"] for r in reports)
    assert (yes["met"], yes["not_met"]) == (no["met"] + 1, no["not_met"] - 1)
    assert {k: v for k, v in yes.items() if k not in ("met", "not_met")} == \
           {k: v for k, v in no.items() if k not in ("met", "not_met")}
    first, second = (_human_formats(pathway, r) for r in reports)

    def summary_of(html: str) -> str:
        return html[html.index('<section class="summary"'):html.index("</section>", html.index('<section class="summary"'))]

    def cover_of(html: str) -> str:
        return html[:html.index('<article class="child"')]

    assert summary_of(first["html"]) == summary_of(second["html"])
    assert cover_of(first["packet"]) == cover_of(second["packet"])
    assert cover_of(first["packet (pdf source)"]) == cover_of(second["packet (pdf source)"])
    assert first["cds card"] == second["cds card"]
    panel_head = [p[:p.index("<h3>")] for p in (first["web panel"], second["web panel"])]
    assert panel_head[0] == panel_head[1]
    assert first["html"] != second["html"], "each item still shows its own answer"


def test_item_titles_are_questions(pathway: Pathway) -> None:
    """A title whose answer is the status ("Is the spasticity diffuse or severe?" Yes), not a criterion."""
    for item in pathway.items:
        assert item.title.endswith("?"), item.id
        assert item.title.split()[0] in {"Is", "Are", "Has", "Have", "Does", "Do", "Was", "Were", "Can", "Did"}, item.id


# -- the words for people are part of the pathway, and checked when it loads -------------------------

@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('  not_applicable: {label: "Not applicable", icon: "–"}\n', "",
         "'status_words': missing the words for 'not_applicable'"),
        ('  not_met: {label: "No", icon: "○"}', '  not_met: {label: "yes", icon: "○"}',
         "'status_words.not_met': the word 'yes' is used for two statuses"),
        ('  met: {label: "Yes", icon: "●"}', '  met: {label: "Yes", icon: "●", colour: green}',
         "unknown key 'colour'; allowed: label, icon"),
        ('sentence: "{documented} of {applicable} applicable items documented; {points}."',
         'sentence: "{documented} of {applicable} applicable items documented; {met} met."',
         "'summary.sentence': cannot fill in 'met'; it may use {documented}, {applicable}, {points}"),
        ('other: "{count} points to discuss"', 'other: "{n} points to discuss"',
         "'summary.points.other': cannot fill in 'n'; it may use {count}"),
        ("profile: [", "profile: [gmfcs, ", "'profile': unknown field 'gmfcs' (did you mean 'gmfcs_level'?)"),
    ],
)
def test_mistakes_in_the_words_for_people_are_load_errors(rules_copy: Path, old: str, new: str,
                                                           expected: str) -> None:
    from pathway.errors import RulesError
    from pathway.loader import load_pathway

    from .conftest import edit

    edit(rules_copy / "pathway.yaml", old, new)
    with pytest.raises(RulesError) as info:
        load_pathway(rules_copy)
    [problem] = info.value.problems
    assert str(problem).startswith(f"{rules_copy / 'pathway.yaml'}:")
    assert problem.message == expected
