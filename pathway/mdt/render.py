"""The packet as HTML: for the browser, or as the source WeasyPrint prints to PDF.

Markup lives in templates/mdt.html: its own compact layout of each referral's
report (the words are the report's, so each section says what `pathway check`
says), with the packet's own CSS (_mdt.css, _mdt_pdf.css). Autoescaped, like
every HTML the package writes.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..render import environment
from .packet import Packet

TEMPLATE = "mdt.html"
PAGE_NUMBERS = "mdt_page_numbers.html"


@dataclass(frozen=True)
class Part:
    """Some of the packet's sheets, printed as a document of their own (see pdf.py): the cover,
    the referral sections `packet.children[first:stop]`, the closing sheet. A part has no "Page N
    of M" (the whole packet's numbers are stamped on afterwards), and its cover's page column
    gives `starts`, the page each referral's section starts on, in cover order."""

    first: int = 0
    stop: int = 0
    cover: bool = False
    closing: bool = False
    starts: tuple[int, ...] = ()


def render_html(packet: Packet, *, pdf: bool = False, part: Part | None = None) -> str:
    """The packet page; `pdf` swaps the browser's running header for page margin boxes, and
    `part` (PDF only) keeps only some of its sheets."""
    if part is not None and not pdf:
        raise ValueError("a part of the packet is printed as PDF only")
    return environment().get_template(TEMPLATE).render(packet=packet, pdf=pdf, part=part)


def render_page_numbers(pages: int) -> str:
    """`pages` blank pages of the packet's page geometry, each with only its "Page N of M"."""
    return environment().get_template(PAGE_NUMBERS).render(pages=pages)
