"""The report: one typed object, built by the core, rendered by every format.

HTML, Markdown and JSON are all views of `Report`, so they cannot say different
things. Its JSON form is the public report contract (schema in
`pathway/schema/report.schema.json`). A report never carries an overall
verdict: only per-item statuses, why, sources and points to discuss.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from typing import Annotated, Any, Final, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from . import conditions as C
from .applicable import SetAside
from .definition import STATUSES, Citation, FormField, Pathway, Status
from .engine import Findings, ItemResult

REPORT_FORMAT: Final = "itb-pathway-report/2"


# Report parts are frozen slotted dataclasses (cheap to build on the hot path);
# `__pydantic_config__` keeps their JSON Schema strict (no extra keys).
_CONFIG = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class PathwayInfo:
    __pydantic_config__ = _CONFIG

    id: str
    title: str
    version: str
    checklist: str
    rules_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


@dataclass(frozen=True, slots=True)
class Summary:
    __pydantic_config__ = _CONFIG

    met: int
    not_met: int
    missing: int
    not_applicable: int
    total: int
    applicable: Annotated[int, Field(description="items not not_applicable")]
    documented: Annotated[int, Field(description="applicable items that are not missing")]
    completeness: Annotated[float, Field(ge=0, le=1, description="documented / applicable (1 when nothing applies)")]
    discussion_points: Annotated[int, Field(ge=0, description="points the team may wish to discuss")]
    text: Annotated[str, Field(description="the summary a person reads: documentation and points, "
                                           "never a tally of answers")]
    note: str


@dataclass(frozen=True, slots=True)
class StatusWordOut:
    __pydantic_config__ = _CONFIG

    label: str
    icon: str


@dataclass(frozen=True, slots=True)
class CitationOut:
    __pydantic_config__ = _CONFIG

    source: str
    title: str
    quote: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    __pydantic_config__ = _CONFIG

    field: str
    label: str
    value: Annotated[str, Field(description="the answer as shown, or 'not documented'")]
    documented: bool


@dataclass(frozen=True, slots=True)
class SetAsideOut:
    __pydantic_config__ = _CONFIG

    field: str
    label: str
    value: Annotated[str, Field(description="the answer as given, as shown")]
    reason: Annotated[str, Field(description="why it is not used: the question's condition and the answers that "
                                             "make it false")]


@dataclass(frozen=True, slots=True)
class ItemOut:
    __pydantic_config__ = _CONFIG

    id: str
    section: str
    section_title: str
    title: str
    status: Literal["met", "not_met", "missing", "not_applicable"]
    status_label: str
    explanation: str
    answers: Annotated[list[Answer], Field(description="the answers the item's status depends on")]
    context: Annotated[list[Answer], Field(description="other answers recorded with the item, for context; "
                                                       "they do not decide its status")]
    discussion: list[str]
    discussion_ids: list[str]
    citations: list[CitationOut]


@dataclass(frozen=True, slots=True)
class SectionOut:
    __pydantic_config__ = _CONFIG

    id: str
    title: str
    items: Annotated[list[str], Field(description="item ids in this section, in order")]


@dataclass(frozen=True, slots=True)
class DiscussionOut:
    __pydantic_config__ = _CONFIG

    item: str
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class EvidenceOut:
    __pydantic_config__ = _CONFIG

    source: str
    title: str
    quote: str


@dataclass(frozen=True, slots=True)
class Report:
    __pydantic_config__ = _CONFIG

    format: Literal["itb-pathway-report/2"]
    pathway: PathwayInfo
    referral_id: str
    generated_at: str
    disclaimer: str
    status_words: Annotated[dict[Status, StatusWordOut], Field(description="what a person reads for each status")]
    profile: Annotated[list[Answer], Field(description="the case profile: the answers a team reads first")]
    summary: Summary
    sections: list[SectionOut]
    items: list[ItemOut]
    discussion: Annotated[list[DiscussionOut],
                          Field(description="every item's discussion points, gathered for the MDT")]
    evidence_introduction: str
    evidence: list[EvidenceOut]
    other_answers: Annotated[list[Answer], Field(
        description="answers given that no item, nor the case profile, shows: so that the report shows every answer")]
    notes: str | None = None
    set_aside: Annotated[list[SetAsideOut], Field(
        description="answers given to questions whose condition the referral documents as false (the question is "
                    "not asked): not used by any item, in form order")] = dataclass_field(default_factory=list)

    def items_in(self, section_id: str) -> list[ItemOut]:
        return [i for i in self.items if i.section == section_id]

    def to_json(self) -> str:
        """The report contract, byte-stable: fixed key order, UTF-8, newline-terminated."""
        return report_adapter().dump_json(self, indent=2, exclude_none=True).decode("utf-8") + "\n"


@lru_cache(maxsize=1)
def report_adapter() -> TypeAdapter[Report]:
    """The report's pydantic adapter (JSON and its schema), built when first needed: an HTML or
    Markdown report never needs it, and building it takes longer than the rest of a report."""
    return TypeAdapter(Report)


def report_schema() -> str:
    """The JSON Schema of the report contract, as published in pathway/schema/."""
    import json

    schema = report_adapter().json_schema(mode="serialization")
    schema.pop("title", None)
    head = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/itb-pathway/report-2.schema.json",
        "title": f"ITB pathway checklist report ({REPORT_FORMAT})",
    }
    return json.dumps({**head, **schema}, indent=2, ensure_ascii=False) + "\n"


def display_value(field: FormField, value: Any) -> str:
    """How an answer is shown to a person (labels, units); unknown is 'not documented'."""
    if value is None:
        return "not documented"
    return field.kind.show(field, value)


@dataclass(frozen=True)
class _ItemLayout:
    """What a report needs of an item that does not depend on the referral."""

    fields: tuple[FormField, ...]
    context: tuple[FormField, ...]
    section_title: str
    citations: tuple[CitationOut, ...]
    point_citations: dict[str, tuple[CitationOut, ...]]


@lru_cache(maxsize=16)
def _layout(pathway: Pathway) -> dict[str, _ItemLayout]:
    titles = {s.id: s.title for s in pathway.sections}
    out = {}
    for item in pathway.items:
        names: list[str] = []
        for cond in (item.applies_when, item.holds):
            if cond is not None:
                names.extend(n for n in C.fields_of(cond) if n not in names)
        extra: list[str] = []
        for name in [*(n for d in item.discussion if d.when is not None for n in C.fields_of(d.when)), *item.shows]:
            if name not in names and name not in extra:
                extra.append(name)
        out[item.id] = _ItemLayout(
            fields=tuple(pathway.fields[n] for n in names),
            context=tuple(pathway.fields[n] for n in extra),
            section_title=titles[item.section],
            citations=tuple(_citation(c) for c in item.citations),
            point_citations={
                d.id: tuple(_citation(c) for c in d.citations if c not in item.citations) for d in item.discussion
            },
        )
    return out


def _answer(field: FormField, values: Mapping[str, Any]) -> Answer:
    value = values.get(field.id)
    return Answer(field=field.id, label=field.label, value=display_value(field, value), documented=value is not None)


def _answers(layout: _ItemLayout, values: Mapping[str, Any]) -> list[Answer]:
    return [_answer(field, values) for field in layout.fields]


def _given(fields: tuple[FormField, ...], values: Mapping[str, Any]) -> list[Answer]:
    return [_answer(f, values) for f in fields if values.get(f.id) is not None]


@lru_cache(maxsize=16)
def _unshown(pathway: Pathway) -> tuple[FormField, ...]:
    """Fields that neither an item nor the case profile shows (the referral id and notes have their own place)."""
    shown = {"referral_id", "notes", *pathway.profile}
    for layout in _layout(pathway).values():
        shown.update(f.id for f in (*layout.fields, *layout.context))
    return tuple(f for f in pathway.fields.values() if f.id not in shown and not f.kind.prose)


def _explanation(pathway: Pathway, result: ItemResult, answers: list[Answer], aside: frozenset[str]) -> str:
    """One line saying why: the item's wording for this status, then the answers that led to it
    (and those set aside, which did not)."""
    lead = result.item.explain.get(result.status) or pathway.explanations[result.status]
    given = [f"{a.label}: {a.value}" for a in answers if a.documented]
    absent = [a.label for a in answers if not a.documented and a.field not in aside]
    parts = [lead]
    if given:
        parts.append("Answers: " + "; ".join(given) + ".")
    if absent and result.status == "missing":
        parts.append("Not answered in the referral: " + "; ".join(absent) + ".")
    left = [a.label for a in answers if a.field in aside]
    if left:
        parts.append(SET_ASIDE_NOTE + "; ".join(left) + ".")
    return " ".join(parts)


SET_ASIDE_NOTE = "Set aside, as the question is not asked: "
"""Closes an item's explanation when an answer it reads was set aside (see "Answers set aside")."""

