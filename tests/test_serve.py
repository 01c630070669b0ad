"""`pathway serve` as a user starts it: the address printed, loopback by default, clean failures, quiet logs."""
from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from pathway.cli import build_parser
from pathway.web.command import is_loopback

from .conftest import Result, edit
from .serving import ADDRESS, ROOT, served

Run = Callable[..., Result]
SECRET_ID = "R-SECRET-4e1b"
SECRET_NOTE = "note-typed-7f3a"


def test_defaults_bind_loopback_port_8000() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.workers, args.rules) == ("127.0.0.1", 8000, 1, None)
    assert (args.public_url, args.allowed_host, args.trusted_proxy) == (None, [], [])  # no proxy trusted
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


def test_a_port_in_use_is_a_clean_message(runner: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = runner("serve", "--port", str(port))
    assert r.code == 2
    assert r.err == f"pathway: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_broken_rules_stop_it_before_it_listens(runner: Run, rules_copy: Path) -> None:
    edit(rules_copy / "form.yaml", "type: tristate\n        label: Cerebral palsy", "type: tristat\n        label: Cerebral palsy")
    r = runner("serve", "--rules", str(rules_copy), "--port", "0")
    assert r.code == 3
    assert "form.yaml:" in r.err and "the pathway files are broken" in r.err


def test_workers_must_be_positive(runner: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        runner("serve", "--workers", "0")
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith("pathway serve: error: argument --workers: must be at least 1, not 0\n")


def _request(url: str, method: str, path: str, body: bytes = b"", kind: str = "") -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request(method, path, body=body or None, headers={"content-type": kind} if kind else {})
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_server_answers_and_logs_nothing_typed() -> None:
    with served() as server:
        good = json.dumps({"referral_id": SECRET_ID, "notes": SECRET_NOTE}).encode()
        bad = json.dumps({"referral_id": SECRET_ID, "age_years": SECRET_NOTE}).encode()
        form = urlencode({"referral_id": SECRET_ID, "notes": SECRET_NOTE, "age_years": SECRET_NOTE}).encode()
        assert _request(server.url, "POST", "/api/check", good, "application/json") == 200
        assert _request(server.url, "POST", "/api/check", bad, "application/json") == 422
        assert _request(server.url, "POST", "/api/check", good[:-3], "application/json") == 400
        assert _request(server.url, "POST", "/report", form, "application/x-www-form-urlencoded") == 422
        assert _request(server.url, "POST", "/preview", form, "application/x-www-form-urlencoded") == 200
        assert _request(server.url, "GET", f"/?referral_id={SECRET_ID}") == 200
        assert _request(server.url, "GET", "/static/app.js") == 200
    out = server.output
    assert out.startswith(f"pathway serve: {server.url}  (Ctrl+C to stop)\n")
    assert '"POST /api/check HTTP/1.1" 200' in out and '"POST /api/check HTTP/1.1" 422' in out
    assert '"GET / HTTP/1.1" 200' in out
    assert SECRET_ID not in out and SECRET_NOTE not in out
    assert "Traceback" not in out
    assert server.process.returncode == 0


def _exchange(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    answer = (response.status, response.read())
    conn.close()
    return answer


def test_behind_a_proxy_it_answers_the_public_name_and_logs_the_forwarded_client() -> None:
    proxied = {"host": "itb.example.org", "x-forwarded-proto": "https", "x-forwarded-for": "192.0.2.7"}
    form = {"content-type": "application/x-www-form-urlencoded"}
    with served("--public-url", "https://itb.example.org/", "--trusted-proxy", "127.0.0.1") as server:
        assert _exchange(server.url, "GET", "/", proxied)[0] == 200
        assert _exchange(server.url, "GET", "/", {**proxied, "host": "attacker.example"}) == (400, b"Invalid host header")
        ok = _exchange(server.url, "POST", "/", {**proxied, **form, "origin": "https://itb.example.org"},
                       b"referral_id=R-1")
        assert ok[0] == 200 and b'value="R-1"' in ok[1]
        refused = _exchange(server.url, "POST", "/", {**proxied, **form, "origin": "https://attacker.example"},
                            b"referral_id=R-1")
        assert refused[0] == 403 and b"it came from https://attacker.example" in refused[1]
    assert '192.0.2.7:0 - "GET / HTTP/1.1" 200' in server.output  # the browser's address, from the proxy
    assert '192.0.2.7:0 - "POST / HTTP/1.1" 403' in server.output
    assert "R-1" not in server.output and "Traceback" not in server.output


def test_it_prints_its_public_address_after_its_own() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pathway", "serve", "--port", "0", "--public-url",
                             "https://itb.example.org/"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    assert ADDRESS.match(first.rstrip("\n")), first
    assert second == "pathway serve: public address https://itb.example.org/ (through the proxy)\n"


def test_each_worker_process_gets_the_proxy_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """With --workers N each process builds its app from the environment `cmd_serve` leaves."""
    from fastapi.testclient import TestClient

    from pathway.web import command

    monkeypatch.setattr(command, "freeze_startup_objects", lambda: None)
    for name, value in {"PATHWAY_SERVE_HOST": "127.0.0.1", "PATHWAY_SERVE_PUBLIC_URL": "https://itb.example.org/",
                        "PATHWAY_SERVE_ALLOWED_HOSTS": "itb-alias.trust.example,*.itb.example.org",
                        "PATHWAY_SERVE_TRUSTED_PROXIES": "127.0.0.1/32"}.items():
        monkeypatch.setenv(name, value)
    app = command.app_from_environment()
    for host, status in (("itb.example.org", 200), ("itb-alias.trust.example", 200), ("a.itb.example.org", 200),
                         ("127.0.0.1", 200), ("attacker.example", 400)):
        assert TestClient(app, base_url=f"https://{host}").get("/api/pathway").status_code == status, host
    refused = TestClient(app, base_url="https://itb.example.org").post("/api/check", json={},
                                                                          headers={"origin": "https://attacker.example"})
    assert refused.status_code == 403
