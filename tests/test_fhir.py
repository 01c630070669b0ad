"""FHIR R4: the exported Questionnaire and built QuestionnaireResponses, checked by others' models of the spec.

Two independent implementations parse every resource: `fhir.resources`
(pydantic; its R4B subpackage, as no release with pydantic 2 models R4 itself,
and R4B left Questionnaire and QuestionnaireResponse as in R4) and SMART's
`fhirclient`, whose models are generated from R4 4.0.1 itself. Neither checks
code bindings or invariants, so the tests below do that against the R4 value
sets. Every example case goes referral → QuestionnaireResponse → checklist and
must give the same report as the referral itself.
"""
from __future__ import annotations

import datetime as dt
import json
import operator
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import fhirclient.models.questionnaire as r4_questionnaire
import fhirclient.models.questionnaireresponse as r4_response
import pytest
import yaml
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from pathway import conditions as C
from pathway.definition import Case
from pathway.errors import ExportError, InputError
from pathway.inputs import iter_records
from pathway.interop.fhir import (
    questionnaire,
    referral_to_response,
    values_from_response,
)
from pathway.loader import load_pathway
from pathway.service import check, referral_values
from pathway.yamlsrc import Located, load_json

from .audit_support import audit_matrix_without_sources
from .conftest import EXAMPLE, RULES, Result, edit
from .shown_when import EXPRESSIBLE, assignments, with_condition
from .test_wording import DECISION_WORDS

Run = Callable[..., Result]
PATHWAY = load_pathway(RULES)  # at import: the cases parametrise the round trip
AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
BASE = "urn:itb-pathway:itb-cp"
URL = f"{BASE}/Questionnaire/itb-cp"

# R4 (4.0.1) value sets the model libraries do not enforce.
ITEM_TYPES = {"group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string", "text", "url",
              "choice", "open-choice", "attachment", "reference", "quantity"}
OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
R4_EXTENSIONS = {"minValue", "maxValue", "questionnaire-unit", "questionnaire-optionExclusive",
                 "questionnaire-itemControl"}


def parse_both(resource: dict[str, Any]) -> None:
    """Both libraries accept the resource, and fhir.resources gives back exactly what it was given."""
    model: Questionnaire | QuestionnaireResponse
    if resource["resourceType"] == "Questionnaire":
        model = Questionnaire.model_validate(resource)
        r4_questionnaire.Questionnaire(resource, strict=True)
    else:
        model = QuestionnaireResponse.model_validate(resource)
        r4_response.QuestionnaireResponse(resource, strict=True)
    assert json.loads(model.model_dump_json()) == resource


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from walk(item.get("item", []))


def questions(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["linkId"]: i for i in walk(resource["item"]) if i["type"] not in ("group", "display")}


def as_file(resource: dict[str, Any], name: str = "response.json") -> Located:
    """A resource as a user's file would be read: JSON text with positions."""
    return load_json(json.dumps(resource, indent=2), name)


def report_json(values: dict[str, Any]) -> str:
    return check(PATHWAY, values, at=AT).to_json()


# -- the Questionnaire ---------------------------------------------------------------

def test_questionnaire_parses_as_fhir() -> None:
    parse_both(questionnaire(PATHWAY))


def test_questionnaire_header_is_the_pathways_and_has_no_date() -> None:
    q = questionnaire(PATHWAY)
    assert {k: v for k, v in q.items() if k != "item"} == {
        "resourceType": "Questionnaire",
        "id": "itb-cp",
        "url": URL,
        "version": "2.0.0",
        "name": "ItbCp",
        "title": PATHWAY.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": PATHWAY.description,
        "purpose": PATHWAY.disclaimer,
    }


CONTRACT_CODES = ("max_tolerated_or_recommended",)
"""Answer codes of checklist-v2's public contract that contain a decision word but state none: the oral dose
reached (its label reads "the maximum dose advised"). Only these exact codes are set aside."""


def test_no_decision_wording_outside_the_disclaimer() -> None:
    text = json.dumps(questionnaire(PATHWAY), ensure_ascii=False).replace(json.dumps(PATHWAY.disclaimer)[1:-1], "")
    for code in CONTRACT_CODES:
        assert f'"code": "{code}"' in text
        text = text.replace(f'"code": "{code}"', '"code": ""')
    assert not DECISION_WORDS.findall(text)