_COMPARED = {"lt": "under", "le": "at most", "gt": "over", "ge": "at least"}


def _word(field: FormField, value: Any) -> str:
    """One coded answer as a person reads it: a tri-state's Yes, a choice's label."""
    return dict(field.kind.answers).get(value) or field.label_of(value)


def _shown(field: FormField, value: Any) -> str:
    if field.kind.coded and not field.kind.multiple:
        return _word(field, value)
    return display_value(field, value)


def _either(words: list[str], joint: str) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {joint} " + words[-1]


def spoken(cond: C.Condition, fields: Mapping[str, FormField], nested: bool = False) -> str:
    """A condition in words, with the form's labels and answers: "Oral antispasticity medication tried is Yes"."""
    if isinstance(cond, (C.All, C.AnyOf)):
        text = (" and " if isinstance(cond, C.All) else " or ").join(spoken(p, fields, True) for p in cond.parts)
        return f"({text})" if nested else text
    if isinstance(cond, C.Not):
        part = cond.part
        if isinstance(part, C.In):
            field = fields[part.field]
            return f"{field.label} is not {_either([_word(field, v) for v in part.values], 'or')}"
        return f"not ({spoken(part, fields)})"
    field = fields[cond.field]
    if isinstance(cond, C.In):
        return f"{field.label} is {_either([_word(field, v) for v in cond.values], 'or')}"
    if isinstance(cond, C.Compare):
        return f"{field.label} is {_COMPARED[cond.op]} {display_value(field, cond.number)}"
    if isinstance(cond, C.Contains):
        words = [field.label_of(v) for v in cond.values]
        return f"{field.label} includes {_either(words, 'or' if cond.mode == 'any' else 'and')}"
    if isinstance(cond, C.Unanswered):
        return f"{field.label} is not answered"
    return f"{field.label} is answered"


