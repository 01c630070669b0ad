"""How one CSV export is written: its encoding, delimiter, header line and what each column is.

Worked out once per file, from its first lines, for every reader (`inputs` for
the MDT packet and the row engine, `audit.sources` for the columnar audit), so
that a file is read the same way whoever reads it and a problem of the whole
file is said once, not once per row. Files come as Excel and REDCap write them:

- UTF-8 with or without a BOM, UTF-16 with a BOM (Excel's "Unicode text"), or
  the encoding `--encoding` names (Excel's "CSV (Comma delimited)" is cp1252);
- comma, semicolon (European Excel) or tab, found from the header line, or
  Excel's `sep=;` hint above it, or `--delimiter`;
- headers in any case, with spaces around them; REDCap's own columns (event,
  repeat, survey, data access group, `*_complete`, `*_timestamp`); other columns
  not fields of the form, listed once as not used, unless one looks like a
  misspelt field: its answers would be silently missing, so the file is refused.

A header becomes a *canonical* one: each column the field id (or `field___code`)
it gives, REDCap's name for REDCap's columns, or "" for a column not used; the
readers downstream see only canonical headers.
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from dataclasses import dataclass

from .definition import Pathway
from .errors import Code, Problem

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
REDCAP_COLUMNS = frozenset({
    "record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
    "redcap_data_access_group", "redcap_survey_identifier",
})
LONGITUDINAL = frozenset({"redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"})
"""Columns that make rows events or repeat instances of a record: a row may hold another form's data."""
_REDCAP_OWN = re.compile(r"^(redcap_[a-z0-9_]*|[a-z][a-z0-9_]*_(complete|timestamp))$")
CHECKBOX = re.compile(r"^(?P<field>[a-z][a-z0-9_]*)___(?P<code>[A-Za-z0-9_-]+)$")
_SEP_HINT = re.compile(r"^sep=(.)\s*$")
MISSPELT = 0.8
"""How close to a field id an unknown column must be to be taken for a misspelling of it
(`referrer` is no misspelling of `referral_date`; `referal_date` is)."""
MISSING_CODES = frozenset({
    "NI", "INV", "UNK", "NASK", "ASKU", "NAV", "NAVU", "NA", "MSK", "NP", "QS", "QI", "TRC", "UNC",
    "DER", "PINF", "NINF", "OTH",
})
"""REDCap's missing-data codes (the HL7 null flavours it offers a project): a cell holding one is not
documented, as an empty cell is."""


@dataclass(frozen=True)
class Reading:
    """What the person said about their files: `--encoding` and `--delimiter` (None: find out)."""

    encoding: str | None = None
    delimiter: str | None = None
    also: tuple[str, ...] = ()   # columns that are no field but are read all the same (the audit's --by), lower case


AS_FOUND = Reading()
"""Nothing said: each file's encoding and delimiter found from the file."""


@dataclass(frozen=True)
class Layout:
    """How one CSV file is written, and what its header means (`problem`: the file is not read)."""

    encoding: str                 # a Python codec name
    delimiter: str
    header_line: int              # 1-based: 2 under Excel's `sep=;` line
    columns: tuple[str, ...]      # the header as written
    header: tuple[str, ...]       # canonical: field id, `field___code`, REDCap's name, or "" (not used)
    unused: tuple[int, ...] = ()  # 0-based places of the columns not used
    problem: Problem | None = None

    @property
    def ranges(self) -> bool:
        """Whether the columnar audit may read the file in byte ranges: UTF-8, the header on line 1
        (the csv module reads the others)."""
        return self.encoding in ("utf-8", "utf-8-sig") and self.header_line == 1

    @property
    def longitudinal(self) -> bool:
        return any(c in LONGITUDINAL for c in self.header)

    def notice(self, name: str) -> str | None:
        """The file's columns that are not used, said once."""
        if not self.unused:
            return None
        shown = ", ".join(f"'{self.columns[k].strip()}'" if self.columns[k].strip() else f"column {k + 1} (no name)"
                          for k in self.unused[:20])
        more = f" and {len(self.unused) - 20} more" if len(self.unused) > 20 else ""
        return (f"{name}: column{'s' if len(self.unused) > 1 else ''} {shown}{more} not used: not a field of this form"
                " (its rows are read without it)")