def test_one_group_per_section_and_one_question_per_field_in_form_order() -> None:
    q = questionnaire(PATHWAY)
    assert [(g["linkId"], g["text"], g["type"]) for g in q["item"]] == [(s.id, s.title, "group") for s in PATHWAY.form]
    for group, section in zip(q["item"], PATHWAY.form):
        assert [i["linkId"] for i in group["item"]] == [f.id for f in section.fields]
    assert list(questions(q)) == list(PATHWAY.fields)


def test_items_obey_r4_value_sets_and_invariants() -> None:
    q = questionnaire(PATHWAY)
    items = list(walk(q["item"]))
    link_ids = [i["linkId"] for i in items]
    assert len(link_ids) == len(set(link_ids))
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        assert item["type"] in ITEM_TYPES
        if item["type"] == "group":
            assert item.get("item")  # que-1
        if item["type"] == "display":
            assert not item.get("item") and "required" not in item and "repeats" not in item  # que-1, que-6
        if "answerOption" in item:
            assert item["type"] in ("choice", "open-choice")  # que-5
        if "maxLength" in item:
            assert item["type"] in ("string", "text")  # que-10
        if len(item.get("enableWhen", [])) > 1:
            assert item["enableBehavior"] in ("all", "any")  # que-12
        for ext in item.get("extension", []) + [e for o in item.get("answerOption", []) for e in o.get("extension", [])]:
            assert ext["url"].removeprefix("http://hl7.org/fhir/StructureDefinition/") in R4_EXTENSIONS
        for when in item.get("enableWhen", []):
            assert when["operator"] in OPERATORS
            target = seen[when["question"]]  # a question asked earlier in the form
            if "answerCoding" in when:
                assert when["answerCoding"] in [
                    {k: o["valueCoding"][k] for k in ("system", "code")} for o in target["answerOption"]]
        seen[item["linkId"]] = item


def test_field_types_map_as_documented() -> None:
    by_id = questions(questionnaire(PATHWAY))
    assert by_id["oral_outcome"] == {
        "linkId": "oral_outcome",
        "text": "Outcome of oral medication",
        "type": "choice",
        "enableWhen": [{"question": "oral_tried", "operator": "=",
                        "answerCoding": {"system": f"{BASE}/CodeSystem/yes-no-unknown", "code": "yes"}}],
        "answerOption": [
            {"valueCoding": {"system": f"{BASE}/CodeSystem/oral_outcome", "code": "adequate_control",
                             "display": "Adequate control"}},
            {"valueCoding": {"system": f"{BASE}/CodeSystem/oral_outcome", "code": "inadequate_control",
                             "display": "Inadequate control"}},
            {"valueCoding": {"system": f"{BASE}/CodeSystem/oral_outcome", "code": "not_tolerated",
                             "display": "Not tolerated"}},
        ],
    }
    assert by_id["diagnosis_cp"]["type"] == "choice"
    assert [o["valueCoding"] for o in by_id["diagnosis_cp"]["answerOption"]] == [
        {"system": f"{BASE}/CodeSystem/yes-no-unknown", "code": c, "display": d}
        for c, d in (("yes", "Yes"), ("no", "No"), ("unknown", "Unknown"))]
    age = by_id["age_years"]
    assert (age["type"], age["extension"]) == ("decimal", [
        {"url": "http://hl7.org/fhir/StructureDefinition/minValue", "valueDecimal": 0},
        {"url": "http://hl7.org/fhir/StructureDefinition/maxValue", "valueDecimal": 25},
        {"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-unit", "valueCoding": {"display": "years"}},
    ])
    impact = by_id["functional_impact"]
    assert (impact["type"], impact["repeats"]) == ("choice", True)
    assert impact["answerOption"][-1] == {
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive",
                       "valueBoolean": True}],
        "valueCoding": {"system": f"{BASE}/CodeSystem/functional_impact", "code": "none", "display": "No impact"},
    }
    assert {k: by_id["referral_id"][k] for k in ("type", "required", "maxLength")} == {
        "type": "string", "required": True, "maxLength": 64}
    assert by_id["referral_id"]["item"][0]["linkId"] == "referral_id.help"
    assert (by_id["referral_date"]["type"], by_id["notes"]["type"], by_id["notes"]["maxLength"]) == ("date", "text", 4000)


