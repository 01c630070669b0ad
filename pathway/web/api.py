"""The JSON API's shapes: the pathway definition it publishes and the problems it answers with.

These models document the API in its OpenAPI schema. The report itself is the
core's `Report` (the CLI's JSON, byte for byte), and the request body is the
referral model generated from the form.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..conditions import Condition, describe, to_data
from ..definition import STATUSES, Citation, FormField, Pathway
from ..errors import Problem
from ..fieldkinds import FieldKind, per_kind
from ..referral import allowed, referral_model
from ..report import CitationOut


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProblemOut(_Out):
    field: str | None = Field(description="the referral field at fault, when there is one")
    message: str = Field(description="the same message the command line gives")
    line: int | None = Field(None, description="1-based line in the request body, when known")
    column: int | None = Field(None, description="1-based column in the request body, when known")


class ProblemsOut(_Out):
    detail: str
    problems: list[ProblemOut]


class DetailOut(_Out):
    detail: str


class OptionOut(_Out):
    value: str
    label: str
    exclusive: bool


class FieldOut(_Out):
    id: str
    type: str
    label: str
    section: str
    help: str | None
    required: bool
    allowed: str = Field(description="what the field may hold, in words")
    options: list[OptionOut]
    min: float | None
    max: float | None
    unit: str | None
    max_length: int | None
    shown_when: dict[str, Any] | None = Field(description="condition (the rules' language) under which it is asked")
    shown_when_text: str | None
    source: str | None


class FormSectionOut(_Out):
    id: str
    title: str
    description: str | None
    fields: list[str]


class ChecklistSectionOut(_Out):
    id: str
    title: str
    description: str | None


class DiscussionPointOut(_Out):
    id: str
    text: str
    when: dict[str, Any] | None
    when_text: str | None
    when_status: list[str]


class ItemDefinitionOut(_Out):
    id: str
    section: str
    title: str
    holds: dict[str, Any]
    holds_text: str
    applies_when: dict[str, Any] | None
    applies_when_text: str | None
    citations: list[CitationOut]
    discussion: list[DiscussionPointOut]
    source: str | None


class PathwayOut(_Out):
    id: str
    title: str
    version: str
    checklist: str
    description: str
    disclaimer: str
    rules_sha256: str
    app_version: str
    statuses: list[str]
    sections: list[ChecklistSectionOut]
    form: list[FormSectionOut]
    fields: list[FieldOut]
    items: list[ItemDefinitionOut]


def _printable(text: str) -> str:
    """Messages can quote what was sent, which may hold a lone surrogate ("\\ud800") that no UTF-8 answer
    can carry: shown as its escape instead, so that explaining a bad referral never fails."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def problems_out(problems: list[Problem]) -> ProblemsOut:
    count = len(problems)
    return ProblemsOut(
        detail=f"the referral is not valid: {count} problem{'s' if count != 1 else ''}",
        problems=[ProblemOut(field=p.field and _printable(p.field), message=_printable(p.message), line=p.line,
                             column=p.col) for p in problems],
    )


def _cond(cond: Condition | None) -> dict[str, Any] | None:
    return to_data(cond) if cond is not None else None


def _cite(c: Citation) -> CitationOut:
    return CitationOut(source=c.source, title=c.title, quote=c.quote, reference=c.reference)


def _field(f: FormField) -> FieldOut:
    return FieldOut(
        id=f.id, type=f.type.value, label=f.label, section=f.section, help=f.help, required=f.required,
        allowed=allowed(f),
        options=[OptionOut(value=o.value, label=o.label, exclusive=o.exclusive) for o in f.options],
        min=f.min, max=f.max, unit=f.unit, max_length=f.max_length, shown_when=_cond(f.shown_when),
        shown_when_text=describe(f.shown_when) if f.shown_when else None, source=f.source,
    )


def pathway_out(pathway: Pathway) -> PathwayOut:
    """The whole definition a client needs to build its own form or read a report."""
    return PathwayOut(
        id=pathway.id, title=pathway.title, version=pathway.version, checklist=pathway.checklist,
        description=pathway.description, disclaimer=pathway.disclaimer, rules_sha256=pathway.rules_sha256,
        app_version=__version__, statuses=list(STATUSES),
        sections=[ChecklistSectionOut(id=s.id, title=s.title, description=s.description) for s in pathway.sections],
        form=[FormSectionOut(id=s.id, title=s.title, description=s.description, fields=[f.id for f in s.fields])
              for s in pathway.form],
        fields=[_field(f) for f in pathway.fields.values()],
        items=[ItemDefinitionOut(
            id=i.id, section=i.section, title=i.title, holds=to_data(i.holds), holds_text=describe(i.holds),
            applies_when=_cond(i.applies_when),
            applies_when_text=describe(i.applies_when) if i.applies_when else None,
            citations=[_cite(c) for c in i.citations],
            discussion=[DiscussionPointOut(id=d.id, text=d.text, when=_cond(d.when),
                                           when_text=describe(d.when) if d.when else None,
                                           when_status=list(d.when_status)) for d in i.discussion],
            source=i.source,
        ) for i in pathway.items],
    )


