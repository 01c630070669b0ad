"""Read many referrals, one record at a time, from files, folders, JSONL and CSV.

Used by the MDT packet and by the row-at-a-time audit. Every record keeps its
source (file, and line or row) so that a bad one can be reported precisely
while the rest are still processed: nothing is dropped silently. What a
document holds is decided here too (`referral_document`), for every reader:
a FHIR QuestionnaireResponse becomes the referral its answers give.

CSV: one row per referral, one column per field id. A multi-choice field is
either one column holding `a|b`, or REDCap-style checkbox columns
`field___code` holding 0/1. How a file is written (encoding, delimiter, what
each column is) is `csvlayout`'s, worked out once per file; rows read here see
its canonical header. In a REDCap longitudinal or repeating export, a row that
holds none of this form's answers (an event or instance of another form) is
skipped, and counted as such: it is no referral.
"""
from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .csvlayout import (
    AS_FOUND, CHECKBOX, LONGITUDINAL, REDCAP_COLUMNS, UTF8_BOM, Layout, Reading, encoding_of, form_name, layout,
    missing_code, not_decodable,
)
from .definition import Pathway
from .errors import Code, InputError, Problem
from .filekinds import (
    ALL_SUFFIXES, COMPRESSED_SUFFIXES, CSV_SUFFIXES, JSONL_SUFFIXES, SPREADSHEET_SUFFIXES, DocumentKind, document_kind,
    hidden,
)
from .interop.fhir import response_document
from .yamlsrc import MAX_BYTES, Located, LoadFailure, Path_, load_json, load_text

csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))   # a cell may be as large as a referral may be

__all__ = ["CHECKBOX", "REDCAP_COLUMNS", "Reading"]


@dataclass(frozen=True)
class Record:
    """One referral as read, before validation; `problem` set when it could not be read at all,
    `skipped` (why) for a REDCap row that holds none of this form's answers: not a referral."""

    source: str
    doc: Located
    problem: Problem | None = None
    skipped: str | None = None


def referral_document(pathway: Pathway, doc: Located, data: Any, prefix: Path_ = ()) -> tuple[Any, Located, Path_]:
    """The referral that `data` (at `prefix` in `doc`) holds, with the document and path that locate it.

    A FHIR resource must be a QuestionnaireResponse to the pathway's Questionnaire (else
    `InputError`, every problem naming its linkId): its answers become the referral, located at
    their places in `doc`. Anything else is the referral as it is, for the validation to judge.
    """
    if document_kind(data) is DocumentKind.FHIR:
        doc = response_document(data, pathway, doc, prefix)
        return doc.data, doc, ()
    return data, doc, prefix


def must_exist(names: Iterable[str | Path]) -> None:
    """Refuse files and folders named on the command line that are not there (bad input,
    exit 2), each named, before anything is read or written."""
    missing = [_broken_link(str(n)) or Problem(str(n), None, None, "not found", code=Code.FILE_NOT_FOUND)
               for n in names if not Path(n).exists()]
    if missing:
        raise InputError(missing)