def test_canonical_comes_from_pathway_yaml_else_a_urn(rules_copy: Path) -> None:
    edit(rules_copy / "pathway.yaml", "canonical: urn:itb-pathway:itb-cp\n", "canonical: https://fhir.example.org/itb\n")
    q = questionnaire(load_pathway(rules_copy))
    assert q["url"] == "https://fhir.example.org/itb/Questionnaire/itb-cp"
    assert questions(q)["gmfcs_level"]["answerOption"][0]["valueCoding"]["system"] == \
        "https://fhir.example.org/itb/CodeSystem/gmfcs_level"
    edit(rules_copy / "pathway.yaml", "canonical: https://fhir.example.org/itb\n", "")
    assert questionnaire(load_pathway(rules_copy))["url"] == URL


# -- shown_when → enableWhen ------------------------------------------------------------

def fhir_enabled(item: dict[str, Any], response: dict[str, Any]) -> bool:
    """R4's enableWhen, read from the spec: a question with no answer makes every test but `exists` false."""
    answers = {i["linkId"]: i.get("answer", []) for i in walk(response["item"])}
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
    results = []
    for when in item["enableWhen"]:
        got = answers.get(when["question"], [])
        if when["operator"] == "exists":
            results.append(bool(got) == when["answerBoolean"])
        elif "answerCoding" in when:
            results.append(any(compare[when["operator"]](a["valueCoding"], {**a["valueCoding"], **when["answerCoding"]})
                               for a in got))
        else:
            results.append(any(compare[when["operator"]](a["valueDecimal"], when["answerDecimal"]) for a in got))
    return all(results) if item.get("enableBehavior", "all") == "all" else any(results)


@pytest.mark.parametrize("cond", EXPRESSIBLE, ids=C.describe)
def test_enable_when_shows_a_question_exactly_when_its_condition_is_true(cond: C.Condition) -> None:
    pathway = with_condition("notes", cond)
    q = questionnaire(pathway)
    parse_both(q)
    notes = questions(q)["notes"]
    for referral in assignments(cond):
        response = referral_to_response(referral, pathway)
        values = referral_values(pathway, Located("r", referral))
        assert fhir_enabled(notes, response) == (C.evaluate(cond, values) is True), referral


def test_enable_when_for_every_dependent_field_of_the_pathway() -> None:
    q = questions(questionnaire(PATHWAY))
    dependent = [f for f in PATHWAY.fields.values() if f.shown_when is not None]
    assert [f.id for f in dependent] == ["oral_agents", "oral_outcome", "oral_dose_optimised", "oral_side_effects",
                                         "local_agents", "local_outcome", "trial_method", "trial_dose_mcg",
                                         "trial_response", "trial_measures", "trial_adverse_effects"]
    for case in PATHWAY.cases:
        response = referral_to_response(case.referral, PATHWAY)
        values = referral_values(PATHWAY, Located("r", case.referral))
        for f in dependent:
            assert fhir_enabled(q[f.id], response) == (C.evaluate(f.shown_when, values) is True)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cond", "why"), [
    (C.Not(C.In("oral_tried", ("yes",))),
     "a negation (FHIR shows a question whose test is unanswered differently)"),
    (C.All((C.In("oral_tried", ("yes",)), C.AnyOf((C.In("local_tried", ("yes",)), C.Answered("age_years"))))),
     "enableWhen takes one level of all/any, without negation"),
    (C.All((C.In("gmfcs_level", ("IV", "V")), C.In("oral_tried", ("yes",)))),
     "a test needing 'any' inside 'all'"),
])
def test_a_condition_enable_when_cannot_express_fails_the_export_naming_the_field(cond: C.Condition, why: str) -> None:
    with pytest.raises(ExportError) as info:
        questionnaire(with_condition("notes", cond))
    assert str(info.value) == ("cannot export the pathway as a FHIR Questionnaire:\n"
                               f"  field 'notes': its shown_when ({C.describe(cond)}) has no FHIR enableWhen form: {why}")


def test_a_link_id_used_twice_fails_the_export() -> None:
    form = tuple(replace(s, id="notes") if s.id == "expectations" else s for s in PATHWAY.form)
    with pytest.raises(ExportError) as info:
        questionnaire(replace(PATHWAY, form=form, fields={}))
    assert str(info.value) == ("cannot export the pathway as a FHIR Questionnaire:\n"
                               "  linkId 'notes' would be used twice (a section, field or help item shares it)")


