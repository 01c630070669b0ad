"""Behind a TLS proxy (`pathway.web.proxy`): the host names answered, the proxy's headers, the public address, the
Origin check of every state-changing route. In-process; `test_deploy_nginx.py` puts Debian's nginx in front."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from pathway.cli import build_parser
from pathway.definition import Pathway
from pathway.web import proxy
from pathway.web import routes as routes_package
from pathway.web.app import create_app
from pathway.web.proxy import LOOPBACK_NAMES, Exposure, Forwarded, exposure_for, verdict

from .conftest import FIXED, RULES, TestClient, example
from .test_cds import call, form, only_card

PUBLIC = "https://itb.example.org/"
CDS = "/cds-services/itb-pathway-checklist"
EVIL = "https://attacker.example"


def app_for(exposure: Exposure) -> FastAPI:
    return create_app(RULES, clock=lambda: FIXED, exposure=exposure)


def from_peer(app: Any, address: str) -> Any:
    """The app as reached over a connection from `address` (the test client's own is not an IP address)."""
    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["client"] = (address, 43210)
        await app(scope, receive, send)
    return asgi


@pytest.fixture(scope="module")
def behind() -> Iterator[TestClient]:
    """`serve --public-url https://itb.example.org/ --trusted-proxy 127.0.0.1`, reached through that proxy."""
    app = app_for(exposure_for("127.0.0.1", PUBLIC, trusted=["127.0.0.1"]))
    with TestClient(from_peer(app, "127.0.0.1"), base_url="http://itb.example.org") as c:
        yield c


# -- option values ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "normalised"), [
    ("https://itb.example.org/", "https://itb.example.org/"),
    ("https://ITB.Example.org", "https://itb.example.org/"),
    ("https://itb.example.org:443/", "https://itb.example.org/"),
    ("http://itb.example.org:80", "http://itb.example.org/"),
    ("https://itb.example.org:8443/", "https://itb.example.org:8443/"),
    ("https://[2001:db8::1]/", "https://[2001:db8::1]/"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
])
def test_a_public_url_is_kept_as_a_browser_writes_its_origin(given: str, normalised: str) -> None:
    assert proxy.public_url(given) == normalised


@pytest.mark.parametrize(("given", "message"), [
    ("itb.example.org", "must be an http:// or https:// address such as https://itb.example.org/, "
                        "not 'itb.example.org'"),
    ("ftp://itb.example.org/", "must be an http:// or https:// address such as https://itb.example.org/, "
                               "not 'ftp://itb.example.org/'"),
    ("https://itb.example.org/itb/", "must be the root of a host name (https://itb.example.org/), not a path under it "
                                     "('/itb/'): the app's pages link to /, /report, /static/..., so give it a host "
                                     "name of its own"),
    ("https://itb.example.org/?a=1", "must be the site's address only, without user, query or fragment: "
                                     "'https://itb.example.org/?a=1'"),
    ("https://user@itb.example.org/", "must be the site's address only, without user, query or fragment: "
                                      "'https://user@itb.example.org/'"),
    ("https://itb.example.org:99999/", "has a port that is not a number from 0 to 65535: "
                                       "'https://itb.example.org:99999/'"),
])
def test_a_bad_public_url_is_a_usage_error(given: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["serve", "--public-url", given])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith(f"pathway serve: error: argument --public-url: {message}\n")


