"""End to end in headless Chromium: an MDT coordinator makes the packet, an auditor audits an export.

As they would: files chosen in the page, buttons pressed, downloads saved; by keyboard alone; at a phone's
width; checked by axe-core. Needs what tests/test_browser.py needs (skipped without it, failing under CI=true).
"""
from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from pathway.definition import Pathway

from .conftest import ROOT
from .serving import Served, served
from .test_browser import AXE, browser
from .test_web_audit import EXPORT, write_export

__all__ = ["browser"]   # the module's Chromium, as test_browser starts it (skipped, or failed under CI=true)

try:
    from playwright.sync_api import Browser, BrowserContext, Page, expect
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # pragma: no cover - the browser fixture reports it
    pass

MEETING = sorted((ROOT / "examples" / "meeting").glob("*.yaml"))   # four files; R-005 is not valid
PHONE = {"width": 390, "height": 844}
WIDER_THAN_SCREEN = """() => Array.from(document.querySelectorAll("body *")).filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.right > window.innerWidth + 0.5;
}).map(e => `${e.tagName.toLowerCase()}.${e.className}: ${Math.round(e.getBoundingClientRect().right)}`)"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-work")


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Served]:
    with served("--work-dir", str(work)) as s:
        yield s


@pytest.fixture(scope="session")
def big_export(tmp_path_factory: pytest.TempPathFactory, pathway: Pathway) -> Path:
    """100,000 synthetic referrals as a REDCap-like CSV (about 65 MB), made once per session."""
    return write_export(tmp_path_factory.mktemp("big") / "service-100k.csv", 100_000, pathway)


@pytest.fixture
def context(browser: Browser, server: Served) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=server.url, accept_downloads=True)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    errors: list[str] = []
    context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    context.on("weberror", lambda e: errors.append(str(e.error)))
    yield context.new_page()
    assert errors == []


def job_folders(work: Path) -> list[Path]:
    return [job for root in work.iterdir() for job in root.iterdir()]


def axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result if v["impact"] in ("serious", "critical")]


def pdf_pages(path: Path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(path.read_bytes())).pages]


def read_meeting(page: Page) -> None:
    page.goto("/mdt")
    page.get_by_label("Referral files").set_input_files([str(p) for p in MEETING])
    page.get_by_role("button", name="Read the referrals").click()
    expect(page.locator("#read-summary")).to_contain_text("Read 4 files: 3 referrals to include, 1 record")


def choose(page: Page, input_id: str, files: list[str]) -> None:
    """Open the focused file input's chooser with the Space key, as a keyboard user does, and pick `files`
    (the handler is set first: a chooser opened before Playwright listens is missed)."""
    page.on("filechooser", lambda chooser: chooser.set_files(files))
    page.wait_for_timeout(100)
    page.keyboard.press("Space")
    page.wait_for_function(f"() => document.getElementById('{input_id}').files.length === {len(files)}")


def agenda_ids(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".agenda-row .rid").all_inner_texts()]


# -- the coordinator ------------------------------------------------------------------------------------


def test_coordinator_adds_four_files_reorders_and_downloads_the_pdf(page: Page, tmp_path: Path) -> None:
    read_meeting(page)
    assert agenda_ids(page) == ["R-003", "R-004", "R-002"]   # least completely documented first
    expect(page.locator(".unread")).to_contain_text(
        "R-005.yaml:5:12: field 'age_years': 91 is out of range; allowed: a number from 0 to 25 years")
    expect(page.locator(".unread")).to_contain_text("R-005.yaml:7:14: field 'gmfcs_level'")
    page.get_by_role("button", name="Move R-002 up").click()
    assert agenda_ids(page) == ["R-003", "R-002", "R-004"]
    page.get_by_role("button", name="Move R-003 down").click()
    assert agenda_ids(page) == ["R-002", "R-003", "R-004"]
    page.get_by_label("Meeting title").fill("ITB MDT, December")
    page.get_by_label("Meeting date").fill("2026-12-03")
    rows = page.locator(".agenda-row")
    rows.nth(0).get_by_label("Time").fill("09:00")
    rows.nth(0).get_by_label("Presenter").fill("Dr <b>Ahmed</b>")
    rows.nth(2).get_by_role("checkbox").uncheck()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the packet (PDF)").click()
    download = info.value
    assert download.suggested_filename == "packet.pdf"
    saved = tmp_path / "packet.pdf"
    download.save_as(saved)
    pages = pdf_pages(saved)
    cover = pages[0]
    assert "ITB MDT, December" in cover and "Thursday 3 December 2026" in cover
    assert cover.index("R-002") < cover.index("R-003") < cover.index("R-004")
    assert "09:00 R-002 Dr <b>Ahmed</" in cover and "R-004 not on the agenda" in cover
    assert "R-005" in cover   # not included, with the reason
    assert any(p.startswith("Referral R-002 09:00 · Presenter: Dr <b>Ahmed</b>") for p in pages[1:])
    # what was typed is kept on the page
    expect(page.get_by_label("Meeting title")).to_have_value("ITB MDT, December")
    expect(rows.nth(0).get_by_label("Presenter")).to_have_value("Dr <b>Ahmed</b>")


DROP = """files => {
  const data = new DataTransfer();
  for (const [name, text] of files) data.items.add(new File([text], name, {type: "application/yaml"}));
  const zone = document.querySelector("form.drop-zone");
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
  const over = zone.classList.contains("dragging");
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
  return over;
}"""


def test_coordinator_drops_the_files_on_the_page(page: Page) -> None:
    page.goto("/mdt")
    with page.expect_navigation():
        shown = page.evaluate(DROP, [[p.name, p.read_text(encoding="utf-8")] for p in MEETING])
    assert shown   # the zone says the files may be dropped there
    expect(page.locator("#read-summary")).to_contain_text("Read 4 files: 3 referrals to include, 1 record")
    assert agenda_ids(page) == ["R-003", "R-004", "R-002"]


def test_coordinator_by_keyboard_alone(page: Page) -> None:
    page.goto("/mdt")
    seen = []
    for _ in range(10):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        if seen[-1] == "mdt-files":
            break
    assert seen == ["Skip to the content", "Checklist form", "Meeting packet", "Audit", "mdt-files"]
    choose(page, "mdt-files", [str(p) for p in MEETING])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Encoding")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Read the referrals")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#read-summary")).to_contain_text("3 referrals to include")
    page.get_by_label("Meeting title").focus()
    page.keyboard.press("End")
    page.keyboard.type(" (keyboard)")
    page.keyboard.press("Enter")   # the form's first button: Save
    expect(page.get_by_label("Meeting title")).to_have_value("ITB referrals: MDT meeting (keyboard)")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.getAttribute('aria-label') || "
                                  "document.activeElement.textContent.trim() || document.activeElement.name"))
    assert {"Move R-003 down", "Move R-004 up", "Download the packet (PDF)", "Download the packet (HTML)",
            "Delete now", "Add the files"} <= reached
    page.get_by_role("button", name="Move R-004 up").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert agenda_ids(page) == ["R-004", "R-003", "R-002"]
    expect(page.get_by_role("button", name="Move R-004 down")).to_be_focused()   # the moved row, at its place
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the packet (HTML)").focus()
        page.keyboard.press("Enter")
    assert info.value.suggested_filename == "packet.html"


# -- the auditor ----------------------------------------------------------------------------------------


def job_state(page: Page) -> str:
    return page.locator("#job-state").inner_text()


def test_auditor_uploads_two_exports_watches_and_downloads(page: Page, big_export: Path, work: Path,
                                                           tmp_path: Path) -> None:
    page.goto("/audit")
    page.get_by_label("Export files").set_input_files([str(EXPORT), str(big_export)])
    page.get_by_role("button", name="Start the audit").click()
    expect(page).to_have_url(re.compile(r"/audit/jobs/[A-Za-z0-9_-]{32}$"))
    assert [f.name for f in job_folders(work)].count(page.url.rsplit("/", 1)[1]) == 1
    page.evaluate("() => { window.sameDocument = true; }")
    seen, in_place = [], []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = job_state(page)
        seen.append(state)
        if state.startswith("Done"):
            break
        try:
            in_place.append((state, page.evaluate("() => window.sameDocument === true")))
        except PlaywrightError:   # the script reloads the page once the result is there: read it again
            page.wait_for_load_state()
            continue
        page.wait_for_timeout(300)
    done = re.match(r"Done. Records read: 100,(001|200) = ([\d,]+) evaluated", seen[-1])
    assert done, seen[-1]
    assert any(re.match(r"Auditing: [\d.]+ (MB|KB|bytes) of 65\.1 MB read", s) for s in seen), seen
    assert any(kept and s.startswith("Auditing: ") for s, kept in in_place)   # the script updated it in place
    page.get_by_role("link", name="Open the audit page").click()
    expect(page.locator("h1")).to_contain_text("Referral documentation audit")
    assert "service-100k.csv" in page.content()
    page.go_back()
    names = []
    for link in ("Download the status matrix (statuses.csv)", "Download the records not evaluated (rejects.csv)"):
        with page.expect_download() as info:
            page.get_by_role("link", name=link).click()
        names.append(info.value.suggested_filename)
        info.value.save_as(tmp_path / info.value.suggested_filename)
    assert names == ["statuses.csv", "rejects.csv"]
    evaluated = int(done.group(2).replace(",", ""))
    assert (tmp_path / "statuses.csv").read_text(encoding="utf-8").count("\n") == evaluated + 1
    assert "referrals-2026.csv" in (tmp_path / "rejects.csv").read_text(encoding="utf-8")
    job_id = page.url.rsplit("/", 1)[1]
    gone = time.monotonic() + 10   # deleted once the second download has been sent
    while [f for f in job_folders(work) if f.name == job_id] and time.monotonic() < gone:
        time.sleep(0.1)
    assert [f for f in job_folders(work) if f.name == job_id] == []   # both files downloaded: nothing kept
    gone = page.request.get(page.url)
    assert gone.status == 404 and "No audit at this address" in gone.text()


def test_without_javascript_the_job_page_refreshes_itself(browser: Browser, server: Served, big_export: Path) -> None:
    ctx = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto("/audit")
        page.get_by_label("Export files").set_input_files([str(big_export)])
        page.get_by_role("button", name="Start the audit").click()
        expect(page.locator("#job-state")).to_contain_text("Auditing")
        expect(page.locator("#job-state")).to_contain_text("Done.", timeout=120_000)   # by <meta> refresh alone
        page.get_by_role("button", name="Delete now").click()
        expect(page.locator(".notice")).to_have_text("The audit's files were deleted.")
    finally:
        ctx.close()


def test_a_second_audit_waits_its_turn(browser: Browser, server: Served, big_export: Path) -> None:
    first, second = (browser.new_context(base_url=server.url) for _ in range(2))
    try:
        a, b = first.new_page(), second.new_page()
        for p, files in ((a, [str(big_export)]), (b, [str(EXPORT)])):
            p.goto("/audit")
            p.get_by_label("Export files").set_input_files(files)
        a.get_by_role("button", name="Start the audit").click()
        expect(a.locator("#job-state")).to_contain_text("Auditing", timeout=30_000)
        b.get_by_role("button", name="Start the audit").click()
        expect(b.locator("#job-state")).to_have_text(re.compile("^Waiting: one audit ahead of yours."))
        other = b.context.new_page()
        other.goto("/")   # the server answers everyone meanwhile
        expect(other.locator("h1")).to_have_text("Referral form")
        expect(b.locator("#job-state")).to_contain_text("Done.", timeout=120_000)
        for p in (a, b):
            p.get_by_role("button", name="Delete now").click()
            expect(p.locator(".notice")).to_have_text("The audit's files were deleted.")
    finally:
        first.close()
        second.close()


def test_auditor_by_keyboard_alone(page: Page) -> None:
    page.goto("/audit")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")   # skip to the content
    page.keyboard.press("Tab")
    expect(page.get_by_label("Export files")).to_be_focused()
    choose(page, "audit-files", [str(EXPORT)])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Encoding")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Break down by (optional)")).to_be_focused()
    page.keyboard.type("site")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#job-state")).to_contain_text("Done.", timeout=60_000)
    page.get_by_role("link", name="Open the audit page").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("Referral documentation audit")
    page.go_back()
    page.get_by_role("button", name="Delete now").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("The audit's files were deleted.")


def test_an_upload_over_the_limit_says_so(browser: Browser, tmp_path: Path) -> None:
    with served("--work-dir", str(tmp_path), "--max-upload", "100KB") as small:
        ctx = browser.new_context(base_url=small.url)
        try:
            page = ctx.new_page()
            page.goto("/audit")
            expect(page.get_by_text("Up to 100 KB in all.")).to_be_visible()
            page.get_by_label("Export files").set_input_files([str(EXPORT)])   # 134 KB
            page.get_by_role("button", name="Start the audit").click()
            expect(page.locator(".error-summary")).to_contain_text(
                "The upload is larger than this server's limit of 100 KB, so it was not read.")
        finally:
            ctx.close()
    assert [p for root in tmp_path.iterdir() for p in root.iterdir()] == []


# -- every page: at a phone's width, and by axe-core ----------------------------------------------------


def pages_to_check(page: Page) -> Iterator[str]:
    """Visit each page of the two areas in turn, yielding its name."""
    page.goto("/mdt")
    yield "mdt"
    read_meeting(page)
    yield "mdt job"
    page.goto("/audit")
    yield "audit"
    page.get_by_label("Export files").set_input_files([str(EXPORT)])
    page.get_by_role("button", name="Start the audit").click()
    expect(page.locator("#job-state")).to_contain_text("Done.", timeout=60_000)
    yield "audit job"
    page.goto("/audit/jobs/" + "Z" * 32)
    yield "no such audit"


def test_every_page_fits_a_phone(browser: Browser, server: Served) -> None:
    ctx = browser.new_context(base_url=server.url, viewport=PHONE)
    try:
        page = ctx.new_page()
        for name in pages_to_check(page):
            assert page.evaluate("window.innerWidth") == 390
            assert page.evaluate(WIDER_THAN_SCREEN) == [], name
    finally:
        ctx.close()


def test_axe_finds_no_serious_problems(browser: Browser, server: Served) -> None:
    ctx = browser.new_context(base_url=server.url, bypass_csp=True)   # axe is injected inline
    try:
        page = ctx.new_page()
        for name in pages_to_check(page):
            assert axe(page) == [], name
    finally:
        ctx.close()
