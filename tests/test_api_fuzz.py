"""The JSON API fuzzed from its own OpenAPI schema (schemathesis), in-process, and hostile bodies answered 4xx.

Schemathesis reads `/openapi.json` from the app itself and sends what it generates
straight to the ASGI app (no network): bodies the schema allows (positive) and
bodies it does not (negative: wrong types, values outside the enums, missing
or extra keys, other methods, other content types). Every answer must be no
5xx, a status code the schema documents, the documented content type, and a
body matching the documented schema. Run with `--engine python` and with
`--cross-check` (durable-rules on every request, when it is installed).

Not checked: that every body outside the schema is refused (schemathesis'
`negative_data_rejection`). The API reads a referral as leniently as
`pathway check` reads a file (YES in any case, surrounding spaces, a number
as text), which a JSON Schema cannot say exactly; the schema publishes the
documented forms (yes/no/true/false/unknown/null, ...).

The CI run is small (FUZZ_EXAMPLES per operation and engine, derandomized so
CI is repeatable); a larger, random run:

    PATHWAY_FUZZ_EXAMPLES=5000 python3 -m pytest tests/test_api_fuzz.py
"""
from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from pathway.errors import BackendUnavailable
from pathway.web.app import create_app

from .conftest import RULES, Result

with warnings.catch_warnings():  # newer Starlette prefers httpx2 to httpx, and says so once, at import
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

Run = Callable[..., Result]
FIXED = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
LARGER = os.environ.get("PATHWAY_FUZZ_EXAMPLES")
FUZZ_EXAMPLES = int(LARGER or 150)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module", params=["python", "cross-check"])
def api_schema(request: pytest.FixtureRequest) -> Any:
    """The schema as the app publishes it, bound to that app (requests go to it in-process)."""
    try:
        app = create_app(RULES, clock=lambda: FIXED, cross=request.param == "cross-check")
    except BackendUnavailable:
        pytest.skip("durable-rules is not installed here")
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not LARGER,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_api_answers_as_its_schema_says(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)


# -- hostile bodies: a clear 4xx, never a 500 ------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(RULES, clock=lambda: FIXED), raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, body: bytes) -> Any:
    return client.post("/api/check", content=body, headers=JSON)


def only_problem(r: Any) -> dict[str, Any]:
    problems = r.json()["problems"]
    assert len(problems) == 1, problems
    return problems[0]  # type: ignore[no-any-return]


def cli_error(runner: Run, tmp_path: Path, body: bytes, name: str = "r.json") -> str:
    """What `pathway check` says about the same bytes in a file (its first problem line)."""
    path = tmp_path / name
    path.write_bytes(body)
    r = runner("check", str(path))
    assert r.code == 2, r.err
    return r.err.splitlines()[0]


def test_a_5_mb_string_field_is_413_before_it_is_read(client: TestClient) -> None:
    r = post(client, b'{"referral_id": "R-1", "notes": "' + b"x" * 5_000_000 + b'"}')
    assert (r.status_code, r.json()) == (413, {"detail": "the request body is larger than 256 KiB"})


