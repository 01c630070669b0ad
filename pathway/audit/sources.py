"""Cut the audit's inputs into tasks of about one batch of records each, in input order.

Runs where the audit runs and stays cheap: it reads big files once in blocks to
check they are UTF-8 (a file that is not is one rejected record, as in
`inputs.read_file`) and to find cut points at line ends, but parses nothing.
A JSONL file, or a CSV file without quote characters, is cut into byte ranges
that each task reads on its own (here or on a Dask worker). A CSV file with
quotes may hold line breaks inside cells, so its rows are read here with the
`csv` module, exactly as `inputs` reads them, and travel with their tasks in
batches. Referral files (YAML, JSON) travel as lists of paths. No Polars here:
the row engine imports this module.
"""
from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..csvlayout import Layout, AS_FOUND, Reading, encoding_of, layout, not_decodable
from ..errors import Code, InputError, Problem
from ..filekinds import ALL_SUFFIXES, CSV_SUFFIXES, MANY_SUFFIXES
from ..definition import Pathway
from ..inputs import csv_rows, expand, header_problem, must_exist

BOM = b"\xef\xbb\xbf"
BLOCK = 1 << 20
"""Small enough that the several passes over a block find it in the processor's cache."""
FILES_PER_TASK = 200
"""Referral files (YAML, JSON) per task."""


@dataclass(frozen=True)
class Task:
    """One unit of work; `index` orders results, `size` drives the progress bar."""

    index: int
    kind: str                      # "jsonl", "csv" (byte ranges), "rows" (CSV rows read here), "files", "failed"
    name: str                      # the file as named in sources
    size: int = 0
    start: int = 0
    end: int = 0
    first_line: int = 1            # the line number of the byte range's first line in its file
    header: tuple[str, ...] = ()
    newlines: int | None = None    # "\n" in a CSV byte range, as the scan counted them (the reader checks its rows)
    rows: tuple[tuple[int, tuple[str, ...] | str], ...] = ()   # (line, cells) or (line, CSV error)
    files: tuple[str, ...] = ()
    problem: Problem | None = None
    reading: Reading = AS_FOUND   # --encoding, --delimiter: for the files a task reads itself
    delimiter: str = ","           # of a CSV byte range
    notices: tuple[str, ...] = ()  # what the file holds that is not used, said once (on its first task)


@dataclass
class Scan:
    """What one pass over a big file found."""

    bad_byte: int | None = None
    csv_module: bool = False      # quotes (cells may span lines) or an odd header: read with the csv module
    lone_cr: bool = False
    nul: bool = False
    cuts: list[tuple[int, int]] = field(default_factory=list)   # (offset, "\n" before it)
    newlines: int = 0              # "\n" in the whole file
    header_end: int = 0


def check_inputs(inputs: Iterable[str]) -> list[Path]:
    """The files to audit; refuse (exit 2) when a named input does not exist or nothing is found."""
    names = list(inputs)
    must_exist(names)
    files = list(expand(names))
    if not files:
        raise InputError([Problem(", ".join(names), None, None, "no referral files found (expected "
                                  + ", ".join(ALL_SUFFIXES) + ")", code=Code.NO_REFERRAL_FILES)])
    return files


def plan(files: list[Path], batch: int, pathway: Pathway, reading: Reading = AS_FOUND) -> Iterator[Task]:
    """Tasks covering every record of every file, in order."""
    index = 0
    pending: list[str] = []

    def flush() -> Iterator[Task]:
        nonlocal index, pending
        if pending:
            size = sum(file_size(p) for p in pending)
            yield Task(index, "files", pending[0], size=size, files=tuple(pending), reading=reading)
            index += 1
            pending = []

    for path in files:
        suffix = path.suffix.lower()
        big = suffix in MANY_SUFFIXES
        if not big or not path.is_file():
            pending.append(str(path))  # read exactly by `inputs.read_file`, failures included
            if len(pending) >= FILES_PER_TASK:
                yield from flush()
            continue
        yield from flush()
        first = index
        for task in _big_file(path, suffix in CSV_SUFFIXES, batch, index, pathway, reading):
            yield task
            index = task.index + 1
        if index == first:   # nothing to read in it (empty, or a header only): `inputs.read_file` says so
            pending.append(str(path))
    yield from flush()


