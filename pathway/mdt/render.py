"""The packet as HTML: for the browser, or as the source WeasyPrint prints to PDF.

Markup lives in templates/mdt.html: its own compact layout of each referral's
report (the words are the report's, so each section says what `pathway check`
says), with the packet's own CSS (_mdt.css, _mdt_pdf.css). Autoescaped, like
every HTML the package writes.
"""
from __future__ import annotations

from ..render import environment
from .packet import Packet

TEMPLATE = "mdt.html"


def render_html(packet: Packet, *, pdf: bool = False) -> str:
    """The packet page; `pdf` swaps the browser's running header for page margin boxes."""
    return environment().get_template(TEMPLATE).render(packet=packet, pdf=pdf)
