"""The JSON API: a referral in, the CLI's JSON report out (byte for byte), and the pathway definition.

Documented in /openapi.json; `components` adds the request body's schemas,
generated from the pathway's form, to the schemas FastAPI derives.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ...definition import Pathway
from ...errors import InputError, Problem
from ...report import Report
from ..api import (DetailOut, PathwayOut, ProblemOut, ProblemsOut, problems_out, questionnaire_response_schema,
                   referral_schema)
from ..dependencies import SiteDep
from ..formdata import media_type
from ..jsonbody import Unreadable, read_referral

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemsOut, "description": "the body is not UTF-8 JSON (where it stops being so, when known)"},
    413: {"model": DetailOut, "description": "the body is larger than the limit"},
    415: {"model": DetailOut, "description": "the body is not application/json"},
    422: {"model": ProblemsOut, "description": "the referral is not valid (a key given twice included): every "
                                               "problem, with the CLI's messages"},
    500: {"model": DetailOut, "description": "no report: under --cross-check the two engines disagreed (named), "
                                             "or an internal error"},
}

router = APIRouter()


def components(pathway: Pathway) -> dict[str, dict[str, Any]]:
    """The schemas `POST /api/check`'s request body refers to."""
    return {"Referral": referral_schema(pathway), "QuestionnaireResponse": questionnaire_response_schema()}


def _json(body: ProblemsOut, status: int) -> Response:
    return Response(body.model_dump_json(), status_code=status, media_type="application/json")


def _invalid(problems: list[Problem]) -> Response:
    return _json(problems_out(problems), 422)


@router.post(
    "/api/check", response_model=Report, responses=ERRORS, summary="The checklist report for one referral",
    description="Takes one referral as JSON (field id to value, the ids of the pathway's form, or a FHIR "
                "QuestionnaireResponse) and returns the report exactly as `pathway check --format json` writes it.",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [
        {"$ref": "#/components/schemas/Referral"}, {"$ref": "#/components/schemas/QuestionnaireResponse"}]}}}}},
)
async def api_check(request: Request, site: SiteDep) -> Response:
    if media_type(request.headers.get("content-type")) != "application/json":
        return JSONResponse({"detail": "send the referral as application/json"}, status_code=415)
    try:
        values = read_referral(site.pathway, await request.body())
    except Unreadable as exc:
        if exc.problem is not None:  # a key given twice: valid JSON, but which answer was meant cannot be known
            return _invalid([exc.problem])
        return _json(ProblemsOut(detail=exc.detail, problems=[
            ProblemOut(field=None, message=exc.message, line=exc.line, column=exc.column)]), 400)
    except InputError as exc:
        return _invalid(exc.problems)
    return Response(site.report(values).to_json(), media_type="application/json")


@router.get("/api/pathway", response_model=PathwayOut, summary="The pathway definition: form fields, items, version")
async def api_pathway(site: SiteDep) -> Response:
    return Response(site.definition, media_type="application/json")
