"""What the web handlers share: one loaded pathway, the clock, and the core's validate and check.

Handlers stay thin: they read a request, call one method here, and answer.
Nothing here evaluates a referral itself: validation is `referral.validate`
(the CLI's messages) and evaluation is `service.check`. Nothing here knows the
web framework either: a page is its HTML and status, the router answers.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..backends import get_evaluator
from ..definition import Pathway
from ..errors import Code, CrossCheckMismatch, Problem
from ..referral import Values, validate
from ..report import Report, report_adapter
from ..service import backends_for, check
from ..yamlsrc import Located
from .api import pathway_out
from .formdata import Answers
from .pages import FormState, Pages, plain_message

Clock = Callable[[], dt.datetime]
PREVIEW_ID = "preview"
"""Stands in for a required answer not yet given, so the checklist can be shown while the form is filled in."""


class Page(NamedTuple):
    """A rendered page and the HTTP status to answer it with."""

    html: str
    status: int = 200


def is_required_missing(problem: Problem) -> bool:
    return problem.code is Code.MISSING_REQUIRED_FIELD


def disagreement(exc: CrossCheckMismatch) -> str:
    """Why no report is shown under --cross-check, as every page and JSON answer says it."""
    return ("The two evaluation engines disagreed on this referral, so no checklist is shown: "
            + "; ".join(exc.differences) + ". Please report this; the referral itself may be fine.")


class Site:
    """One pathway served: validation, evaluation and the form page, shared by every handler."""

    def __init__(self, pathway: Pathway, clock: Clock, engine: str = "python", cross: bool = False) -> None:
        self.pathway = pathway
        self.fields = pathway.fields
        self.field_tuple = tuple(pathway.fields.values())
        self.clock = clock
        self.engine = engine
        self.cross = cross
        self.pages = Pages(pathway)
        self.definition = pathway_out(pathway).model_dump_json(indent=2).encode("utf-8") + b"\n"  # GET /api/pathway
        for name in backends_for(engine, cross):  # compiled now: a backend missing here fails at start, not per request
            get_evaluator(name, pathway)
        report_adapter()  # the JSON reports' serializer, built at start as well, not at the first request

    def validate(self, data: Any, doc: Located | None = None) -> tuple[Values | None, list[Problem]]:
        return validate(data, self.field_tuple, doc or Located("form", data))

    def report(self, values: Mapping[str, Any]) -> Report:
        return check(self.pathway, values, at=self.clock(), engine=self.engine, cross=self.cross)

    def preview(self, data: Mapping[str, Any]) -> tuple[Report, list[Problem], int]:
        """The checklist for what can be read so far: answers with problems are left out (as unknown)."""
        values, problems = self.validate(dict(data))
        if values is None:
            bad = {p.field for p in problems if p.field and not is_required_missing(p)}
            readable = {k: v for k, v in data.items() if k not in bad and k in self.fields}
            for f in self.field_tuple:
                if f.required and f.kind.free_text and not readable.get(f.id):
                    readable[f.id] = PREVIEW_ID
            values, _ = self.validate(readable)
            if values is None:  # a required field of another type, say: show the blank checklist
                values = {f.id: (PREVIEW_ID if f.required else None) for f in self.field_tuple}
            return self.report(values), problems, len(bad)
        return self.report(values), [], 0

    def field_errors(self, problems: list[Problem], *, required: bool) -> dict[str, list[str]]:
        """Messages to show beside each field (a required answer left empty only when `required`)."""
        out: dict[str, list[str]] = {}
        for p in problems:
            if p.field in self.fields and (required or not is_required_missing(p)):
                out.setdefault(p.field, []).append(plain_message(p, self.fields))
        return out

    def form_page(
        self, answers: Answers, problems: list[Problem], data: Mapping[str, Any], *, status: int = 200,
        required: bool = True, notice: str | None = None, file_errors: list[str] | None = None,
        located: bool = False,
    ) -> Page:
        """The form with these answers, a message beside each field at fault and the checklist beside it."""
        report, _, left_out = self.preview(data)
        errors = self.field_errors(problems, required=required)
        summary: list[tuple[str, str]] = []
        for p in problems:
            if not required and is_required_missing(p):
                continue
            if located:
                text = str(p)
            elif p.field in self.fields:
                text = f"{self.fields[p.field].label}: {plain_message(p, self.fields)}"
            else:
                text = p.message
            summary.append((self.pages.anchor(p.field), text))
        summary.extend(("saved-file", e) for e in file_errors or [])
        state = FormState(answers=answers, errors=errors, summary=summary, file_errors=file_errors or [],
                          notice=notice, left_out=left_out)
        return Page(self.pages.form(state, report), status)

    def summary_text(self, report: Report) -> str:
        return report.summary.text
