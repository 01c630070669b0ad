"""Behind a hospital's TLS proxy: the public address, the host names answered, the proxy trusted, same-origin writes.

What `pathway serve --public-url/--allowed-host/--trusted-proxy` set up, and why:
- Host names (`Starlette`'s TrustedHostMiddleware): on loopback only loopback
  names, plus the public URL's host and each `--allowed-host`, so a proxy
  may keep the browser's `Host` header (nginx `proxy_set_header Host $host`,
  Caddy's default) and a web page elsewhere still cannot reach the server by
  DNS rebinding.
- `X-Forwarded-Proto` and `X-Forwarded-For` are read by uvicorn's own
  `ProxyHeadersMiddleware`, `X-Forwarded-Host` here, and all three only on a
  connection from a `--trusted-proxy` address (none by default): anyone else
  could claim any address or scheme in them.
- `SameOrigin`: a request that can change something (any method but GET,
  HEAD, OPTIONS) from a browser must come from the app's own pages: its
  `Origin` (else `Referer`) is the public URL's origin or the request's own;
  otherwise 403. Clients that are not browsers (an EHR's CDS Hooks calls,
  scripts posting to /api/check) send neither header and are answered as
  before. It sits outside the body limit, so a refused upload is never read.
- Absolute URLs: a request for the public URL's host name is taken as
  addressed to the public URL (`PublicAddress`: its scheme and port), so
  the framework's own (a redirect adding or dropping a slash) are right,
  and the app's (a CDS card's link) are built by `public_base`.
"""
from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .security import BASE_HEADERS, PAGE_CSP, ASGIApp, Message, Receive, Scope, Send, answer, is_api

