"""The meeting packet page: referrals uploaded, the agenda chosen, the packet `pathway mdt` makes downloaded.

`POST /mdt/jobs` streams the files into a new job's folder and answers 303 to
the job's page, which lists what was read (each referral's id, documentation
and points to discuss; each record that could not be included, with the
command's messages) beside the agenda form: on the agenda or not, the order,
a time and a presenter. Every button posts the whole form back, so the page
works without a script and keeps what was typed. The packet is made by
`pathway mdt` itself, run in the job's folder on the same files with the
agenda written as its `--agenda` file, so the two cannot differ.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...csvlayout import Reading
from ...errors import InputError
from ...filekinds import ALL_SUFFIXES
from ...mdt import DEFAULT_TITLE
from ...mdt.agenda import AgendaEntry, make_agenda
from ...mdt.gather import Gathered, gather
from ...render import environment
from ..dependencies import FormDep, SiteDep
from ..formdata import BodyError, FormData
from ..jobs import Job, Jobs
from ..limits import size_text
from ..security import DATA_CSP
from ..uploads import receive
from .audit import ENCODINGS

router = APIRouter(include_in_schema=False)

AGENDA, PDF, HTML = "agenda.csv", "packet.pdf", "packet.html"
RESERVED = (AGENDA, PDF, HTML)
FORMATS = {"pdf": (PDF, "application/pdf"), "html": (HTML, "text/html; charset=utf-8")}
ACCEPT = ",".join(ALL_SUFFIXES)
PACKET_TIMEOUT = 300


@dataclass
class Row:
    """One referral id on the page, with the coordinator's choices for it."""

    referral_id: str
    sources: list[str]
    documented: int
    applicable: int
    points: int
    on: bool = True
    time: str = ""
    presenter: str = ""

    @property
    def share(self) -> str:
        return f"{self.documented / self.applicable:.0%}" if self.applicable else "—"


@dataclass
class Listing:
    rows: list[Row] = field(default_factory=list)
    unread: list[tuple[str, list[str]]] = field(default_factory=list)
    """(source, every problem as the command prints it) for each record not included."""


