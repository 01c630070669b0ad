"""The web app: the clinician's form with the checklist beside it, a JSON API and CDS Hooks.

`create_app` only assembles: it loads the pathway into one `Site`, keeps it in
`app.state` for the handlers' dependencies, includes one router per area
(`routes/`), and wraps the app in the safe defaults of `security`.
"""
from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import CrossCheckMismatch
from ..loader import load_pathway
from ..resources import default_pathway_dir
from ..service import now
from .dependencies import attach, get_site, site_of
from .formdata import BodyError
from .proxy import Exposure, install
from .jobs import AuditQueue, Jobs
from .limits import EXPIRY, MAX_UPLOAD
from .routes import api, audit, cds, form, mdt
from .security import MAX_BODY, Guard
from .uploads import streamed
from .site import Clock, Site, disagreement

STATIC = Path(__file__).resolve().parent / "static"


def create_app(
    pathway_dir: str | Path | None = None, *, clock: Clock | None = None, engine: str = "python",
    cross: bool = False, max_body: int = MAX_BODY, allowed_hosts: list[str] | None = None,
    exposure: Exposure | None = None, work_dir: str | Path | None = None, max_upload: int = MAX_UPLOAD,
    job_expiry: float = EXPIRY,
) -> FastAPI:
    """The app for one pathway (default: the bundled one). `clock` fixes report times (tests).

    `allowed_hosts`: Host header names to answer; others get 400 (a web page elsewhere cannot reach a
    server on loopback by DNS rebinding). None answers any host (tests). `exposure` (serve's
    --public-url, --allowed-host, --trusted-proxy; `proxy.exposure_for`) replaces it: the host names,
    the proxy trusted, the public address for absolute URLs, and the Origin check of every route.
    """
    pathway = load_pathway(pathway_dir or default_pathway_dir())
    app = FastAPI(
        **_no_telemetry(),
        title="ITB pathway checklist",
        version=__version__,
        description="An advisory checklist for intrathecal baclofen (ITB) referrals of children with cerebral palsy. "
                    + pathway.disclaimer,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=_lifespan,
    )
    attach(app, Site(pathway, clock or now, engine, cross))
    app.exception_handler(CrossCheckMismatch)(_disagreement)
    app.exception_handler(BodyError)(_unreadable)
    app.include_router(form.router)
    app.include_router(api.router)
    app.include_router(cds.router)
    _jobs(app, pathway_dir, work_dir, max_upload, job_expiry)
    app.include_router(mdt.router)
    app.include_router(audit.router)
    # On the app, not a router: include_router drops a router's mounts in most FastAPI versions.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, max_body=max_body, streamed=streamed)
    install(app, exposure or Exposure(None if allowed_hosts is None else tuple(allowed_hosts)))
    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    return app


def _jobs(app: FastAPI, rules: str | Path | None, work_dir: str | Path | None, max_upload: int,
          expiry: float) -> None:
    """The packet and audit pages' jobs: private folders, kept until downloaded, deleted, expired or stopped."""
    site = site_of(app)
    app.state.jobs = Jobs(work_dir, expiry)
    app.state.audits = AuditQueue(rules, lambda: site.clock().isoformat())
    app.state.max_upload = max_upload
    app.state.rules = str(rules) if rules else None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Jobs' folders: stale ones removed at start, expired ones every few seconds, all at stop."""
    jobs: Jobs = app.state.jobs
    jobs.open()
    sweeper = asyncio.create_task(_sweep(jobs))
    try:
        yield
    finally:
        sweeper.cancel()
        app.state.audits.stop()
        jobs.close()


async def _sweep(jobs: Jobs) -> None:
    while True:
        await asyncio.sleep(min(10.0, max(0.5, jobs.expiry / 4)))
        jobs.sweep()


async def _disagreement(request: Request, exc: CrossCheckMismatch) -> Response:
    """The two engines disagreed (--cross-check): no report is shown, and the user is told why."""
    return _error(request, 500, disagreement(exc))


async def _unreadable(request: Request, exc: BodyError) -> Response:
    return _error(request, exc.status, exc.message)


def _error(request: Request, status: int, message: str) -> Response:
    """JSON for the API, the error page for the browser."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=status)
    return HTMLResponse(get_site(request).pages.error(status, message), status_code=status)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request body schemas generated from the pathway's form."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(api.components(site_of(app).pathway))
        app.openapi_schema = schema
    return app.openapi_schema


def _no_telemetry() -> dict[str, Any]:
    """FastAPI versions with native OpenTelemetry can record request bodies and exception messages:
    referral answers. Turned off, whatever the environment says."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                          "auto_configure": False}}
