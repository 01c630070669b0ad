"""The browser's pages: the form with the checklist beside it, the report, downloads, opening a saved file.

Each handler reads the form, calls `Site`, and answers. The report page is the
CLI's HTML byte for byte. Kept out of /openapi.json: a browser is their client.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ...referral import as_written
from ...render import render
from ...yamlsrc import LoadFailure, load_text
from ..dependencies import FormDep, SiteDep, read_form
from ..formdata import answers_of, form_answers, referral_data
from ..saved import referral_yaml, safe_filename_part, shown_filename
from ..security import DATA_CSP, report_csp
from ..site import Page

DOWNLOADS = {
    "html": ("text/html; charset=utf-8", "checklist-{}.html"),
    "md": ("text/markdown; charset=utf-8", "checklist-{}.md"),
    "json": ("application/json", "checklist-{}.json"),
    "yaml": ("application/yaml; charset=utf-8", "referral-{}.yaml"),
}

router = APIRouter(include_in_schema=False)


def html(page: Page) -> HTMLResponse:
    return HTMLResponse(page.html, status_code=page.status)


@router.get("/", response_class=HTMLResponse)
async def blank_form(site: SiteDep) -> Response:
    return html(site.form_page({}, [], {}))


@router.get("/favicon.ico")
async def favicon() -> Response:
    """Browsers ask for one; there is none, and that is not an error."""
    return Response(status_code=204)


@router.post("/", response_class=HTMLResponse)
async def update_checklist(site: SiteDep, form: FormDep) -> Response:
    """The no-JavaScript way to refresh the checklist: the same form, answers kept, checklist updated."""
    data = referral_data(form, site.fields)
    _, problems = site.validate(data)
    return html(site.form_page(form_answers(form, site.fields), problems, data, required=False))


@router.post("/preview")
async def preview(site: SiteDep, form: FormDep) -> Response:
    """The checklist panel for the answers so far (the script calls this as the form is filled in)."""
    report, problems, left_out = site.preview(referral_data(form, site.fields))
    errors = {k: " ".join(v) for k, v in site.field_errors(problems, required=False).items()}
    return JSONResponse({"panel": site.pages.panel(report, left_out), "errors": errors,
                         "summary": site.summary_text(report)})


@router.post("/report", response_class=HTMLResponse)
async def report_page(site: SiteDep, form: FormDep) -> Response:
    """The CLI's HTML report, to read and print; its inline style is allowed by hash, nothing else."""
    data = referral_data(form, site.fields)
    values, problems = site.validate(data)
    if values is None:
        return html(site.form_page(form_answers(form, site.fields), problems, data, status=422))
    page = render(site.report(values), "html")
    return HTMLResponse(page, headers={"content-security-policy": report_csp(page)})


@router.post("/download/{fmt}")
async def download(fmt: str, request: Request, site: SiteDep) -> Response:
    """The report as a file (html, md, json), or the filled referral as YAML to open again later."""
    if fmt not in DOWNLOADS:  # before the body is read: an unknown format is 404 whatever was sent
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    form = await read_form(request)
    data = referral_data(form, site.fields)
    values, problems = site.validate(data)
    if values is None:
        return html(site.form_page(form_answers(form, site.fields), problems, data, status=422))
    text = referral_yaml(site.pathway, values) if fmt == "yaml" else render(site.report(values), fmt)
    kind, pattern = DOWNLOADS[fmt]
    name = pattern.format(safe_filename_part(str(values["referral_id"])))
    return Response(text.encode("utf-8"), media_type=kind, headers={
        "content-disposition": f'attachment; filename="{name}"', "content-security-policy": DATA_CSP})


@router.post("/open", response_class=HTMLResponse)
async def open_saved(site: SiteDep, form: FormDep) -> Response:
    """Load a saved referral into the form; if the file is bad, say where, and keep what was there."""
    current = form_answers(form, site.fields)
    current_data = referral_data(form, site.fields)
    upload = form.files.get("saved_file")
    if upload is None or not (upload.filename or upload.content):
        return html(site.form_page(current, [], current_data, status=422, required=False,
                                   file_errors=["Choose a saved referral file first, then press Open."]))
    name = shown_filename(upload.filename)
    try:
        doc = load_text(upload.content.decode("utf-8-sig"), name)  # a BOM, as Windows' Notepad writes it
    except UnicodeDecodeError:
        return html(site.form_page(current, [], current_data, status=422, required=False,
                                   file_errors=[f"{name}: not UTF-8 text; the form is unchanged."]))
    except LoadFailure as exc:
        return html(site.form_page(current, [], current_data, status=422, required=False,
                                   file_errors=[f"{exc.problem}; the form is unchanged."]))
    values, problems = site.validate(doc.data, doc)
    if values is not None:
        return html(site.form_page(answers_of(values, site.fields), [], values,
                                   notice=f"Opened {name}: referral {values['referral_id']}."))
    if not isinstance(doc.data, dict):
        return html(site.form_page(current, [], current_data, status=422, required=False,
                                   file_errors=[f"{problems[0]}; the form is unchanged."]))
    readable = {k: v for k, v in as_written(doc.data, site.fields, doc).items() if k in site.fields}
    count = len(problems)
    return html(site.form_page(
        answers_of(readable, site.fields), problems, readable, status=422, located=True,
        file_errors=[f"{name}: {count} problem{'s' if count != 1 else ''}; the answers that could be read "
                     "are in the form, and each problem is shown beside its field."]))