def test_nesting_10000_deep_is_400(client: TestClient) -> None:
    for body in (b"[" * 10_000 + b"]" * 10_000,
                 b'{"referral_id": "R-1", "notes": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}"):
        r = post(client, body)
        assert r.status_code == 400
        assert r.json() == {"detail": "the request body is nested too deeply", "problems": [
            {"field": None, "message": "not valid JSON: nested too deeply", "line": None, "column": None}]}


def test_not_utf8_is_400_at_the_first_bad_byte(client: TestClient) -> None:
    r = post(client, b'{\n  "referral_id": "R-\xc3\xa9\xff"}')  # the column counts the \xc3\xa9 (é) as one
    assert (r.status_code, only_problem(r)) == (
        400, {"field": None, "message": "not UTF-8 text", "line": 2, "column": 22})
    assert r.json()["detail"] == "the request body is not UTF-8 text"


def test_wrong_content_types_are_415(client: TestClient) -> None:
    for kind in ("text/plain", "application/x-www-form-urlencoded", "application/problem+json", ""):
        r = client.post("/api/check", content=b'{"referral_id": "R-1"}', headers={"content-type": kind})
        assert (r.status_code, r.json()) == (415, {"detail": "send the referral as application/json"}), kind


@pytest.mark.parametrize(("value", "shown"), [
    ("1e400", "inf"), ("-1e400", "-inf"), ("1" + "0" * 5000, "inf"), ("NaN", "nan"), ("Infinity", "inf"),
])
def test_numbers_beyond_a_float_are_422_with_the_cli_message(
    client: TestClient, runner: Run, tmp_path: Path, value: str, shown: str,
) -> None:
    """A 5,000-digit integer is more than Python converts (a ValueError, once a 500): read as infinite."""
    body = f'{{"referral_id": "R-1", "age_years": {value}}}'.encode()
    r = post(client, body)
    assert r.status_code == 422
    assert only_problem(r) == {"field": "age_years", "line": 1, "column": 37, "message":
                               f"field 'age_years': {shown} is not a number; allowed: a number from 0 to 25 years"}
    assert cli_error(runner, tmp_path, body) == f"{tmp_path / 'r.json'}:1:37: {only_problem(r)['message']}"


def test_numbers_beyond_a_float_are_not_text(client: TestClient) -> None:
    """An id of 1e400 or NaN would otherwise be a report for referral 'inf' or 'nan'."""
    for value in ("1e400", "NaN", "1" + "0" * 5000):
        r = post(client, f'{{"referral_id": {value}}}'.encode())
        assert r.status_code == 422, value
        assert only_problem(r)["message"].endswith("is not an allowed value; allowed: text of at most 64 characters")
    assert post(client, b'{"referral_id": 2026014}').json()["referral_id"] == "2026014"  # a whole number still is


def test_a_number_for_text_keeps_its_characters(client: TestClient, runner: Run, tmp_path: Path) -> None:
    """JSON's 1.50 as a referral id is "1.50", not "1.5"; 1e3 is "1e3", not "1000.0"."""
    for value in ("1.50", "1e3", "-0"):
        assert post(client, f'{{"referral_id": {value}}}'.encode()).json()["referral_id"] == value
    body = b'{"referral_id": 1.50, "age_years": 30}'
    assert cli_error(runner, tmp_path, body) == (
        f"{tmp_path / 'r.json'}:1:36: field 'age_years': 30 is out of range; allowed: a number from 0 to 25 years")


def test_a_huge_integer_in_yaml_is_refused_not_a_crash(runner: Run, tmp_path: Path) -> None:
    body = ("referral_id: R-1\nage_years: " + "9" * 5000 + "\n").encode()
    assert cli_error(runner, tmp_path, body, "r.yaml") == (
        f"{tmp_path / 'r.yaml'}:2:12: field 'age_years': inf is not a number; allowed: a number from 0 to 25 years")


def test_a_key_given_twice_is_refused_where_it_is(client: TestClient, runner: Run, tmp_path: Path) -> None:
    """RFC 8259 leaves duplicate keys to each parser: a referral saying both no and yes must not be read as either."""
    body = b'{\n  "referral_id": "R-1",\n  "diagnosis_cp": "no",\n  "diagnosis_cp": "yes"\n}'
    r = post(client, body)
    assert r.status_code == 422
    assert r.json() == {"detail": "the referral is not valid: 1 problem", "problems": [
        {"field": "diagnosis_cp", "message": "duplicate key 'diagnosis_cp'", "line": 4, "column": 3}]}
    assert cli_error(runner, tmp_path, body) == f"{tmp_path / 'r.json'}:4:3: duplicate key 'diagnosis_cp'"
    assert cli_error(runner, tmp_path, body, "r.yaml") == f"{tmp_path / 'r.yaml'}:4:3: duplicate key 'diagnosis_cp'"
    nested = b'{"resourceType": "QuestionnaireResponse", "item": [{"linkId": "a", "linkId": "b"}]}'
    assert only_problem(post(client, nested)) == {
        "field": None, "message": "duplicate key 'linkId'", "line": 1, "column": 68}


def test_lone_surrogates_are_422_not_a_report_that_cannot_be_written(client: TestClient) -> None:
    r = post(client, b'{"referral_id": "R-\\ud800"}')
    assert r.status_code == 422
    assert only_problem(r)["message"] == "field 'referral_id': 'R-\\ud800' is not valid Unicode text (a lone surrogate)"
    r = post(client, b'{"referral_id": "R-1", "\\udfff": "yes"}')
    assert (r.status_code, only_problem(r)["message"]) == (422, "a field id is not valid Unicode text")
    r = post(client, b'{"resourceType": "QuestionnaireResponse", "item": [{"linkId": "\\ud800"}]}')
    assert r.status_code == 422
    assert only_problem(r)["message"].startswith("linkId '\\ud800' is not in the pathway's Questionnaire")
    assert post(client, '{"referral_id": "R-\U0001f600"}'.encode()).status_code == 200  # a real pair is text


def test_the_published_referral_schema_admits_what_the_api_reads(client: TestClient) -> None:
    """Tri-state answers as booleans and words, unknown spelled out, one option for a multi-choice."""
    referral = client.get("/openapi.json").json()["components"]["schemas"]["Referral"]
    tristate = referral["properties"]["diagnosis_cp"]
    assert tristate["anyOf"] == [{"type": "boolean"}, {"type": "string", "enum": [
        "yes", "no", "true", "false", "unknown", ""]}, {"type": "null"}]
    assert tristate["description"] == "Allowed: yes, no or unknown (true/false/null also accepted)."
    impact = referral["properties"]["functional_impact"]["anyOf"][0]
    assert impact["allOf"] == [{"if": {"contains": {"const": "none"}}, "then": {"items": {"const": "none"}}}]
    body = {"referral_id": "R-1", "diagnosis_cp": True, "oral_tried": "false", "local_tried": "unknown",
            "functional_impact": "movement", "age_years": "", "referral_date": "unknown", "gmfcs_level": ""}
    r = client.post("/api/check", content=json.dumps(body), headers=JSON)
    assert r.status_code == 200, r.text
    answers = {a["field"]: a["value"] for i in r.json()["items"] for a in i["answers"]}
    assert (answers["diagnosis_cp"], answers["oral_tried"], answers["functional_impact"]) == ("yes", "no", "Movement")
