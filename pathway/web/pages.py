"""The web pages, rendered from `templates/web/` by the shared (autoescaping) Jinja environment.

The form is generated from the pathway's form definition: nothing here names
a field. A dependent question carries its `shown_when` condition as JSON for
the browser script; without the script every question is shown, with a note
saying when it is asked.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from markupsafe import Markup

from ..conditions import describe, to_data
from ..definition import FormField, FormSection, Pathway
from ..errors import Code, Problem
from ..render import environment
from ..report import Report
from .formdata import Answers

UNKNOWN_LABEL = "Unknown / not documented"
RADIO_LIMIT = 6
"""Choices with more options than this are a select rather than radio buttons."""


@dataclass(frozen=True)
class FieldView:
    """One form field with what the template needs beyond the definition."""

    field: FormField
    shown_when_json: str | None
    shown_when_text: str | None

    @property
    def control(self) -> str:
        control = self.field.kind.control
        return "radios" if control == "select" and len(self.field.options) <= RADIO_LIMIT else control

    @property
    def options(self) -> list[tuple[str, str]]:
        """(value, label) pairs, with the explicit unknown answer where one value must be chosen."""
        f = self.field
        pairs = list(f.kind.answers) or [(o.value, o.label) for o in f.options]
        return pairs + [("unknown", UNKNOWN_LABEL)] if f.kind.coded and not f.kind.multiple else pairs

    @property
    def exclusive(self) -> frozenset[str]:
        return frozenset(o.value for o in self.field.options if o.exclusive)

    @property
    def date_message(self) -> str:
        """What the browser says of a date it cannot read, in the server's words (before asking it)."""
        return DATE_MESSAGE

    @property
    def first_input_id(self) -> str:
        """Where the error summary's link for this field lands."""
        if self.control in ("radios", "checkboxes"):
            return f"f-{self.field.id}-0"
        return f"f-{self.field.id}"


@dataclass(frozen=True)
class SectionView:
    section: FormSection
    fields: tuple[FieldView, ...]


@dataclass
class FormState:
    """What one rendering of the form shows: the answers, the messages, the checklist beside it."""

    answers: Answers = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)
    """(anchor id, message) for the error summary at the top."""
    file_errors: list[str] = field(default_factory=list)
    notice: str | None = None
    left_out: int = 0


DATE_MESSAGE = ("No date is stored from this: type a date of the calendar as year-month-day (YYYY-MM-DD), "
                "such as 2026-10-14.")
"""Beside a date field, whose box keeps what was typed: nothing is stored until it reads as one date."""


def plain_message(problem: Problem, fields: Mapping[str, FormField]) -> str:
    """A core validation message, reworded to stand beside its field."""
    message = problem.message
    name = problem.field
    if problem.code is Code.MISSING_REQUIRED_FIELD:
        message = "This is required: it cannot be left empty."
    elif problem.code is Code.NOT_A_DATE and name in fields:
        message = DATE_MESSAGE
    elif name is not None and name in fields:
        if message.startswith(f"field '{name}': "):
            message = message[len(f"field '{name}': "):]
        elif message.startswith(f"field '{name}' "):
            message = "This answer " + message[len(f"field '{name}' "):]
    return message[:1].upper() + message[1:]


class Pages:
    """Renders the form page, the live checklist panel and error pages for one pathway."""

    def __init__(self, pathway: Pathway) -> None:
        self.pathway = pathway
        labels = {f.id: f.label for f in pathway.fields.values()}
        self.sections = tuple(
            SectionView(s, tuple(
                FieldView(
                    f,
                    json.dumps(to_data(f.shown_when), separators=(",", ":")) if f.shown_when else None,
                    _condition_text(describe(f.shown_when, labels)) if f.shown_when else None,
                )
                for f in s.fields
            ))
            for s in pathway.form
        )
        self.views = {v.field.id: v for s in self.sections for v in s.fields}
        self.env = environment()

    def anchor(self, field_id: str | None) -> str:
        view = self.views.get(field_id or "")
        return view.first_input_id if view else "saved-file"

    def form(self, state: FormState, report: Report) -> str:
        return self.env.get_template("web/form.html").render(
            pathway=self.pathway, sections=self.sections, state=state, report=report,
            panel=Markup(self.panel(report, state.left_out)), selected=selected, single=single,
        )

    def panel(self, report: Report, left_out: int = 0) -> str:
        return self.env.get_template("web/_panel.html").render(report=report, left_out=left_out)

    def error(self, status: int, message: str) -> str:
        return self.env.get_template("web/error.html").render(pathway=self.pathway, status=status, message=message)


def _condition_text(text: str) -> str:
    """`(A = yes AND B ∈ {x, y})` reads better without the outer brackets."""
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def selected(answers: Answers, field_id: str) -> Sequence[str]:
    """The chosen values of a field as a list, whatever its kind (for the templates)."""
    value = answers.get(field_id)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def single(answers: Answers, field_id: str) -> str:
    value = answers.get(field_id)
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""

