"""PDF documents printed apart joined into one with pypdf: the packet's parts (see pdf.py).

The first document gives the metadata, /ID and catalog (its language); every
document its pages, bookmarks and named destinations (each element's id); the
links a document could not make, to ids in the others, are made as WeasyPrint
makes a link (to the named destination); and page i of a document of page
numbers is laid over page i. Each document embeds its own subset of the same
fonts under the same name, which a PDF must not do (a printer may take one
subset's glyphs for another's), so each subset is renamed for its own glyphs.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pdf import Printed

PT = 0.75
"""Points (PDF) in a CSS pixel."""


@dataclass(frozen=True)
class Link:
    """A link to an element's id, from a rectangle of its page (x, y left to right and top to
    bottom, in CSS pixels from the page's top left corner)."""

    target: str
    rectangle: tuple[float, float, float, float]


def join(documents: Sequence[Printed], numbers: bytes) -> bytes:
    """One PDF of `documents` in order, page i of `numbers` laid over its page i."""
    from pypdf import PdfReader, PdfWriter

    readers = [PdfReader(io.BytesIO(d.data)) for d in documents]
    numbered = PdfReader(io.BytesIO(numbers))
    for reader in (*readers, numbered):
        _rename_subsets(reader)
    writer = PdfWriter(clone_from=readers[0])
    writer.pdf_header = readers[0].pdf_header   # WeasyPrint's PDF 1.7, not pypdf's 1.3
    for reader in readers[1:]:
        writer.append(reader)
    links = [page_links for d in documents for page_links in (d.links or ((),) * d.pages)]
    for index, (page, number, page_links) in enumerate(zip(writer.pages, numbered.pages, links, strict=True)):
        page.merge_page(number)
        page.compress_content_streams()   # merging leaves the page's content uncompressed
        for link in page_links:
            writer.add_annotation(index, _annotation(link, float(page.mediabox.height)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _annotation(link: Link, height: float) -> Any:
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, TextStringObject

    x1, y1, x2, y2 = (PT * v for v in link.rectangle)
    return DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (x1, height - y1, x2, height - y2)),
        NameObject("/BS"): DictionaryObject({NameObject("/W"): NumberObject(0)}),
        NameObject("/Dest"): TextStringObject(link.target)})


def _rename_subsets(reader: Any) -> None:
    """Tag each embedded font subset of `reader` (ABCDEF+DejaVu-Sans) with six letters of its
    font program's hash, so different subsets have different names, as a PDF must give them."""
    from pypdf.generic import NameObject

    for page in reader.pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            font = ref.get_object()
            name = str(font.get("/BaseFont", ""))
            descendants = font.get("/DescendantFonts")
            if "+" not in name or not descendants:
                continue
            descendant = descendants[0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            program = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
            if program is None:
                continue
            digest = hashlib.sha256(program.get_object().get_data()).digest()
            tagged = NameObject("/" + "".join(chr(65 + b % 26) for b in digest[:6]) + "+" + name.split("+", 1)[1])
            font[NameObject("/BaseFont")] = descendant[NameObject("/BaseFont")] = tagged
            descriptor[NameObject("/FontName")] = tagged