def form_name(pathway: Pathway) -> str:
    """The REDCap instrument name, e.g. itb_cp_referral (its status column is `<form>_complete`)."""
    return re.sub(r"[^a-z0-9]+", "_", pathway.id.lower()).strip("_") + "_referral"


def encoding_of(head: bytes, reading: Reading) -> str:
    """The codec to read a file with: the one named, else UTF-16 or UTF-8 by its BOM, else UTF-8."""
    if reading.encoding:
        named = codecs.lookup(reading.encoding).name
        return "utf-8-sig" if named in ("utf-8", "utf-8-sig") else named
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    return "utf-8-sig"


def not_decodable(name: str, raw: bytes, encoding: str, start: int, csv_file: bool = True) -> Problem:
    """The file's one message when it is not text in `encoding`: the line and byte (`start`: the
    bad byte's offset in `raw`, the file's bytes up to it at least), and what to do."""
    line = raw.count(b"\n", 0, start) + 1
    byte = raw[start:start + 1]
    shown = f"byte 0x{byte.hex().upper()}" if byte else "a byte"
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        what = "not UTF-8 text"
        fix = ('if Excel saved it as "CSV (Comma delimited)", read it with --encoding cp1252, or save it as'
               ' "CSV UTF-8 (Comma delimited)"') if csv_file else \
            "save it as UTF-8, or name the encoding it was saved in with --encoding"
    else:
        what = f"not {encoding} text"
        fix = "name the encoding it was saved in with --encoding, or save it as UTF-8"
    return Problem(name, line, None, f"{what} ({shown}, at offset {start:,}): {fix}", code=Code.NOT_UTF8)


def layout(text: str, name: str, pathway: Pathway, encoding: str, reading: Reading = AS_FOUND) -> Layout:
    """The layout of a CSV file from the start of its text (at least its first two lines)."""
    lines = text.split("\n", 2)
    first = lines[0].removesuffix("\r")
    header_line, delimiter = 1, reading.delimiter
    hint = _SEP_HINT.match(first)
    if hint:
        header_line = 2
        delimiter = delimiter or hint.group(1)
    head = "\n".join(lines[header_line - 1:])
    options = [delimiter] if delimiter else list(DELIMITERS)
    candidates = [(d, _first_row(head, d)) for d in options]
    scored = [(_score(cells, pathway), len(cells), d, cells) for d, cells in candidates]
    best = max(scored, key=lambda s: (s[0], s[1], -options.index(s[2])))
    score, _, delimiter, cells = best
    header, unused, problem = _canonical(cells, pathway, misspelt=score > 0, also=reading.also)
    if problem is None and not score:
        problem = _not_a_header(cells, text, header_line, name, pathway, delimiter)
    elif problem is not None:
        problem = Problem(name, header_line, problem.col, problem.message, code=problem.code)
    out = Layout(encoding, delimiter, header_line, tuple(cells), header, unused, problem)
    if out.problem is None:
        missing = [f.id for f in pathway.fields.values() if f.required and f.id not in header
                   and not any(h.startswith(f.id + "___") for h in header)]
        if missing:
            out = Layout(encoding, delimiter, header_line, tuple(cells), header, unused, Problem(
                name, header_line, None, f"no column gives {', '.join(repr(m) for m in missing)}, which every referral"
                " needs: add the column (the header names each column by its field id)", code=Code.HEADER_PROBLEM))
    return out


