"""The report says the same thing in every format, never a verdict, and is byte-stable."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest

from pathway.backends import get_evaluator
from pathway.definition import Pathway
from pathway.engine import evaluate
from pathway.render import render
from pathway.report import Report, build_report, report_adapter, report_schema
from pathway.resources import schema_path
from pathway.service import check, read_document, referral_values

from .conftest import EXAMPLE

AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)


def report_for(pathway: Pathway, **answers: object) -> Report:
    values = referral_values(pathway, read_document(EXAMPLE), {"referral_id": "R-T", **answers})
    return check(pathway, values, at=AT)


@pytest.fixture(scope="module")
def example(pathway: Pathway) -> Report:
    return check(pathway, referral_values(pathway, read_document(EXAMPLE)), at=AT)


def test_published_schema_is_current() -> None:
    assert schema_path().read_text(encoding="utf-8") == report_schema(), \
        "regenerate with: pathway schema -o pathway/schema/report.schema.json"


def test_json_matches_contract_and_schema(example: Report) -> None:
    data = json.loads(render(example, "json"))
    jsonschema.validate(data, json.loads(schema_path().read_text(encoding="utf-8")))
    assert set(data["pathway"]) >= {"id", "version", "rules_sha256"}
    assert re.fullmatch(r"[0-9a-f]{64}", data["pathway"]["rules_sha256"])
    assert data["referral_id"] == "R-001"
    assert data["generated_at"] == "2026-12-03T09:00:00Z"
    assert data["format"] == "itb-pathway-report/2"
    # the JSON keeps the status counts for machines, with their v1 meaning; people read the sentence
    assert {k: data["summary"][k] for k in ("met", "not_met", "missing", "not_applicable")} == \
        {"met": 14, "not_met": 3, "missing": 5, "not_applicable": 2}
    assert data["summary"]["completeness"] == round(17 / 22, 4)
    assert data["summary"]["discussion_points"] == len(data["discussion"]) == 3
    assert data["summary"]["text"] == "17 of 22 applicable items documented; 3 points to discuss."
    assert data["status_words"] == {"met": {"label": "Yes", "icon": "●"}, "not_met": {"label": "No", "icon": "○"},
                                    "missing": {"label": "Not documented", "icon": "?"},
                                    "not_applicable": {"label": "Not applicable", "icon": "–"}}
    assert [(a["field"], a["value"]) for a in data["profile"]] == [
        ("age_years", "9 years"), ("gmfcs_level", "IV: self-mobility with limitations; may use powered mobility"),
        ("tone_type", "Spastic"), ("referral_date", "2026-10-14")]
    assert {i["status_label"] for i in data["items"]} <= {"Yes", "No", "Not documented", "Not applicable"}
    assert len(data["items"]) == 24
    first = data["items"][0]
    assert set(first) >= {"id", "section", "title", "status", "explanation", "discussion", "citations"}
    for item in data["items"]:
        for c in item["citations"]:
            assert ("quote" in c) != ("reference" in c)
    assert data["disclaimer"].startswith("This checklist is a discussion aid")
    assert len(data["evidence"]) == 4


def test_statuses_and_why_of_the_example(example: Report) -> None:
    statuses = {i.id: i.status for i in example.items}
    assert statuses["trial.done"] == "not_met"
    assert statuses["trial.response"] == "not_applicable"
    assert statuses["safety.risks_discussed"] == "not_met"
    assert statuses["therapy.orthotics"] == "missing"
    item = next(i for i in example.items if i.id == "therapy.orthotics")
    assert item.explanation == ("A review of orthotic use is not yet documented. "
                                "Not answered in the referral: Orthotic use reviewed or planned.")
    risks = next(i for i in example.items if i.id == "safety.risks_discussed")
    assert risks.discussion == ["The risk of catheter malfunction is not yet documented as discussed."]


def test_counts_add_up(example: Report) -> None:
    s = example.summary
    assert s.met + s.not_met + s.missing + s.not_applicable == s.total == len(example.items)
    assert s.applicable == s.total - s.not_applicable
    assert s.documented == s.applicable - s.missing


def test_same_input_same_bytes(pathway: Pathway) -> None:
    values = referral_values(pathway, read_document(EXAMPLE))
    for fmt in ("html", "md", "json"):
        first = render(check(pathway, values, at=AT), fmt)
        assert render(check(pathway, values, at=AT), fmt) == first


@pytest.mark.parametrize("fmt", ["html", "md", "json"])
def test_disclaimer_at_top_and_bottom_of_every_format(example: Report, fmt: str) -> None:
    text = render(example, fmt)
    disclaimer = example.disclaimer
    if fmt == "json":
        assert json.loads(text)["disclaimer"] == disclaimer
        return
    assert text.count(disclaimer) >= 2
    first, last = text.index(disclaimer), text.rindex(disclaimer)
    assert first < text.index("Population") < text.index("What the evidence shows") < last


def test_html_escapes_free_text_byte_exact(pathway: Pathway) -> None:
    report = report_for(pathway, referral_id="<b>R&1</b>", notes='<script>alert("x")</script>')
    html = render(report, "html")
    assert '<div class="notes">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</div>' in html
    assert "<dt>Referral</dt><dd><strong>&lt;b&gt;R&amp;1&lt;/b&gt;</strong></dd>" in html
    assert "<script>" not in html and "<b>R" not in html


def test_markdown_escapes_free_text(pathway: Pathway) -> None:
    md = render(report_for(pathway, notes="<script>x</script> **bold** [link](javascript:x)"), "md")
    assert "> &lt;script&gt;x&lt;/script&gt; \\*\\*bold\\*\\* \\[link\\](javascript:x)" in md
    assert "<script>" not in md


def test_formats_say_the_same_thing(example: Report) -> None:
    html, md = render(example, "html"), render(example, "md")
    for item in example.items:
        for text in (item.title, item.status_label, *item.discussion):
            assert text in md.replace("\\", "")
            assert text.replace("'", "&#39;") in html
    for quote in example.evidence:
        assert quote.quote in html and quote.quote in md


def test_explanations_name_the_answers(pathway: Pathway) -> None:
    report = report_for(pathway, spasticity_severity="mild", spasticity_distribution="focal")
    item = next(i for i in report.items if i.id == "indication.diffuse_or_severe")
    assert item.status == "not_met"
    assert item.explanation == (
        "The spasticity is documented as focal and as mild or moderate. Answers: Distribution of spasticity:"
        " Focal (one or a few muscle groups); Severity of spasticity: Mild."
    )
    assert item.discussion_ids == ["indication.focal_or_milder"]


def test_generated_at_is_the_clock_given(pathway: Pathway) -> None:
    values = referral_values(pathway, read_document(EXAMPLE))
    findings = evaluate(pathway, values, get_evaluator("python", pathway))
    local = dt.datetime(2026, 12, 3, 10, 30, 15, 999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert build_report(pathway, findings, local).generated_at == "2026-12-03T09:30:15Z"


def test_schema_file_is_in_the_package() -> None:
    assert schema_path().parent.name == "schema" and schema_path().parent.parent.name == "pathway"
    assert Path(schema_path()).is_file()


def test_reports_built_without_revalidation_are_valid_models(pathway: Pathway) -> None:
    for case in pathway.cases:
        values = referral_values(pathway, read_document(EXAMPLE), case.referral)
        report = check(pathway, values, at=AT)
        assert report_adapter().validate_python(report_adapter().dump_python(report)) == report
        jsonschema.validate(json.loads(report.to_json()), json.loads(schema_path().read_text(encoding="utf-8")))


# -- the report shows what was answered ---------------------------------------------------------------

def test_every_answer_given_is_shown_somewhere_in_the_report(pathway: Pathway) -> None:
    """Each documented answer is in the case profile, with an item (deciding it, or as context), under
    'Other answers' or among the answers set aside; none is collected and then dropped from what the team reads."""
    from pathway.yamlsrc import Located

    for case in pathway.cases:
        values = referral_values(pathway, Located(case.file, case.referral))
        data = json.loads(check(pathway, values, at=AT).to_json())
        shown = {a["field"] for a in data["profile"] + data["other_answers"] if a["documented"]}
        shown |= {a["field"] for a in data["set_aside"]}   # listed with why it is not used (test_set_aside.py)
        for item in data["items"]:
            shown |= {a["field"] for a in item["answers"] + item["context"] if a["documented"]}
        given = {name for name, value in values.items() if value is not None} - {"referral_id", "notes"}
        assert given <= shown, (case.name, sorted(given - shown))


def test_the_dystonic_example_shows_its_trial_goals_risks_and_family(pathway: Pathway) -> None:
    """checklist-v2's 'done when': the tone type, the trial's method, dose, measures and adverse effects, the goals
    and how they will be measured, the risks and family factors, each where the team looks for it."""
    report = check(pathway, referral_values(pathway, read_document(EXAMPLE.parent / "referral-R-006.yaml")), at=AT)
    text = " ".join(render(report, "md").split())
    for shown in ("Type of raised tone: Dystonic", "Trial method: Temporary catheter", "Test dose: 100 mcg",
                  "How the response was measured: The goals set before the trial, Video",
                  "Adverse effects during the trial: Nausea or vomiting, Urinary retention",
                  "What the goals are about: Comfort", "Getting to refill appointments: Refills available locally",
                  "The child can tell someone how they feel: No"):
        assert shown in text, shown
    assert [a.value for a in report.profile] == ["11 years", "V: transported in a manual wheelchair", "Dystonic",
                                                 "2026-11-18"]
    assert report.summary.text == "22 of 24 applicable items documented; 4 points to discuss."
    assert {i.id for i in report.items if i.status == "missing"} == {"family.carers_informed",
                                                                     "expectations.evidence_discussed"}
    assert [d.id for d in report.discussion] == ["indication.dystonia", "prior.oral_sedation", "safety.ci_gastrostomy",
                                                 "family.communication"]
    for d in report.discussion:   # every point names its source with the item it belongs to
        assert next(i for i in report.items if i.id == d.item).citations


def test_an_item_that_shows_an_unknown_field_is_a_load_error(rules_copy: Path) -> None:
    from pathway.errors import RulesError
    from pathway.loader import load_pathway

    from .conftest import edit

    edit(rules_copy / "items.yaml", "shows: [trial_method, trial_dose_mcg]", "shows: [trial_method, trial_dose]")
    with pytest.raises(RulesError) as info:
        load_pathway(rules_copy)
    [problem] = info.value.problems
    assert problem.message == "item 'trial.done': unknown field 'trial_dose' (did you mean 'trial_dose_mcg'?)"
    assert str(problem).startswith(f"{rules_copy / 'items.yaml'}:")
