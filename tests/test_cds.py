"""CDS Hooks 2.0 in `pathway serve`: discovery, one informational card from the shared report, the spec's errors.

The SPEC_* fixtures are the specification's own example bodies, retyped from
https://cds-hooks.hl7.org/2.0/ (sections Discovery Example, Calling a CDS
Service Example, CDS Service Response Example) and the order-select hook's
context example (https://cds-hooks.hl7.org/hooks/order-select/STU1/order-select/,
trimmed to one draft order). The models must accept them unchanged, and what
the service sends must use only the field names they use.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from pathway.definition import Pathway
from pathway.interop.fhir import questionnaire_url, referral_to_response
from pathway.service import check, referral_values
from pathway.web.app import create_app
from pathway.web.cds import (
    CONTEXT_EXTENSION, Action, Card, CardsResponse, Coding, FhirAuthorization, Link, OrderSelectContext, Service,
    ServiceRequest, Services, Source, Suggestion, dump,
)
from pathway.web.security import DATA_CSP
from pathway.yamlsrc import Located

from .conftest import EXAMPLE, FIXED, RULES, Result, TestClient, example
from .test_wording import DECISION_WORDS, without_disclaimer

Run = Callable[..., Result]
URL = "/cds-services/itb-pathway-checklist"
PATIENT = "1288992"

# -- the specification's examples, retyped ----------------------------------------------------------

SPEC_DISCOVERY: dict[str, Any] = {  # 2.0, Discovery Example
    "services": [
        {
            "hook": "patient-view",
            "title": "Static CDS Service Example",
            "description": "An example of a CDS Service that returns a static set of cards",
            "id": "static-patient-greeter",
            "prefetch": {"patientToGreet": "Patient/{{context.patientId}}"},
        },
        {
            "hook": "order-select",
            "title": "Order Echo CDS Service",
            "description": "An example of a CDS Service that simply echoes the order(s) being placed",
            "id": "order-echo",
            "prefetch": {
                "patient": "Patient/{{context.patientId}}",
                "medications": "MedicationRequest?patient={{context.patientId}}",
            },
        },
        {
            "hook": "order-sign",
            "title": "Pharmacogenomics CDS Service",
            "description": "An example of a more advanced, precision medicine CDS Service",
            "id": "pgx-on-order-sign",
            "usageRequirements": "Note: functionality of this CDS Service is degraded without access to a FHIR "
                                 "Restful API as part of CDS recommendation generation.",
        },
    ],
}

SPEC_REQUEST: dict[str, Any] = {  # 2.0, Calling a CDS Service, Example
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "fhirServer": "http://hooks.smarthealthit.org:9080",
    "hook": "patient-view",
    "fhirAuthorization": {
        "access_token": "some-opaque-fhir-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/Patient.read user/Observation.read",
        "subject": "cds-service4",
    },
    "context": {"userId": "Practitioner/example", "patientId": "1288992", "encounterId": "89284"},
    "prefetch": {
        "patientToGreet": {
            "resourceType": "Patient", "gender": "male", "birthDate": "1925-12-23", "id": "1288992", "active": True,
        },
    },
}

SPEC_RESPONSE: dict[str, Any] = {  # 2.0, CDS Service Response, Example
    "cards": [
        {
            "uuid": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
            "summary": "Example Card",
            "indicator": "info",
            "detail": "This is an example card.",
            "source": {
                "label": "Static CDS Service Example",
                "url": "https://example.com",
                "icon": "https://example.com/img/icon-100px.png",
            },
            "links": [
                {"label": "Google", "url": "https://google.com", "type": "absolute"},
                {"label": "Github", "url": "https://github.com", "type": "absolute"},
                {
                    "label": "SMART Example App",
                    "url": "https://smart.example.com/launch",
                    "type": "smart",
                    "appContext": "{\"session\":3456356,\"settings\":{\"module\":4235}}",
                },
            ],
        },
        {
            "summary": "Another card",
            "indicator": "warning",
            "source": {"label": "Static CDS Service Example"},
            "overrideReasons": [
                {"code": "reason-code-provided-by-service",
                 "system": "http://example.org/cds-services/fhir/CodeSystem/override-reasons",
                 "display": "Patient refused"},
                {"code": "12354",
                 "system": "http://example.org/cds-services/fhir/CodeSystem/override-reasons",
                 "display": "Contraindicated"},
            ],
        },
    ],
}

SPEC_SOURCE: dict[str, Any] = {  # 2.0, Card Attributes, Source: example source parameter
    "label": "Zika Virus Management",
    "url": "https://example.com/cdc-zika-virus-mgmt",
    "icon": "https://example.com/cdc-zika-virus-mgmt/100.png",
    "topic": {"system": "http://example.org/cds-services/fhir/CodeSystem/topics", "code": "12345",
              "display": "Mosquito born virus"},
}

SPEC_ORDER_SELECT_CONTEXT: dict[str, Any] = {  # order-select STU1, Example (R4), one draft order kept
    "userId": "PractitionerRole/123",
    "patientId": "1288992",
    "encounterId": "89284",
    "selections": ["MedicationRequest/smart-MedicationRequest-103"],
    "draftOrders": {
        "resourceType": "Bundle",
        "entry": [{"resource": {
            "resourceType": "MedicationRequest", "id": "smart-MedicationRequest-103", "status": "draft",
            "intent": "order", "subject": {"reference": "Patient/1288992"},
        }}],
    },
}

# Field tables of the 2.0 specification (and the hook's context table), plus `extension` (§Extensions).
SPEC_FIELDS: dict[type[BaseModel], set[str]] = {
    Services: {"services", "extension"},
    Service: {"hook", "title", "description", "id", "prefetch", "usageRequirements", "extension"},
    ServiceRequest: {"hook", "hookInstance", "fhirServer", "fhirAuthorization", "context", "prefetch", "extension"},
    FhirAuthorization: {"access_token", "token_type", "expires_in", "scope", "subject", "patient"},
    OrderSelectContext: {"userId", "patientId", "encounterId", "selections", "draftOrders", "extension"},
    CardsResponse: {"cards", "systemActions", "extension"},
    Card: {"uuid", "summary", "detail", "indicator", "source", "suggestions", "selectionBehavior", "overrideReasons",
           "links", "extension"},
    Source: {"label", "url", "icon", "topic"},
    Suggestion: {"label", "uuid", "isRecommended", "actions"},
    Action: {"type", "description", "resource", "resourceId"},
    Link: {"label", "url", "type", "appContext"},
    Coding: {"code", "system", "display"},
}


# -- helpers ---------------------------------------------------------------------------------------------

def form(pathway: Pathway, referral: dict[str, Any] | None = None) -> dict[str, Any]:
    return referral_to_response(referral if referral is not None else example(), pathway)


def call(prefetch: Any = None, *, context: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An order-select request; `prefetch` is the questionnaireResponse value, or absent when None."""
    body: dict[str, Any] = {"hook": "order-select", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                            "context": copy.deepcopy(context or SPEC_ORDER_SELECT_CONTEXT), **extra}
    if prefetch is not None:
        body["prefetch"] = {"questionnaireResponse": prefetch}
    return body


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r, "search": {"mode": "match"}}
                      for i, r in enumerate(resources)]}


