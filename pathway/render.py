"""Render a `Report` as HTML, Markdown or JSON. Markup lives only in templates/.

HTML is autoescaped everywhere; Markdown escapes free text explicitly so that
a `<script>` typed into the notes stays text in any Markdown viewer too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from jinja2 import select_autoescape
from jinja2.bccache import Bucket

from .definition import Pathway
from .formats import FORMATS
from .report import Report
from .resources import templates_dir

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#!~])")


def md_escape(text: object) -> str:
    """Free text made inert in Markdown: punctuation backslash-escaped, then HTML escaped."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", str(text)), quote=False)


def md_line(text: object) -> str:
    """Escaped, and folded onto one line so it cannot start a heading or list."""
    return " ".join(md_escape(text).split())


def percent(value: float) -> str:
    return f"{round(value * 100)}%"


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
"""English month names, not the locale's: the same report gives the same bytes on every machine."""


def when(stamp: str) -> str:
    """A report's time (`2026-12-01T19:55:02Z`) as a person reads it: `1 December 2026, 19:55 UTC`.

    The exact time stays in the JSON and in the HTML's `<time datetime>`; text that is not such a time
    is shown as it is.
    """
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.utcoffset() is None:
        return stamp
    moment = moment.astimezone(dt.timezone.utc)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M} UTC"


@lru_cache(maxsize=4)
def environment(folder: str | None = None) -> Environment:
    """The one Jinja environment: autoescape on for HTML, strict about undefined names."""
    env = Environment(
        loader=FileSystemLoader(folder or str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=compiled_templates(),
    )
    env.filters["md"] = md_line
    env.filters["percent"] = percent
    env.filters["when"] = when
    return env


class _CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's file cache, where a file that cannot be read or written only means compiling again."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # damaged or unreadable: compiled again, and rewritten
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):
            super().dump_bytecode(bucket)


def compiled_templates() -> BytecodeCache | None:
    """Templates compiled once, not by every command (compiling a report's takes ten times as long
    as rendering it): Jinja's cache in a folder of this user's in the temp folder, never the
    package. A template whose text changed is compiled again; the files are also keyed by Jinja's
    version and by this module, which says how templates compile. None: no safe temp folder."""
    key = hashlib.sha256(jinja2.__version__.encode() + b"\0" + Path(__file__).read_bytes()).hexdigest()[:16]
    try:
        return _CompiledTemplates(pattern=f"__itb-pathway-{key}-%s.cache")
    except (OSError, RuntimeError):  # RuntimeError: Jinja found the folder unsafe (another user's)
        return None


def render(report: Report, fmt: str) -> str:
    """The report in one format; the same report always gives the same text."""
    if fmt == "json":
        return report.to_json()
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    return environment().get_template(f"report.{fmt}").render(report=report)


def render_form(pathway: Pathway) -> str:
    """A blank referral to fill in: every field, its allowed values and help as YAML comments."""
    from .conditions import describe

    labels = {fid: fid for fid in pathway.fields}
    return environment().get_template("form.yaml").render(pathway=pathway, describe=lambda c: describe(c, labels))