UNKNOWN_WORDS = ["unknown", ""]
"""Answers that mean "the referral does not say", besides null, an absent field and []."""


def _accepted(f: FormField) -> list[dict[str, Any]] | None:
    """What a field accepts, as `pathway check` reads it; None keeps the model's own (text) schema.

    The referral model validates the normalised answer (a tri-state is "yes"/"no"), so its schema alone
    would say that true, false and "unknown" are refused, though the CLI and the API read them.
    """
    return _ACCEPTED[f.type](f)


def _tristate_accepted(f: FormField) -> list[dict[str, Any]]:
    return [{"type": "boolean"}, {"type": "string", "enum": ["yes", "no", "true", "false", *UNKNOWN_WORDS]}]


def _choice_accepted(f: FormField) -> list[dict[str, Any]]:
    return [{"type": "string", "enum": [*f.values, *UNKNOWN_WORDS]}]


def _multi_accepted(f: FormField) -> list[dict[str, Any]]:
    listed: dict[str, Any] = {"type": "array", "items": {"type": "string", "enum": list(f.values)}}
    exclusive = [{"if": {"contains": {"const": o.value}}, "then": {"items": {"const": o.value}}}
                 for o in f.options if o.exclusive]
    if exclusive:  # "none" cannot be combined with another option
        listed["allOf"] = exclusive
    return [listed, {"type": "string", "enum": [*f.values, *UNKNOWN_WORDS],
                     "description": "one option alone, as a list of one"}]


def _number_accepted(f: FormField) -> list[dict[str, Any]]:
    number: dict[str, Any] = {"type": "number"}
    number |= {k: v for k, v in (("minimum", f.min), ("maximum", f.max)) if v is not None}
    return [number, {"type": "string", "enum": UNKNOWN_WORDS}]


def _date_accepted(f: FormField) -> list[dict[str, Any]]:
    return [{"type": "string", "format": "date"}, {"type": "string", "enum": UNKNOWN_WORDS}]


def _text_accepted(f: FormField) -> None:
    return None


_ACCEPTED: dict[FieldKind, Callable[[FormField], list[dict[str, Any]] | None]] = per_kind({
    FieldKind.TEXT: _text_accepted, FieldKind.LONGTEXT: _text_accepted, FieldKind.DATE: _date_accepted,
    FieldKind.NUMBER: _number_accepted, FieldKind.TRISTATE: _tristate_accepted, FieldKind.CHOICE: _choice_accepted,
    FieldKind.MULTICHOICE: _multi_accepted,
}, "web.api._ACCEPTED")


def referral_schema(pathway: Pathway) -> dict[str, Any]:
    """The JSON Schema of a referral for this pathway's form (the request body of POST /api/check):
    what the API accepts, which is what `pathway check` accepts in a referral file."""
    schema = referral_model(tuple(pathway.fields.values())).model_json_schema()
    schema["title"] = "Referral"
    schema["description"] = (f"One referral for pathway {pathway.id} {pathway.version}: field id to value. "
                             "Absent, null, 'unknown', '' and [] all mean the referral does not say. Surrounding "
                             "spaces are ignored, and yes/no/true/false in any case. A key given twice is refused.")
    for f in pathway.fields.values():
        prop = schema["properties"][f.id]
        accepted = _accepted(f)
        if accepted is not None:
            prop["anyOf"] = [*accepted, {"type": "null"}]
        prop["description"] = " ".join(filter(None, (f.help, f"Allowed: {allowed(f)}.")))
    return schema


def questionnaire_response_schema() -> dict[str, Any]:
    """A FHIR R4 QuestionnaireResponse, the other body POST /api/check reads: only the parts it reads.

    Each answer holds one value[x] of the item's type; the referral's rules then apply to the answers.
    """
    value_types: dict[str, Any] = {
        "valueBoolean": {"type": "boolean"}, "valueDecimal": {"type": "number"}, "valueInteger": {"type": "integer"},
        "valueDate": {"type": "string", "format": "date"}, "valueString": {"type": "string"},
        "valueCoding": {"type": "object", "properties": {"system": {"type": "string"}, "code": {"type": "string"},
                                                         "display": {"type": "string"}}},
    }
    answer = {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": value_types,
              "additionalProperties": False}
    item = {"type": "object", "required": ["linkId"], "properties": {
        "linkId": {"type": "string"}, "answer": {"type": "array", "items": answer},
        "item": {"type": "array", "items": {"type": "object"}}}}
    return {
        "title": "QuestionnaireResponse",
        "description": "A FHIR R4 QuestionnaireResponse to the pathway's Questionnaire (`pathway export "
                       "questionnaire`): its answers, by linkId, are read as the referral; the referral id is the "
                       "referral_id answer or identifier.value.",
        "type": "object", "required": ["resourceType"],
        "properties": {
            "resourceType": {"const": "QuestionnaireResponse"}, "status": {"type": "string"},
            "questionnaire": {"type": "string"},
            "identifier": {"type": "object", "properties": {"value": {"type": "string"}}},
            "item": {"type": "array", "items": item},
        },
    }
