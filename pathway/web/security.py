"""Safe defaults around every request: a body size limit, strict headers, no stray values in logs.

`Guard` is plain ASGI middleware (cheap on the hot path): it refuses bodies
over the limit with 413 before the app sees them, adds security headers
(a Content-Security-Policy that allows only the app's own scripts and styles)
to every response that does not set its own, and turns any unexpected
exception into a 500 whose log line names the exception type and the path,
never its message (which could quote what a user typed).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from typing import Any


_JOB = re.compile(r"^/(audit|mdt)/jobs/[^/?]+")


def loggable(path: str) -> str:
    """A request path as the log may show it: no query string, and no job id (an id opens the job's files).
    Here rather than in `logs`, which imports uvicorn: `pathway check` reads this module's neighbours."""
    return _JOB.sub(r"/\1/jobs/…", path.split("?", 1)[0])

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 256 * 1024
"""Bytes: a referral is a few kilobytes, a saved file the same."""

PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
"""The app's own pages: its own script and stylesheet, nothing inline, nothing from elsewhere."""

DATA_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
"""API answers and downloads: nothing in them may run."""

BASE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

log = logging.getLogger("pathway.web")

_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


@lru_cache(maxsize=8)
def _style_hashes(styles: tuple[str, ...]) -> str:
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") + "'"
        for s in styles
    )


def report_csp(html: str) -> str:
    """The CLI's self-contained report: its inline stylesheet allowed by hash, no script at all."""
    styles = tuple(_STYLE.findall(html))
    style_src = _style_hashes(styles) if styles else "'none'"
    return (f"default-src 'none'; style-src {style_src}; img-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


def is_api(scope: Scope) -> bool:
    """The JSON API and the CDS Hooks service: their callers read JSON, not a page."""
    path = str(scope.get("path", ""))
    return path.startswith("/api/") or path == "/cds-services" or path.startswith("/cds-services/")


async def answer(scope: Scope, send: Send, status: int, message: str) -> None:
    """A small error response: JSON for the API, a plain page for the browser (the message escaped)."""
    if is_api(scope) or scope.get("path") == "/openapi.json":
        payload: dict[str, Any] = {"detail": message}
        if status == 400:  # the API documents every 400 with a list of problems (none to locate here)
            payload["problems"] = []
        body = json.dumps(payload).encode("utf-8")
        kind = b"application/json"
    else:
        body = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}</title></head>"
                f"<body><h1>{status}</h1><p>{html.escape(message, quote=False)}</p>"
                "<p><a href=\"/\">Back to the form</a></p></body></html>").encode()
        kind = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode("ascii")), (b"connection", b"close"),
        *_defaults(set()),
    ]})
    await send({"type": "http.response.body", "body": body})


def _defaults(present: set[bytes]) -> list[tuple[bytes, bytes]]:
    out = [(k, v) for k, v in BASE_HEADERS if k not in present]
    if b"content-security-policy" not in present:
        out.append((b"content-security-policy", PAGE_CSP.encode("ascii")))
    if b"cache-control" not in present:
        out.append((b"cache-control", b"no-store"))
    return out


class Guard:
    """Body limit, security headers and exception containment for one ASGI app."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, streamed: Callable[[str], bool] | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.streamed = streamed   # paths whose handler reads and limits an upload as it streams in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = f"the request body is larger than {self.max_body // 1024} KiB"
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        streamed = self.streamed is not None and self.streamed(str(scope.get("path", "")))
        if length is not None:
            if not length.isdigit():
                await answer(scope, send, 400, "the Content-Length header is not a number")
                return
            if int(length) > self.max_body and not streamed:
                await answer(scope, send, 413, too_big)
                return
        chunks: list[bytes] = []
        size = 0
        more = scope["method"] in ("POST", "PUT", "PATCH") and not streamed
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await answer(scope, send, 413, too_big)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.extend(_defaults({k.lower() for k, _ in headers}))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive if streamed else replay, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - the boundary: log the kind, never the content
            log.error("%s %s: internal error (%s)", scope.get("method"), loggable(str(scope.get("path", ""))),
                      type(exc).__name__)
            if not started:
                await answer(scope, send, 500, "internal error; nothing was produced")
