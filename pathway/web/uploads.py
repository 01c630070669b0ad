"""Uploads streamed to a job's folder: a `multipart/form-data` body read as it arrives, never whole.

The form's own reader (`formdata`) holds a body in memory, which suits a
referral of a few kilobytes; an export of a million rows is hundreds of
megabytes. Here each file part is written to disk chunk by chunk as the body
arrives (the delimiter is found with `bytes.find`, so the cost per byte is
C's), the body is counted against a limit, and the browser's file names are
made safe to use as names in the job's folder: the names the audit page and
the packet then show, as the command would show the same files.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from .formdata import BodyError, media_type
from .limits import size_text

MAX_FILES = 200
"""Files in one upload: a meeting is a few dozen referrals, an audit a few exports."""
MAX_FIELD = 64 * 1024
"""Bytes in one form field that is not a file (a title, an agenda row)."""
MAX_FIELDS = 1000
MAX_HEADERS = 16 * 1024
UPLOAD_PATHS = re.compile(r"^/(audit/jobs|mdt/jobs(/[A-Za-z0-9_-]+/files)?)$")
"""The paths whose bodies are streamed here (the body-size guard leaves them to this module)."""


def streamed(path: str) -> bool:
    """Whether a request to `path` carries an upload that this module reads and limits itself."""
    return UPLOAD_PATHS.match(path) is not None


@dataclass(frozen=True)
class Saved:
    """One uploaded file, as saved: `name` in the folder (what pages show), its size."""

    name: str
    size: int


@dataclass
class Received:
    """A streamed form: its fields (every value, in order) and the files saved."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[Saved] = field(default_factory=list)

    def first(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default


def too_big(limit: int) -> str:
    return (f"The upload is larger than this server's limit of {size_text(limit)}, so it was not read. "
            "Split the export into smaller files, or ask whoever runs the server to raise the limit "
            "(pathway serve --max-upload).")


def safe_name(raw: str, taken: Collection[str]) -> str:
    """A browser's file name as a plain name in a folder: no folders, no hidden or control characters,
    its suffix kept (it says what the file holds), made unique among `taken` ("name-2.csv")."""
    base = re.split(r"[/\\]", raw)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c if c.isalnum() or c in "._-() " else "_" for c in base).strip(" .")
    base = base.lstrip("._-") or "upload"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:80] or "upload"
    suffix = suffix[:12]
    name = f"{stem}.{suffix}" if suffix else stem
    number = 2
    lowered = {t.lower() for t in taken}
    while name.lower() in lowered:
        name = f"{stem}-{number}.{suffix}" if suffix else f"{stem}-{number}"
        number += 1
    return name


_PARAM = re.compile(r';\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')


def _disposition(headers: bytes) -> tuple[str | None, str | None]:
    """The part's field name and file name (None: not a file) from its Content-Disposition."""
    text = headers.decode("utf-8", "replace")
    for line in text.split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() != "content-disposition":
            continue
        params: dict[str, str] = {}
        for m in _PARAM.finditer(value):
            raw = m.group(2) if m.group(2) is not None else m.group(3)
            params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", raw)
        filename = params.get("filename")
        star = params.get("filename*")
        if star and "''" in star:
            from urllib.parse import unquote

            filename = unquote(star.split("''", 1)[1], errors="replace")
        return params.get("name"), filename
    return None, None


def boundary_of(content_type: str | None) -> bytes:
    if media_type(content_type) != "multipart/form-data":
        raise BodyError(415, "send the files as multipart/form-data (a form with enctype=\"multipart/form-data\")")
    match = re.search(r'boundary="?([^";]{1,200})"?', content_type or "")
    if match is None:
        raise BodyError(400, "the upload has no multipart boundary")
    return match.group(1).encode("latin-1")


async def receive(
    chunks: AsyncIterator[bytes], content_type: str | None, folder: Path, *, limit: int,
    reserved: Collection[str] = (), max_files: int = MAX_FILES,
) -> Received:
    """Read a multipart body from `chunks`, writing its files into `folder`; `BodyError` (400, 413,
    415) when it cannot be read or is over `limit` bytes (the files written so far stay in `folder`,
    which the caller deletes)."""
    boundary = boundary_of(content_type)
    delimiter = b"\r\n--" + boundary
    keep = len(delimiter) + 2
    received = Received()
    taken = set(reserved)
    buf = b"\r\n"          # so the first delimiter looks like every other one
    state = "preamble"
    size = 0
    out: BinaryIO | None = None
    name: str | None = None
    saved_name = ""
    saved_size = 0
    value = bytearray()
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise BodyError(413, too_big(limit))
            buf += chunk
            while True:
                if state == "preamble":
                    at = buf.find(delimiter)
                    if at < 0:
                        buf = buf[-keep:]
                        break
                    buf = buf[at + len(delimiter):]
                    state = "after"
                elif state == "after":
                    if len(buf) < 2:
                        break
                    if buf.startswith(b"--"):
                        state = "end"
                        break
                    if not buf.startswith(b"\r\n"):
                        raise BodyError(400, "the upload is not well-formed multipart data")
                    buf = buf[2:]
                    state = "headers"
                elif state == "headers":
                    at = buf.find(b"\r\n\r\n")
                    if at < 0:
                        if len(buf) > MAX_HEADERS:
                            raise BodyError(400, "the upload's part headers are too long")
                        break
                    name, filename = _disposition(buf[:at])
                    buf = buf[at + 4:]
                    if filename is not None:
                        saved_name, saved_size = "", 0
                        if filename:   # an empty file input sends a part with no name and no bytes
                            if len(received.files) >= max_files:
                                raise BodyError(413, f"more than {max_files} files in one upload: send them in parts")
                            saved_name = safe_name(filename, taken)
                            taken.add(saved_name)
                            out = open(folder / saved_name, "xb")  # noqa: SIM115 - closed at the part's end
                            os.chmod(folder / saved_name, 0o600)
                        state = "file"
                    else:
                        value.clear()
                        state = "field"
                else:   # "file" or "field": the part's bytes, up to the next delimiter
                    at = buf.find(delimiter)
                    data = buf[:at] if at >= 0 else buf[:max(0, len(buf) - keep)]
                    if state == "file":
                        if out is not None and data:
                            out.write(data)
                            saved_size += len(data)
                    else:
                        value += data
                        if len(value) > MAX_FIELD:
                            raise BodyError(413, "a form field is larger than 64 KB")
                    if at < 0:
                        buf = buf[len(data):]
                        break
                    buf = buf[at + len(delimiter):]
                    if state == "file":
                        if out is not None:
                            out.close()
                            out = None
                            received.files.append(Saved(saved_name, saved_size))
                    elif name is not None:
                        if sum(len(v) for v in received.fields.values()) >= MAX_FIELDS:
                            raise BodyError(413, f"more than {MAX_FIELDS} form fields")
                        received.fields.setdefault(name, []).append(value.decode("utf-8", "replace"))
                    state = "after"
            if state == "end":
                break
    finally:
        if out is not None:
            out.close()
    if state != "end":
        raise BodyError(400, "the upload ended before it was complete (was the connection interrupted?)")
    return received
