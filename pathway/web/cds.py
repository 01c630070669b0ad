"""CDS Hooks 2.0 inside `pathway serve`: one advisory service an EHR can call when an order is selected.

Specification: https://cds-hooks.hl7.org/2.0/ (sections named below as §).
There is no maintained Python CDS Hooks library, so the request and response
bodies are pydantic models written from the specification's field tables,
with the specification's own field names. The routes are `routes/cds.py`.

What this service does, and why:
- `GET /cds-services` (§Discovery) lists one service, `itb-pathway-checklist`,
  for the `order-select` hook, with one prefetch template asking for the
  patient's latest QuestionnaireResponse to the pathway's Questionnaire.
- `POST /cds-services/itb-pathway-checklist` (§Calling a CDS Service) reads
  that response and answers with at most one card, built from the same
  report as `pathway check`: indicator `info` only, no suggestions, links,
  overrideReasons or systemActions (advisory only), no `uuid` (there is no
  feedback endpoint, and without a uuid a client sends no feedback, §Feedback).
- Where the response comes from: the pathway's extension
  `context.extension["invalid.example.itb-pathway.questionnaireResponse"]`
  first (a form being filled in now, not yet on the FHIR server: §Hooks,
  "FHIR resources in context"; `extension` is the name §Extensions reserves),
  else `prefetch.questionnaireResponse`. That may be the resource itself, a
  Bundle (a search's searchset: the first QuestionnaireResponse entry, which
  the template's `_sort=-authored&_count=1` makes the latest), or null (the
  client found none, §Prefetch Template).
- No form for this patient (null, a Bundle without one, or one marked
  entered-in-error, which FHIR says must not be used): `{"cards": []}`, the
  specification's "no decision support" (§HTTP Response). So the card shows
  only for children with an ITB referral form, not on every order.
- This service never calls the FHIR server itself (nothing leaves the
  machine), so without the prefetch key, or with an OperationOutcome saying
  the client could not fetch it, the answer is 412 (§Prefetch Template,
  §CDS Service Response "HTTP Status Codes"). A body that is not a CDS Hooks
  request is 400, the wrong hook 400, a response whose answers are not valid
  422 with every problem (as `POST /api/check`), a response about another
  patient than `context.patientId` 422. Other 4xx are allowed by §HTTP Status Codes.
- Nothing from a request is logged: the access log has the path only, and
  error messages here never quote what was sent, except problems in the
  referral's own answers, returned to the caller who sent them.
- No CORS headers: the callers are EHR back ends, not browsers (§Cross-Origin
  Resource Sharing applies to browser-based clients).
"""
from __future__ import annotations

from typing import Annotated, Any, Final, Literal
from urllib.parse import quote, urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..interop.fhir import questionnaire_url
from ..render import environment
from ..report import Report
from ..yamlsrc import Path_
from .jsonbody import Found, Unreadable
from .site import Site

SPEC: Final = "https://cds-hooks.hl7.org/2.0/"
SERVICE_ID: Final = "itb-pathway-checklist"
HOOK: Final = "order-select"
PREFETCH_KEY: Final = "questionnaireResponse"
CONTEXT_EXTENSION: Final = "invalid.example.itb-pathway.questionnaireResponse"
"""The pathway's own extension: a reverse-domain name, as §Extensions asks (`example.invalid`: a placeholder)."""


# -- the specification's shapes ---------------------------------------------------------------------

def _absolute(url: str) -> str:
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        raise ValueError("must be an absolute URL")
    return url


AbsoluteUrl = Annotated[str, AfterValidator(_absolute)]
Extension = dict[str, Any]
"""§Extensions: an object whose keys are reverse-domain names."""


class _Spec(BaseModel):
    """Only the specification's fields: a misspelt one is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Service(_Spec):
    """§Discovery, Response: one CDS Service."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None
    extension: Extension | None = None


class Services(_Spec):
    """§Discovery, Response: what `GET /cds-services` answers."""

    services: list[Service]
    extension: Extension | None = None


class FhirAuthorization(_Spec):
    """§FHIR Resource Access, "Passing the Access Token": read for its shape only, never used or logged."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class ServiceRequest(_Spec):
    """§Calling a CDS Service, HTTP Request. `context` is checked against the hook's own table afterwards."""

    hook: str
    hookInstance: Annotated[str, Field(min_length=1)]
    fhirServer: AbsoluteUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: Extension | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> ServiceRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


