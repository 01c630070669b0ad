"""Typed models of the pathway files, and the compiled pathway the engine uses.

The `*Spec` models mirror the YAML one to one (unknown keys rejected);
conditions stay raw there and are parsed by `conditions.Parser`, which knows
the form. `Pathway` is the checked, compiled result: everything downstream
(engine, report, web, exports) reads only that.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .conditions import Condition
from .fieldkinds import FieldKind, Kind, KINDS

STATUSES = ("met", "not_met", "missing", "not_applicable")
Status = Literal["met", "not_met", "missing", "not_applicable"]
Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)]
"""Ids of sections, items, points and sources: lower-case, safe in every output format."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- pathway.yaml -----------------------------------------------------------

class SourceSpec(_Spec):
    """A source cited by name and section (not a bundled seed): no quote to verify."""

    id: Id
    title: str
    publisher: str | None = None
    url: str | None = None


class SectionSpec(_Spec):
    id: Id
    title: str
    description: str | None = None


class EvidenceSpec(_Spec):
    source: Id
    introduction: str
    quotes: list[str] = Field(min_length=1)


class StatusWordSpec(_Spec):
    """What a person reads for one status: a word and an icon (never colour alone)."""

    label: str = Field(min_length=1, max_length=40)
    icon: str = Field(min_length=1, max_length=2)


class PluralSpec(_Spec):
    zero: str
    one: str
    other: str = Field(description="with {count} for the number")


class SummaryWordingSpec(_Spec):
    """The per-referral summary: documentation and points to discuss, never a tally of answers."""

    sentence: str = Field(description="with {documented}, {applicable} and {points}")
    points: PluralSpec
    note: str


class PathwaySpec(_Spec):
    id: Id
    title: str
    short_title: str | None = Field(
        None, min_length=1, max_length=60,
        description="what a browser tab, a window title and a CDS card call the checklist; default: title")
    version: str
    checklist: str
    description: str
    canonical: str | None = Field(
        None, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s|#]*[^\s|#/]$",
        description="base URI of the pathway's FHIR artefacts (Questionnaire, code systems); "
                    "default urn:itb-pathway:<id>",
    )
    seeds: str = Field(description="folder of the seed documents, relative to this file")
    disclaimer: str
    sources: list[SourceSpec] = []
    sections: list[SectionSpec] = Field(min_length=1)
    evidence: EvidenceSpec
    explanations: dict[Literal["met", "not_met", "missing", "not_applicable"], str]
    status_words: dict[Literal["met", "not_met", "missing", "not_applicable"], StatusWordSpec]
    summary: SummaryWordingSpec
    profile: list[Id] = Field([], description="fields shown at the head of a report: the case profile")


# --- seeds/manifest.yaml ----------------------------------------------------

class SeedSpec(_Spec):
    id: Id
    file: str
    title: str
    what: str


class SeedManifest(_Spec):
    seeds: list[SeedSpec] = Field(min_length=1)


# --- form.yaml --------------------------------------------------------------

class OptionSpec(_Spec):
    value: str
    label: str
    exclusive: bool = Field(False, description="a multi-choice option that cannot be combined with others")


class FieldSpec(_Spec):
    id: Id
    type: FieldKind
    label: str
    help: str | None = None
    required: bool = False
    options: list[OptionSpec] | None = None
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    max_length: int | None = None
    shown_when: Any = None
    source: str | None = Field(None, description="where a field not in checklist-v1 comes from")


class FormSectionSpec(_Spec):
    id: Id
    title: str
    description: str | None = None
    fields: list[Any] = Field(min_length=1, description="each validated as a FieldSpec on its own")


class FormSpec(_Spec):
    sections: list[FormSectionSpec] = Field(min_length=1)


# --- items.yaml -------------------------------------------------------------

class CitationSpec(_Spec):
    source: Id
    quote: str | None = None
    reference: str | None = None


class DiscussionSpec(_Spec):
    id: Id
    text: str
    when: Any = None
    when_status: list[Literal["met", "not_met", "missing", "not_applicable"]] | None = None
    citations: list[CitationSpec] = []


