"""The report: one typed object, built by the core, rendered by every format.

HTML, Markdown and JSON are all views of `Report`, so they cannot say different
things. Its JSON form is the public report contract (schema in
`pathway/schema/report.schema.json`). A report never carries an overall
verdict: only per-item statuses, why, sources and points to discuss.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import conditions as C
from .definition import STATUSES, Citation, FormField, Pathway
from .engine import Findings, ItemResult

REPORT_FORMAT = "itb-pathway-report/1"

STATUS_LABELS = {
    "met": "Met",
    "not_met": "Not met",
    "missing": "Missing",
    "not_applicable": "Not applicable",
}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathwayInfo(_Out):
    id: str
    title: str
    version: str
    checklist: str
    rules_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Summary(_Out):
    met: int
    not_met: int
    missing: int
    not_applicable: int
    total: int
    applicable: int = Field(description="items not not_applicable")
    documented: int = Field(description="applicable items that are not missing")
    completeness: float = Field(ge=0, le=1, description="documented / applicable (1 when nothing applies)")


class CitationOut(_Out):
    source: str
    title: str
    quote: str | None = None
    reference: str | None = None


class Answer(_Out):
    field: str
    label: str
    value: str = Field(description="the answer as shown, or 'not documented'")
    documented: bool


class ItemOut(_Out):
    id: str
    section: str
    section_title: str
    title: str
    status: Literal["met", "not_met", "missing", "not_applicable"]
    status_label: str
    explanation: str
    answers: list[Answer]
    discussion: list[str]
    discussion_ids: list[str]
    citations: list[CitationOut]


class SectionOut(_Out):
    id: str
    title: str
    items: list[str] = Field(description="item ids in this section, in order")


class DiscussionOut(_Out):
    item: str
    id: str
    text: str


class EvidenceOut(_Out):
    source: str
    title: str
    quote: str


class Report(_Out):
    format: Literal["itb-pathway-report/1"] = REPORT_FORMAT
    pathway: PathwayInfo
    referral_id: str
    generated_at: str
    disclaimer: str
    summary: Summary
    sections: list[SectionOut]
    items: list[ItemOut]
    discussion: list[DiscussionOut] = Field(description="every item's discussion points, gathered for the MDT")
    evidence_introduction: str
    evidence: list[EvidenceOut]
    notes: str | None = None

    def items_in(self, section_id: str) -> list[ItemOut]:
        return [i for i in self.items if i.section == section_id]

    def to_json(self) -> str:
        """The report contract, byte-stable: fixed key order, UTF-8, newline-terminated."""
        return self.model_dump_json(indent=2, exclude_none=True) + "\n"


def report_schema() -> str:
    """The JSON Schema of the report contract, as published in pathway/schema/."""
    import json

    schema = Report.model_json_schema(mode="serialization")
    schema.pop("title", None)
    head = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/itb-pathway/report-1.schema.json",
        "title": f"ITB pathway checklist report ({REPORT_FORMAT})",
    }
    return json.dumps({**head, **schema}, indent=2, ensure_ascii=False) + "\n"


def display_value(field: FormField, value: Any) -> str:
    """How an answer is shown to a person (labels, units); unknown is 'not documented'."""
    if value is None:
        return "not documented"
    if field.type == "multichoice":
        return ", ".join(field.label_of(v) for v in value)
    if field.type == "choice":
        return field.label_of(value)
    if field.type == "number":
        return f"{value:g}" + (f" {field.unit}" if field.unit else "")
    return str(value)


def _answers(pathway: Pathway, result: ItemResult, values: Mapping[str, Any]) -> list[Answer]:
    names: list[str] = []
    for cond in (result.item.applies_when, result.item.holds):
        if cond is not None:
            names.extend(n for n in C.fields_of(cond) if n not in names)
    out = []
    for name in names:
        field = pathway.fields[name]
        value = values.get(name)
        out.append(Answer(field=name, label=field.label, value=display_value(field, value), documented=value is not None))
    return out


def _explanation(pathway: Pathway, result: ItemResult, answers: list[Answer]) -> str:
    """One line saying why: the item's wording for this status, then the answers that led to it."""
    lead = result.item.explain.get(result.status) or pathway.explanations[result.status]
    given = [f"{a.label}: {a.value}" for a in answers if a.documented]
    absent = [a.label for a in answers if not a.documented]
    parts = [lead]
    if given:
        parts.append("Answers: " + "; ".join(given) + ".")
    if absent and result.status == "missing":
        parts.append("Not documented: " + "; ".join(absent) + ".")
    return " ".join(parts)


def _citation(c: Citation) -> CitationOut:
    return CitationOut(source=c.source, title=c.title, quote=c.quote, reference=c.reference)


def format_time(moment: dt.datetime) -> str:
    """UTC, second precision, 'Z': the one way a report states when it was made."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_report(pathway: Pathway, findings: Findings, generated_at: dt.datetime) -> Report:
    """The report for one referral's findings. Pure: the clock is passed in."""
    counts = {s: 0 for s in STATUSES}
    items = []
    gathered = []
    section_titles = {s.id: s.title for s in pathway.sections}
    for result in findings.results:
        counts[result.status] += 1
        answers = _answers(pathway, result, findings.values)
        items.append(ItemOut(
            id=result.item.id,
            section=result.item.section,
            section_title=section_titles[result.item.section],
            title=result.item.title,
            status=result.status,  # type: ignore[arg-type]
            status_label=STATUS_LABELS[result.status],
            explanation=_explanation(pathway, result, answers),
            answers=answers,
            discussion=[d.text for d in result.discussion],
            discussion_ids=[d.id for d in result.discussion],
            citations=[_citation(c) for c in result.item.citations]
            + [_citation(c) for d in result.discussion for c in d.citations if c not in result.item.citations],
        ))
        gathered.extend(DiscussionOut(item=result.item.id, id=d.id, text=d.text) for d in result.discussion)
    total = len(findings.results)
    applicable = total - counts["not_applicable"]
    documented = applicable - counts["missing"]
    summary = Summary(
        **counts, total=total, applicable=applicable, documented=documented,
        completeness=round(documented / applicable, 4) if applicable else 1.0,
    )
    notes = findings.values.get("notes")
    return Report(
        pathway=PathwayInfo(id=pathway.id, title=pathway.title, version=pathway.version,
                            checklist=pathway.checklist, rules_sha256=pathway.rules_sha256),
        referral_id=findings.referral_id,
        generated_at=format_time(generated_at),
        disclaimer=pathway.disclaimer,
        summary=summary,
        sections=[SectionOut(id=s.id, title=s.title, items=[i.id for i in pathway.items if i.section == s.id])
                  for s in pathway.sections],
        items=items,
        discussion=gathered,
        evidence_introduction=pathway.evidence_introduction,
        evidence=[EvidenceOut(source=pathway.evidence_source.source, title=pathway.evidence_source.title, quote=q)
                  for q in pathway.evidence],
        notes=str(notes) if notes else None,
    )