class OrderSelectContext(BaseModel):
    """The order-select hook's context (STU1, https://cds-hooks.hl7.org/hooks/order-select/STU1/order-select/).

    Extra fields are allowed: a minor version of a hook may add optional ones.
    """

    model_config = ConfigDict(extra="allow")

    userId: str
    patientId: Annotated[str, Field(min_length=1)]
    encounterId: str | None = None
    selections: list[str]
    draftOrders: dict[str, Any]
    extension: Extension | None = None


class Coding(_Spec):
    """§Data Types, Coding."""

    code: str
    system: str
    display: str | None = None


class Source(_Spec):
    """§Card Attributes, Source."""

    label: str
    url: AbsoluteUrl | None = None
    icon: AbsoluteUrl | None = None
    topic: Coding | None = None


class Action(_Spec):
    """§Card Attributes, Action (this service proposes none)."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(_Spec):
    """§Card Attributes, Suggestion (this service makes none)."""

    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(_Spec):
    """§Card Attributes, Link (this service sends none)."""

    label: str
    url: AbsoluteUrl
    type: Literal["absolute", "smart"]
    appContext: str | None = None

    @model_validator(mode="after")
    def _app_context_for_smart(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only for links of type smart")
        return self


class Card(_Spec):
    """§Card Attributes."""

    uuid: str | None = None
    summary: Annotated[str, Field(min_length=1, max_length=139, description="one sentence, under 140 characters")]
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[Link] | None = None
    extension: Extension | None = None

    @model_validator(mode="after")
    def _conditional_fields(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when there are suggestions")
        if any(r.display is None for r in self.overrideReasons or []):
            raise ValueError("every override reason needs a display")
        return self


class CardsResponse(_Spec):
    """§CDS Service Response, HTTP Response."""

    cards: list[Card]
    systemActions: list[Action] | None = None
    extension: Extension | None = None


def dump(model: BaseModel) -> bytes:
    """§Use of JSON: an optional field without a value is left out, never null."""
    return model.model_dump_json(exclude_none=True).encode("utf-8")


# -- discovery ----------------------------------------------------------------------------------------

def prefetch_template(site: Site) -> str:
    """The patient's latest response to the pathway's Questionnaire, any status but entered-in-error.

    Only what §Prefetch query restrictions recommends: references, token
    equality, `_sort` and `_count`.
    """
    questionnaire = quote(questionnaire_url(site.pathway), safe=":/")
    return (f"QuestionnaireResponse?questionnaire={questionnaire}&patient={{{{context.patientId}}}}"
            "&status=in-progress,completed,amended,stopped&_sort=-authored&_count=1")


def services(site: Site) -> Services:
    pathway = site.pathway
    return Services(services=[Service(
        hook=HOOK,
        title=f"{pathway.short_title} (advisory)",
        description=(f"Shows which items of the {pathway.title} (version {pathway.version}) the patient's referral "
                     "form documents and which it does not, with the points the team may wish to discuss. "
                     + pathway.disclaimer),
        id=SERVICE_ID,
        prefetch={PREFETCH_KEY: prefetch_template(site)},
        usageRequirements=(
            f"Needs the patient's referral form, a QuestionnaireResponse to {questionnaire_url(pathway)}, in prefetch "
            f"'{PREFETCH_KEY}' (or, the pathway's extension, in context.extension['{CONTEXT_EXTENSION}']). "
            "This service does not query the FHIR server itself: without the form it answers 412."),
    )])


# -- reading a call -----------------------------------------------------------------------------------

class Refusal(Exception):
    """An answer other than cards: the HTTP status and a message that quotes nothing the caller sent."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _shape(exc: ValidationError, where: str) -> str:
    """Pydantic's messages with their places, without the values (they could be identifiers or tokens)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(p) for p in (where, *err["loc"]) if p != "")
        parts.append(f"{loc}: {err['msg']}" if loc else str(err["msg"]))
    return "; ".join(parts)


def unreadable(exc: Unreadable) -> str:
    """Why a body that is not UTF-8 JSON is refused (400): where the JSON stops being valid, a key given twice."""
    if exc.kind == "json-syntax":
        return f"{exc.detail}: {exc.reason} at line {exc.line}, column {exc.column}"
    return f"{exc.detail}: {exc.reason}" if exc.reason else exc.detail


def read_call(data: Any) -> tuple[ServiceRequest, OrderSelectContext]:
    """The request and its order-select context; `Refusal` (400) when the body is not one."""
    if not isinstance(data, dict):
        raise Refusal(400, "a CDS Hooks request is a JSON object")
    try:
        call = ServiceRequest.model_validate(data)
    except ValidationError as exc:
        raise Refusal(400, "not a CDS Hooks request: " + _shape(exc, "")) from None
    if call.hook != HOOK:
        raise Refusal(400, f"this service answers the '{HOOK}' hook, not another")
    try:
        context = OrderSelectContext.model_validate(call.context)
    except ValidationError as exc:
        raise Refusal(400, f"not an {HOOK} context: " + _shape(exc, "context")) from None
    return call, context


def _is_response(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "QuestionnaireResponse"


def _usable(found: Found) -> Found | None:
    """FHIR: a resource entered-in-error must not be used, so it counts as no form at all."""
    return None if found[0].get("status") == "entered-in-error" else found


def _failed(outcome: Any) -> bool:
    issues = outcome.get("issue") if isinstance(outcome, dict) else None
    return isinstance(issues, list) and any(isinstance(i, dict) and i.get("severity") in ("error", "fatal")
                                            for i in issues)


def find_response(call: ServiceRequest, context: OrderSelectContext) -> Found | None:
    """The QuestionnaireResponse to read and its place in the body, None when the patient has no form."""
    extension = context.extension or {}
    if CONTEXT_EXTENSION in extension:
        value = extension[CONTEXT_EXTENSION]
        if not _is_response(value):
            raise Refusal(400, f"context.extension['{CONTEXT_EXTENSION}'] must be a QuestionnaireResponse")
        return _usable((value, ("context", "extension", CONTEXT_EXTENSION)))
    prefetch = call.prefetch or {}
    if PREFETCH_KEY not in prefetch:
        raise Refusal(412, f"the request has no prefetch '{PREFETCH_KEY}' and this service does not query the FHIR "
                           "server itself; GET /cds-services gives the prefetch template")
    value = prefetch[PREFETCH_KEY]
    at: Path_ = ("prefetch", PREFETCH_KEY)
    if value is None:
        return None
    kind = value.get("resourceType") if isinstance(value, dict) else None
    if kind == "QuestionnaireResponse":
        return _usable((value, at))
    if kind == "OperationOutcome":
        raise Refusal(412, f"the CDS client could not fetch prefetch '{PREFETCH_KEY}' (it sent an OperationOutcome) "
                           "and this service does not query the FHIR server itself")
    if kind != "Bundle":
        raise Refusal(400, f"prefetch '{PREFETCH_KEY}' must be a QuestionnaireResponse, a Bundle of them, or null")
    entries = value.get("entry", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise Refusal(400, f"prefetch '{PREFETCH_KEY}': a Bundle's entry must be a list of objects")
    resources = [e.get("resource") for e in entries]
    for i, resource in enumerate(resources):
        if _is_response(resource) and resource.get("status") != "entered-in-error":
            return resource, at + ("entry", i, "resource")
    if any(isinstance(r, dict) and r.get("resourceType") == "OperationOutcome" and _failed(r) for r in resources):
        raise Refusal(412, f"the CDS client's search for prefetch '{PREFETCH_KEY}' failed (an OperationOutcome with "
                           "an error) and this service does not query the FHIR server itself")
    return None


def _patient_of(response: dict[str, Any]) -> str | None:
    """The Patient id `subject` names (relative or absolute reference), or None when it names none."""
    subject = response.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(reference, str):
        return None
    parts = reference.split("/_history/", 1)[0].rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "Patient" else None


def referral_in(data: Any) -> Found | None:
    """The patient's form in a CDS Hooks call, for the shared reader; None when the patient has none.

    `Refusal` when the body is not an order-select call, or the form is about another patient.
    """
    call, context = read_call(data)
    found = find_response(call, context)
    if found is None:
        return None
    subject = _patient_of(found[0])
    if subject is not None and subject != context.patientId:
        raise Refusal(422, "the QuestionnaireResponse's subject is not the patient in context.patientId; "
                           "no checklist is shown")
    return found


# -- the card -----------------------------------------------------------------------------------------

def summary_text(report: Report, name: str) -> str:
    """The report's summary sentence, as every report says it (the pathway's words), in the card's 140 characters;
    `name`: the checklist's (`short_title` in pathway.yaml)."""
    text = f"{name}: {report.summary.text}"
    return text if len(text) < 140 else text[:138].rstrip() + "…"


def card_for(report: Report, home: str, name: str) -> Card:
    """The one informational card: counts, what is missing, the points to discuss, the disclaimer.

    `source.url` is the checklist service's own page (§Source: about the
    source, not a drill-down). There is no link to this referral's full
    report: the app makes reports from a posted form only, and a link would
    carry the child's answers into URLs and logs.
    """
    pathway = report.pathway
    return Card(
        summary=summary_text(report, name),
        indicator="info",
        detail=environment().get_template("cds-card.md").render(report=report),
        source=Source(label=f"{pathway.title}, version {pathway.version}", url=home),
    )