class ItemSpec(_Spec):
    id: Id
    section: Id
    title: str
    holds: Any
    applies_when: Any = None
    explain: dict[Literal["met", "not_met", "missing", "not_applicable"], str] = {}
    citations: list[CitationSpec] = Field(min_length=1)
    discussion: list[DiscussionSpec] = []
    source: str | None = Field(None, description="where an item not in checklist-v1 comes from")
    shows: list[Id] = Field([], description="fields whose answers are shown with the item for context; "
                                           "they do not decide its status")


class ItemsSpec(_Spec):
    items: list[Any] = Field(min_length=1, description="each validated as an ItemSpec on its own")


# --- examples/*.yaml --------------------------------------------------------

class CaseSpec(_Spec):
    name: str
    description: str | None = None
    referral: dict[str, Any]
    expect: dict[str, Literal["met", "not_met", "missing", "not_applicable"]]
    expect_discussion: list[Id] | None = None


class ExamplesSpec(_Spec):
    cases: list[Any] = Field(min_length=1, description="each validated as a CaseSpec on its own")


# --- compiled ---------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    value: str
    label: str
    exclusive: bool = False


@dataclass(frozen=True)
class FormField:
    id: str
    type: FieldKind
    label: str
    section: str
    help: str | None = None
    required: bool = False
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    max_length: int | None = None
    shown_when: Condition | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", FieldKind(self.type))  # also when given as its word, "tristate"

    @property
    def kind(self) -> Kind:
        """What the field's type means to every part of the tool (`fieldkinds`)."""
        return KINDS[self.type]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    @property
    def codes(self) -> tuple[str, ...]:
        """The values a coded answer takes, in order: its kind's own (a tri-state's yes, no) or the form's options."""
        return self.kind.codes or self.values

    def label_of(self, value: str) -> str:
        return next((o.label for o in self.options if o.value == value), value)


@dataclass(frozen=True)
class FormSection:
    id: str
    title: str
    description: str | None
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class Citation:
    source: str
    title: str
    quote: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class DiscussionPoint:
    id: str
    text: str
    when: Condition | None
    when_status: tuple[str, ...]
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    title: str
    holds: Condition
    applies_when: Condition | None
    explain: Mapping[str, str]
    citations: tuple[Citation, ...]
    discussion: tuple[DiscussionPoint, ...]
    source: str | None = None
    shows: tuple[str, ...] = ()
    """Fields shown with the item for context (its own conditions' fields are shown anyway)."""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class Seed:
    id: str
    file: str
    title: str
    what: str
    text: str


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    line: int | None
    referral: dict[str, Any]
    expect: dict[str, str]
    expect_discussion: tuple[str, ...] | None
    description: str | None = None


@dataclass(frozen=True)
class StatusWord:
    label: str
    icon: str


@dataclass(frozen=True)
class SummaryWording:
    sentence: str
    points: tuple[str, str, str]
    """zero, one, other (with {count})."""
    note: str

    def text(self, documented: int, applicable: int, points: int) -> str:
        """The summary sentence for one referral, from the pathway's own words."""
        zero, one, other = self.points
        said = zero if points == 0 else one if points == 1 else other.format(count=points)
        return self.sentence.format(documented=documented, applicable=applicable, points=said)


@dataclass(frozen=True, eq=False)
class Pathway:
    """A loaded, fully checked pathway: the only thing the engine sees."""

    id: str
    title: str
    short_title: str   # a browser tab's name for the pathway's pages
    version: str
    checklist: str
    description: str
    disclaimer: str
    rules_sha256: str
    sections: tuple[Section, ...]
    form: tuple[FormSection, ...]
    items: tuple[Item, ...]
    evidence_source: Citation
    evidence_introduction: str
    evidence: tuple[str, ...]
    explanations: Mapping[str, str]
    status_words: Mapping[str, StatusWord]
    summary: SummaryWording
    seeds: tuple[Seed, ...]
    sources: tuple[SourceSpec, ...]
    cases: tuple[Case, ...] = ()
    fields: dict[str, FormField] = field(default_factory=dict)
    profile: tuple[str, ...] = ()
    """Field ids of the case profile, in the order shown."""
    canonical: str | None = None
    """Base URI of the pathway's FHIR artefacts, as set in pathway.yaml (see `pathway.interop.fhir`)."""

    def __post_init__(self) -> None:
        if not self.fields:
            object.__setattr__(self, "fields", {f.id: f for s in self.form for f in s.fields})

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)