def only_card(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"cards"} and len(body["cards"]) == 1
    card: dict[str, Any] = body["cards"][0]
    return card


def keys(value: Any, skip: frozenset[str] = frozenset()) -> set[str]:
    """Every object key in a JSON value, not looking inside the keys named in `skip` (free-form objects)."""
    if isinstance(value, dict):
        out = set(value)
        for k, v in value.items():
            if k not in skip:
                out |= keys(v, skip)
        return out
    if isinstance(value, list):
        return set().union(*(keys(v, skip) for v in value)) if value else set()
    return set()


# -- the specification's shapes ---------------------------------------------------------------------------

def test_models_have_exactly_the_fields_of_the_spec_tables() -> None:
    for model, fields in SPEC_FIELDS.items():
        assert set(model.model_fields) == fields, model.__name__


def test_models_accept_the_spec_examples_unchanged() -> None:
    for model, example_body in ((Services, SPEC_DISCOVERY), (ServiceRequest, SPEC_REQUEST),
                                (CardsResponse, SPEC_RESPONSE), (Source, SPEC_SOURCE),
                                (OrderSelectContext, SPEC_ORDER_SELECT_CONTEXT)):
        parsed = model.model_validate(copy.deepcopy(example_body))
        assert json.loads(dump(parsed)) == example_body, model.__name__  # same names, nothing renamed or added


