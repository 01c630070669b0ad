"""The web front end: the clinician's form with the checklist beside it, and a JSON API.

Thin handlers over the core: each reads the request, calls `Site` (which calls
`referral.validate` and `service.check`), and answers. The report page is the
CLI's HTML byte for byte; the API's JSON report is the CLI's JSON byte for byte.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import __version__
from ..errors import CrossCheckMismatch, InputError
from ..loader import load_pathway
from ..render import render
from ..report import Report
from ..resources import default_pathway_dir
from ..service import now
from ..yamlsrc import LoadFailure, load_text
from .api import (DetailOut, PathwayOut, ProblemOut, ProblemsOut, pathway_out, problems_out,
                  questionnaire_response_schema, referral_schema)
from .cds import add_cds_routes
from .formdata import BodyError, FormData, answers_of, form_answers, media_type, parse_form, referral_data
from .jsonbody import Unreadable, read_referral
from .saved import referral_yaml, safe_filename_part, shown_filename
from .security import DATA_CSP, MAX_BODY, Guard, report_csp
from .site import Clock, Site

STATIC = Path(__file__).resolve().parent / "static"
DOWNLOADS = {
    "html": ("text/html; charset=utf-8", "checklist-{}.html"),
    "md": ("text/markdown; charset=utf-8", "checklist-{}.md"),
    "json": ("application/json", "checklist-{}.json"),
    "yaml": ("application/yaml; charset=utf-8", "referral-{}.yaml"),
}
API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ProblemsOut, "description": "the body is not UTF-8 JSON (where it stops being so, when known)"},
    413: {"model": DetailOut, "description": "the body is larger than the limit"},
    415: {"model": DetailOut, "description": "the body is not application/json"},
    422: {"model": ProblemsOut, "description": "the referral is not valid (a key given twice included): every "
                                               "problem, with the CLI's messages"},
    500: {"model": DetailOut, "description": "no report: under --cross-check the two engines disagreed (named), "
                                             "or an internal error"},
}


def _no_telemetry() -> dict[str, Any]:
    """FastAPI versions with native OpenTelemetry can record request bodies and exception messages:
    referral answers. Turned off, whatever the environment says."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                          "auto_configure": False}}


