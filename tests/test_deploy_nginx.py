"""docs/deploy.md for real: its nginx site, run by Debian's nginx on loopback in front of `pathway serve`.

The nginx block is read from docs/deploy.md itself, with only its addresses,
certificate paths and log path swapped for the test's, so the page stays
tested. TLS is real: a certificate for itb.example.org made here with
openssl. nginx runs as its own process (`-g 'daemon off;'`) with its pid,
logs and temporary folders in the test's folder. Through it: the form page
and a post that renders the checklist, CDS Hooks discovery and the card's
link, a cross-site post refused, the redirect from http, and nginx's log
without query strings or job ids; in Chromium, the form posted without
JavaScript, and a form on another site refused. The systemd unit's command
line is parsed by `pathway serve`'s own parser, and the unit checked by
`systemd-analyze verify` where systemd is installed.

Needs /usr/sbin/nginx and openssl (apt-get install nginx openssl): without
them the tests are skipped locally, and fail under CI=true.
"""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from pathway.cli import build_parser
from pathway.definition import Pathway

from .conftest import ROOT, example
from .serving import Served, served
from .test_cds import call, form
from .test_web import form_pairs

NGINX = os.environ.get("PATHWAY_NGINX", "/usr/sbin/nginx")
DEPLOY = ROOT / "docs" / "deploy.md"
NAME = "itb.example.org"
ELSEWHERE = "https://attacker.example"
MEETING = ROOT / "examples" / "meeting"
EXPORT = ROOT / "examples" / "audit" / "referrals-2026.csv"
CHECKLIST = "17 of 22 applicable items documented; 3 points to discuss."


def fenced(kind: str) -> str:
    """The one ```kind block of docs/deploy.md."""
    blocks = re.findall(rf"^```{kind}\n(.*?)^```$", DEPLOY.read_text(encoding="utf-8"), re.S | re.M)
    assert len(blocks) == 1, f"docs/deploy.md should hold one {kind} block, not {len(blocks)}"
    return str(blocks[0])


def swapped(text: str, swaps: dict[str, str]) -> str:
    for old, new in swaps.items():
        assert text.count(old) == 1, f"docs/deploy.md's block no longer has {old!r} once; update the test's swaps"
        text = text.replace(old, new)
    return text


def _missing() -> str | None:
    if not (Path(NGINX).exists() or shutil.which(NGINX)):
        return f"nginx not found at {NGINX} (apt-get install nginx)"
    if shutil.which("openssl") is None:
        return "openssl not found (apt-get install openssl)"
    return None


def _needs(reason: str | None) -> None:
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the deployment tests cannot run in CI: {reason}")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proxied:
    """nginx on `tls` (https) and `plain` (http) in front of `server`; `public` is the address users open."""

    tls: int
    plain: int
    folder: Path
    cert: Path
    server: Served

    @property
    def public(self) -> str:
        return f"https://{NAME}:{self.tls}/"

    @property
    def origin(self) -> str:
        return f"https://{NAME}:{self.tls}"

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """One HTTPS request to nginx, for itb.example.org (SNI and Host), verifying the test's certificate."""
        context = ssl.create_default_context(cafile=str(self.cert))
        raw = socket.create_connection(("127.0.0.1", self.tls), timeout=15)
        try:
            tls = context.wrap_socket(raw, server_hostname=NAME)
        except BaseException:
            raw.close()
            raise
        conn = http.client.HTTPConnection(NAME, self.tls, timeout=15)
        conn.sock = tls
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def access_log(self) -> str:
        return (self.folder / "access.log").read_text(encoding="utf-8")


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={NAME}",
                    "-addext", f"subjectAltName=DNS:{NAME}"], check=True, capture_output=True)
    return cert, key