def test_allowed_hosts_and_trusted_proxies_are_checked_as_parsed(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["serve", "--allowed-host", "ITB.trust.example.", "--allowed-host",
                                      "*.itb.example.org", "--allowed-host", "10.1.2.3",
                                      "--trusted-proxy", "127.0.0.1", "--trusted-proxy", "10.0.0.0/24",
                                      "--trusted-proxy", "::1"])
    assert args.allowed_host == ["itb.trust.example", "*.itb.example.org", "10.1.2.3"]
    assert args.trusted_proxy == ["127.0.0.1/32", "10.0.0.0/24", "::1/128"]
    for option, value, message in (
        ("--allowed-host", "https://itb.example.org",
         "must be a host name such as itb.example.org (no scheme, port or path), or an IP address, "
         "not 'https://itb.example.org'"),
        ("--allowed-host", "itb.example.org:443",
         "must be a host name such as itb.example.org (no scheme, port or path), or an IP address, "
         "not 'itb.example.org:443'"),
        ("--trusted-proxy", "proxy.example.org",
         "must be an IP address such as 127.0.0.1 or a network such as 10.0.0.0/24 (no host names, no host bits "
         "in a network), not 'proxy.example.org'"),
        ("--trusted-proxy", "10.0.0.1/24",
         "must be an IP address such as 127.0.0.1 or a network such as 10.0.0.0/24 (no host names, no host bits "
         "in a network), not '10.0.0.1/24'"),
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", option, value])
        assert capsys.readouterr().err.endswith(f"error: argument {option}: {message}\n")


def test_what_the_options_mean_together() -> None:
    assert exposure_for("127.0.0.1") == Exposure(LOOPBACK_NAMES, None, (), check_origin=False)
    assert exposure_for("127.0.0.1", PUBLIC, ["itb-alias.trust.example"], ["127.0.0.1/32"]) == Exposure(
        (*LOOPBACK_NAMES, "itb.example.org", "itb-alias.trust.example"), PUBLIC, ("127.0.0.1/32",), check_origin=True)
    assert exposure_for("0.0.0.0") == Exposure(None, None, (), check_origin=True)
    assert exposure_for("0.0.0.0", allowed=["itb.example.org"]) == Exposure(("itb.example.org",), None, (), True)
    assert exposure_for("::1", "https://[2001:db8::1]/").allowed_hosts == (*LOOPBACK_NAMES, "[2001:db8::1]",
                                                                           "2001:db8::1")


# -- host names ---------------------------------------------------------------------------------------------

def test_a_proxy_that_keeps_the_host_header_is_answered() -> None:
    app = app_for(exposure_for("127.0.0.1", PUBLIC))
    assert TestClient(app, base_url="https://itb.example.org").get("/").status_code == 200
    assert TestClient(app, base_url="http://127.0.0.1:8000").get("/api/pathway").status_code == 200  # health checks
    refused = TestClient(app, base_url="https://attacker.example").get("/")
    assert (refused.status_code, refused.text) == (400, "Invalid host header")  # DNS rebinding, still refused


def test_without_a_public_url_a_loopback_server_answers_loopback_names_only() -> None:
    app = app_for(exposure_for("127.0.0.1"))
    assert TestClient(app, base_url="http://localhost:8000").get("/").status_code == 200
    assert TestClient(app, base_url="https://itb.example.org").get("/").status_code == 400


# -- the proxy's headers ------------------------------------------------------------------------------------

def _seen(trusted: list[str], peer: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The scope the app sees behind `Forwarded`, for a request from `peer` with `headers`."""
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scheme=scope["scheme"], client=scope["client"], host=dict(scope["headers"]).get(b"host"))

    scope = {"type": "http", "scheme": "http", "client": (peer, 5000), "method": "GET", "path": "/",
             "headers": [(b"host", b"127.0.0.1:8000"), *headers]}
    asyncio.run(Forwarded(app, [proxy.trusted_proxy(t) for t in trusted])(scope, None, None))  # type: ignore[arg-type]
    return seen


FORWARDED = [(b"x-forwarded-proto", b"https"), (b"x-forwarded-for", b"192.0.2.7"),
             (b"x-forwarded-host", b"itb.example.org")]


def test_forwarded_headers_are_read_from_the_trusted_proxy() -> None:
    assert _seen(["127.0.0.1"], "127.0.0.1", FORWARDED) == {
        "scheme": "https", "client": ("192.0.2.7", 0), "host": b"itb.example.org"}
    assert _seen(["10.0.0.0/24"], "10.0.0.9", FORWARDED)["client"] == ("192.0.2.7", 0)


def test_forwarded_headers_from_anyone_else_are_ignored() -> None:
    assert _seen(["127.0.0.1"], "192.0.2.50", FORWARDED) == {
        "scheme": "http", "client": ("192.0.2.50", 5000), "host": b"127.0.0.1:8000"}
    assert _seen(["10.0.0.0/24"], "10.0.1.9", FORWARDED)["scheme"] == "http"


def test_a_forwarded_host_is_still_checked_against_the_names_answered() -> None:
    app = from_peer(app_for(exposure_for("127.0.0.1", PUBLIC, trusted=["127.0.0.1"])), "127.0.0.1")
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    assert client.get("/", headers={"x-forwarded-host": "itb.example.org"}).status_code == 200
    assert client.get("/", headers={"x-forwarded-host": "attacker.example"}).status_code == 400


# -- absolute URLs ------------------------------------------------------------------------------------------

def test_cds_card_links_use_the_public_address(behind: TestClient, pathway: Pathway) -> None:
    assert only_card(behind.post(CDS, json=call(form(pathway))))["source"]["url"] == PUBLIC


def test_without_a_public_url_links_use_the_address_the_trusted_proxy_forwards(pathway: Pathway) -> None:
    app = app_for(exposure_for("127.0.0.1", trusted=["127.0.0.1"], allowed=["itb.example.org"]))
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-host": "itb.example.org"}
    through_proxy = TestClient(from_peer(app, "127.0.0.1"), base_url="http://127.0.0.1:8000")
    card = only_card(through_proxy.post(CDS, json=call(form(pathway)), headers=forwarded))
    assert card["source"]["url"] == "https://itb.example.org/"
    direct = TestClient(from_peer(app, "192.0.2.50"), base_url="http://127.0.0.1:8000")
    assert only_card(direct.post(CDS, json=call(form(pathway)), headers=forwarded))["source"]["url"] == \
        "http://127.0.0.1:8000/"


def test_the_frameworks_own_redirects_use_the_public_address() -> None:
    """nginx's $host has no port, and an untrusted proxy's scheme is http: the redirect still goes to the public URL."""
    app = app_for(exposure_for("127.0.0.1", "https://itb.example.org:8443/"))
    moved = TestClient(app, base_url="http://itb.example.org", follow_redirects=False).get("/api/pathway/")
    assert (moved.status_code, moved.headers["location"]) == (307, "https://itb.example.org:8443/api/pathway")
    local = TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False).get("/api/pathway/")
    assert local.headers["location"] == "http://127.0.0.1:8000/api/pathway"   # a health check on loopback: as asked


# -- same-origin writes -------------------------------------------------------------------------------------

def test_a_post_from_the_apps_own_page_is_answered(behind: TestClient) -> None:
    r = behind.post("/", data={"referral_id": "R-1"}, headers={"origin": "https://itb.example.org"})
    assert r.status_code == 200 and 'value="R-1"' in r.text


def test_a_post_from_another_sites_page_is_refused_with_a_clear_403(behind: TestClient) -> None:
    r = behind.post("/", data={"referral_id": "R-1"}, headers={"origin": EVIL})
    assert r.status_code == 403
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert ("<p>This form was not accepted, and nothing was changed: it was sent from a page that is not part of "
            "this site (it came from https://attacker.example). Open the form at https://itb.example.org/ and send it "
            "from there. If that is what you did, the server does not know the address you opened: whoever runs it "
            "should start pathway serve with --public-url set to that address (behind a proxy, with --trusted-proxy "
            "and the proxy&#39;s address too).</p>") in r.text
    assert '<link rel="stylesheet" href="/static/app.css">' in r.text  # the app's own error page
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")


def test_an_api_or_cds_call_from_a_browser_elsewhere_gets_json(behind: TestClient, pathway: Pathway) -> None:
    for path, body in (("/api/check", example()), (CDS, call(form(pathway)))):
        r = behind.post(path, json=body, headers={"origin": EVIL})
        assert r.status_code == 403 and r.headers["content-type"] == "application/json"
        assert r.json()["detail"].startswith("This form was not accepted, and nothing was changed: it was sent from")


def test_clients_that_are_not_browsers_send_no_origin_and_are_answered(behind: TestClient, pathway: Pathway) -> None:
    assert behind.post("/api/check", json=example()).status_code == 200
    assert only_card(behind.post(CDS, json=call(form(pathway))))["indicator"] == "info"


@pytest.mark.parametrize(("headers", "allowed"), [
    ({"origin": "https://itb.example.org"}, True),
    ({"origin": "https://itb.example.org:443"}, True),
    ({"origin": "http://itb.example.org"}, False),      # the public URL says https, whatever the request's scheme
    ({"origin": "https://itb-alias.trust.example"}, True),  # the name this request came to (an --allowed-host)
    ({"origin": "https://itb.example.org:8443"}, False),
    ({"origin": "https://itb.example.org.attacker.example"}, False),
    ({"origin": "null"}, False),                         # a sandboxed frame, a data: page
    ({"origin": "null", "sec-fetch-site": "same-origin"}, True),  # the app's page under a no-referrer policy
    ({"origin": "null", "sec-fetch-site": "cross-site"}, False),
    ({"sec-fetch-site": "cross-site"}, False),
    ({"sec-fetch-site": "same-site"}, False),
    ({"referer": "https://itb.example.org/"}, True),
    ({"referer": f"{EVIL}/page"}, False),
    ({"origin": "not a url"}, False),
    ({}, True),                                          # curl, an EHR back end
])
def test_origin_referer_and_fetch_metadata(headers: dict[str, str], allowed: bool) -> None:
    host = b"itb-alias.trust.example" if "itb-alias" in headers.get("origin", "") else b"itb.example.org"
    scope = {"scheme": "http", "headers": [(b"host", host),
                                          *((k.encode(), v.encode()) for k, v in headers.items())]}
    assert (verdict(scope, PUBLIC) is None) is allowed


def test_a_refused_upload_is_not_read() -> None:
    """The check is outside the body limit: a refused body is never read, so a large one is refused at once."""
    app = create_app(RULES, max_body=1024, exposure=exposure_for("127.0.0.1", PUBLIC))
    r = TestClient(app, base_url="https://itb.example.org").post(
        "/", content=b"x" * 4096, headers={"origin": EVIL, "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403


def test_every_state_changing_route_checks_the_origin() -> None:
    """Routes added later (the packet and audit pages) are covered without a line of their own."""
    client = TestClient(app_for(exposure_for("127.0.0.1", PUBLIC)), base_url="https://itb.example.org")
    routers = [importlib.import_module(f"pathway.web.routes.{m.name}").router
               for m in pkgutil.iter_modules(routes_package.__path__)]
    routes = [(method, getattr(route, "path", "")) for router in routers for route in router.routes
              for method in sorted(getattr(route, "methods", None) or ()) if method not in proxy.SAFE_METHODS]
    assert ("POST", "/") in routes and ("POST", "/api/check") in routes and ("POST", CDS.replace(
        "itb-pathway-checklist", "{service_id}")) in routes
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path.replace("{service_id}", "itb-pathway-checklist"))
        r = client.request(method, concrete, headers={"origin": EVIL}, content=b"")
        assert r.status_code == 403, (method, path)
        assert client.request(method, concrete, headers={"origin": "https://itb.example.org"},
                              content=b"").status_code != 403, (method, path)


def test_the_origin_check_is_off_on_a_bare_loopback_server() -> None:
    """Loopback only, no proxy: nothing reaches it from another machine, and its no-referrer policy is kept."""
    client = TestClient(app_for(exposure_for("127.0.0.1")), base_url="http://127.0.0.1:8000")
    r = client.post("/", data={"referral_id": "R-1"}, headers={"origin": EVIL})
    assert r.status_code == 200 and r.headers["referrer-policy"] == "no-referrer"


def test_a_server_bound_beyond_loopback_checks_against_its_own_address() -> None:
    client = TestClient(app_for(exposure_for("0.0.0.0")), base_url="http://10.1.2.3:8000")
    assert client.post("/", data={"referral_id": "R-1"}, headers={"origin": "http://10.1.2.3:8000"}).status_code == 200
    assert client.post("/", data={"referral_id": "R-1"}, headers={"origin": "http://10.1.2.3"}).status_code == 403
    assert client.get("/").headers["referrer-policy"] == "same-origin"


def test_parsers_are_argparse_types() -> None:
    for parse in (proxy.public_url, proxy.allowed_host, proxy.trusted_proxy):
        with pytest.raises(argparse.ArgumentTypeError):
            parse("")