def jobs_of(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs


def _render(request: Request, site: Any, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context = {"error": None, "notice": None, "problems": [], **context}
    html = environment().get_template(template).render(
        pathway=site.pathway, limit=size_text(request.app.state.max_upload), accept=ACCEPT,
        expiry_minutes=round(jobs_of(request).expiry / 60), current="mdt", default_title=DEFAULT_TITLE,
        **{"encodings": ENCODINGS, "encoding": "", **context})
    return HTMLResponse(html, status_code=status)


def _gone(request: Request, site: Any) -> HTMLResponse:
    return _render(request, site, "web/mdt_gone.html", 404)


def _relative(job: Job, text: str) -> str:
    return text.replace(f"{job.folder}{os.sep}", "")


def _listing(job: Job, gathered: Gathered) -> Listing:
    """What was read, in the order the coordinator last chose (new referrals after, least complete first)."""
    found: dict[str, Row] = {}
    ranked = sorted(gathered.included, key=lambda i: (i.report.summary.completeness, i.report.referral_id))
    for inc in ranked:
        s = inc.report.summary
        rid = inc.report.referral_id
        if rid in found:
            found[rid].sources.append(_relative(job, inc.source))
            continue
        found[rid] = Row(rid, [_relative(job, inc.source)], s.documented, s.applicable, s.discussion_points)
    chosen: list[dict[str, Any]] = job.choices.get("rows", [])
    order = [c["referral_id"] for c in chosen if c["referral_id"] in found]
    order += [rid for rid in found if rid not in order]
    rows = []
    for rid in order:
        row = found[rid]
        choice = next((c for c in chosen if c["referral_id"] == rid), None)
        if choice is not None:
            row.on, row.time, row.presenter = choice["on"], choice["time"], choice["presenter"]
        rows.append(row)
    unread = [(_relative(job, n.source), [_relative(job, str(p)) for p in n.problems]) for n in gathered.not_included]
    return Listing(rows, unread)


async def _read(request: Request, site: Any, job: Job) -> Listing:
    paths = [str(job.folder / s.name) for s in job.inputs]
    gathered = await run_in_threadpool(gather, paths, site.pathway, at=site.clock(), engine=site.engine,
                                       cross=site.cross, reading=Reading(job.encoding or None))
    return _listing(job, gathered)


async def _job_page(request: Request, site: Any, job: Job, status: int = 200, **context: Any) -> HTMLResponse:
    listing = await _read(request, site, job)
    return _render(request, site, "web/mdt_job.html", status, job=job, listing=listing, size_text=size_text,
                   title=job.choices.get("title", DEFAULT_TITLE), date=job.choices.get("date", ""), **context)


@router.get("/mdt", response_class=HTMLResponse)
async def mdt_form(request: Request, site: SiteDep) -> Response:
    deleted = request.query_params.get("deleted") == "1"
    return _render(request, site, "web/mdt.html", notice="The meeting's files were deleted." if deleted else None)


async def _upload(request: Request, job: Job) -> str | None:
    """The files into the job's folder; an error message, or None."""
    try:
        received = await receive(request.stream(), request.headers.get("content-type"), job.folder,
                                 limit=request.app.state.max_upload,
                                 reserved=[*RESERVED, *(s.name for s in job.inputs)])
    except BodyError as exc:
        return exc.message
    encoding = received.first("encoding").strip()
    if encoding not in {value for value, _ in ENCODINGS}:
        return "Choose an encoding from the list."
    if not received.files:
        return "Choose one or more referral files first (YAML, JSON, JSONL, CSV or FHIR QuestionnaireResponses)."
    if "encoding" in received.fields:   # the first upload's form; more files are read as those were
        job.encoding = encoding
    job.inputs.extend(received.files)
    return None


@router.post("/mdt/jobs")
async def mdt_upload(request: Request, site: SiteDep) -> Response:
    jobs = jobs_of(request)
    job = jobs.create("mdt")
    try:
        error = await _upload(request, job)
    except BaseException:   # the browser went away mid-upload, or the server is stopping: keep nothing
        jobs.delete(job)
        raise
    if error is not None:
        jobs.delete(job)
        return _render(request, site, "web/mdt.html", 413 if "limit" in error else 422, error=error)
    return RedirectResponse(f"/mdt/jobs/{job.id}", status_code=303)


@router.get("/mdt/jobs/{job_id}", response_class=HTMLResponse)
async def mdt_job(job_id: str, request: Request, site: SiteDep) -> Response:
    job = jobs_of(request).get(job_id, "mdt")
    if job is None:
        return _gone(request, site)
    return await _job_page(request, site, job)


@router.post("/mdt/jobs/{job_id}/files")
async def mdt_more_files(job_id: str, request: Request, site: SiteDep) -> Response:
    job = jobs_of(request).get(job_id, "mdt")
    if job is None:
        return _gone(request, site)
    before = {p.name for p in job.folder.iterdir()}
    try:
        error = await _upload(request, job)
    finally:   # what a refused or interrupted upload left is removed; the meeting's files stay
        if job.folder.exists():
            kept = {s.name for s in job.inputs} | before
            for path in job.folder.iterdir():
                if path.name not in kept:
                    path.unlink(missing_ok=True)
    if error is not None:
        return await _job_page(request, site, job, 422, error=error)
    return RedirectResponse(f"/mdt/jobs/{job.id}", status_code=303)


def _choices(form: FormData) -> tuple[list[dict[str, Any]], str | None]:
    """The rows as posted, in the order their numbers give, and the move asked for."""
    keyed: list[tuple[tuple[float, int, int], dict[str, Any]]] = []
    index = 0
    while (rid := form.first(f"id-{index}")) is not None:
        number = (form.first(f"order-{index}") or "").strip()
        place = float(number) if _number(number) else index + 1.0
        # a row given another row's number goes past it, in the direction it was moved
        keyed.append(((place, (place > index + 1) - (place < index + 1), index), {
            "referral_id": rid, "on": form.first(f"on-{index}") == "1",
            "time": (form.first(f"time-{index}") or "").strip(),
            "presenter": (form.first(f"presenter-{index}") or "").strip()}))
        index += 1
    action = form.first("action")
    keyed.sort(key=lambda pair: pair[0])
    if action and action.startswith(("up-", "down-")):
        move, _, which = action.partition("-")
        at = next((n for n, (key, _) in enumerate(keyed) if str(key[2]) == which), None)
        if at is not None:
            other = at - 1 if move == "up" else at + 1
            if 0 <= other < len(keyed):
                keyed[at], keyed[other] = keyed[other], keyed[at]
    return [row for _, row in keyed], action


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@router.post("/mdt/jobs/{job_id}")
async def mdt_choose(job_id: str, request: Request, site: SiteDep, form: FormDep) -> Response:
    """Save the agenda form; move a row up or down, or make the packet, as the button says."""
    job = jobs_of(request).get(job_id, "mdt")
    if job is None:
        return _gone(request, site)
    rows, action = _choices(form)
    job.choices = {"rows": rows, "title": (form.first("title") or "").strip(),
                   "date": (form.first("date") or "").strip()}
    if action == "delete":
        jobs_of(request).delete(job)
        return RedirectResponse("/mdt?deleted=1", status_code=303)
    if action not in FORMATS:
        moved = form.first(f"id-{action.partition('-')[2]}") if action else None
        place = next((n for n, r in enumerate(rows) if r["referral_id"] == moved), None)
        anchor = f"#row-{place}" if place is not None else ""
        return RedirectResponse(f"/mdt/jobs/{job.id}{anchor}", status_code=303)
    problems: list[str] = []
    date = job.choices["date"]
    if date:
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            problems.append(f"Meeting date: must be a date as YYYY-MM-DD, such as 2026-12-03, not {date!r}")
    entries = [AgendaEntry(r["referral_id"], r["time"], r["presenter"]) for r in rows if r["on"]]
    try:
        make_agenda(entries, file="the agenda", lines=[n + 1 for n in range(len(entries))])
    except InputError as exc:
        for p in exc.problems:   # a row of the form, by its place on the agenda and its referral
            rid = entries[p.line - 1].referral_id if p.line and p.line <= len(entries) else ""
            problems.append(f"Agenda, number {p.line}{f' ({rid})' if rid else ''}: {p.message}")
    if problems:
        return await _job_page(request, site, job, 422, problems=problems)
    name, kind = FORMATS[action]
    data, failure = await run_in_threadpool(_packet, site, job, entries, name, request.app.state.rules)
    if data is None:
        return await _job_page(request, site, job, 422, problems=failure)
    return Response(data, media_type=kind, headers={"content-disposition": f'attachment; filename="{name}"',
                                                    "content-security-policy": DATA_CSP})


def agenda_csv(entries: list[AgendaEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["referral_id", "time", "presenter"])
    writer.writerows([e.referral_id, e.time, e.presenter] for e in entries)
    return out.getvalue()


def mdt_command(site: Any, job: Job, output: str, rules: str | None, agenda: bool) -> list[str]:
    """`pathway mdt` for this job, as a coordinator would type it in the job's folder."""
    command = [sys.executable, "-m", "pathway", "mdt", *(s.name for s in job.inputs), "-o", output,
               "--title", job.choices.get("title") or DEFAULT_TITLE, "--now", site.clock().isoformat(),
               "--engine", site.engine]
    if job.choices.get("date"):
        command += ["--meeting-date", job.choices["date"]]
    if job.encoding:
        command += ["--encoding", job.encoding]
    if agenda:
        command += ["--agenda", AGENDA]
    if site.cross:
        command.append("--cross-check")
    if rules:
        command += ["--rules", rules]
    return command


def _packet(site: Any, job: Job, entries: list[AgendaEntry], name: str,
            rules: str | None) -> tuple[bytes | None, list[str]]:
    """The packet's bytes from `pathway mdt` run in the job's folder, or the command's messages."""
    agenda = job.folder / AGENDA
    if entries:
        agenda.write_text(agenda_csv(entries), encoding="utf-8")
    out = job.folder / name
    try:
        done = subprocess.run(mdt_command(site, job, name, rules, bool(entries)), cwd=job.folder, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=PACKET_TIMEOUT, check=False)
        if out.exists() and done.returncode in (0, 2):
            return out.read_bytes(), []
        lines = [line for line in done.stderr.splitlines() if line and not line.startswith("Traceback")]
        return None, lines[-5:] or [f"the packet could not be made (exit status {done.returncode})"]
    except subprocess.TimeoutExpired:
        return None, ["the packet took too long to make; try fewer referrals at once"]
    finally:
        out.unlink(missing_ok=True)
        agenda.unlink(missing_ok=True)