def nginx_conf(folder: Path, upstream: int, tls: int, plain: int, cert: Path, key: Path) -> Path:
    site = swapped(fenced("nginx"), {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "listen 443 ssl;": f"listen 127.0.0.1:{tls} ssl;",
        "listen [::]:443 ssl;": "",
        "listen 80;": f"listen 127.0.0.1:{plain};",
        "listen [::]:80;": "",
        "/etc/ssl/itb-pathway/fullchain.pem": str(cert),
        "/etc/ssl/itb-pathway/privkey.pem": str(key),
        "/var/log/nginx/itb-pathway.access.log": str(folder / "access.log"),
    })
    (folder / "site.conf").write_text(site, encoding="utf-8")
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"))
    user = "user root root;\n" if os.geteuid() == 0 else ""  # as root, workers would switch to nobody: no test folder
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
{temp}
    access_log {folder / 'other-access.log'};
    include {folder / 'site.conf'};
}}
""", encoding="utf-8")
    return conf


def _nginx(folder: Path, conf: Path, *more: str) -> list[str]:
    return [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log"), *more]


@contextmanager
def behind_nginx(folder: Path, *serve_options: str) -> Iterator[Proxied]:
    """`pathway serve --public-url https://itb.example.org:PORT/ OPTIONS` with the docs' nginx site in front."""
    _needs(_missing())
    cert, key = certificate(folder)
    tls, plain = free_port(), free_port()
    with served("--public-url", f"https://{NAME}:{tls}/", *serve_options) as server:
        upstream = int(server.url.rsplit(":", 1)[1].strip("/"))
        conf = nginx_conf(folder, upstream, tls, plain, cert, key)
        checked = subprocess.run(_nginx(folder, conf, "-t"), capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        proc = subprocess.Popen(_nginx(folder, conf, "-g", "daemon off;"), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    socket.create_connection(("127.0.0.1", tls), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        error = (folder / "error.log").read_text() if (folder / "error.log").exists() else ""
                        pytest.fail(f"nginx did not start: {proc.stdout.read() if proc.stdout else ''}{error}")
                    time.sleep(0.05)
            yield Proxied(tls, plain, folder, cert, server)
        finally:
            proc.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    """As docs/deploy.md runs it: the proxy trusted for X-Forwarded-*."""
    with behind_nginx(tmp_path_factory.mktemp("nginx"), "--trusted-proxy", "127.0.0.1") as p:
        yield p


# -- through nginx, as a script would ---------------------------------------------------------------------

def test_the_form_page_comes_through_with_the_apps_headers_and_nginx_hsts(proxied: Proxied) -> None:
    status, headers, body = proxied.request("GET", "/")
    assert status == 200
    assert b'<form id="referral-form" method="post" action="/"' in body
    assert headers["strict-transport-security"] == "max-age=63072000"
    assert headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert headers["referrer-policy"] == "same-origin"


def test_redirects_made_by_the_framework_keep_the_public_address(proxied: Proxied) -> None:
    status, headers, _ = proxied.request("GET", "/mdt/")
    assert (status, headers["location"]) == (307, proxied.public + "mdt")   # not http://, not port 443


def test_a_post_from_the_form_renders_the_checklist(proxied: Proxied) -> None:
    status, _, body = proxied.request("POST", "/", {"content-type": "application/x-www-form-urlencoded",
                                                    "origin": proxied.origin, "referer": proxied.public},
                                      urlencode(form_pairs(example())).encode())
    assert status == 200
    assert f'<p class="panel-summary" id="panel-summary">{CHECKLIST}</p>'.encode() in body
    assert b'value="R-001"' in body


def test_cds_discovery_and_the_cards_link_use_the_public_address(proxied: Proxied, pathway: Pathway) -> None:
    status, _, body = proxied.request("GET", "/cds-services")
    assert status == 200
    assert [s["id"] for s in json.loads(body)["services"]] == ["itb-pathway-checklist"]
    status, _, body = proxied.request("POST", "/cds-services/itb-pathway-checklist",
                                      {"content-type": "application/json"}, json.dumps(call(form(pathway))).encode())
    assert status == 200
    [card] = json.loads(body)["cards"]
    assert card["source"]["url"] == proxied.public
    assert card["summary"] == f"ITB pathway checklist: {CHECKLIST}"


def test_a_post_from_another_site_is_refused_through_the_proxy(proxied: Proxied) -> None:
    status, _, body = proxied.request("POST", "/", {"content-type": "application/x-www-form-urlencoded",
                                                    "origin": ELSEWHERE}, b"referral_id=R-1")
    assert status == 403
    assert b"not part of this site (it came from https://attacker.example)" in body
    assert f"Open the form at {proxied.public} and send it from there.".encode() in body
    status, headers, body = proxied.request("POST", "/api/check", {"content-type": "application/json",
                                                                   "origin": ELSEWHERE}, b"{}")
    assert status == 403 and headers["content-type"] == "application/json"


def test_the_host_header_alone_is_enough_when_the_proxy_is_not_trusted(tmp_path: Path, pathway: Pathway) -> None:
    """Without --trusted-proxy the X-Forwarded-* headers are ignored: `Host $host` is what gets the page answered."""
    with behind_nginx(tmp_path) as untrusted:
        assert untrusted.request("GET", "/")[0] == 200
        moved = untrusted.request("GET", "/api/pathway/")
        assert (moved[0], moved[1]["location"]) == (307, untrusted.public + "api/pathway")   # https, and the port
        status, _, body = untrusted.request("POST", "/", {"content-type": "application/x-www-form-urlencoded",
                                                          "origin": untrusted.origin}, b"referral_id=R-1")
        assert status == 200 and b'value="R-1"' in body
        status, _, body = untrusted.request("POST", "/cds-services/itb-pathway-checklist",
                                            {"content-type": "application/json"},
                                            json.dumps(call(form(pathway))).encode())
        assert json.loads(body)["cards"][0]["source"]["url"] == untrusted.public
        assert untrusted.request("POST", "/", {"content-type": "application/x-www-form-urlencoded",
                                               "origin": ELSEWHERE}, b"referral_id=R-1")[0] == 403


def multipart(files: list[tuple[str, bytes]], boundary: str = "itb-pathway-test-boundary") -> tuple[dict[str, str],
                                                                                                   bytes]:
    """A browser's file upload: each file a part of field `files`."""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n" for name, data in files]
    return ({"content-type": f"multipart/form-data; boundary={boundary}"},
            b"".join(parts) + f"--{boundary}--\r\n".encode())


def upload(proxied: Proxied, path: str, files: list[tuple[str, bytes]]) -> str:
    """The files posted from the app's page; the job page the server sends the browser to."""
    headers, body = multipart(files)
    status, answer, page = proxied.request("POST", path, {**headers, "origin": proxied.origin}, body)
    assert status == 303, page[:2000]
    location = answer["location"]
    assert re.fullmatch(r"/(mdt|audit)/jobs/[A-Za-z0-9_-]{32}", location), location   # relative: the public name stays
    return location


def test_the_meeting_packet_through_the_proxy(proxied: Proxied) -> None:
    from pypdf import PdfReader

    location = upload(proxied, "/mdt/jobs", [(p.name, p.read_bytes()) for p in sorted(MEETING.glob("*.yaml"))])
    status, _, page = proxied.request("GET", location)
    assert status == 200
    ids = re.findall(rb'<input type="hidden" name="id-\d+" value="([^"]+)">', page)
    assert ids == [b"R-003", b"R-004", b"R-002"]
    agenda = {"title": "ITB MDT, December", "date": "2026-12-03", "action": "pdf"}
    for i, rid in enumerate(ids):
        agenda.update({f"id-{i}": rid.decode(), f"order-{i}": str(i + 1), f"on-{i}": "1"})
    status, headers, pdf = proxied.request("POST", location, {"content-type": "application/x-www-form-urlencoded",
                                                              "origin": proxied.origin}, urlencode(agenda).encode())
    assert status == 200, pdf[:2000]
    assert headers["content-disposition"] == 'attachment; filename="packet.pdf"'
    cover = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert cover.index("R-003") < cover.index("R-004") < cover.index("R-002")


def test_the_audit_through_the_proxy(proxied: Proxied) -> None:
    location = upload(proxied, "/audit/jobs", [(EXPORT.name, EXPORT.read_bytes())])
    deadline = time.monotonic() + 120
    while True:
        status, _, page = proxied.request("GET", location)
        assert status == 200
        if b'http-equiv="refresh"' not in page:
            break
        assert time.monotonic() < deadline, "the audit did not finish"
        time.sleep(0.2)
    status, _, matrix = proxied.request("GET", f"{location}/files/statuses.csv")
    assert status == 200
    rows = matrix.decode("utf-8").splitlines()
    assert rows[0].startswith("source,referral_id,referral_date,") and len(rows) > 150   # of the 200-row export
    assert proxied.request("GET", f"{location}/files/rejects.csv")[0] == 200
    gone = time.monotonic() + 10   # deleted once the second download has been sent
    while proxied.request("GET", location)[0] != 404 and time.monotonic() < gone:
        time.sleep(0.1)
    assert proxied.request("GET", location)[0] == 404   # both downloaded: the job's files are gone


def test_an_upload_over_the_servers_limit_gets_the_servers_message_through_nginx(tmp_path: Path) -> None:
    """nginx streams the body (proxy_request_buffering off) and passes on the server's early answer."""
    with behind_nginx(tmp_path, "--trusted-proxy", "127.0.0.1", "--max-upload", "1MB") as small:
        headers, body = multipart([("big.csv", b"referral_id\n" + b"R-1\n" * 750_000)])
        status, _, page = small.request("POST", "/audit/jobs", {**headers, "origin": small.origin}, body)
        assert status == 413
        assert b"The upload is larger than this server&#39;s limit of 1 MB, so it was not read." in page


def test_plain_http_is_sent_to_https(proxied: Proxied) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxied.plain, timeout=10)
    try:
        conn.request("GET", "/report?x=1", headers={"host": NAME})
        r = conn.getresponse()
        assert (r.status, r.getheader("location")) == (301, f"https://{NAME}/report?x=1")
    finally:
        conn.close()


def test_nginx_logs_no_query_string_and_no_job_id(proxied: Proxied) -> None:
    job = "A" * 16 + "b1_-" * 4
    proxied.request("GET", "/?referral_id=R-SECRET-4e1b")
    proxied.request("GET", f"/audit/jobs/{job}")
    proxied.request("GET", f"/mdt/jobs/{job}/files")
    deadline = time.monotonic() + 5
    while "/mdt/jobs/" not in proxied.access_log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = proxied.access_log()
    assert re.search(r'^127\.0\.0\.1 \[[^]]+\] "GET /" 200 \d+ [\d.]+$', log, re.M), log
    assert '"GET /audit/jobs/..."' in log and '"GET /mdt/jobs/..."' in log
    assert "R-SECRET" not in log and job not in log and "referral_id" not in log


# -- in Chromium, as a clinician would -------------------------------------------------------------------

def test_in_a_browser_the_form_posts_and_another_sites_form_is_refused(proxied: Proxied) -> None:
    from .test_browser import CHROMIUM, CHROMIUM_ARGS

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - reported as a skip, or a failure under CI
        _needs("Playwright for Python is not installed (pip install playwright)")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _needs(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    posted: list[dict[str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {NAME} 127.0.0.1"])
        try:
            # No JavaScript: the form itself posts, as it does for anyone with scripts off.
            ctx = browser.new_context(ignore_https_errors=True, java_script_enabled=False)
            page = ctx.new_page()
            page.on("request", lambda r: posted.append(r.headers) if r.method == "POST" else None)
            page.goto(proxied.public)
            page.fill("#f-referral_id", "R-PROXY-1")
            page.get_by_role("button", name="Update the checklist").click()
            page.wait_for_load_state()
            assert page.locator("#panel-summary").is_visible()
            assert page.input_value("#f-referral_id") == "R-PROXY-1"
            assert posted and posted[-1].get("origin") == proxied.origin  # the real origin, not null

            # With JavaScript: the live checklist's own posts (fetch, same origin) are answered too.
            scripted = browser.new_context(ignore_https_errors=True)
            live = scripted.new_page()
            previews: list[int] = []
            live.on("response", lambda r: previews.append(r.status) if r.url.endswith("/preview") else None)
            live.goto(proxied.public)
            with live.expect_response(lambda r: r.url.endswith("/preview")):
                live.check("#f-diagnosis_cp-0")
            assert previews and set(previews) == {200}
            scripted.close()

            # A page on another site with a form aimed at this one.
            page.route(f"{ELSEWHERE}/", lambda route: route.fulfill(content_type="text/html", body=(
                f'<form method="post" action="{proxied.public}"><input name="referral_id" value="R-1">'
                '<button id="go">go</button></form>')))
            page.goto(f"{ELSEWHERE}/")
            page.click("#go")
            page.wait_for_load_state()
            assert "not part of this site (it came from https://attacker.example)" in page.inner_text("body")
            ctx.close()
        finally:
            browser.close()


# -- the systemd unit ------------------------------------------------------------------------------------

def exec_start() -> list[str]:
    [line] = [ln for ln in fenced("ini").splitlines() if ln.startswith("ExecStart=")]
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_units_command_line_is_one_pathway_serve_takes() -> None:
    command = exec_start()
    assert command[0] == "/opt/itb-pathway/bin/pathway"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.host, args.port, args.workers) == ("serve", "127.0.0.1", 8000, 1)
    assert (args.public_url, args.trusted_proxy) == ("https://itb.example.org/", ["127.0.0.1/32"])
    assert args.max_upload == 2 * 10**9
    site = fenced("nginx")
    assert "server 127.0.0.1:8000;" in site and "client_max_body_size 2g;" in site  # 2 GiB >= the 2GB above


def test_systemd_reads_the_unit_without_a_complaint(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not found (the unit's command line is still checked above)")
    pathway = shutil.which("pathway")
    assert pathway is not None
    user = _user()
    unit = swapped(fenced("ini"), {"/opt/itb-pathway/bin/pathway": pathway, "User=itb-pathway": f"User={user}",
                                   "Group=itb-pathway": f"Group={user}"})
    path = tmp_path / "itb-pathway.service"
    path.write_text(unit, encoding="utf-8")
    r = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Unknown" not in r.stderr and "ignoring" not in r.stderr, r.stderr


def _user() -> str:
    import grp
    import pwd

    name = pwd.getpwuid(os.geteuid()).pw_name
    assert grp.getgrnam(name)
    return name