def _first_row(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return text.split("\n", 1)[0].rstrip("\r").split(delimiter)


def _score(cells: list[str], pathway: Pathway) -> int:
    """Columns a header split this way names that the form knows (fields, checkbox columns)."""
    return sum(1 for c in cells if _field_of(c.strip().lower(), pathway) is not None)


def _field_of(low: str, pathway: Pathway) -> str | None:
    """The canonical column a lower-cased header cell names, if it is the form's."""
    if low in pathway.fields:
        return low
    box = CHECKBOX.match(low)
    if box and box.group("field") in pathway.fields:
        field = pathway.fields[box.group("field")]
        codes = {v.lower(): v for v in field.values}
        return f"{field.id}___{codes.get(box.group('code'), box.group('code'))}"
    return None


def _canonical(cells: list[str], pathway: Pathway, misspelt: bool = True,
               also: tuple[str, ...] = ()) -> tuple[tuple[str, ...], tuple[int, ...], Problem | None]:
    """The canonical header; or a problem: a labels export, or (`misspelt`) a column that looks like
    a misspelt field (not looked for when no column is the form's: that is no header at all)."""
    labels = _labels(cells, pathway)
    if len(labels) >= 2:
        return (), (), Problem("", 1, None, f"the header holds the questions' labels ({', '.join(labels[:3])}), not"
                               " their field ids: this looks like a REDCap export of labels. Export the data again"
                               ' as "CSV / Microsoft Excel (raw data)"', code=Code.LABELS_EXPORT)
    header: list[str] = []
    unused: list[int] = []
    for k, cell in enumerate(cells):
        low = cell.strip().lower()
        known = _field_of(low, pathway)
        if known is not None:
            header.append(known)
        elif low in REDCAP_COLUMNS or _REDCAP_OWN.match(low) or low in also:
            header.append(low)
        else:
            close = _misspelt(low, pathway) if misspelt else None
            if close:
                return (), (), Problem("", 1, k + 1, f"column {k + 1}, '{cell.strip()}', is not a field of this form:"
                                       f" did you mean '{close}'? The file is not read, since that field's answers"
                                       " would be missing from every row: rename the column",
                                       code=Code.MISSPELT_COLUMN)
            header.append(low)   # kept by name, read by nothing (`inputs.header_plan` skips it)
            unused.append(k)
    return tuple(header), tuple(unused), None


def _misspelt(low: str, pathway: Pathway) -> str | None:
    """The field a column not the form's is probably a misspelling of (checkbox columns by their field)."""
    box = re.match(r"^(.+?)___(.+)$", low)
    if box:
        multi = [f.id for f in pathway.fields.values() if f.kind.multiple]
        close = difflib.get_close_matches(box.group(1), multi, n=1, cutoff=MISSPELT)
        return f"{close[0]}___{box.group(2)}" if close else None
    close = difflib.get_close_matches(low, list(pathway.fields), n=1, cutoff=MISSPELT)
    return close[0] if close else None


def _labels(cells: list[str], pathway: Pathway) -> list[str]:
    """Header cells that are a field's label (a labels export), as written."""
    labels = {f.label.strip().lower() for f in pathway.fields.values() if f.label.strip().lower() != f.id}
    return [f"'{c.strip()}'" for c in cells if c.strip().lower() in labels]


def _not_a_header(cells: list[str], text: str, header_line: int, name: str, pathway: Pathway,
                  delimiter: str) -> Problem:
    """Line 1 names no field: a title line above the header, or no header at all."""
    shown = delimiter.join(cells)[:60]
    for k, line in enumerate(text.split("\n")[header_line:header_line + 5], start=header_line + 1):
        row = _first_row(line, delimiter)
        if _score(row, pathway) >= 2:
            return Problem(name, header_line, None, f"line {header_line} ('{shown}') is not the header: the header"
                           f" seems to be line {k}; delete the line{'s' if k - header_line > 1 else ''} above it",
                           code=Code.HEADER_PROBLEM)
    return Problem(name, header_line, None, f"line {header_line} ('{shown}') names none of the form's fields, read"
                   f" with {DELIMITERS[delimiter]}s between cells: the first line must be the header, naming each"
                   " column by its field id (referral_id, referral_date, …)", code=Code.HEADER_PROBLEM)


def missing_code(cell: str) -> bool:
    """A REDCap missing-data code: read as not documented."""
    return cell.strip() in MISSING_CODES
