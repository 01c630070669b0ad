"""The packet as HTML: for the browser, or as the source WeasyPrint prints to PDF.

Markup lives in templates/mdt.html, which reuses the single report's macros
(_checklist.html) so each child's section says exactly what `pathway check`
says. Autoescaped, like every HTML the package writes.
"""
from __future__ import annotations

from ..render import environment
from .packet import Packet

TEMPLATE = "mdt.html"


def render_html(packet: Packet, *, pdf: bool = False) -> str:
    """The packet page; `pdf` swaps the browser's running header for page margin boxes."""
    return environment().get_template(TEMPLATE).render(packet=packet, pdf=pdf)