def test_models_enforce_the_spec_rules() -> None:
    bad_cards = [
        {"summary": "x" * 140, "indicator": "info", "source": {"label": "s"}},               # < 140 characters
        {"summary": "s", "indicator": "hint", "source": {"label": "s"}},                     # info|warning|critical
        {"summary": "s", "indicator": "info", "source": {"label": "s", "url": "/relative"}},  # absolute URL
        {"summary": "s", "indicator": "info", "source": {"label": "s"},                       # selectionBehavior
         "suggestions": [{"label": "Do it"}]},
        {"summary": "s", "indicator": "info", "source": {"label": "s"},                       # display required
         "overrideReasons": [{"code": "c", "system": "http://example.org"}]},
        {"summary": "s", "indicator": "info", "source": {"label": "s"},                       # appContext: smart only
         "links": [{"label": "l", "url": "https://example.com", "type": "absolute", "appContext": "x"}]},
        {"summary": "s", "indicator": "info", "source": {"label": "s"}, "colour": "red"},    # not a spec field
    ]
    for card in bad_cards:
        with pytest.raises(ValueError):
            Card.model_validate(card)
    no_server = {k: v for k, v in SPEC_REQUEST.items() if k != "fhirServer"}
    with pytest.raises(ValueError, match="fhirServer is required when fhirAuthorization is given"):
        ServiceRequest.model_validate(no_server)
    assert OrderSelectContext.model_validate({**SPEC_ORDER_SELECT_CONTEXT, "newOptionalField": 1})  # minor hook versions


# -- discovery ---------------------------------------------------------------------------------------------

def test_discovery_lists_one_advisory_order_select_service(client: TestClient, pathway: Pathway) -> None:
    r = client.get("/cds-services")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-security-policy"] == DATA_CSP
    assert "access-control-allow-origin" not in r.headers  # EHR back ends call it, not browsers
    [service] = r.json()["services"]
    assert Service.model_validate(service)
    assert service["id"] == "itb-pathway-checklist" and service["hook"] == "order-select"
    assert service["title"] == "ITB pathway checklist (advisory)"
    assert service["prefetch"] == {"questionnaireResponse": (
        "QuestionnaireResponse?questionnaire=urn:itb-pathway:itb-cp/Questionnaire/itb-cp"
        "&patient={{context.patientId}}&status=in-progress,completed,amended,stopped&_sort=-authored&_count=1")}
    assert questionnaire_url(pathway) in service["usageRequirements"]
    assert "does not query the FHIR server itself" in service["usageRequirements"]
    assert pathway.disclaimer in service["description"]
    spec_service_keys = set().union(*(s.keys() for s in SPEC_DISCOVERY["services"]))
    assert set(r.json()) <= set(SPEC_DISCOVERY) and set(service) <= spec_service_keys
    for text in (service["title"], service["description"], service["usageRequirements"]):
        assert not DECISION_WORDS.search(without_disclaimer(text, pathway.disclaimer)), text


