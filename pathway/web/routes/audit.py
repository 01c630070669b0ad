"""The audit page: exports uploaded, audited one at a time in the background, the result shown and downloaded.

`POST /audit/jobs` streams the files into a new job's folder (`uploads`),
queues the audit and answers 303 to the job's page, which refreshes itself
until the result is there (no script needed). The result is the page
`pathway audit` writes, byte for byte, and its two CSV files; once both are
downloaded, or on "Delete now", or at expiry, the job's folder is deleted.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from ...filekinds import ALL_SUFFIXES
from ...render import environment
from ..auditjob import MATRIX, OUTPUTS, PAGE, REJECTS
from ..dependencies import SiteDep
from ..formdata import BodyError
from ..jobs import AuditQueue, Jobs
from ..security import DATA_CSP, report_csp
from ..limits import size_text
from ..uploads import receive

router = APIRouter(include_in_schema=False)

DOWNLOADS = {PAGE: "text/html; charset=utf-8", MATRIX: "text/csv; charset=utf-8", REJECTS: "text/csv; charset=utf-8"}
DELETE_AFTER = frozenset({MATRIX, REJECTS})
"""Once both CSV files are downloaded, the job's folder is deleted."""
ACCEPT = ",".join(ALL_SUFFIXES)


def jobs_of(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


def queue_of(request: Request) -> AuditQueue:
    queue: AuditQueue = request.app.state.audits
    return queue


def _page(request: Request, site: Any, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context = {"error": None, "notice": None, "encodings": ENCODINGS, "chosen": {}, **context}
    html = environment().get_template(template).render(
        pathway=site.pathway, limit=size_text(request.app.state.max_upload), accept=ACCEPT,
        expiry_minutes=round(jobs_of(request).expiry / 60), current="audit", **context)
    return HTMLResponse(html, status_code=status)


ENCODINGS = (("", "Found from each file (UTF-8, or UTF-16 with a BOM)"),
             ("cp1252", "Windows-1252 (Excel's \"CSV (Comma delimited)\")"),
             ("latin-1", "Latin-1 (ISO 8859-1)"), ("mac-roman", "Mac Roman (older Excel for Mac)"))


def _choice_problem(chosen: dict[str, str], site: Any) -> str | None:
    """What is wrong with the form's choices (the files chosen must then be chosen again), or None."""
    from ...audit.groups import by_option
    from ...errors import OptionError

    if chosen["encoding"] not in {value for value, _ in ENCODINGS}:
        return "Choose an encoding from the list."
    try:
        by_option(site.pathway, chosen["by"] or None)
    except OptionError as exc:
        return f"{exc} Choose the files again, with another breakdown or none."
    return None


def _missing(request: Request, site: Any) -> HTMLResponse:
    return _page(request, site, "web/audit_gone.html", 404)


@router.get("/audit", response_class=HTMLResponse)
async def audit_form(request: Request, site: SiteDep) -> Response:
    deleted = request.query_params.get("deleted") == "1"
    return _page(request, site, "web/audit.html", notice="The audit's files were deleted." if deleted else None)


@router.post("/audit/jobs")
async def audit_upload(request: Request, site: SiteDep) -> Response:
    """The exports, streamed to a new job's folder; the audit queued; 303 to its page."""
    jobs = jobs_of(request)
    job = jobs.create("audit")
    try:
        received = await receive(request.stream(), request.headers.get("content-type"), job.folder,
                                 limit=request.app.state.max_upload, reserved=OUTPUTS)
    except BodyError as exc:
        jobs.delete(job)
        return _page(request, site, "web/audit.html", exc.status, error=exc.message)
    except BaseException:   # the browser went away mid-upload, or the server is stopping: keep nothing
        jobs.delete(job)
        raise
    chosen = {"encoding": received.first("encoding").strip(), "by": received.first("by").strip()}
    problem = _choice_problem(chosen, site)
    if not received.files or problem:
        jobs.delete(job)
        return _page(request, site, "web/audit.html", 422, chosen=chosen, error=problem or
                     "Choose one or more export files first (CSV, JSONL, YAML or JSON), then press Start.")
    job.inputs = received.files
    job.choices = chosen
    queue_of(request).submit(job)
    return RedirectResponse(f"/audit/jobs/{job.id}", status_code=303)


@router.get("/audit/jobs/{job_id}", response_class=HTMLResponse)
async def audit_job(job_id: str, request: Request, site: SiteDep) -> Response:
    job = jobs_of(request).get(job_id, "audit")
    if job is None:
        return _missing(request, site)
    return _page(request, site, "web/audit_job.html", job=job, ahead=queue_of(request).ahead(job),
                 size_text=size_text, left=sorted(DELETE_AFTER - job.downloaded))


@router.get("/audit/jobs/{job_id}/page")
async def audit_result_page(job_id: str, request: Request, site: SiteDep) -> Response:
    """The audit page exactly as `pathway audit` writes it (its inline style allowed by hash)."""
    job = jobs_of(request).get(job_id, "audit")
    if job is None or job.status != "done":
        return _missing(request, site)
    html = (job.folder / PAGE).read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"content-security-policy": report_csp(html)})


@router.get("/audit/jobs/{job_id}/files/{name}")
async def audit_download(job_id: str, name: str, request: Request, site: SiteDep) -> Response:
    jobs = jobs_of(request)
    job = jobs.get(job_id, "audit")
    if job is None or job.status != "done" or name not in DOWNLOADS:
        return _missing(request, site)
    job.downloaded.add(name)
    last = job.downloaded >= DELETE_AFTER
    return FileResponse(job.folder / name, media_type=DOWNLOADS[name], filename=name,
                        headers={"content-security-policy": DATA_CSP},
                        background=BackgroundTask(jobs.delete, job) if last else None)


@router.post("/audit/jobs/{job_id}/delete")
async def audit_delete(job_id: str, request: Request, site: SiteDep) -> Response:
    jobs = jobs_of(request)
    job = jobs.get(job_id, "audit")
    if job is None:
        return _missing(request, site)
    jobs.delete(job)
    return RedirectResponse("/audit?deleted=1", status_code=303)