def set_aside_reason(entry: SetAside, values: Mapping[str, Any], fields: Mapping[str, FormField]) -> str:
    """Why an answer is not used: "asked only when Oral antispasticity medication tried is Yes, and it is No"."""
    names = list(dict.fromkeys(C.fields_of(entry.condition)))
    facts: list[tuple[FormField, str]] = []
    for name in names:
        if name in entry.not_asked:
            facts.append((fields[name], "not asked"))
        elif values.get(name) is not None:
            facts.append((fields[name], _shown(fields[name], values[name])))
    if len(names) == 1 and len(facts) == 1:
        tail = "it is not asked either" if names[0] in entry.not_asked else f"it is {facts[0][1]}"
    else:
        tail = "; ".join(f"{f.label} is {shown}" for f, shown in facts)
    return f"asked only when {spoken(entry.condition, fields)}, and {tail}"


def _set_aside(entry: SetAside, values: Mapping[str, Any], fields: Mapping[str, FormField]) -> SetAsideOut:
    return SetAsideOut(field=entry.field.id, label=entry.field.label, value=display_value(entry.field, entry.value),
                       reason=set_aside_reason(entry, values, fields))


def _citation(c: Citation) -> CitationOut:
    return CitationOut(source=c.source, title=c.title, quote=c.quote, reference=c.reference)