# -- the card ----------------------------------------------------------------------------------------------

def test_the_example_referral_gets_one_informational_card(client: TestClient, pathway: Pathway) -> None:
    r = client.post(URL, json=call(form(pathway)))
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-security-policy"] == DATA_CSP
    card = only_card(r)
    assert set(card) == {"summary", "indicator", "detail", "source"}  # no uuid, suggestions, links, overrides
    assert card["indicator"] == "info"
    assert card["summary"] == "ITB pathway checklist: 17 of 22 applicable items documented; 3 points to discuss."
    assert len(card["summary"]) < 140
    assert card["source"] == {
        "label": "Intrathecal baclofen (ITB) pump therapy for a child with cerebral palsy: referral checklist, "
                 "version 2.0.0",
        "url": "http://testserver/",
    }
    detail = card["detail"]
    assert detail.startswith("Referral **R-001**: 17 of 22 applicable items documented; 3 points to discuss. This"
                             " counts what the referral documents, not anything about the child: it is not a score,"
                             " and the answers are not added up.\n\n"
                             "Age: 9 years · GMFCS level: IV: self-mobility with limitations; may use powered mobility"
                             " · Type of raised tone: Spastic · Referral date: 2026-10-14\n\n"
                             "**Not yet documented (5)**\n\n"
                             "- Has orthotic use been reviewed or planned? (`therapy.orthotics`)\n"
                             "- Is a measure of the outcome planned? (`therapy.outcome_measure`)\n")
    assert ("**Points the team may wish to discuss (3)**\n\n- Sedation is documented as a side effect; the Cochrane"
            " summary notes that oral baclofen's dose is limited by sedation. (`prior.less_invasive_inadequate`)\n"
            in detail)
    assert "- The trial is scheduled but not yet done; its result is not yet available to the team. (`trial.done`)\n" in detail
    assert f"rules `sha256:{pathway.rules_sha256[:12]}`, generated 2026-12-03T09:00:00Z." in detail
    assert detail.endswith(f"\n\n> **{pathway.disclaimer}**\n")
    assert Card.model_validate(card)


def test_the_card_counts_are_pathway_check_json(client: TestClient, pathway: Pathway, runner: Run) -> None:
    cli = runner("check", str(EXAMPLE), "--format", "json", "--now", "2026-12-03T09:00:00Z")
    assert cli.code == 0, cli.err
    report = json.loads(cli.out)
    card = only_card(client.post(URL, json=call(form(pathway))))
    s = report["summary"]
    assert card["summary"] == f"ITB pathway checklist: {s['text']}"
    assert s["text"].startswith(f"{s['documented']} of {s['applicable']} applicable items documented; ")
    assert card["detail"].startswith(f"Referral **R-001**: {s['text']} {s['note']}\n")
    missing = [i["title"] for i in report["items"] if i["status"] == "missing"]
    listed = card["detail"].split("**Not yet documented")[1].split("**Points")[0]
    assert [line[2:].rsplit(" (`", 1)[0] for line in listed.splitlines() if line.startswith("- ")] == missing
    points = card["detail"].split("**Points the team may wish to discuss")[1].split("\n\nPathway ")[0]
    assert [line[2:].rsplit(" (`", 1)[0] for line in points.splitlines() if line.startswith("- ")] == [
        d["text"] for d in report["discussion"]]


def test_every_example_case_gets_a_card_agreeing_with_check_and_no_decision_words(
    client: TestClient, pathway: Pathway,
) -> None:
    assert pathway.cases
    for case in pathway.cases:
        report = check(pathway, referral_values(pathway, Located(case.file, case.referral)), at=FIXED)
        card = only_card(client.post(URL, json=call(form(pathway, case.referral))))
        s = report.summary
        assert card["summary"] == f"ITB pathway checklist: {s.text}"
        assert s.text.startswith(f"{s.documented} of {s.applicable} applicable items documented; ")
        assert len(card["summary"]) < 140
        assert f"**Not yet documented ({s.missing})**" in card["detail"], case.name
        assert f"**Points the team may wish to discuss ({len(report.discussion)})**" in card["detail"], case.name
        for text in (card["summary"], card["detail"], card["source"]["label"]):
            assert not DECISION_WORDS.search(without_disclaimer(text, pathway.disclaimer)), (case.name, text)


