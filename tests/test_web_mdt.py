"""The meeting packet page in-process: what was read, the agenda chosen, and the packet `pathway mdt` makes."""
from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader

from .conftest import FIXED, ROOT, RULES, Result, TestClient, create_app

MEETING = ROOT / "examples" / "meeting"
ORIGIN = {"origin": "http://testserver"}
NOW = FIXED.isoformat()


def meeting_files() -> list[tuple[str, bytes]]:
    """Four files, one of them not valid (R-005: an age and a GMFCS level out of range)."""
    return [(p.name, p.read_bytes()) for p in sorted(MEETING.glob("*.yaml"))]


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RULES, clock=lambda: FIXED, work_dir=tmp_path / "work"), headers=ORIGIN) as c:
        yield c


def start(client: TestClient, files: list[tuple[str, bytes]]) -> str:
    answer = client.post("/mdt/jobs", files=[("files", (n, b, "application/yaml")) for n, b in files],
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/mdt/jobs/[A-Za-z0-9_-]{32}", location)
    return location


def rows_shown(page: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="id-\d+" value="([^"]+)">', page)


def agenda_form(ids: list[str], on: set[str], times: dict[str, str] | None = None,
                presenters: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    form = {"title": "ITB MDT, December", "date": "2026-12-03", **extra}
    for i, rid in enumerate(ids):
        form.update({f"id-{i}": rid, f"order-{i}": str(i + 1), f"time-{i}": (times or {}).get(rid, ""),
                     f"presenter-{i}": (presenters or {}).get(rid, "")})
        if rid in on:
            form[f"on-{i}"] = "1"
    return form


def cli_mdt(runner: Callable[..., Result], folder: Path, output: str, agenda: str) -> bytes:
    """`pathway mdt` run in a folder holding the same files, with the agenda as a CSV file."""
    for name, data in meeting_files():
        (folder / name).write_bytes(data)
    (folder / "agenda.csv").write_text(agenda, encoding="utf-8")
    here = Path.cwd()
    os.chdir(folder)
    try:
        result = runner("mdt", *(n for n, _ in meeting_files()), "-o", output, "--title", "ITB MDT, December",
                        "--meeting-date", "2026-12-03", "--now", NOW, "--agenda", "agenda.csv")
    finally:
        os.chdir(here)
    assert result.code == 0, result.err
    return (folder / output).read_bytes()


def test_the_page_lists_what_was_read_and_what_was_not(app_client: TestClient, runner: Callable[..., Result],
                                                       tmp_path: Path) -> None:
    page = app_client.get(start(app_client, meeting_files())).text
    assert "Read 4 files: 3 referrals to include, <strong>1 record that could not be included</strong>" in page
    assert rows_shown(page) == ["R-003", "R-004", "R-002"]   # least completely documented first, as the packet
    assert "10 of 22 applicable items documented (45%); 3 points to discuss" in page
    assert "19 of 22 applicable items documented (86%); 11 points to discuss" in page
    # every record not included, with the command's own messages (file and line)
    for name, data in meeting_files():
        (tmp_path / name).write_bytes(data)
    os.chdir(tmp_path)
    try:
        cli = runner("mdt", *(n for n, _ in meeting_files()), "-o", "p.html", "--now", NOW)
    finally:
        os.chdir(ROOT)
    messages = [line for line in cli.err.splitlines() if re.match(r"^\S+\.yaml:\d+:\d+: ", line)]
    assert len(messages) == 2
    for message in messages:
        assert f"<li><code>{message.replace(chr(39), '&#39;')}</code></li>" in page


def test_reorder_with_the_buttons_and_the_numbers(app_client: TestClient) -> None:
    location = start(app_client, meeting_files())
    ids = rows_shown(app_client.get(location).text)
    moved = app_client.post(location, data=agenda_form(ids, set(ids), action="up-2"), follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (303, location + "#row-1")
    page = app_client.get(location).text
    assert rows_shown(page) == ["R-003", "R-002", "R-004"]
    form = agenda_form(["R-003", "R-002", "R-004"], {"R-002"}, presenters={"R-002": "Dr <b>Ahmed</b>"},
                       times={"R-002": "09:30"}, action="save")
    form["order-0"] = "3"
    app_client.post(location, data=form)
    page = app_client.get(location).text
    assert rows_shown(page) == ["R-002", "R-004", "R-003"]
    assert 'value="Dr &lt;b&gt;Ahmed&lt;/b&gt;"' in page and "<b>Ahmed" not in page
    assert 'value="09:30"' in page and 'value="ITB MDT, December"' in page
    assert page.count(" checked>") == 1


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_the_packet_is_the_one_pathway_mdt_makes(fmt: str, app_client: TestClient, runner: Callable[..., Result],
                                                 tmp_path: Path) -> None:
    location = start(app_client, meeting_files())
    ids = ["R-003", "R-004", "R-002"]
    answer = app_client.post(location, data=agenda_form(
        ids, {"R-003", "R-004"}, times={"R-003": "09:00", "R-004": "09:20"},
        presenters={"R-003": "Dr <b>Ahmed</b>", "R-004": "Ms Okafor"}, action=fmt))
    assert answer.status_code == 200, answer.text
    name = f"packet.{fmt}"
    assert answer.headers["content-disposition"] == f'attachment; filename="{name}"'
    cli = cli_mdt(runner, tmp_path, name, "referral_id,time,presenter\nR-003,09:00,Dr <b>Ahmed</b>\n"
                                          "R-004,09:20,Ms Okafor\n")
    if fmt == "html":
        assert answer.content == cli
        assert "Dr &lt;b&gt;Ahmed&lt;/b&gt;" in answer.text
    else:
        web_pages = [p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages]
        cli_pages = [p.extract_text() for p in PdfReader(io.BytesIO(cli)).pages]
        assert web_pages == cli_pages
        cover = " ".join(web_pages[0].split())
        assert cover.index("R-003") < cover.index("R-004") < cover.index("R-002")
        assert "09:00 R-003 Dr <b>Ahmed</" in cover and "09:20 R-004 Ms Okafor" in cover   # as typed, not markup
        assert "R-002 not on the agenda" in cover
    folder = app_client.app.state.jobs.root / location.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    assert sorted(p.name for p in folder.iterdir()) == sorted(n for n, _ in meeting_files())   # nothing left over


def test_a_bad_date_or_agenda_says_so_and_keeps_what_was_typed(app_client: TestClient) -> None:
    location = start(app_client, meeting_files())
    ids = rows_shown(app_client.get(location).text)
    form = agenda_form(ids, set(ids), times={"R-004": "x" * 41}, action="pdf")
    form["date"] = "3/12/2026"
    answer = app_client.post(location, data=form)
    assert answer.status_code == 422
    assert "Meeting date: must be a date as YYYY-MM-DD, such as 2026-12-03, not &#39;3/12/2026&#39;" in answer.text
    assert "Agenda, number 2 (R-004): time is longer than 40 characters" in answer.text
    assert 'value="3/12/2026"' in answer.text and 'value="' + "x" * 41 + '"' in answer.text


def test_more_files_are_added_to_the_same_meeting(app_client: TestClient) -> None:
    files = meeting_files()
    location = start(app_client, files[:1])
    assert rows_shown(app_client.get(location).text) == ["R-002"]
    more = app_client.post(location + "/files", files=[("files", (n, b)) for n, b in files[1:3] + files[:1]],
                           follow_redirects=False)
    assert more.status_code == 303
    page = app_client.get(location).text
    assert rows_shown(page) == ["R-003", "R-004", "R-002"]   # nothing chosen yet: least complete first
    assert "R-002-2.yaml" in page and "⚠ id appears 2 times" in page


def test_delete_now_unknown_ids_and_expiry(app_client: TestClient, tmp_path: Path) -> None:
    location = start(app_client, meeting_files())
    answer = app_client.post(location, data={"action": "delete"}, follow_redirects=False)
    assert answer.headers["location"] == "/mdt?deleted=1"
    gone = app_client.get(location)
    assert gone.status_code == 404 and "No meeting packet at this address" in gone.text
    assert list(app_client.app.state.jobs.root.iterdir()) == []  # type: ignore[attr-defined]
    assert app_client.get("/mdt/jobs/" + "B" * 32).status_code == 404
    assert app_client.get("/audit/jobs/" + location.rsplit("/", 1)[1]).status_code == 404
    with TestClient(create_app(RULES, clock=lambda: FIXED, work_dir=tmp_path / "w2", job_expiry=0.5),
                    headers=ORIGIN) as c:
        location = start(c, meeting_files())
        time.sleep(0.6)
        assert c.get(location).status_code == 404
        assert list(c.app.state.jobs.root.iterdir()) == []  # type: ignore[attr-defined]


def test_no_files_and_over_the_limit(tmp_path: Path) -> None:
    with TestClient(create_app(RULES, clock=lambda: FIXED, work_dir=tmp_path, max_upload=2000), headers=ORIGIN) as c:
        empty = c.post("/mdt/jobs", files=[("files", ("", b""))])
        assert empty.status_code == 422 and "Choose one or more referral files first" in empty.text
        big = c.post("/mdt/jobs", files=[("files", ("big.yaml", b"#" * 5000))])
        assert big.status_code == 413 and "larger than this server&#39;s limit of 2 KB" in big.text


def test_every_page_has_the_navigation(app_client: TestClient) -> None:
    for path in ("/", "/mdt", "/audit", "/mdt/jobs/" + "C" * 32):
        page = app_client.get(path).text
        assert '<nav class="app-nav" aria-label="Pages">' in page, path
    current = app_client.get("/mdt").text
    assert '<a href="/mdt" aria-current="page">Meeting packet</a>' in current
    assert '<a href="/" aria-current="page">Checklist form</a>' in app_client.get("/").text
    assert "aria-current" not in app_client.post("/", content=b"x", headers={"content-type": "text/plain"}).text


def test_nothing_of_a_meeting_in_the_log(tmp_path: Path) -> None:
    from .serving import served

    with served("--work-dir", str(tmp_path)) as server, \
            httpx.Client(base_url=server.url, headers={"origin": server.url.rstrip("/")}) as c:
        location = c.post("/mdt/jobs", files=[("files", (n, b)) for n, b in meeting_files()]).headers["location"]
        assert c.get(location).status_code == 200
    assert location.rsplit("/", 1)[1] not in server.output
    assert "R-00" not in server.output
    assert list(tmp_path.iterdir()) == []
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_more_than_one_worker_is_warned_about(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from pathway.web.command import WORKERS_HINT

    for workers, warned in (("2", True), ("1", False)):
        proc = subprocess.Popen([sys.executable, "-m", "pathway", "serve", "--port", "0", "--workers", workers,
                                 "--work-dir", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            first = proc.stderr.readline().rstrip("\n")   # the warning, else uvicorn's first line
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
        assert (first == WORKERS_HINT) is warned, first


def test_an_excel_export_is_read_in_the_encoding_chosen_as_the_command_reads_it(
        app_client: TestClient, runner: Callable[..., Result], tmp_path: Path) -> None:
    export = ("referral_id,age_years,notes\r\nR-1,9,Zoë\r\nR-2,8,\r\n").encode("cp1252")
    form = app_client.get("/mdt").text
    assert '<select id="mdt-encoding" name="encoding"' in form and '<option value="cp1252">' in form
    plain = app_client.get(start(app_client, [("excel.csv", export)])).text
    assert rows_shown(plain) == [] and "not UTF-8 text (byte 0xEB" in plain
    answer = app_client.post("/mdt/jobs", files=[("files", ("excel.csv", export, "text/csv"))],
                             data={"encoding": "cp1252"}, follow_redirects=False)
    location = answer.headers["location"]
    assert rows_shown(app_client.get(location).text) == ["R-1", "R-2"]
    packet = app_client.post(location, data=agenda_form(["R-1", "R-2"], set(), action="html"))
    assert packet.status_code == 200, packet.text
    (tmp_path / "excel.csv").write_bytes(export)
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = runner("mdt", "excel.csv", "-o", "packet.html", "--title", "ITB MDT, December", "--meeting-date",
                        "2026-12-03", "--now", NOW, "--encoding", "cp1252")
    finally:
        os.chdir(here)
    assert result.code == 0, result.err
    assert packet.content == (tmp_path / "packet.html").read_bytes() and "Zoë" in packet.text
    bad = app_client.post("/mdt/jobs", files=[("files", ("excel.csv", export, "text/csv"))],
                          data={"encoding": "klingon"}, follow_redirects=False)
    assert bad.status_code == 422 and "Choose an encoding from the list." in bad.text
