"""No wording in the rules, templates or any rendered report states a decision about a child."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pathway.definition import Pathway
from pathway.render import render, render_form
from pathway.service import check, referral_values
from pathway.yamlsrc import Located

from .conftest import ROOT

DECISION_WORDS = re.compile(
    r"eligib|candidat|recommend|should (?:receive|have|get)\b|\bapprov|indicated for|suitable for (?:ITB|implant|the pump)"
    r"|qualif(?:y|ies) for|\bverdict",
    re.IGNORECASE,
)


def without_disclaimer(text: str, disclaimer: str) -> str:
    return " ".join(text.split()).replace(disclaimer, "")


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
    assert not DECISION_WORDS.search(render_form(pathway))


def test_the_detector_would_catch_a_decision() -> None:
    for phrase in ("This child is eligible", "a good candidate", "ITB is recommended",
                   "should receive a pump", "approved for implant", "indicated for implant"):
        assert DECISION_WORDS.search(phrase), phrase


def test_readme_states_the_tool_is_advisory() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "discussion aid" in readme
    assert Path(ROOT / "README.md").is_file()