# -- round trip: every example case ------------------------------------------------------

@pytest.mark.parametrize("case", PATHWAY.cases, ids=lambda c: c.name)
def test_every_example_case_round_trips_through_a_questionnaire_response(case: Case) -> None:
    response = referral_to_response(case.referral, PATHWAY)
    parse_both(response)
    direct = referral_values(PATHWAY, Located(case.file, case.referral))
    via_fhir = referral_values(PATHWAY, as_file(response))
    assert via_fhir == direct
    assert report_json(via_fhir) == report_json(direct)
    statuses = {i["id"]: i["status"] for i in json.loads(report_json(via_fhir))["items"]}
    assert {k: statuses[k] for k in case.expect} == case.expect


def test_a_response_keeps_an_explicit_unknown_and_leaves_out_what_is_not_said() -> None:
    response = referral_to_response({"referral_id": "R-1", "oral_tried": "unknown", "gmfcs_level": "unknown",
                                     "functional_impact": [], "notes": ""}, PATHWAY)
    assert response == {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"value": "R-1"},
        "questionnaire": f"{URL}|2.0.0",
        "status": "completed",
        "item": [
            {"linkId": "referral", "text": "Referral and child",
             "item": [{"linkId": "referral_id", "text": "Referral id", "answer": [{"valueString": "R-1"}]}]},
            {"linkId": "prior_treatment", "text": "Treatments tried",
             "item": [{"linkId": "oral_tried", "text": "Oral antispasticity medication tried", "answer": [
                 {"valueCoding": {"system": f"{BASE}/CodeSystem/yes-no-unknown", "code": "unknown",
                                  "display": "Unknown"}}]}]},
        ],
    }


def test_check_reads_a_response_file_and_writes_the_same_report(runner: Run, tmp_path: Path) -> None:
    referral = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path = tmp_path / "R-001.json"
    path.write_text(json.dumps(referral_to_response(referral, PATHWAY), indent=2, default=str), encoding="utf-8")
    via_fhir = runner("check", str(path), "--format", "json", "--now", "2026-12-03T09:00:00Z")
    direct = runner("check", str(EXAMPLE), "--format", "json", "--now", "2026-12-03T09:00:00Z")
    assert (via_fhir.code, via_fhir.err) == (0, "")
    assert via_fhir.out == direct.out


def test_responses_in_folders_and_jsonl_are_read_like_referrals(tmp_path: Path) -> None:
    """The path `pathway mdt` (and the audit) take: inputs.iter_records, then service.referral_values."""
    cases = PATHWAY.cases[:3]
    (tmp_path / "one.json").write_text(json.dumps(referral_to_response(cases[0].referral, PATHWAY)), encoding="utf-8")
    (tmp_path / "more.jsonl").write_text(
        "".join(json.dumps(referral_to_response(c.referral, PATHWAY)) + "\n" for c in cases[1:]), encoding="utf-8")
    got = [referral_values(PATHWAY, r.doc) for r in iter_records([tmp_path], PATHWAY)]
    want = [referral_values(PATHWAY, Located("r", c.referral)) for c in (cases[1], cases[2], cases[0])]
    assert got == want


