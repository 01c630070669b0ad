"""The audit page in-process: upload, queue, progress, the CLI's bytes, downloads, and nothing kept."""
from __future__ import annotations

import argparse
import asyncio
import csv
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pathway.definition import Pathway
from pathway.web.formdata import BodyError
from pathway.web.jobs import AuditQueue, Job, Jobs
from pathway.web.limits import duration, upload_size
from pathway.web.uploads import receive, safe_name

from .conftest import FIXED, ROOT, RULES, Result, TestClient, create_app
from .serving import served

EXPORT = ROOT / "examples" / "audit" / "referrals-2026.csv"
ORIGIN = {"origin": "http://testserver"}
NOW = FIXED.isoformat()


def write_export(path: Path, n: int, pathway: Pathway, seed: int = 7) -> Path:
    """A REDCap-like CSV of `n` synthetic referrals (a few deliberately bad), one column per field."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synth

    columns = list(pathway.fields)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for record in synth.referrals(n, seed=seed, invalid_rate=0.03, pathway=pathway):
            writer.writerow(synth.csv_cells(record, columns))
    return path


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory, pathway: Pathway) -> Path:
    return write_export(tmp_path_factory.mktemp("export") / "service-2026.csv", 300, pathway)


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(RULES, clock=lambda: FIXED, work_dir=tmp_path / "work"), headers=ORIGIN) as c:
        yield c


def upload(client: TestClient, *paths: Path, names: list[str] | None = None) -> httpx.Response:
    files = [("files", ((names or [p.name for p in paths])[i], p.read_bytes(), "text/csv"))
             for i, p in enumerate(paths)]
    return client.post("/audit/jobs", files=files, follow_redirects=False)


def finished(client: TestClient, location: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(location).text
        if 'http-equiv="refresh"' not in page:
            return page
        time.sleep(0.1)
    raise AssertionError("the audit did not finish")


def cli_audit(runner: Callable[..., Result], folder: Path, *names: str) -> Path:
    """`pathway audit NAMES -o audit.html --csv statuses.csv --rejects rejects.csv` run in `folder`."""
    import os

    here = Path.cwd()
    os.chdir(folder)
    try:
        result = runner("audit", *names, "-o", "audit.html", "--csv", "statuses.csv", "--rejects", "rejects.csv",
                        "--now", NOW)
    finally:
        os.chdir(here)
    assert result.code == 0, result.err
    return folder


@pytest.mark.parametrize("which", ["bundled", "generated"])
def test_the_result_is_what_pathway_audit_writes(which: str, small_export: Path, app_client: TestClient,
                                                 runner: Callable[..., Result], tmp_path: Path) -> None:
    source = EXPORT if which == "bundled" else small_export
    answer = upload(app_client, source)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert re.fullmatch(r"/audit/jobs/[A-Za-z0-9_-]{32}", location)
    page = finished(app_client, location)
    assert "Done. Records read:" in page
    cli = tmp_path / "cli"
    cli.mkdir()
    shutil.copy(source, cli / source.name)
    cli_audit(runner, cli, source.name)
    shown = app_client.get(location + "/page")
    assert shown.status_code == 200
    assert shown.content == (cli / "audit.html").read_bytes()
    assert "sha256-" in shown.headers["content-security-policy"]   # the page's own style, nothing else
    for name in ("audit.html", "statuses.csv", "rejects.csv"):
        got = app_client.get(f"{location}/files/{name}")
        assert got.status_code == 200, name
        assert got.content == (cli / name).read_bytes(), name
        assert got.headers["content-disposition"] == f'attachment; filename="{name}"'


def test_files_are_deleted_once_both_csv_files_are_downloaded(small_export: Path, app_client: TestClient) -> None:
    location = upload(app_client, small_export).headers["location"]
    finished(app_client, location)
    jobs: Jobs = app_client.app.state.jobs  # type: ignore[attr-defined]
    folder = jobs.root / location.rsplit("/", 1)[1]
    assert sorted(p.name for p in folder.iterdir()) == ["audit.html", "rejects.csv", "service-2026.csv",
                                                        "statuses.csv"]
    assert oct(folder.stat().st_mode & 0o777) == "0o700" and oct(jobs.root.stat().st_mode & 0o777) == "0o700"
    assert app_client.get(location + "/files/statuses.csv").status_code == 200
    assert "still to download: rejects.csv" in app_client.get(location).text
    assert folder.exists()
    assert app_client.get(location + "/files/rejects.csv").status_code == 200
    assert not folder.exists()
    gone = app_client.get(location)
    assert gone.status_code == 404
    assert "No audit at this address" in gone.text


def test_delete_now(small_export: Path, app_client: TestClient) -> None:
    location = upload(app_client, small_export).headers["location"]
    finished(app_client, location)
    answer = app_client.post(location + "/delete", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/audit?deleted=1")
    assert "The audit&#39;s files were deleted." in app_client.get("/audit?deleted=1").text
    assert app_client.get(location + "/page").status_code == 404
    assert list(app_client.app.state.jobs.root.iterdir()) == []  # type: ignore[attr-defined]


def test_files_are_deleted_after_the_time_limit(small_export: Path, tmp_path: Path) -> None:
    with TestClient(create_app(RULES, clock=lambda: FIXED, work_dir=tmp_path, job_expiry=1.0), headers=ORIGIN) as c:
        location = upload(c, small_export).headers["location"]
        assert "30 minutes" not in c.get("/audit").text
        finished(c, location)
        root = c.app.state.jobs.root  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while any(root.iterdir()) and time.monotonic() < deadline:   # the sweeper, no request needed
            time.sleep(0.1)
        assert list(root.iterdir()) == []
        assert c.get(location).status_code == 404


def test_unknown_or_malformed_job_ids_are_404(app_client: TestClient) -> None:
    for path in ("/audit/jobs/" + "A" * 32, "/audit/jobs/short", "/audit/jobs/" + "A" * 32 + "/page",
                 "/audit/jobs/" + "A" * 32 + "/files/statuses.csv"):
        answer = app_client.get(path)
        assert answer.status_code == 404, path
        assert "No audit at this address" in answer.text
    assert app_client.post("/audit/jobs/" + "A" * 32 + "/delete").status_code == 404


def test_an_upload_over_the_limit_is_refused_plainly(small_export: Path, tmp_path: Path) -> None:
    with TestClient(create_app(RULES, clock=lambda: FIXED, work_dir=tmp_path, max_upload=10_000),
                    headers=ORIGIN) as c:
        answer = upload(c, small_export)
        assert answer.status_code == 413
        assert "The upload is larger than this server&#39;s limit of 10 KB, so it was not read." in answer.text
        assert "pathway serve --max-upload" in answer.text
        assert list(c.app.state.jobs.root.iterdir()) == []  # type: ignore[attr-defined]


def test_no_file_chosen(app_client: TestClient) -> None:
    answer = app_client.post("/audit/jobs", files=[("files", ("", b"", "application/octet-stream"))])
    assert answer.status_code == 422
    assert "Choose one or more export files first" in answer.text


def test_a_whole_file_problem_is_shown_as_the_command_shows_it(app_client: TestClient, tmp_path: Path,
                                                               runner: Callable[..., Result]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an export\n", encoding="utf-8")
    location = upload(app_client, notes).headers["location"]
    assert "Done. Records read: 1 = 0 evaluated + 1 that could not be evaluated." in finished(app_client, location)
    cli_audit(runner, tmp_path, "notes.txt")
    assert app_client.get(location + "/page").content == (tmp_path / "audit.html").read_bytes()
    assert app_client.get(location + "/files/rejects.csv").content == (tmp_path / "rejects.csv").read_bytes()
    assert b"notes.txt: not a referral file" in (tmp_path / "rejects.csv").read_bytes()


def test_an_audit_that_cannot_run_says_why(app_client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                           small_export: Path) -> None:
    queue: AuditQueue = app_client.app.state.audits  # type: ignore[attr-defined]
    monkeypatch.setattr(queue, "rules", str(ROOT / "no-such-rules"))
    page = finished(app_client, upload(app_client, small_export).headers["location"])
    assert "The audit could not run" in page
    assert "no-such-rules" in page


def test_a_second_audit_waits_its_turn() -> None:
    release = threading.Event()
    started: list[str] = []

    class Held(AuditQueue):
        def _audit(self, job: Job) -> None:
            started.append(job.id)
            job.status = "running"
            release.wait(10)
            job.status = "done"

    queue = Held(None, lambda: NOW)
    first, second, third = (Job(name, "audit", Path("."), 1e9) for name in ("a", "b", "c"))
    for job in (first, second, third):
        queue.submit(job)
    deadline = time.monotonic() + 5
    while first.status != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (queue.ahead(second), queue.ahead(third)) == (1, 2)
    assert second.status == "waiting"
    release.set()
    while third.status != "done" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started == ["a", "b", "c"]
    queue.stop()


def test_the_waiting_page_says_how_many_are_ahead(app_client: TestClient, small_export: Path) -> None:
    release = threading.Event()
    real: AuditQueue = app_client.app.state.audits  # type: ignore[attr-defined]

    class Held(AuditQueue):
        def _audit(self, job: Job) -> None:
            if job.id == "blocker":
                job.status = "running"
                release.wait(10)
                job.status = "done"
            else:
                super()._audit(job)

    held = Held(real.rules, real.now)
    app_client.app.state.audits = held  # type: ignore[attr-defined]
    try:
        blocker = Job("blocker", "audit", Path("."), 1e9)
        held.submit(blocker)
        location = upload(app_client, small_export).headers["location"]
        page = app_client.get(location).text
        assert "Waiting: one audit ahead of yours." in page
        assert '<meta http-equiv="refresh" content="2">' in page
        assert app_client.get("/").status_code == 200   # the server answers others meanwhile
        release.set()
        assert "Done. Records read: 300" in finished(app_client, location)
    finally:
        release.set()
        held.stop()
        app_client.app.state.audits = real  # type: ignore[attr-defined]


def test_upload_names_are_made_safe() -> None:
    assert safe_name("C:\\Users\\me\\export 2026.csv", ()) == "export 2026.csv"
    assert safe_name("../../etc/passwd", ()) == "passwd"
    assert safe_name(".hidden.csv", ()) == "hidden.csv"
    assert safe_name("--rules.csv", ()) == "rules.csv"
    assert safe_name("a<script>.csv", ()) == "a_script_.csv"
    assert safe_name("statuses.csv", ("statuses.csv",)) == "statuses-2.csv"
    assert safe_name("R.yaml", ("r.yaml", "R-2.yaml")) == "R-3.yaml"
    assert safe_name("", ()) == "upload"


def _body(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZ") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


@pytest.mark.parametrize("chunk", [1, 2, 7, 13, 64, 1000, 1 << 16])
def test_the_streamed_reader_reads_any_cut_of_the_body(chunk: int, tmp_path: Path) -> None:
    data = b"a,b\r\n--XyQ not the end, --XyZ neither\r\n" * 50 + b"\r\n--Xy"   # near misses of the delimiter
    body = _body([("title", None, "Réunion".encode()), ("files", "one.csv", data), ("files", "one.csv", b""),
                  ("files", "", b"")])
    got = asyncio.run(receive(_chunks(body, chunk), "multipart/form-data; boundary=XyZ", tmp_path, limit=10**6))
    assert got.fields == {"title": ["Réunion"]}
    assert [(s.name, s.size) for s in got.files] == [("one.csv", len(data)), ("one-2.csv", 0)]
    assert (tmp_path / "one.csv").read_bytes() == data


def test_the_streamed_reader_refuses(tmp_path: Path) -> None:
    body = _body([("files", "x.csv", b"0" * 5000)])
    with pytest.raises(BodyError) as exc:
        asyncio.run(receive(_chunks(body, 1000), "multipart/form-data; boundary=XyZ", tmp_path, limit=4000))
    assert exc.value.status == 413
    with pytest.raises(BodyError) as exc:
        asyncio.run(receive(_chunks(body[:-30], 1000), "multipart/form-data; boundary=XyZ", tmp_path,
                            limit=10**6, reserved=["x.csv"]))
    assert (exc.value.status, exc.value.message) == (
        400, "the upload ended before it was complete (was the connection interrupted?)")
    with pytest.raises(BodyError) as exc:
        asyncio.run(receive(_chunks(body, 1000), "application/json", tmp_path, limit=10**6))
    assert exc.value.status == 415


def test_option_values() -> None:
    assert [upload_size(t) for t in ("2GB", "500MB", "1.5gb", "1024", "1MiB")] == [
        2 * 10**9, 500 * 10**6, 1_500_000_000, 1024, 2**20]
    assert [duration(t) for t in ("30m", "90s", "1h", "5")] == [1800.0, 90.0, 3600.0, 300.0]
    for bad in ("lots", "0", "2TB"):
        with pytest.raises(argparse.ArgumentTypeError):
            upload_size(bad)


def test_served_logs_no_ids_or_names_and_keeps_nothing(small_export: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    stale = work / "pathway-serve-999999999-old"   # a server that died: removed at start
    stale.mkdir(parents=True)
    (stale / "left.csv").write_text("x", encoding="utf-8")
    with served("--work-dir", str(work)) as server:
        assert not stale.exists()
        with httpx.Client(base_url=server.url, headers={"origin": server.url.rstrip("/")}) as c:
            answer = c.post("/audit/jobs", files=[("files", (small_export.name, small_export.read_bytes()))])
            assert answer.status_code == 303
            location = answer.headers["location"]
            deadline = time.monotonic() + 60
            while "Done." not in c.get(location).text and time.monotonic() < deadline:
                time.sleep(0.2)
            assert c.get(location + "/page").status_code == 200
            assert [p.name for p in work.iterdir()][0].startswith("pathway-serve-")
    job_id = location.rsplit("/", 1)[1]
    assert "/audit/jobs/…" in server.output
    assert job_id not in server.output and small_export.name not in server.output
    assert list(work.iterdir()) == []



def test_an_interrupted_upload_leaves_nothing(tmp_path: Path) -> None:
    import socket
    from urllib.parse import urlsplit

    with served("--work-dir", str(tmp_path)) as server:
        address = urlsplit(server.url)
        head = (f"POST /audit/jobs HTTP/1.1\r\nHost: {address.netloc}\r\nOrigin: {server.url.rstrip('/')}\r\n"
                "Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n"
                "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.csv\"\r\n\r\n")
        with socket.create_connection((address.hostname, address.port)) as sock:
            sock.sendall(head.encode() + b"referral_id\r\n" * 20_000)
            root = next(tmp_path.iterdir())
            deadline = time.monotonic() + 10
            while not any(root.iterdir()) and time.monotonic() < deadline:   # the upload has begun
                time.sleep(0.02)
            assert any(root.iterdir())
        deadline = time.monotonic() + 10
        while any(root.iterdir()) and time.monotonic() < deadline:   # and is gone once the browser went away
            time.sleep(0.05)
        assert list(root.iterdir()) == []


def test_a_big_upload_is_never_held_in_memory(tmp_path: Path) -> None:
    import tracemalloc

    row = b"S-1-0000001,yes,9,spastic,severe,diffuse,movement|pain\r\n" * 1000   # about 57 KB

    async def body() -> AsyncIterator[bytes]:
        yield b'--XyZ\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n\r\n'
        for _ in range(400):   # about 23 MB, made as it is sent
            yield row
        yield b"\r\n--XyZ--\r\n"

    tracemalloc.start()
    try:
        got = asyncio.run(receive(body(), "multipart/form-data; boundary=XyZ", tmp_path, limit=10**9))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.files[0].size == 400 * len(row) == (tmp_path / "big.csv").stat().st_size
    assert peak < 1_000_000, f"{peak:,} bytes held at once"


def test_the_page_takes_an_encoding_and_a_breakdown_as_the_command_does(app_client: TestClient, tmp_path: Path,
                                                                         runner: Callable[..., Result]) -> None:
    export = tmp_path / "excel.csv"
    export.write_bytes("referral_id,age_years,site\r\nR-1,9,Zoë's\r\nR-2,8,York\r\n".encode("cp1252"))
    form = app_client.get("/audit").text
    assert '<option value="cp1252">Windows-1252 (Excel&#39;s &#34;CSV (Comma delimited)&#34;)</option>' in form
    plain = finished(app_client, upload(app_client, export).headers["location"])
    assert "Done. Records read: 1 = 0 evaluated + 1 that could not be evaluated." in plain
    files = [("files", (export.name, export.read_bytes(), "text/csv"))]
    answer = app_client.post("/audit/jobs", files=files, data={"encoding": "cp1252", "by": "site"},
                             follow_redirects=False)
    location = answer.headers["location"]
    assert "Done. Records read: 2 = 2 evaluated" in finished(app_client, location)
    cli = tmp_path / "cli"
    cli.mkdir()
    shutil.copy(export, cli / export.name)
    here = Path.cwd()
    import os

    os.chdir(cli)
    try:
        assert runner("audit", export.name, "-o", "audit.html", "--csv", "statuses.csv", "--rejects", "rejects.csv",
                      "--now", NOW, "--encoding", "cp1252", "--by", "site").code == 0
    finally:
        os.chdir(here)
    assert app_client.get(location + "/page").content == (cli / "audit.html").read_bytes()
    assert app_client.get(f"{location}/files/statuses.csv").content.startswith(b"source,referral_id,referral_date,site,")
    bad = app_client.post("/audit/jobs", files=files, data={"by": "age_years"}, follow_redirects=False)
    assert bad.status_code == 422 and "&#39;age_years&#39; is a number field" in bad.text
    assert 'value="age_years"' in bad.text   # what was typed is kept