LOOPBACK_NAMES: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing here; every other one is checked by `SameOrigin`."""
DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# -- option values (argparse `type=`: a bad one is a usage error, exit 2) --------------------------------

def public_url(text: str) -> str:
    """--public-url: the site's root as the browser sees it, normalised to `scheme://host[:port]/`."""
    parts = urlsplit(text.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// address such as https://itb.example.org/, "
                                         f"not {text!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"must be the site's address only, without user, query or fragment: {text!r}")
    if parts.path not in ("", "/"):
        raise argparse.ArgumentTypeError(
            f"must be the root of a host name (https://itb.example.org/), not a path under it ({parts.path!r}): "
            "the app's pages link to /, /report, /static/..., so give it a host name of its own")
    try:
        port = parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(f"has a port that is not a number from 0 to 65535: {text!r}") from None
    return _origin(parts.scheme, _host_of(parts.hostname), port) + "/"


def allowed_host(text: str) -> str:
    """--allowed-host: a host name (`*.example.org` for any name under it) or an IP address, without port."""
    name = text.strip().lower().rstrip(".")
    if _is_ip(name.strip("[]")):
        return name
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        ascii_name = ""
    if not _HOST_NAME.fullmatch(ascii_name) or len(ascii_name) > 253:
        raise argparse.ArgumentTypeError(f"must be a host name such as itb.example.org (no scheme, port or path), "
                                         f"or an IP address, not {text!r}")
    return ascii_name


def trusted_proxy(text: str) -> str:
    """--trusted-proxy: the proxy's IP address or network (10.0.0.0/24); a name is refused (no DNS at start)."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=True))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an IP address such as 127.0.0.1 or a network such as "
                                         f"10.0.0.0/24 (no host names, no host bits in a network), not {text!r}"
                                         ) from None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host_of(hostname: str) -> str:
    """A URL's host as it appears in a Host header: IPv6 in brackets, names in ASCII."""
    if ":" in hostname:
        return f"[{hostname}]"
    return hostname.encode("idna").decode("ascii") if not hostname.isascii() else hostname.lower()


def _origin(scheme: str, host: str, port: int | None) -> str:
    """An origin as a browser serialises it: the default port left out."""
    scheme = scheme.lower()
    return f"{scheme}://{host.lower()}" if port in (None, DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host.lower()}:{port}"


# -- what the options mean together ----------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    """How the server is reached, from `serve`'s options: what `create_app` installs.

    `allowed_hosts` None answers any Host header (a server bound beyond
    loopback without --public-url or --allowed-host, as before).
    """

    allowed_hosts: tuple[str, ...] | None = LOOPBACK_NAMES
    public_url: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    check_origin: bool = False


def exposure_for(host: str, public: str | None = None, allowed: Iterable[str] = (),
                 trusted: Iterable[str] = ()) -> Exposure:
    """The server bound to `host`: loopback names on loopback, plus the public URL's host and `allowed`.

    Anything but a bare loopback server (bound beyond loopback, or given a
    public URL or a proxy to trust, so reached from other machines) checks
    the Origin of state-changing requests.
    """
    names = list(dict.fromkeys(allowed))
    if public:
        name = urlsplit(public).hostname or ""
        names[:0] = [f"[{name}]", name] if ":" in name else [name]
    proxies = tuple(dict.fromkeys(trusted))
    loopback = is_loopback(host)
    if loopback:
        hosts: tuple[str, ...] | None = tuple(dict.fromkeys([*LOOPBACK_NAMES, *names]))
    else:
        hosts = tuple(dict.fromkeys(names)) or None
    return Exposure(hosts, public, proxies, check_origin=not loopback or bool(public) or bool(proxies))


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def install(app: Any, exposure: Exposure) -> None:
    """Adds the Origin check, the host check and the proxy headers to `app`, innermost first.

    Call after the body limit is added, so the order, outermost first, is:
    proxy headers (scheme, client and host as the browser sent them), the
    public address, host names, Origin, body limit, the app.
    """
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app.state.public_url = exposure.public_url
    if exposure.check_origin:
        app.add_middleware(SameOrigin, public=exposure.public_url)
    if exposure.allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(exposure.allowed_hosts))
    if exposure.public_url:
        app.add_middleware(PublicAddress, public=exposure.public_url)
    if exposure.trusted_proxies:
        app.add_middleware(Forwarded, trusted=exposure.trusted_proxies)


def public_base(request: Any) -> str:
    """The base of every absolute URL the app makes (`https://itb.example.org/`): the public URL when
    `serve` was given one, else the address this request came to (after a trusted proxy's headers)."""
    public: str | None = getattr(request.app.state, "public_url", None)
    return public or str(request.base_url)


# -- the proxy's headers ---------------------------------------------------------------------------------

class Forwarded:
    """`X-Forwarded-Host` (the Host header), then uvicorn's `X-Forwarded-Proto`/`-For`, from trusted peers only.

    uvicorn's middleware reads proto and for; it ignores the host, which a
    proxy that rewrites `Host` (nginx's default `proxy_pass` behaviour) sends
    there instead. The peer is checked here before uvicorn replaces the
    client address with the one the proxy forwarded.
    """

    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(t) for t in trusted)
        self.app = app
        # uvicorn types the ASGI messages in detail; this module passes them through as mappings.
        self.proxied: Any = ProxyHeadersMiddleware(app, trusted_hosts=list(trusted))  # type: ignore[arg-type]

    def trusts(self, scope: Scope) -> bool:
        client = scope.get("client")
        try:
            peer = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            return False
        return peer is not None and any(peer in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.trusts(scope):
            await self.app(scope, receive, send)
            return
        forwarded = [v for k, v in scope["headers"] if k == b"x-forwarded-host"]
        if forwarded:
            # The nearest proxy's value is the last; a proxy that sets the header (nginx's proxy_set_header) sends one.
            host = b",".join(forwarded).split(b",")[-1].strip()
            if host:
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", host)]
        await self.proxied(scope, receive, send)


class PublicAddress:
    """A request for the public URL's host name is taken as addressed to the public URL itself: its scheme and
    port, whatever the proxy passed on.

    nginx's `$host` drops the port and a proxy that is not trusted says
    nothing of https, so without this the addresses the framework makes from
    the request (a redirect that adds or drops a trailing slash) would send
    the browser to `http://` or to the wrong port.
    """

    def __init__(self, app: ASGIApp, public: str) -> None:
        parts = urlsplit(public)
        self.app = app
        self.scheme = parts.scheme
        self.name = parts.hostname
        self.host = parts.netloc.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = next((v for k, v in scope["headers"] if k == b"host"), None)
            try:
                name = urlsplit("//" + host.decode("latin-1")).hostname if host else None
            except ValueError:
                name = None
            if name is not None and name == self.name:
                scope["scheme"] = self.scheme
                scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", self.host)]
        await self.app(scope, receive, send)


# -- same-origin writes ----------------------------------------------------------------------------------

REFUSED = ("This form was not accepted, and nothing was changed: it was sent from a page that is not part of this "
           "site ({seen}). Open the form at {home} and send it from there. If that is what you did, the server does "
           "not know the address you opened: whoever runs it should start pathway serve with --public-url set to "
           "that address (behind a proxy, with --trusted-proxy and the proxy's address too).")
"""The 403's words: what happened, what to do, and what the person running the server should set."""


def _url_origin(text: str) -> str | None:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return _origin(parts.scheme, _host_of(parts.hostname), port)


def own_origin(scope: Scope, public: str | None = None) -> str | None:
    """The origin this request was addressed to: its Host header, with the public URL's scheme when there is
    one (behind a TLS proxy the browser's is https whatever the proxy says), else the request's own."""
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    if not host:
        return None
    scheme = urlsplit(public).scheme if public else scope.get("scheme", "http")
    return _url_origin(f"{scheme}://{host.decode('latin-1')}")


def verdict(scope: Scope, public: str | None) -> str | None:
    """None when the request may go on; else what it came from, to say in the refusal.

    `Origin: null` (a sandboxed frame, a redirect, a page under a no-referrer
    policy) is accepted only with `Sec-Fetch-Site: same-origin`, which no
    page can forge. A request with neither Origin nor Referer is not from a
    browser (every current browser sends Origin on a POST) and goes on.
    """
    headers = {k: v.decode("latin-1") for k, v in scope["headers"] if k in (b"origin", b"referer", b"sec-fetch-site")}
    origin = headers.get(b"origin")
    fetch_site = headers.get(b"sec-fetch-site")
    if origin is None or origin.strip() == "null":
        if fetch_site is not None:
            site = fetch_site.strip()
            return None if site in ("same-origin", "none") else f"the browser marked it {site}"
        referer = headers.get(b"referer")
        if referer is None:
            return None if origin is None else "the browser withheld where it came from"
        seen = _url_origin(referer)
    else:
        seen = _url_origin(origin.strip())
    accepted = {o for o in (_url_origin(public) if public else None, own_origin(scope, public)) if o}
    if seen is not None and seen in accepted:
        return None
    return f"it came from {seen}" if seen else "it came from something that is not a web address"


class SameOrigin:
    """403 for a state-changing browser request from another origin; `Referrer-Policy: same-origin` on answers.

    The referrer policy matters: under `no-referrer` a browser sends
    `Origin: null` on a form post from the page itself (Fetch, "append a
    request Origin header"), so the check could not tell the app's own form
    from a hostile one over plain HTTP. `same-origin` sends the Origin and
    Referer to this site and nothing to others.
    """

    def __init__(self, app: ASGIApp, public: str | None = None) -> None:
        self.app = app
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def same_origin_referrer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"referrer-policy"]
                message["headers"] = [*headers, (b"referrer-policy", b"same-origin")]
            await send(message)

        if scope["method"] not in SAFE_METHODS:
            seen = verdict(scope, self.public)
            if seen is not None:
                home = self.public or (own_origin(scope) or "") + "/"
                await refuse(scope, same_origin_referrer, REFUSED.format(seen=seen, home=home))
                return
        await self.app(scope, receive, same_origin_referrer)


async def refuse(scope: Scope, send: Send, message: str) -> None:
    """The 403: the app's own error page for a browser (its stylesheet, the disclaimer), JSON for the API."""
    site = getattr(getattr(scope.get("app"), "state", None), "site", None)
    if site is None or is_api(scope):
        await answer(scope, send, 403, message)
        return
    body = site.pages.error(403, message).encode("utf-8")
    await send({"type": "http.response.start", "status": 403, "headers": [
        (b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode("ascii")),
        (b"connection", b"close"), *BASE_HEADERS, (b"content-security-policy", PAGE_CSP.encode("ascii")),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})