def format_time(moment: dt.datetime) -> str:
    """UTC, second precision, 'Z': the one way a report states when it was made."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_report(pathway: Pathway, findings: Findings, generated_at: dt.datetime) -> Report:
    """The report for one referral's findings. Pure: the clock is passed in.

    Parts are plain dataclasses (no re-validation of what the core made
    itself: this is the hot path of audits and the web API); the tests validate
    whole reports against the published JSON Schema.
    """
    counts = {s: 0 for s in STATUSES}
    items = []
    gathered: list[DiscussionOut] = []
    layouts = _layout(pathway)
    aside = frozenset(e.field.id for e in findings.set_aside)
    for result in findings.results:
        counts[result.status] += 1
        layout = layouts[result.item.id]
        answers = _answers(layout, findings.values)
        citations = list(layout.citations)
        for d in result.discussion:
            citations.extend(layout.point_citations[d.id])
        items.append(ItemOut(
            id=result.item.id,
            section=result.item.section,
            section_title=layout.section_title,
            title=result.item.title,
            status=result.status,
            status_label=pathway.status_words[result.status].label,
            explanation=_explanation(pathway, result, answers, aside),
            answers=answers,
            context=_given(layout.context, findings.values),
            discussion=[d.text for d in result.discussion],
            discussion_ids=[d.id for d in result.discussion],
            citations=citations,
        ))
        gathered.extend(DiscussionOut(item=result.item.id, id=d.id, text=d.text)
                        for d in result.discussion)
    total = len(findings.results)
    applicable = total - counts["not_applicable"]
    documented = applicable - counts["missing"]
    summary = Summary(
        **counts, total=total, applicable=applicable, documented=documented,
        completeness=round(documented / applicable, 4) if applicable else 1.0,
        discussion_points=len(gathered),
        text=pathway.summary.text(documented, applicable, len(gathered)),
        note=pathway.summary.note,
    )
    notes = findings.values.get("notes")
    return Report(
        format=REPORT_FORMAT,
        pathway=_pathway_info(pathway),
        referral_id=findings.referral_id,
        generated_at=format_time(generated_at),
        disclaimer=pathway.disclaimer,
        status_words=_status_words(pathway),
        profile=[_answer(pathway.fields[name], findings.values) for name in pathway.profile],
        summary=summary,
        sections=_sections(pathway),
        items=items,
        discussion=gathered,
        evidence_introduction=pathway.evidence_introduction,
        evidence=_evidence(pathway),
        other_answers=_given(_unshown(pathway), findings.values),
        notes=str(notes) if notes else None,
        set_aside=[_set_aside(e, findings.values, pathway.fields) for e in findings.set_aside],
    )


@lru_cache(maxsize=16)
def _pathway_info(pathway: Pathway) -> PathwayInfo:
    return PathwayInfo(id=pathway.id, title=pathway.title, version=pathway.version,
                       checklist=pathway.checklist, rules_sha256=pathway.rules_sha256)


@lru_cache(maxsize=16)
def _status_words(pathway: Pathway) -> dict[Status, StatusWordOut]:
    return {s: StatusWordOut(w.label, w.icon) for s, w in pathway.status_words.items()}  # type: ignore[misc]


@lru_cache(maxsize=16)
def _sections(pathway: Pathway) -> list[SectionOut]:
    return [SectionOut(id=s.id, title=s.title, items=[i.id for i in pathway.items if i.section == s.id])
            for s in pathway.sections]


@lru_cache(maxsize=16)
def _evidence(pathway: Pathway) -> list[EvidenceOut]:
    return [EvidenceOut(source=pathway.evidence_source.source, title=pathway.evidence_source.title, quote=q)
            for q in pathway.evidence]