def expand(inputs: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and what the folders named hold (recursively, sorted): every file that is not
    hidden, whatever its kind, and every entry that cannot be read (a folder, a broken link), so
    that `read_file` reads each or says why it does not; nothing inside a folder is left out
    silently but hidden names (see `filekinds.hidden`). A folder reached twice through links is
    read once."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from sorted(_contents(path, set()))
        else:
            yield path


def _contents(folder: Path, seen: set[tuple[int, int]]) -> Iterator[Path]:
    try:
        status = folder.stat()
        if (status.st_dev, status.st_ino) in seen:
            return
        seen.add((status.st_dev, status.st_ino))
        with os.scandir(folder) as entries:
            found = [(Path(e.path), _is_folder(e)) for e in entries if not hidden(e.name)]
    except OSError:
        yield folder   # `read_file` says why it cannot be read
        return
    for path, is_folder in found:
        if is_folder:
            yield from _contents(path, seen)
        else:
            yield path


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()   # through a link too
    except OSError:
        return False


def iter_records(inputs: Iterable[str | Path], pathway: Pathway, reading: Reading = AS_FOUND,
                 notices: list[str] | None = None) -> Iterator[Record]:
    """Every record of every input, in order; what a file holds that is not used, in `notices`,
    with the REDCap rows skipped (`Record.skipped`), counted once per file rather than yielded."""
    for path in expand(inputs):
        skipped = 0
        for record in read_file(path, pathway, reading, notices):
            if record.skipped is None:
                yield record
            else:
                skipped += 1
        if skipped and notices is not None:
            rows = "rows" if skipped > 1 else "row"
            notices.append(f"{path}: {skipped:,} {rows} skipped, REDCap event or repeat {rows} holding none of this"
                           " form's answers (the record's row for another event or form)")


def _failed(source: str, problem: Problem) -> Record:
    return Record(source, Located(source, None), problem)


def _broken_link(name: str) -> Problem | None:
    """A link whose target is not there, said as such (a file moved or deleted since the link was made)."""
    try:
        target = os.readlink(name)
    except OSError:
        return None
    return Problem(name, None, None, f"broken link: it points to {target}, which is not there", code=Code.BROKEN_LINK)


KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}