def _big_file(path: Path, is_csv: bool, batch: int, index: int, pathway: Pathway,
              reading: Reading) -> Iterator[Task]:
    name = str(path)
    try:
        with path.open("rb") as f:
            head = f.read(BLOCK)
        encoding = encoding_of(head, reading)
        if encoding != "utf-8-sig":   # another encoding: the csv module reads it (JSONL: `inputs` does)
            if is_csv:
                found = layout(head.decode(encoding, errors="replace")[:1 << 16], name, pathway, encoding, reading)
                yield from _csv_rows(path, batch, index, pathway, found)
            else:
                yield Task(index, "files", name, size=file_size(name), files=(name,), reading=reading)
            return
        scan = _scan(path, is_csv, batch)
    except OSError:
        yield Task(index, "files", name, files=(name,), reading=reading)  # `inputs.read_file` words the failure
        return
    if scan.bad_byte is not None:
        yield Task(index, "failed", name, size=file_size(name), problem=_not_utf8(path, scan.bad_byte, is_csv))
        return
    header: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    if is_csv and not head.removeprefix(BOM).strip():
        return   # nothing to read: `inputs.read_file` says so
    if is_csv:
        found = layout(head.removeprefix(BOM).decode("utf-8", errors="ignore")[:1 << 16], name, pathway, encoding,
                       reading)
        problem = found.problem or header_problem(found.header, name, pathway, found.columns)
        if problem is not None:
            yield Task(index, "failed", name, size=file_size(name), problem=problem)
            return
        if scan.csv_module or scan.lone_cr or scan.nul or not found.ranges:
            yield from _csv_rows(path, batch, index, pathway, found)
            return
        header = found.header
        notices = _notices(found, name)
    starts = [(scan.header_end, 1 if is_csv else 0)] + scan.cuts
    ends = scan.cuts + [(file_size(name), scan.newlines)]
    for (start, lines), (end, lines_after) in zip(starts, ends):
        if end > start:
            yield Task(index, "csv" if is_csv else "jsonl", name, size=end - start, start=start, end=end,
                       first_line=lines + 1, header=header, newlines=lines_after - lines if is_csv else None,
                       notices=notices, delimiter=found.delimiter if is_csv else ",")
            index, notices = index + 1, ()


def _notices(found: Layout, name: str) -> tuple[str, ...]:
    notice = found.notice(name)
    return () if notice is None else (notice,)


def _not_utf8(path: Path, offset: int, csv_file: bool) -> Problem:
    """`csvlayout.not_decodable` for a big file (`offset`: counted after any BOM, as the scan counts)."""
    with path.open("rb") as f:
        raw = f.read(offset + len(BOM) + 1)
    skip = len(BOM) if raw.startswith(BOM) else 0
    return not_decodable(str(path), raw, "utf-8", offset + skip, csv_file)