def test_nothing_missing_and_nothing_to_discuss_are_said_in_words(client: TestClient, pathway: Pathway) -> None:
    case = next(c for c in pathway.cases
                if not check(pathway, referral_values(pathway, Located(c.file, c.referral)), at=FIXED).summary.missing)
    detail = only_card(client.post(URL, json=call(form(pathway, case.referral))))["detail"]
    assert "**Not yet documented (0)**\n\nEvery applicable item is documented.\n" in detail
    blank = only_card(client.post(URL, json=call(form(pathway, {"referral_id": "R-BLANK"}))))
    assert blank["summary"] == "ITB pathway checklist: 0 of 24 applicable items documented; no points to discuss."
    assert "**Points the team may wish to discuss (0)**\n\nNo discussion points were raised" in blank["detail"]


def test_the_output_uses_only_field_names_of_the_spec_examples(client: TestClient, pathway: Pathway) -> None:
    body = client.post(URL, json=call(form(pathway))).json()
    assert keys(body) <= keys(SPEC_RESPONSE)
    discovery = client.get("/cds-services").json()
    assert keys(discovery, skip=frozenset({"prefetch"})) <= keys(SPEC_DISCOVERY, skip=frozenset({"prefetch"}))
    assert CardsResponse.model_validate(body) and Services.model_validate(discovery)


def test_markdown_in_free_text_is_escaped(client: TestClient, pathway: Pathway) -> None:
    card = only_card(client.post(URL, json=call(form(pathway, {"referral_id": "R-<script>*x*</script>_[a](b)"}))))
    assert card["detail"].startswith(r"Referral **R-&lt;script&gt;\*x\*&lt;/script&gt;\_\[a\](b)**: ")
    assert "<script>" not in card["detail"]


# -- where the QuestionnaireResponse comes from ------------------------------------------------------------

def test_a_searchset_bundle_gives_its_first_questionnaire_response(client: TestClient, pathway: Pathway) -> None:
    latest, older = form(pathway), form(pathway, {"referral_id": "R-OLDER"})
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "informational"}]}
    bundle = searchset(outcome, latest, older)
    assert only_card(client.post(URL, json=call(bundle)))["detail"].startswith("Referral **R-001**")


def test_no_form_for_this_patient_is_no_card(client: TestClient, pathway: Pathway) -> None:
    withdrawn = {**form(pathway), "status": "entered-in-error"}
    for prefetch in ({"questionnaireResponse": None}, {"questionnaireResponse": searchset()},
                     {"questionnaireResponse": searchset(withdrawn)}, {"questionnaireResponse": withdrawn}):
        r = client.post(URL, json={**call(), "prefetch": prefetch})
        assert (r.status_code, r.json()) == (200, {"cards": []}), prefetch
    # An entered-in-error response is skipped, and the next one in the bundle read.
    card = only_card(client.post(URL, json=call(searchset(withdrawn, form(pathway, {"referral_id": "R-2"})))))
    assert card["detail"].startswith("Referral **R-2**")


def test_the_pathway_context_extension_is_read_first(client: TestClient, pathway: Pathway) -> None:
    context = {**SPEC_ORDER_SELECT_CONTEXT,
               "extension": {CONTEXT_EXTENSION: form(pathway, {"referral_id": "R-DRAFT", "diagnosis_cp": "yes"})}}
    for body in (call(context=context), call(form(pathway), context=context)):  # alone, and over a prefetch
        card = only_card(client.post(URL, json=body))
        assert card["detail"].startswith("Referral **R-DRAFT**: ")
    context["extension"] = {CONTEXT_EXTENSION: {"resourceType": "Patient"}}
    r = client.post(URL, json=call(context=context))
    assert (r.status_code, r.json()) == (400, {
        "detail": f"context.extension['{CONTEXT_EXTENSION}'] must be a QuestionnaireResponse"})