def test_the_web_api_checks_a_response(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
        from fastapi.testclient import TestClient
    from pathway.web.app import create_app

    referral = json.loads(json.dumps(PATHWAY.cases[0].referral, default=str))  # YAML dates as JSON sends them
    with TestClient(create_app(RULES, clock=lambda: AT)) as client:
        direct = client.post("/api/check", json=referral)
        via_fhir = client.post("/api/check", json=referral_to_response(referral, PATHWAY))
    assert (via_fhir.status_code, via_fhir.json()) == (200, direct.json())


# -- reading responses: what is accepted, and every problem named by linkId ----------------

RESPONSE = """\
{
  "resourceType": "QuestionnaireResponse",
  "questionnaire": "urn:itb-pathway:itb-cp/Questionnaire/itb-cp|1.0.0",
  "status": "completed",
  "item": [
    {"linkId": "referral", "item": [
      {"linkId": "referral_id", "answer": [{"valueString": "R-9"}]},
      {"linkId": "age_years", "answer": [{"valueDecimal": 9.5}]}
    ]},
    {"linkId": "gmfcs_level", "answer": [{"valueCoding": {"code": "IV"}}]},
    {"linkId": "diagnosis_cp", "answer": [{"valueBoolean": true}]}
  ]
}
"""


def read(text: str) -> dict[str, Any]:
    return values_from_response(json.loads(text), PATHWAY, load_json(text, "r.json"))


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as info:
        referral_values(PATHWAY, load_json(text, "r.json"))
    return [str(p) for p in info.value.problems]


def test_a_response_is_read_flat_or_grouped_with_booleans_and_codings_without_system() -> None:
    assert read(RESPONSE) == {"referral_id": "R-9", "age_years": 9.5, "gmfcs_level": "IV", "diagnosis_cp": "yes"}
    values = referral_values(PATHWAY, load_json(RESPONSE, "r.json"))
    assert (values["referral_id"], values["age_years"], values["diagnosis_cp"]) == ("R-9", 9.5, "yes")


def test_the_referral_id_may_come_from_the_identifier() -> None:
    text = RESPONSE.replace('{"valueString": "R-9"}', "").replace(
        '"status": "completed",', '"status": "completed", "identifier": {"value": "R-77"},')
    assert read(text)["referral_id"] == "R-77"
    text = RESPONSE.replace('"status": "completed",', '"status": "completed", "identifier": {"value": "R-77"},')
    assert problems(text) == ["r.json:4:50: identifier.value 'R-77' differs from the referral_id answer 'R-9'"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('"linkId": "gmfcs_level"', '"linkId": "gmfcs_levl"',
     ["r.json:10:16: linkId 'gmfcs_levl' is not in the pathway's Questionnaire (did you mean 'gmfcs_level'?)"]),
    ('{"valueCoding": {"code": "IV"}}', '{"valueString": "IV"}',
     ["r.json:10:58: linkId 'gmfcs_level': valueString does not answer a choice question; expected valueCoding"]),
    ('{"valueDecimal": 9.5}', '{"valueString": "9.5"}',
     ["r.json:8:58: linkId 'age_years': valueString does not answer a decimal question;"
      " expected valueDecimal or valueInteger"]),
    ('{"valueBoolean": true}', '{"valueString": "yes"}',
     ["r.json:11:59: linkId 'diagnosis_cp': valueString does not answer a yes/no/unknown choice question;"
      " expected valueCoding or valueBoolean"]),
    ('{"valueBoolean": true}', '{"valueBoolean": "true"}',
     ["r.json:11:60: linkId 'diagnosis_cp': valueBoolean must be true or false, not 'true'"]),
    ('{"code": "IV"}', '{"system": "http://snomed.info/sct", "code": "IV"}',
     ["r.json:10:69: linkId 'gmfcs_level': code system 'http://snomed.info/sct' is not the pathway's;"
      " expected 'urn:itb-pathway:itb-cp/CodeSystem/gmfcs_level'"]),
    ('{"code": "IV"}', '{"code": "VI"}',
     ["r.json:10:58: field 'gmfcs_level': 'VI' is not an allowed value; allowed: I, II, III, IV, V (or unknown)"]),
    ('{"valueDecimal": 9.5}', '{"valueDecimal": 30}',
     ["r.json:8:59: field 'age_years': 30 is out of range; allowed: a number from 0 to 25 years"]),
    ('[{"valueCoding": {"code": "IV"}}]', '[{"valueCoding": {"code": "IV"}}, {"valueCoding": {"code": "V"}}]',
     ["r.json:10:41: linkId 'gmfcs_level' takes one answer, not 2"]),
    ('{"valueCoding": {"code": "IV"}}', '{}',
     ["r.json:10:42: linkId 'gmfcs_level': an answer needs exactly one value, here no value; expected valueCoding"]),
    ('"linkId": "diagnosis_cp"', '"linkId": "gmfcs_level"',
     ["r.json:11:16: linkId 'gmfcs_level' is answered more than once"]),
    ('{"linkId": "referral", "item"', '{"linkId": "referral", "answer": [{"valueString": "x"}], "item"',
     ["r.json:6:38: linkId 'referral' is a group and takes no answer"]),
    ('"status": "completed"', '"status": "entered-in-error"',
     ["r.json:4:13: this QuestionnaireResponse is marked entered-in-error: it must not be used"]),
    ('itb-cp/Questionnaire/itb-cp|1.0.0', 'other/Questionnaire/phq-9',
     ["r.json:3:20: this response answers the Questionnaire 'urn:itb-pathway:other/Questionnaire/phq-9',"
      " not this pathway's 'urn:itb-pathway:itb-cp/Questionnaire/itb-cp'"]),
    ('"resourceType": "QuestionnaireResponse"', '"resourceType": "Patient"',
     ["r.json:2:19: a FHIR Patient is not a referral: send a QuestionnaireResponse answering the pathway's"
      " Questionnaire (pathway export questionnaire)"]),
    ('{"valueString": "R-9"}', '',
     ["r.json:1:1: missing required field 'referral_id' (A pseudonymous referral id, such as R-2026-014."
      " Never a name or a hospital number.)"]),
])
def test_every_problem_in_a_response_is_located_and_names_the_link_id(old: str, new: str, expected: list[str]) -> None:
    assert RESPONSE.count(old) == 1
    assert problems(RESPONSE.replace(old, new)) == expected


