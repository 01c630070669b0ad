"""HTML to PDF with WeasyPrint, offline: nothing is fetched but inline `data:` URLs.

The packet HTML is self-contained, so any attempt to fetch something is a bug
in a template; it stops the PDF rather than reaching the network or the disk.
Fonts come from the machine (DejaVu, see templates/_mdt_pdf.css) and are
embedded, subset, in the PDF. The PDF's title and dates come from the page's
<title> and dcterms meta tags, so the same page gives the same bytes.
Needs WeasyPrint 68.1 or newer (its `URLFetcher` class).

A packet is printed in parts (`packet_to_pdf`), one per core at a time
(workers.py): WeasyPrint lays out a document on one core, and a meeting's
thirty referrals make eighty pages. The referrals' sections go in parts of a
fixed number, so the parts, and the bytes, are the same on any machine; the
cover is printed last, once the page each section starts on is known, with
the PDF's /ID from the parts' bytes. pypdf joins them (join.py): the cover's
metadata, every part's bookmarks, the cover's links to the sections, and
"Page N of M" laid over each page from one document of numbered blank pages.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import PathwayError
from .join import Link, join
from .packet import Packet
from .render import Part, render_html, render_page_numbers
from .workers import cores, workers

SECTIONS_PER_PART = 6
"""Referral sections in each part: a fixed number, so that the parts do not depend on the machine.
Six shares thirty referrals between two cores a little more evenly than eight (docs/reports.md);
each part costs a tenth of a second of its own (its style sheet, its fonts)."""
COVER_TRIES = 3
"""Cover printings at most: a second only when its page numbers change its own length."""


class PdfUnavailable(PathwayError):
    """WeasyPrint or its system libraries (Pango) are missing: exit 4, like a missing backend."""

    exit_code = 4


@dataclass(frozen=True)
class Printed:
    data: bytes
    pages: int
    anchors: tuple[tuple[str, ...], ...] = ()
    """The ids of the elements on each page, page by page."""
    links: tuple[tuple[Link, ...], ...] = ()
    """The links to ids that are not in this document, page by page: not in `data`, but made when
    it is joined to the document that has them (join.py)."""


def _weasyprint() -> Any:
    """The weasyprint module (untyped), or PdfUnavailable."""
    try:
        import weasyprint  # type: ignore[import-untyped]
        import weasyprint.urls  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: Pango or another system library is missing
        raise PdfUnavailable(f"cannot write PDF here: WeasyPrint 68.1 or newer is needed and is not usable ({exc});"
                             " write HTML instead (-o packet.html) and print it from a browser") from None
    return weasyprint


def html_to_pdf(html: str, *, identifier: bytes | None = None) -> Printed:
    """Print a self-contained HTML page (print media, no base URL) to PDF bytes; `identifier`
    is the first half of the PDF's /ID (none by default)."""
    with _offline() as weasyprint:
        document = _layout(weasyprint, html)
        links = _links_out(document)
        data = document.write_pdf(pdf_identifier=identifier)
    assert isinstance(data, bytes)
    return Printed(data, len(document.pages), tuple(tuple(page.anchors) for page in document.pages), links)


def count_pages(html: str) -> int:
    """The pages `html_to_pdf(html)` would have, laid out but not drawn."""
    with _offline() as weasyprint:
        return len(_layout(weasyprint, html).pages)


@contextmanager
def _offline() -> Iterator[Any]:
    """WeasyPrint, and its refusal of an outside resource as a clean error."""
    weasyprint = _weasyprint()
    try:
        yield weasyprint
    except weasyprint.urls.FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: caught by name
        raise PathwayError(f"the packet asked for an outside resource, which is refused: {exc}") from None


def _layout(weasyprint: Any, html: str) -> Any:
    offline = weasyprint.urls.URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    return weasyprint.HTML(string=html, base_url=None, url_fetcher=offline, media_type="print").render()


def _links_out(document: Any) -> tuple[tuple[Link, ...], ...]:
    """Take out of a WeasyPrint document its links to ids it does not have (which it would drop,
    logging an error), page by page."""
    ids = {anchor for page in document.pages for anchor in page.anchors}
    found = []
    for page in document.pages:
        kept: list[Any] = []
        out: list[Any] = []
        for link in page.links:   # (kind, target, rectangle, box)
            (out if link[0] == "internal" and link[1] not in ids else kept).append(link)
        page.links[:] = kept
        found.append(tuple(Link(target, tuple(rectangle)) for _, target, rectangle, _ in out))
    return tuple(found)


def packet_to_pdf(packet: Packet, *, processes: int | None = None) -> Printed:
    """The packet as one PDF, printed in `processes` at once (default: one per core this process
    may use), or in this process alone when that is one. The bytes do not depend on `processes`."""
    _weasyprint()   # before any worker starts: a forked one has it already, and a missing one is said once
    n = len(packet.children)
    parts = [Part(first=k, stop=min(k + SECTIONS_PER_PART, n)) for k in range(0, n, SECTIONS_PER_PART)]
    parts.append(Part(first=n, stop=n, closing=True))
    sources = [render_html(packet, pdf=True, part=part) for part in parts]
    draft = render_html(packet, pdf=True, part=Part(cover=True, starts=(0,) * n))   # a number widens no row
    with workers(min(len(sources) + 1, processes or cores())) as pool:
        futures = [pool.submit(html_to_pdf, source) for source in sources]
        counted = pool.submit(count_pages, draft)   # the cover's length, while the last parts print
        printed = [future.result() for future in futures]
        first = _first_pages(printed)
        identifier = hashlib.sha256(b"".join(p.data for p in printed)).hexdigest()[:32].encode()
        pages = counted.result()
        for _ in range(COVER_TRIES):   # once, unless its page numbers change the cover's length
            total = pages + sum(p.pages for p in printed)
            numbers = pool.submit(html_to_pdf, render_page_numbers(total))
            starts = tuple(pages + first[child.anchor] for child in packet.children)
            cover = html_to_pdf(render_html(packet, pdf=True, part=Part(cover=True, starts=starts)),
                                identifier=identifier)
            if cover.pages == pages:
                return Printed(join([cover, *printed], numbers.result().data), total)
            pages = cover.pages
    raise PathwayError(f"the cover's page numbers did not settle after {COVER_TRIES} printings")


def _first_pages(printed: Sequence[Printed]) -> dict[str, int]:
    """The page each id is first found on, counting the parts' pages in order from 1."""
    first: dict[str, int] = {}
    offset = 0
    for part in printed:
        for page, anchors in enumerate(part.anchors, start=offset + 1):
            for anchor in anchors:
                first.setdefault(anchor, page)
        offset += part.pages
    return first