def unreadable(path: Path) -> Problem | None:
    """Why `path` is not read as a referral file, or None when it is: not there, a broken link, a
    folder that cannot be listed, not a regular file (a FIFO would block the read), a compressed
    file or a workbook (each with what to do), or a file of another kind."""
    name = str(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return _broken_link(name) or Problem(name, None, None, "file not found", code=Code.FILE_NOT_FOUND)
    except OSError as exc:
        return Problem(name, None, None, f"cannot read: {exc.strerror}", code=Code.CANNOT_READ)
    if stat.S_ISDIR(mode):
        try:
            os.scandir(path).close()
        except OSError as exc:
            return Problem(name, None, None, f"cannot read folder: {exc.strerror}", code=Code.CANNOT_READ)
        return Problem(name, None, None, "is a folder", code=Code.IS_A_FOLDER)
    if not stat.S_ISREG(mode):
        return Problem(name, None, None, f"not a regular file ({KINDS.get(stat.S_IFMT(mode), 'a special file')}):"
                       " not read", code=Code.NOT_A_REGULAR_FILE)
    suffix = path.suffix.lower()
    if suffix in ALL_SUFFIXES:
        return None
    if suffix in COMPRESSED_SUFFIXES:
        inner = Path(path.stem).suffix.lower()
        holds = f"the {inner} file it holds" if inner in ALL_SUFFIXES else "the referral files it holds"
        return Problem(name, None, None, f"a compressed file ({suffix}), not read: decompress it"
                       f" ({COMPRESSED_SUFFIXES[suffix]} {path.name}) and name {holds}", code=Code.COMPRESSED_FILE)
    if suffix in SPREADSHEET_SUFFIXES:
        return Problem(name, None, None, f"a workbook ({suffix}), not a referral file: save it as"
                       ' "CSV UTF-8 (Comma delimited)" and name the .csv file', code=Code.NOT_A_REFERRAL_FILE)
    return Problem(name, None, None, f"not a referral file (expected one of: {', '.join(ALL_SUFFIXES)})",
                   code=Code.NOT_A_REFERRAL_FILE)


def read_file(path: Path, pathway: Pathway, reading: Reading = AS_FOUND,
              notices: list[str] | None = None) -> Iterator[Record]:
    """The records of one file, or one record saying why it holds none: it cannot be read
    (`unreadable`), is not text in its encoding, or holds no referral (empty, or only a header
    or blank lines). A CSV's columns not used are said once, in `notices`."""
    name = str(path)
    suffix = path.suffix.lower()
    problem = unreadable(path)
    if problem is not None:
        yield _failed(name, problem)
        return
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        yield _failed(name, Problem(name, None, None, "file not found", code=Code.FILE_NOT_FOUND))
        return
    except OSError as exc:
        yield _failed(name, Problem(name, None, None, f"cannot read: {exc.strerror}", code=Code.CANNOT_READ))
        return
    encoding = encoding_of(raw, reading)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        bom = len(UTF8_BOM) if encoding == "utf-8-sig" and raw.startswith(UTF8_BOM) else 0
        start = exc.start + bom if bom and exc.object is not raw else exc.start
        yield _failed(name, not_decodable(name, raw, encoding, start, suffix in CSV_SUFFIXES))
        return
    text = text.removeprefix("\ufeff")   # a BOM, in whatever encoding
    if not text.strip():
        yield _failed(name, Problem(name, None, None, "holds no referral: the file is "
                                    + ("empty" if not text else "blank lines only"), code=Code.EMPTY_INPUT))
    elif suffix in JSONL_SUFFIXES:
        yield from _jsonl(text, name)
    elif suffix in CSV_SUFFIXES:
        found = layout(text[:1 << 16], name, pathway, encoding, reading)
        if found.problem is not None:
            yield _failed(name, found.problem)
            return
        if notices is not None and (notice := found.notice(name)) is not None:
            notices.append(notice)
        yield from _or_none(_csv(text, name, pathway, found), name, text)
    else:
        try:
            yield Record(name, load_text(text, name))
        except LoadFailure as exc:
            yield _failed(name, exc.problem)


def _or_none(records: Iterator[Record], name: str, text: str) -> Iterator[Record]:
    """The records of a CSV file, or one saying, once, that it holds none and why."""
    none = True
    for record in records:
        none = False
        yield record
    if none:
        lines = sum(1 for line in text.splitlines() if line.strip())
        why = "the file has a header row and no row under it" if lines <= 1 else "no row under the header holds one"
        yield _failed(name, Problem(name, None, None, f"holds no referral: {why}", code=Code.EMPTY_INPUT))


def _jsonl(text: str, name: str) -> Iterator[Record]:
    for number, line in enumerate(jsonl_lines(text), start=1):
        if line.strip():
            yield jsonl_record(line, name, number)


def jsonl_lines(text: str) -> list[str]:
    """JSON Lines' lines: split at "\n" (a "\r" before it dropped) and nowhere else, since a raw
    U+2028 or U+0085 inside a string is valid JSON (`str.splitlines` would split there)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines] if "\r" in text else lines


def jsonl_record(line: str, name: str, number: int) -> Record:
    """One non-blank JSONL line as a record (also used to re-read single lines exactly)."""
    source = f"{name}:{number}"
    try:
        doc = load_json(line, name)
    except LoadFailure as exc:
        p = exc.problem
        return _failed(source, Problem(name, number, p.col, p.message, code=p.code))
    return Record(source, _shifted(doc, number - 1))


def _shifted(doc: Located, lines: int) -> Located:
    """Positions of a document that starts `lines` lines into its file."""
    def move(table: dict[Path_, tuple[int, int]]) -> dict[Path_, tuple[int, int]]:
        return {k: (line + lines, col) for k, (line, col) in table.items()}

    return Located(doc.file, doc.data, move(doc.values), move(doc.keys), doc.written)


def csv_row(header: list[str], row: list[str], pathway: Pathway) -> tuple[dict[str, Any], dict[str, int]]:
    """One CSV row (under a canonical header: `csvlayout`) as a referral mapping, and the column
    (1-based) each field came from. A REDCap missing-data code reads as an empty cell; a checkbox
    cell other than 0 or 1 is kept under its column's name, which the validation refuses (see
    `checkbox_problem` for the words)."""
    data: dict[str, Any] = {}
    columns: dict[str, int] = {}
    checked: dict[str, list[str]] = {}
    for index, ((column, fid, code, multi), cell) in enumerate(zip(header_plan(tuple(header), pathway), row), start=1):
        if column is None:
            continue
        value = cell.strip()
        if fid is not None and code is not None:
            columns.setdefault(fid, index)
            checked.setdefault(fid, [])
            if value == "1":
                checked[fid].append(code)
            elif value not in ("", "0"):
                data[column] = cell  # refused, located at the bad cell
                columns[column] = index
            continue
        if value == "" or missing_code(value):
            continue
        if multi:
            data[column] = [v.strip() for v in value.split("|") if v.strip()]
        else:
            data[column] = value
        columns[column] = index
    for fid, codes in checked.items():
        if codes:
            data[fid] = codes
    return data, columns


@lru_cache(maxsize=64)
def header_plan(header: tuple[str, ...],
                pathway: Pathway) -> tuple[tuple[str | None, str | None, str | None, bool], ...]:
    """What each column of a canonical header is, worked out once per header: (column or None to
    skip it, checkbox field, checkbox code, is a multi-choice field). Also read by the columnar audit."""
    plan: list[tuple[str | None, str | None, str | None, bool]] = []
    for column in header:
        column = column.strip()
        box = CHECKBOX.match(column)
        if box and box.group("field") in pathway.fields:
            plan.append((column, box.group("field"), box.group("code"), False))
            continue
        field = pathway.fields.get(column)
        if field is None:   # REDCap's own columns, and columns not used ("")
            plan.append((None, None, None, False))
            continue
        plan.append((column, None, None, field.kind.multiple))
    return tuple(plan)


def _csv(text: str, name: str, pathway: Pathway, found: Layout) -> Iterator[Record]:
    rows = csv_rows(io.StringIO(text, newline=""), found.delimiter)
    for line, _ in rows:   # up to the header (under Excel's `sep=;` line)
        if line >= found.header_line:
            break
    header = list(found.header)
    problem = header_problem(header, name, pathway, found.columns)
    if problem is not None:
        yield _failed(name, problem)
        return
    for line, row in rows:
        if isinstance(row, str):
            yield _failed(f"{name}:{line}", Problem(name, line, None, row, code=row_code(row)))
            continue
        record = csv_record(header, row, name, line, pathway)
        if record is not None:
            yield record


CUT_OFF = "the file ends inside a quoted cell"
TOO_LARGE = "a cell is over"


def row_code(why: str) -> Code:
    """The code of a row the csv module could not read, from `csv_rows`' words for it."""
    return Code.CUT_OFF if why.startswith(CUT_OFF) else Code.CELL_TOO_LARGE if why.startswith(TOO_LARGE) \
        else Code.CSV_SYNTAX