def test_accepted_variants_other_versions_integers_and_an_r5_style_identifier_list() -> None:
    text = (RESPONSE.replace("|1.0.0", "|0.9.0").replace('{"valueDecimal": 9.5}', '{"valueInteger": 9}')
            .replace('{"valueString": "R-9"}', "")
            .replace('"status": "completed",', '"status": "in-progress", "identifier": [{"value": "R-5"}],'))
    assert read(text) == {"referral_id": "R-5", "age_years": 9, "gmfcs_level": "IV", "diagnosis_cp": "yes"}


def test_cli_reports_problems_of_a_response_and_produces_nothing(runner: Run, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(RESPONSE.replace('"linkId": "gmfcs_level"', '"linkId": "gmfcs"'), encoding="utf-8")
    r = runner("check", str(path))
    assert (r.code, r.out) == (2, "")
    assert r.err == (f"{path}:10:16: linkId 'gmfcs' is not in the pathway's Questionnaire (did you mean 'gmfcs_level'?)\n"
                     "pathway: 1 problem(s); nothing was produced.\n")


# -- the command --------------------------------------------------------------------------

def test_export_questionnaire_writes_the_same_bytes_every_time(runner: Run, tmp_path: Path) -> None:
    first = runner("export", "questionnaire")
    assert (first.code, first.err) == (0, "")
    assert first.out == json.dumps(questionnaire(PATHWAY), indent=2, ensure_ascii=False) + "\n"
    assert runner("export", "questionnaire").out == first.out
    out = tmp_path / "q.json"
    r = runner("export", "questionnaire", "-o", str(out), "--rules", str(RULES))
    assert (r.code, r.out) == (0, "")
    assert r.err == f"wrote {out}: FHIR R4 Questionnaire {URL}|2.0.0, 47 questions\n"
    assert out.read_text(encoding="utf-8") == first.out


def test_export_of_a_pathway_fhir_cannot_express_exits_3_naming_the_field(runner: Run, rules_copy: Path) -> None:
    edit(rules_copy / "form.yaml", "label: Trial method\n        shown_when: {field: trial_status, is: done}",
         "label: Trial method\n        shown_when: {not: {field: trial_status, in: [not_planned, planned]}}")
    r = runner("export", "questionnaire", "--rules", str(rules_copy))
    assert (r.code, r.out) == (3, "")
    assert r.err == ("pathway: cannot export the pathway as a FHIR Questionnaire:\n"
                     "  field 'trial_method': its shown_when (NOT trial_status ∈ {not_planned, planned}) has no FHIR"
                     " enableWhen form: a negation (FHIR shows a question whose test is unanswered differently)\n")


def test_the_audit_reads_questionnaire_responses_like_referrals(tmp_path: Path) -> None:
    """A JSONL of responses audits to the same status matrix as the referrals themselves."""
    cases = PATHWAY.cases
    responses = tmp_path / "responses.jsonl"
    responses.write_text("".join(json.dumps(referral_to_response(c.referral, PATHWAY), default=str) + "\n"
                                 for c in cases), encoding="utf-8")
    plain = tmp_path / "referrals.jsonl"
    plain.write_text("".join(json.dumps(c.referral, default=str) + "\n" for c in cases), encoding="utf-8")
    via_fhir = audit_matrix_without_sources(responses, tmp_path)
    assert len(via_fhir) == len(cases) + 1
    assert via_fhir == audit_matrix_without_sources(plain, tmp_path)