# -- errors, as the specification gives them ------------------------------------------------------------

def test_without_the_prefetch_the_answer_is_412(client: TestClient) -> None:
    expected = ("the request has no prefetch 'questionnaireResponse' and this service does not query the FHIR server"
                " itself; GET /cds-services gives the prefetch template")
    token = {"fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": SPEC_REQUEST["fhirAuthorization"]}
    for body in (call(), {**call(), "prefetch": {"patient": {"resourceType": "Patient"}}}, call(**token)):
        r = client.post(URL, json=body)
        assert (r.status_code, r.json()) == (412, {"detail": expected})
    r = client.post(URL, json=call({"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}))
    assert r.status_code == 412 and "it sent an OperationOutcome" in r.json()["detail"]
    failed = searchset({"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "timeout"}]})
    r = client.post(URL, json=call(failed))
    assert r.status_code == 412 and "an OperationOutcome with an error" in r.json()["detail"]


@pytest.mark.parametrize(("body", "detail"), [
    (b"{", "the request body is not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    (b'{"hook": "order-\xff"}', "the request body is not UTF-8 text"),
    (b"[1]", "a CDS Hooks request is a JSON object"),
    (b'{"hook": "order-select", "context": {}}', "not a CDS Hooks request: hookInstance: Field required"),
    (json.dumps({**call(), "hook": "patient-view"}).encode(), "this service answers the 'order-select' hook, not another"),
    (json.dumps({**call(), "hookInstance": ""}).encode(),
     "not a CDS Hooks request: hookInstance: String should have at least 1 character"),
    (json.dumps({**call(), "prefetched": {}}).encode(), "not a CDS Hooks request: prefetched: Extra inputs are not permitted"),
    (json.dumps({**call(), "fhirAuthorization": SPEC_REQUEST["fhirAuthorization"]}).encode(),
     "not a CDS Hooks request: Value error, fhirServer is required when fhirAuthorization is given"),
    (json.dumps({**call(), "fhirServer": "ehr/fhir"}).encode(),
     "not a CDS Hooks request: fhirServer: Value error, must be an absolute URL"),
    (json.dumps(call(context={"userId": "PractitionerRole/123", "patientId": PATIENT})).encode(),
     "not an order-select context: context.selections: Field required; context.draftOrders: Field required"),
    (json.dumps(call({"resourceType": "Patient", "id": PATIENT})).encode(),
     "prefetch 'questionnaireResponse' must be a QuestionnaireResponse, a Bundle of them, or null"),
    (json.dumps(call([1])).encode(),
     "prefetch 'questionnaireResponse' must be a QuestionnaireResponse, a Bundle of them, or null"),
    (json.dumps(call({"resourceType": "Bundle", "entry": [1]})).encode(),
     "prefetch 'questionnaireResponse': a Bundle's entry must be a list of objects"),
])
def test_a_malformed_request_is_400_quoting_nothing_sent(client: TestClient, body: bytes, detail: str) -> None:
    r = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"detail": detail})
    assert "some-opaque-fhir-access-token" not in r.text and PATIENT not in r.text


def test_other_refusals(client: TestClient) -> None:
    r = client.post(URL, content=b"{}", headers={"content-type": "text/plain"})
    assert (r.status_code, r.json()) == (415, {"detail": "send the CDS Hooks request as application/json"})
    r = client.post("/cds-services/no-such-service", json=call())
    assert (r.status_code, r.json()) == (404, {"detail": "no such CDS service; GET /cds-services lists them"})
    assert client.get(URL).status_code == 405
    big = json.dumps({**call(), "padding": "x" * (300 * 1024)}).encode()
    r = client.post(URL, content=big, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (413, {"detail": "the request body is larger than 256 KiB"})


def test_an_invalid_questionnaire_response_is_422_with_located_problems(client: TestClient, pathway: Pathway) -> None:
    response = form(pathway)
    response["item"][0]["item"].append({"linkId": "gmfcs", "answer": [{"valueString": "IV"}]})
    text = json.dumps(call(response), indent=1)
    r = client.post(URL, content=text.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "the referral is not valid: 1 problem"
    [problem] = body["problems"]
    assert problem["message"] == "linkId 'gmfcs' is not in the pathway's Questionnaire (did you mean 'gmfcs_level'?)"
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"linkId": "gmfcs"' in ln)
    assert problem["line"] == line


def test_a_form_that_says_nothing_still_gets_the_counts_but_needs_its_referral_id(client: TestClient) -> None:
    empty = {"resourceType": "QuestionnaireResponse", "status": "in-progress", "identifier": {"value": "R-9"}}
    card = only_card(client.post(URL, json=call(empty)))
    assert card["summary"] == "ITB pathway checklist: 0 of 24 applicable items documented; no points to discuss."
    r = client.post(URL, json=call({k: v for k, v in empty.items() if k != "identifier"}))
    assert r.status_code == 422  # as `pathway check` refuses it: a report always names its referral
    assert [p["field"] for p in r.json()["problems"]] == ["referral_id"]


def test_a_response_about_another_patient_is_refused(client: TestClient, pathway: Pathway) -> None:
    for subject, status in (("Patient/someone-else", 422), ("https://ehr.example.org/fhir/Patient/someone-else", 422),
                            (f"Patient/{PATIENT}", 200), (f"https://ehr.example.org/fhir/Patient/{PATIENT}/_history/2", 200),
                            ("Group/7", 200)):
        r = client.post(URL, json=call({**form(pathway), "subject": {"reference": subject}}))
        assert r.status_code == status, subject
    r = client.post(URL, json=call({**form(pathway), "subject": {"reference": "Patient/someone-else"}}))
    assert r.json() == {"detail": "the QuestionnaireResponse's subject is not the patient in context.patientId; "
                                  "no checklist is shown"}


def test_nothing_sent_is_logged(pathway: Pathway, caplog: pytest.LogCaptureFixture) -> None:
    def broken_clock() -> dt.datetime:
        raise ValueError("R-SECRET in a message")

    body = call(form(pathway, {"referral_id": "R-SECRET", "notes": "a typed note"}),
                fhirServer="https://ehr.example.org/fhir", fhirAuthorization=SPEC_REQUEST["fhirAuthorization"])
    with caplog.at_level("DEBUG"):
        with TestClient(create_app(RULES, clock=lambda: FIXED)) as c:
            assert c.post(URL, json=body).status_code == 200
            assert c.post(URL, json={**body, "hook": "patient-view"}).status_code == 400
        with TestClient(create_app(RULES, clock=broken_clock), raise_server_exceptions=False) as c:
            r = c.post(URL, json=body)
    assert (r.status_code, r.json()) == (500, {"detail": "internal error; nothing was produced"})
    assert f"POST {URL}: internal error (ValueError)" in caplog.text
    for secret in ("R-SECRET", "typed note", PATIENT, "some-opaque-fhir-access-token"):
        assert secret not in caplog.text


def test_a_key_given_twice_is_refused_not_silently_the_last() -> None:
    from fastapi.testclient import TestClient

    from pathway.web.app import create_app

    body = '{"hook": "order-select", "hook": "patient-view", "hookInstance": "x", "context": {}}'
    r = TestClient(create_app()).post("/cds-services/itb-pathway-checklist", content=body,
                                      headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["detail"] == "the request body is not valid JSON: duplicate key 'hook'"
