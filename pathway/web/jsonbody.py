"""A JSON request body read as a referral: the one reader behind `POST /api/check` and CDS Hooks.

It refuses what `pathway check` refuses in a .json file (a key given twice
included), validates by the shared path (`service.referral_values`, which
reads a FHIR QuestionnaireResponse too) and locates every problem by line and
column in the body. Each caller words the refusals for its own protocol.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal, overload

from ..definition import Pathway
from ..errors import InputError, Problem
from ..referral import Values, number_for_text
from ..service import referral_values
from ..yamlsrc import DuplicateKey, Located, LoadFailure, Path_, duplicate_problem, load_json, parse_json

FILE = "request"
"""What problems name as their file."""

Found = tuple[Any, Path_]
"""The referral (or QuestionnaireResponse) inside the body, and its place there."""

Find = Callable[[Any], Found | None]
"""Where in a body's data the referral is; None when the body holds none. May refuse the body by raising."""

Kind = Literal["not-utf8", "json-syntax", "too-deep", "duplicate-key"]


class Unreadable(Exception):
    """The body is not UTF-8 JSON, or it names a key twice: refused before any answer is read.

    `detail` says what is wrong with the body, `message` is the problem as the
    CLI words it, `reason` the parser's own words (syntax and duplicates).
    `problem` is set for a key given twice: valid JSON, located, with its field.
    """

    def __init__(self, kind: Kind, detail: str, message: str, *, reason: str = "", line: int | None = None,
                 column: int | None = None, problem: Problem | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.message = message
        self.reason = reason
        self.line = line
        self.column = column
        self.problem = problem


def _whole(data: Any) -> Found:
    return data, ()


@overload
def read_referral(pathway: Pathway, body: bytes) -> Values: ...
@overload
def read_referral(pathway: Pathway, body: bytes, find: Find) -> Values | None: ...


def read_referral(pathway: Pathway, body: bytes, find: Find = _whole) -> Values | None:
    """The valid referral in `body` (by default the whole body), or None when `find` finds none.

    `Unreadable` when the body is not UTF-8 JSON; `InputError` with every
    problem, located in the body, when the referral is not valid.
    """
    text, data = _decode(body, pathway)
    found = find(data)
    if found is None:
        return None
    value, at = found
    if not number_for_text(value, pathway.fields):  # whose characters only the reading with positions has
        try:
            return referral_values(pathway, Located(FILE, data), value, at)
        except InputError:
            pass
    try:  # locate each problem in the body (only now: positions cost a second parse)
        doc = load_json(text, FILE)
    except LoadFailure:
        doc = Located(FILE, data)
    return referral_values(pathway, doc, value, at)


def _decode(body: bytes, pathway: Pathway) -> tuple[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(body, exc)
        raise Unreadable("not-utf8", "the request body is not UTF-8 text", "not UTF-8 text",
                         line=line, column=column) from None
    try:
        return text, parse_json(text)  # the CLI's JSON reading: a key given twice is refused, as in YAML
    except json.JSONDecodeError as exc:
        raise Unreadable("json-syntax", "the request body is not valid JSON", f"not valid JSON: {exc.msg}",
                         reason=exc.msg, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise Unreadable("too-deep", "the request body is nested too deeply", "not valid JSON: nested too deeply"
                         ) from None
    except DuplicateKey as exc:  # which answer was meant cannot be known
        problem = replace(duplicate_problem(text, FILE, exc), field=exc.key if exc.key in pathway.fields else None)
        raise Unreadable("duplicate-key", "the request body is not valid JSON", problem.message, reason=str(exc),
                         line=problem.line, column=problem.col, problem=problem) from None


def _position(body: bytes, exc: UnicodeDecodeError) -> tuple[int, int]:
    """Line and column (in characters) of the first byte that is not UTF-8: the bytes before it decode."""
    before = body[: exc.start].decode("utf-8")
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