def create_app(
    pathway_dir: str | Path | None = None, *, clock: Clock | None = None, engine: str = "python",
    cross: bool = False, max_body: int = MAX_BODY, allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The app for one pathway (default: the bundled one). `clock` fixes report times (tests).

    `allowed_hosts`: Host header names to answer; others get 400 (a web page elsewhere cannot reach a
    server on loopback by DNS rebinding). None answers any host (tests, or behind a proxy).
    """
    pathway = load_pathway(pathway_dir or default_pathway_dir())
    site = Site(pathway, clock or now, engine, cross)
    definition = pathway_out(pathway).model_dump_json(indent=2).encode("utf-8") + b"\n"
    app = FastAPI(
        **_no_telemetry(),
        title="ITB pathway checklist",
        version=__version__,
        description="An advisory checklist for intrathecal baclofen (ITB) referrals of children with cerebral palsy. "
                    + pathway.disclaimer,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.site = site

    async def read_form(request: Request) -> FormData:
        return parse_form(await request.body(), request.headers.get("content-type"))

    @app.exception_handler(CrossCheckMismatch)
    async def disagreement(request: Request, exc: CrossCheckMismatch) -> Response:
        """The two engines disagreed (--cross-check): no report is shown, and the user is told why."""
        message = ("The two evaluation engines disagreed on this referral, so no checklist is shown: "
                   + "; ".join(exc.differences) + ". Please report this; the referral itself may be fine.")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=500)
        return HTMLResponse(site.pages.error(500, message), status_code=500)

    @app.exception_handler(BodyError)
    async def unreadable(request: Request, exc: BodyError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return HTMLResponse(site.pages.error(exc.status, exc.message), status_code=exc.status)

    # -- the browser's pages ---------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def blank_form() -> Response:
        return site.form_page({}, [], {})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """Browsers ask for one; there is none, and that is not an error."""
        return Response(status_code=204)

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def update_checklist(request: Request) -> Response:
        """The no-JavaScript way to refresh the checklist: the same form, answers kept, checklist updated."""
        form = await read_form(request)
        data = referral_data(form, site.fields)
        _, problems = site.validate(data)
        return site.form_page(form_answers(form, site.fields), problems, data, required=False)

    @app.post("/preview", include_in_schema=False)
    async def preview(request: Request) -> Response:
        """The checklist panel for the answers so far (the script calls this as the form is filled in)."""
        data = referral_data(await read_form(request), site.fields)
        report, problems, left_out = site.preview(data)
        errors = {k: " ".join(v) for k, v in site.field_errors(problems, required=False).items()}
        return JSONResponse({"panel": site.pages.panel(report, left_out), "errors": errors,
                             "summary": site.summary_text(report)})

    @app.post("/report", response_class=HTMLResponse, include_in_schema=False)
    async def report_page(request: Request) -> Response:
        """The CLI's HTML report, to read and print; its inline style is allowed by hash, nothing else."""
        form = await read_form(request)
        data = referral_data(form, site.fields)
        values, problems = site.validate(data)
        if values is None:
            return site.form_page(form_answers(form, site.fields), problems, data, status=422)
        html = render(site.report(values), "html")
        return HTMLResponse(html, headers={"content-security-policy": report_csp(html)})

    @app.post("/download/{fmt}", include_in_schema=False)
    async def download(fmt: str, request: Request) -> Response:
        """The report as a file (html, md, json), or the filled referral as YAML to open again later."""
        if fmt not in DOWNLOADS:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        form = await read_form(request)
        data = referral_data(form, site.fields)
        values, problems = site.validate(data)
        if values is None:
            return site.form_page(form_answers(form, site.fields), problems, data, status=422)
        text = referral_yaml(site.pathway, values) if fmt == "yaml" else render(site.report(values), fmt)
        kind, pattern = DOWNLOADS[fmt]
        name = pattern.format(safe_filename_part(str(values["referral_id"])))
        return Response(text.encode("utf-8"), media_type=kind, headers={
            "content-disposition": f'attachment; filename="{name}"', "content-security-policy": DATA_CSP})

    @app.post("/open", response_class=HTMLResponse, include_in_schema=False)
    async def open_saved(request: Request) -> Response:
        """Load a saved referral into the form; if the file is bad, say where, and keep what was there."""
        form = await read_form(request)
        current = form_answers(form, site.fields)
        current_data = referral_data(form, site.fields)
        upload = form.files.get("saved_file")
        if upload is None or not (upload.filename or upload.content):
            return site.form_page(current, [], current_data, status=422, required=False,
                                  file_errors=["Choose a saved referral file first, then press Open."])
        name = shown_filename(upload.filename)
        try:
            doc = load_text(upload.content.decode("utf-8"), name)
        except UnicodeDecodeError:
            return site.form_page(current, [], current_data, status=422, required=False,
                                  file_errors=[f"{name}: not UTF-8 text; the form is unchanged."])
        except LoadFailure as exc:
            return site.form_page(current, [], current_data, status=422, required=False,
                                  file_errors=[f"{exc.problem}; the form is unchanged."])
        values, problems = site.validate(doc.data, doc)
        if values is not None:
            return site.form_page(answers_of(values, site.fields), [], values,
                                  notice=f"Opened {name}: referral {values['referral_id']}.")
        if not isinstance(doc.data, dict):
            return site.form_page(current, [], current_data, status=422, required=False,
                                  file_errors=[f"{problems[0]}; the form is unchanged."])
        readable = {k: v for k, v in doc.data.items() if k in site.fields}
        count = len(problems)
        return site.form_page(
            answers_of(readable, site.fields), problems, readable, status=422, located=True,
            file_errors=[f"{name}: {count} problem{'s' if count != 1 else ''}; the answers that could be read "
                         "are in the form, and each problem is shown beside its field."])

    # -- the JSON API ----------------------------------------------------------

    @app.post(
        "/api/check", response_model=Report, responses=API_ERRORS, summary="The checklist report for one referral",
        description="Takes one referral as JSON (field id to value, the ids of the pathway's form, or a FHIR "
                    "QuestionnaireResponse) and returns the report exactly as `pathway check --format json` writes it.",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [
            {"$ref": "#/components/schemas/Referral"}, {"$ref": "#/components/schemas/QuestionnaireResponse"}]}}}}},
    )
    async def api_check(request: Request) -> Response:
        if media_type(request.headers.get("content-type")) != "application/json":
            return JSONResponse({"detail": "send the referral as application/json"}, status_code=415)
        try:
            values = read_referral(site.pathway, await request.body())
        except Unreadable as exc:
            if exc.problem is not None:  # a key given twice: valid JSON, but which answer was meant cannot be known
                return Response(problems_out([exc.problem]).model_dump_json(), status_code=422,
                                media_type="application/json")
            out = ProblemsOut(detail=exc.detail, problems=[
                ProblemOut(field=None, message=exc.message, line=exc.line, column=exc.column)])
            return Response(out.model_dump_json(), status_code=400, media_type="application/json")
        except InputError as exc:
            return Response(problems_out(exc.problems).model_dump_json(), status_code=422,
                            media_type="application/json")
        return Response(site.report(values).to_json(), media_type="application/json")

    @app.get("/api/pathway", response_model=PathwayOut, summary="The pathway definition: form fields, items, version")
    async def api_pathway() -> Response:
        return Response(definition, media_type="application/json")

    add_cds_routes(app, site)  # CDS Hooks: GET /cds-services, POST /cds-services/{id} (pathway/web/cds.py)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, max_body=max_body)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Referral"] = referral_schema(pathway)
            components["QuestionnaireResponse"] = questionnaire_response_schema()
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