def _scan(path: Path, is_csv: bool, batch: int) -> Scan:
    """One pass in blocks: UTF-8 validity (the first bad byte counted after any BOM, as
    `bytes.decode('utf-8-sig')` counts it); cut points every ~`batch` lines with the number
    of "\n" before each; for CSV whatever makes byte ranges unsafe (quotes, a carriage
    return alone, NUL). JSON Lines break at "\\n" only (`inputs.jsonl_lines`)."""
    scan = Scan()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(BLOCK)
        skip = len(BOM) if head.startswith(BOM) else 0
        scan.header_end = skip
        if is_csv:
            newline = head.find(b"\n")
            if newline < 0 or not head[skip:newline].rstrip(b"\r"):
                scan.csv_module = True  # no header within reach, or a blank one: leave it to the csv module
            scan.header_end = size if newline < 0 else newline + 1
        step = max(1 << 16, len(head) // max(1, head.count(b"\n")) * batch)   # bytes between cuts
        f.seek(skip)
        offset, next_cut, trailing_cr = skip, scan.header_end + step, False
        while block := f.read(BLOCK):
            ascii_block = block.isascii()
            if scan.bad_byte is None and (decoder.getstate()[0] or not ascii_block):
                held = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    scan.bad_byte = offset - skip - held + exc.start
            # a "\r" not followed by "\n" (one ending the block is judged by the next block's start)
            if is_csv:   # what makes byte ranges of a CSV unsafe: the csv module reads it instead
                if not scan.lone_cr and b"\r" in block:
                    scan.lone_cr = block.count(b"\r") - block.count(b"\r\n") - block.endswith(b"\r") > 0
                scan.lone_cr = scan.lone_cr or (trailing_cr and not block.startswith(b"\n"))
                trailing_cr = block.endswith(b"\r")
                scan.csv_module = scan.csv_module or b'"' in block
                scan.nul = scan.nul or b"\x00" in block
            counted = 0   # the block's "\n" counted so far
            while next_cut < offset + len(block) and (cut := block.find(b"\n", next_cut - offset)) >= 0:
                scan.newlines += block.count(b"\n", counted, cut + 1)
                counted = cut + 1
                scan.cuts.append((offset + cut + 1, scan.newlines))
                next_cut = offset + cut + 1 + step
            scan.newlines += block.count(b"\n", counted)
            offset += len(block)
        scan.lone_cr = scan.lone_cr or trailing_cr
        if scan.bad_byte is None:
            held = len(decoder.getstate()[0])
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                scan.bad_byte = offset - skip - held + exc.start
    scan.cuts = [(c, n) for c, n in scan.cuts if scan.header_end < c < size]
    return scan


def _csv_rows(path: Path, batch: int, index: int, pathway: Pathway, found: Layout) -> Iterator[Task]:
    """A CSV read row by row exactly as `inputs` reads it, in batches of rows: one with quotes
    (cells may span lines), or written otherwise than the byte ranges read (another encoding or
    delimiter, a `sep=` line)."""
    name = str(path)
    problem = found.problem or header_problem(found.header, name, pathway, found.columns)
    if problem is not None:
        yield Task(index, "failed", name, size=file_size(name), problem=problem)
        return
    read = [0]

    def counted(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            read[0] += len(line)
            yield line

    notices = _notices(found, name)
    header = found.header
    rows: list[tuple[int, tuple[str, ...] | str]] = []
    with path.open("r", encoding=found.encoding, newline="") as f:
        reader = csv_rows(counted(f), found.delimiter)
        done = 0
        try:
            for line, row in reader:
                if line <= found.header_line:
                    done = read[0]
                    continue
                rows.append((line, row if isinstance(row, str) else tuple(row)))
                if len(rows) >= batch:
                    yield Task(index, "rows", name, size=read[0] - done, header=header, rows=tuple(rows),
                               notices=notices)
                    index, rows, done, notices = index + 1, [], read[0], ()
        except UnicodeDecodeError:   # past the first block: the rows before it are read, the rest is one record
            failed = Problem(name, None, None, f"not {found.encoding} text after line {rows[-1][0] if rows else 1}:"
                             " the rest of the file is not read; name the encoding it was saved in with --encoding,"
                             " or save it as UTF-8", code=Code.NOT_UTF8)
            if rows:
                yield Task(index, "rows", name, size=read[0] - done, header=header, rows=tuple(rows), notices=notices)
                index, rows, notices = index + 1, [], ()
            yield Task(index, "failed", name, problem=failed, notices=notices)
            return
    if rows:
        yield Task(index, "rows", name, size=read[0] - done, header=header, rows=tuple(rows), notices=notices)


def file_size(path: str | Path) -> int:
    """Bytes in the file; what cannot be read counts as empty (the audit reports it where it reads it)."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
