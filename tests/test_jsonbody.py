"""The one JSON referral reader of the web app: refusals with their places, problems located in the body."""
from __future__ import annotations

import json
from typing import Any

import pytest

from pathway.definition import Pathway
from pathway.errors import InputError
from pathway.web.jsonbody import Found, Unreadable, read_referral

from .conftest import example


def unreadable(pathway: Pathway, body: bytes) -> Unreadable:
    with pytest.raises(Unreadable) as caught:
        read_referral(pathway, body)
    return caught.value


def test_a_valid_body_is_the_validated_referral(pathway: Pathway) -> None:
    assert read_referral(pathway, json.dumps(example()).encode("utf-8"))["referral_id"] == "R-001"


def test_bodies_that_are_not_json_are_refused_with_where(pathway: Pathway) -> None:
    bad = unreadable(pathway, b'{\n "referral_id": "R-\xff"}')
    assert (bad.kind, bad.message, bad.line, bad.column) == ("not-utf8", "not UTF-8 text", 2, 20)
    bad = unreadable(pathway, b'{"referral_id": "R-1",}')
    assert (bad.kind, bad.reason, bad.line, bad.column) == (
        "json-syntax", "Expecting property name enclosed in double quotes", 1, 23)
    assert unreadable(pathway, b"[" * 100_000).kind == "too-deep"


def test_a_key_given_twice_is_located_and_names_its_field(pathway: Pathway) -> None:
    bad = unreadable(pathway, b'{"referral_id": "R-1",\n "referral_id": "R-2"}')
    assert bad.kind == "duplicate-key" and bad.problem is not None
    assert (bad.problem.field, bad.problem.line, bad.problem.col) == ("referral_id", 2, 2)


def test_problems_are_located_in_the_body_where_find_says_the_referral_is(pathway: Pathway) -> None:
    def inner(data: Any) -> Found | None:
        return (data["form"], ("form",)) if "form" in data else None

    assert read_referral(pathway, b'{"other": 1}', inner) is None
    with pytest.raises(InputError) as caught:
        read_referral(pathway, b'{"form": {"referral_id": "R-1",\n  "gmfcs_level": "VI"}}', inner)
    [problem] = caught.value.problems
    assert (problem.field, problem.line) == ("gmfcs_level", 2)
