"""Request bodies in, referral data out: URL-encoded and multipart forms, read with the standard library.

A browser sends the form as `application/x-www-form-urlencoded` (or as
`multipart/form-data` when a saved referral file is attached). Both become a
`FormData`; `referral_data` turns that into the same flat mapping a referral
file holds, so the core validates a form exactly as it validates a file.
`answers_of` goes the other way, to put values back into the form fields.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from ..definition import FormField
from ..fieldkinds import yes_no_word

MAX_FIELDS = 1000

Answers = dict[str, str | list[str]]
"""What the form shows: one string per single-valued field, a list per multi-choice field."""


class BodyError(Exception):
    """A request body that cannot be read: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


@dataclass
class FormData:
    """The fields of a submitted form (every value of each name, in order) and any files."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self.fields.get(name, [])


def media_type(content_type: str | None) -> str:
    """`text/html; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_form(body: bytes, content_type: str | None) -> FormData:
    """Read a browser form body; `BodyError` (415 or 400) when it is not one we can read."""
    kind = media_type(content_type)
    if kind == "application/x-www-form-urlencoded":
        return _urlencoded(body)
    if kind == "multipart/form-data":
        return _multipart(body, content_type or "")
    raise BodyError(415, "send the form as application/x-www-form-urlencoded or multipart/form-data")


def _urlencoded(body: bytes) -> FormData:
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise BodyError(400, "the form is not UTF-8 text") from None
    except ValueError:
        raise BodyError(400, f"the form has more than {MAX_FIELDS} fields") from None
    data = FormData()
    for name, value in pairs:
        data.add(name, value)
    return data


_HEADERS = BytesParser(policy=policy.HTTP)


def _multipart(body: bytes, content_type: str) -> FormData:
    boundary = _param(content_type, "boundary")
    if not boundary or len(boundary) > 200:
        raise BodyError(400, "a multipart form needs a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise BodyError(400, "the multipart form is incomplete")
    if len(chunks) > MAX_FIELDS + 2:
        raise BodyError(400, f"the form has more than {MAX_FIELDS} fields")
    data = FormData()
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise BodyError(400, "the multipart form is malformed")
        head, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise BodyError(400, "the multipart form is malformed")
        headers = _HEADERS.parsebytes(head + b"\r\n\r\n", headersonly=True)
        disposition = headers.get("content-disposition")
        name = headers.get_param("name", header="content-disposition") if disposition else None
        if not isinstance(name, str):
            raise BodyError(400, "a multipart part has no field name")
        name = _text(name.encode("utf-8", "surrogateescape"))
        filename = headers.get_param("filename", header="content-disposition")
        if isinstance(filename, str):
            data.files[name] = Upload(_text(filename.encode("utf-8", "surrogateescape"), lenient=True), content)
        else:
            data.add(name, _text(content))
    return data


def _param(content_type: str, key: str) -> str | None:
    match = re.search(rf';\s*{key}\s*=\s*(?:"([^"]*)"|([^;\s]*))', content_type, re.IGNORECASE)
    return (match.group(1) or match.group(2)) if match else None


def _text(raw: bytes, *, lenient: bool = False) -> str:
    try:
        return raw.decode("utf-8", "replace" if lenient else "strict")
    except UnicodeDecodeError:
        raise BodyError(400, "the form is not UTF-8 text") from None


def referral_data(form: FormData, fields: Mapping[str, FormField]) -> dict[str, Any]:
    """The referral a form describes, as a referral file would hold it (unanswered fields left out).

    Names that are not fields (buttons, the file input) are ignored. Browsers
    send a textarea's line breaks as CRLF; they become LF, as in a file.
    """
    data: dict[str, Any] = {}
    for fid, f in fields.items():
        if f.kind.multiple:
            chosen = [v.strip() for v in form.all(fid) if v.strip()]
            if chosen:
                data[fid] = chosen
            continue
        value = form.first(fid)
        if value is None:
            continue
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if value.strip():
            data[fid] = value
    return data


def answers_of(data: Mapping[str, Any], fields: Mapping[str, FormField]) -> Answers:
    """Form answers from referral data (validated values, or a file's raw values), as the inputs show them."""
    out: Answers = {}
    for fid, f in fields.items():
        value = data.get(fid)
        if value is None:
            continue
        if f.kind.multiple:
            items = value if isinstance(value, (list, tuple)) else [value]
            out[fid] = [_shown(v, f) for v in items if v is not None]
        else:
            out[fid] = _shown(value, f)
    return out


def _shown(value: Any, f: FormField) -> str:
    if isinstance(value, bool):
        return yes_no_word(value, f.codes) or str(value).lower()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def form_answers(form: FormData, fields: Mapping[str, FormField]) -> Answers:
    """Exactly what was typed, to show again after an error: nothing the user typed is lost."""
    out: Answers = {}
    for fid, f in fields.items():
        if f.kind.multiple:
            out[fid] = form.all(fid)
        elif (value := form.first(fid)) is not None:
            out[fid] = value.replace("\r\n", "\n")
    return out