def csv_rows(lines: Iterable[str], delimiter: str = ",") -> Iterator[tuple[int, list[str] | str]]:
    """(line, cells) of each row, read by the csv module; or (line, why) for a row it cannot read,
    worded for a person: a quoted cell still open at the end of the file (the file looks cut
    off: the csv module would take the rest of the file as that cell), a cell over the size limit."""
    text: list[str] = []

    def kept(source: Iterable[str]) -> Iterator[str]:
        for piece in source:
            text.append(piece)
            yield piece

    reader = csv.reader(kept(lines), delimiter=delimiter)
    while True:
        text.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc)
            if "field larger than field limit" in reason:
                yield reader.line_num, f"{TOO_LARGE} {MAX_BYTES:,} bytes, the most a referral may hold"
                continue
            yield reader.line_num, f"not valid CSV: {reason}"
            continue
        if "".join(text).count('"') % 2:   # only the last row can: any other would have gone on reading
            yield reader.line_num, f"{CUT_OFF} (it looks cut off): this row is not read"
            continue
        yield reader.line_num, row


def header_problem(header: list[str] | tuple[str, ...], name: str, pathway: Pathway,
                   written: Sequence[str] = ()) -> Problem | None:
    """A canonical header that would make answers vanish silently, said once for the file: a field
    given by two columns (the same column twice, in any case, or a multi-choice field both as one
    column and as REDCap checkbox columns `field___code`), since only one of them could be read.
    `written`: the header as written, to name the columns."""
    given: dict[str, int] = {}   # column name → its place
    boxes: dict[str, int] = {}   # multi-choice field → the place of its first checkbox column
    shown = list(written) or list(header)
    for index, (column, fid, _code, _multi) in enumerate(header_plan(tuple(header), pathway), start=1):
        if column is None:
            continue
        clash = given.get(column) or (boxes.get(column) if fid is None else given.get(fid))
        if clash:
            return Problem(name, 1, index, f"columns {clash} and {index} both give '{fid or column}'"
                           f" ('{shown[clash - 1].strip()}' and '{shown[index - 1].strip()}'): keep one of them",
                           code=Code.DUPLICATE_COLUMN)
        given[column] = index
        if fid is not None:
            boxes.setdefault(fid, index)
    return None


