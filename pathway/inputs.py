"""Read many referrals, one record at a time, from files, folders, JSONL and CSV.

Used by the MDT packet and by the row-at-a-time audit. Every record keeps its
source (file, and line or row) so that a bad one can be reported precisely
while the rest are still processed: nothing is dropped silently. What a
document holds is decided here too (`referral_document`), for every reader:
a FHIR QuestionnaireResponse becomes the referral its answers give.

CSV: one row per referral, one column per field id. A multi-choice field is
either one column holding `a|b`, or REDCap-style checkbox columns
`field___code` holding 0/1. REDCap's own bookkeeping columns (record_id,
redcap_event_name, …, and `<instrument>_complete`) are recognised and ignored.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .definition import Pathway
from .errors import Code, InputError, Problem
from .filekinds import ALL_SUFFIXES, CSV_SUFFIXES, JSONL_SUFFIXES, DocumentKind, document_kind
from .interop.fhir import response_document
from .yamlsrc import Located, LoadFailure, Path_, load_json, load_text

REDCAP_COLUMNS = frozenset({
    "record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
    "redcap_data_access_group", "redcap_survey_identifier",
})
_REDCAP_COMPLETE = re.compile(r"^[a-z][a-z0-9_]*_complete$")
CHECKBOX = re.compile(r"^(?P<field>[a-z][a-z0-9_]*)___(?P<code>[A-Za-z0-9_]+)$")


@dataclass(frozen=True)
class Record:
    """One referral as read, before validation; `problem` set when it could not be read at all."""

    source: str
    doc: Located
    problem: Problem | None = None


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
    missing = [Problem(str(n), None, None, "not found", code=Code.FILE_NOT_FOUND)
               for n in names if not Path(n).exists()]
    if missing:
        raise InputError(missing)


def expand(inputs: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and the referral files inside folders named (recursively, sorted)."""
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in ALL_SUFFIXES
                              and not any(part.startswith(".") for part in p.relative_to(path).parts))
        else:
            yield path


def iter_records(inputs: Iterable[str | Path], pathway: Pathway) -> Iterator[Record]:
    """Every record of every input, in order."""
    for path in expand(inputs):
        yield from read_file(path, pathway)


def _failed(source: str, problem: Problem) -> Record:
    return Record(source, Located(source, None), problem)


def read_file(path: Path, pathway: Pathway) -> Iterator[Record]:
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in ALL_SUFFIXES:
        yield _failed(name, Problem(name, None, None,
                                    f"not a referral file (expected one of: {', '.join(ALL_SUFFIXES)})",
                                    code=Code.NOT_A_REFERRAL_FILE))
        return
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        yield _failed(name, Problem(name, None, None, "file not found", code=Code.FILE_NOT_FOUND))
        return
    except OSError as exc:
        yield _failed(name, Problem(name, None, None, f"cannot read: {exc.strerror}", code=Code.CANNOT_READ))
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield _failed(name, Problem(name, None, None, f"not UTF-8 text (byte {exc.start})", code=Code.NOT_UTF8))
        return
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl(text, name)
    elif suffix in CSV_SUFFIXES:
        yield from _csv(text, name, pathway)
    else:
        try:
            yield Record(name, load_text(text, name))
        except LoadFailure as exc:
            yield _failed(name, exc.problem)


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

    return Located(doc.file, doc.data, move(doc.values), move(doc.keys))


def csv_row(header: list[str], row: list[str], pathway: Pathway) -> tuple[dict[str, Any], dict[str, int]]:
    """One CSV row as a referral mapping, and the column (1-based) each field came from."""
    data: dict[str, Any] = {}
    columns: dict[str, int] = {}
    checked: dict[str, list[str]] = {}
    for index, ((column, fid, code, multi), cell) in enumerate(zip(header_plan(tuple(header), pathway), row), start=1):
        if column is None:
            continue
        if fid is not None and code is not None:
            columns.setdefault(fid, index)
            checked.setdefault(fid, [])
            if cell.strip() == "1":
                checked[fid].append(code)
            elif cell.strip() not in ("", "0"):
                data[column] = cell  # reported as an unknown field, located at the bad cell
                columns[column] = index
            continue
        value = cell.strip()
        if value == "":
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
    """What each column is, worked out once per header: (column or None to skip it,
    checkbox field, checkbox code, is a multi-choice field). Also read by the columnar audit."""
    plan: list[tuple[str | None, str | None, str | None, bool]] = []
    for column in header:
        column = column.strip()
        if column in REDCAP_COLUMNS or _REDCAP_COMPLETE.match(column) and column not in pathway.fields:
            plan.append((None, None, None, False))
            continue
        box = CHECKBOX.match(column)
        if box and box.group("field") in pathway.fields:
            plan.append((column, box.group("field"), box.group("code"), False))
            continue
        field = pathway.fields.get(column)
        plan.append((column, None, None, field is not None and field.kind.multiple))
    return tuple(plan)


def _csv(text: str, name: str, pathway: Pathway) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield _failed(name, Problem(name, 1, None, f"not valid CSV: {exc}", code=Code.CSV_SYNTAX))
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _failed(f"{name}:{reader.line_num}",
                          Problem(name, reader.line_num, None, f"not valid CSV: {exc}", code=Code.CSV_SYNTAX))
            continue
        record = csv_record(header, row, name, reader.line_num, pathway)
        if record is not None:
            yield record


def csv_record(header: list[str], row: list[str], name: str, line: int, pathway: Pathway) -> Record | None:
    """One CSV row (ending on `line`) as a record; None for a blank row, which is not a record."""
    if not any(cell.strip() for cell in row):
        return None
    source = f"{name}:{line}"
    if len(row) > len(header):
        return _failed(source, Problem(name, line, None,
                                       f"row has {len(row)} cells but the header has {len(header)} columns",
                                       code=Code.TOO_MANY_CELLS))
    data, columns = csv_row(header, row, pathway)
    doc = Located(name, data, {(): (line, 1)} | {(f,): (line, c) for f, c in columns.items()},
                  {(f,): (line, c) for f, c in columns.items()})
    return Record(source, doc)
