"""HTML to PDF with WeasyPrint, offline: nothing is fetched but inline `data:` URLs.

The packet HTML is self-contained, so any attempt to fetch something is a bug
in a template; it stops the PDF rather than reaching the network or the disk.
Fonts come from the machine (DejaVu, see templates/_mdt_pdf.css) and are
embedded, subset, in the PDF. The PDF's title and dates come from the page's
<title> and dcterms meta tags, so the same page gives the same bytes.
Needs WeasyPrint 68.1 or newer (its `URLFetcher` class).

A packet is printed in parts (`packet_to_pdf`), on every core: WeasyPrint lays
out a document on one core, and a meeting's thirty referrals make eighty pages.
The referrals' sections go in parts of a fixed number, so the parts, and the
bytes, are the same on any machine; the cover is printed last, once the page
each section starts on is known. pypdf joins the parts (the cover's metadata
and every part's bookmarks) and lays "Page N of M" over each page from one
document of numbered blank pages. In the joined PDF the cover's rows do not
link to the sections (a document cannot link into another); the bookmarks lead
to each one.
"""
from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any

from ..errors import PathwayError
from .packet import Packet
from .render import Part, render_html, render_page_numbers

SECTIONS_PER_PART = 8
"""Referral sections in each part: a fixed number, so that the parts do not depend on the machine."""
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
    weasyprint = _weasyprint()
    offline = weasyprint.urls.URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    try:
        document = weasyprint.HTML(string=html, base_url=None, url_fetcher=offline, media_type="print").render()
        data = document.write_pdf(pdf_identifier=identifier)
    except weasyprint.urls.FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: caught by name
        raise PathwayError(f"the packet asked for an outside resource, which is refused: {exc}") from None
    assert isinstance(data, bytes)
    return Printed(data, len(document.pages), tuple(tuple(page.anchors) for page in document.pages))


def packet_to_pdf(packet: Packet, *, processes: int | None = None) -> Printed:
    """The packet as one PDF, its parts printed `processes` at a time (default: one per core
    this process may use). The bytes do not depend on `processes`."""
    _weasyprint()   # before any worker starts: a forked one has it already, and a missing one is said once
    n = len(packet.children)
    parts = [Part(first=k, stop=min(k + SECTIONS_PER_PART, n)) for k in range(0, n, SECTIONS_PER_PART)]
    parts.append(Part(first=n, stop=n, closing=True))
    printed = print_all([render_html(packet, pdf=True, part=part) for part in parts], processes)
    cover = _cover(packet, printed)
    total = cover.pages + sum(p.pages for p in printed)
    numbers = html_to_pdf(render_page_numbers(total))
    return Printed(_join([cover, *printed], numbers), total)


def _cover(packet: Packet, printed: Sequence[Printed]) -> Printed:
    """The cover, its page column giving the page each section starts on, counted after the
    cover's own pages: printed again if those numbers change how many pages it takes."""
    first: dict[str, int] = {}
    offset = 0
    for part in printed:
        for page, anchors in enumerate(part.anchors, start=offset + 1):
            for anchor in anchors:
                first.setdefault(anchor, page)
        offset += part.pages
    identifier = hashlib.sha256(b"".join(p.data for p in printed)).hexdigest()[:32].encode()
    pages = 1
    for _ in range(COVER_TRIES):
        starts = tuple(pages + first[child.anchor] for child in packet.children)
        cover = html_to_pdf(render_html(packet, pdf=True, part=Part(cover=True, starts=starts)), identifier=identifier)
        if cover.pages == pages:
            return cover
        pages = cover.pages
    raise PathwayError(f"the cover's page numbers did not settle after {COVER_TRIES} printings")


def _join(parts: Sequence[Printed], numbers: Printed) -> bytes:
    """One PDF of the parts in order, with the metadata, /ID and catalog of the first, every
    part's bookmarks, and page i of `numbers` laid over page i."""
    from pypdf import PdfReader, PdfWriter

    first = PdfReader(io.BytesIO(parts[0].data))
    writer = PdfWriter(clone_from=first)
    writer.pdf_header = first.pdf_header   # WeasyPrint's PDF 1.7, not pypdf's 1.3
    for part in parts[1:]:
        writer.append(PdfReader(io.BytesIO(part.data)))
    for page, number in zip(writer.pages, PdfReader(io.BytesIO(numbers.data)).pages, strict=True):
        page.merge_page(number)
        page.compress_content_streams()   # merging leaves the page's content uncompressed
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def print_all(sources: Sequence[str], processes: int | None = None) -> list[Printed]:
    """`html_to_pdf` of each source, in order: in worker processes when there are cores to share
    and more than one source, else here; the same bytes either way."""
    processes = min(len(sources), processes or cores())
    if processes < 2:
        return [html_to_pdf(source) for source in sources]
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(processes, mp_context=_context(), initializer=_worker_signals)
    try:
        with _signals_held():   # the workers start with Ctrl+C held, until they have set it aside
            futures = [pool.submit(html_to_pdf, source) for source in sources]
        return [future.result() for future in futures]
    except BaseException:   # Ctrl+C (or SIGTERM) here: the workers stop now, not after their parts
        for worker in set(multiprocessing.active_children()) - before:
            worker.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _context() -> BaseContext:
    """Fork on Linux, so that each worker starts with WeasyPrint imported (not where threads
    run: forking them is unsafe); elsewhere the platform's default."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


_HELD = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl+C and SIGTERM wait while the workers start (they inherit the held signals)."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _worker_signals() -> None:
    """In a worker: Ctrl+C, which a terminal sends to the whole group, is left to the command,
    which stops the workers (SIGTERM, which then ends a worker silently)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