REDCAP_SKIPPED = "a REDCap event or repeat row holding none of this form's answers"


@lru_cache(maxsize=64)
def _status_column(header: tuple[str, ...], pathway: Pathway) -> str | None:
    """This form's status column name when the header is a REDCap longitudinal or repeating one, else
    None: worked out once per header, not per row."""
    return form_name(pathway) + "_complete" if any(c in LONGITUDINAL for c in header) else None


def skipped_row(header: Sequence[str], row: Sequence[str], pathway: Pathway) -> bool:
    """In a REDCap longitudinal or repeating export (its event or repeat columns in the header), a
    row of another event or another form: its only answer of this form is the referral id
    (checkboxes 0, missing-data codes), and this form's status column, where there is one, is
    empty (REDCap fills it, 0 to 2, in every row the form belongs to, even a form not yet started).
    Not a referral, so not evaluated, and counted."""
    key = tuple(header)
    complete = _status_column(key, pathway)
    if complete is None:
        return False
    for column, (field, _fid, _code, _multi), cell in zip(header, header_plan(key, pathway), row):
        value = cell.strip()
        if column == complete:
            if value:
                return False
            continue
        if field is None or field == "referral_id":   # REDCap's columns, columns not used, the id
            continue
        if value and value != "0" and not missing_code(value):
            return False
    return True


def csv_record(header: list[str], row: list[str], name: str, line: int, pathway: Pathway) -> Record | None:
    """One CSV row (ending on `line`) as a record; None for a blank row, which is not a record."""
    if not any(cell.strip() for cell in row):
        return None
    source = f"{name}:{line}"
    if len(row) > len(header):
        return _failed(source, Problem(name, line, None,
                                       f"row has {len(row)} cells but the header has {len(header)} columns",
                                       code=Code.TOO_MANY_CELLS))
    if len(row) < len(header):
        return _failed(source, Problem(name, line, None,
                                       f"row has {len(row)} cells but the header has {len(header)} columns: the row"
                                       " is short, or the file was cut off here; it is not read",
                                       code=Code.TOO_FEW_CELLS))
    if skipped_row(header, row, pathway):
        return Record(source, Located(name, None), skipped=REDCAP_SKIPPED)
    data, columns = csv_row(header, row, pathway)
    problem = checkbox_problem(header, row, name, line, pathway)
    doc = Located(name, data, {(): (line, 1)} | {(f,): (line, c) for f, c in columns.items()},
                  {(f,): (line, c) for f, c in columns.items()})
    return Record(source, doc, problem)


def checkbox_problem(header: Sequence[str], row: Sequence[str], name: str, line: int,
                     pathway: Pathway) -> Problem | None:
    """The first checkbox cell that is neither 0 nor 1, named with its column and value."""
    for index, ((_column, fid, _code, _multi), cell) in enumerate(zip(header_plan(tuple(header), pathway), row),
                                                                  start=1):
        value = cell.strip()
        if fid is not None and value not in ("", "0", "1"):
            labels = " (REDCap writes Checked and Unchecked in an export of labels: export the data again as"
            hint = labels + ' "CSV / Microsoft Excel (raw data)")' if value in ("Checked", "Unchecked") else ""
            return Problem(name, line, index, f"column '{header[index - 1]}': a checkbox column holds 1 (ticked) or"
                           f" 0, not {value!r}{hint}", code=Code.NOT_A_CHECKBOX_VALUE, field=fid)
    return None
