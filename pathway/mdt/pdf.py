"""HTML to PDF with WeasyPrint, offline: nothing is fetched but inline `data:` URLs.

The packet HTML is self-contained, so any attempt to fetch something is a bug
in a template; it stops the PDF rather than reaching the network or the disk.
Fonts come from the machine (DejaVu, see templates/_mdt_pdf.css) and are
embedded, subset, in the PDF. The PDF's title and dates come from the page's
<title> and dcterms meta tags, so the same page gives the same bytes.
Needs WeasyPrint 68.1 or newer (its `URLFetcher` class).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import PathwayError


class PdfUnavailable(PathwayError):
    """WeasyPrint or its system libraries (Pango) are missing: exit 4, like a missing backend."""

    exit_code = 4


@dataclass(frozen=True)
class Printed:
    data: bytes
    pages: int


def html_to_pdf(html: str) -> Printed:
    """Print a self-contained HTML page (print media, no base URL) to PDF bytes."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
        from weasyprint.urls import FatalURLFetchingError, URLFetcher  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: Pango or another system library is missing
        raise PdfUnavailable(f"cannot write PDF here: WeasyPrint 68.1 or newer is needed and is not usable ({exc});"
                             " write HTML instead (-o packet.html) and print it from a browser") from None
    offline = URLFetcher(allowed_protocols=("data",), fail_on_errors=True)
    try:
        document = HTML(string=html, base_url=None, url_fetcher=offline, media_type="print").render()
        data = document.write_pdf()
    except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: caught by name
        raise PathwayError(f"the packet asked for an outside resource, which is refused: {exc}") from None
    assert isinstance(data, bytes)
    return Printed(data, len(document.pages))
