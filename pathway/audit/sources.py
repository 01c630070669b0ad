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


def plan(files: list[Path], batch: int, pathway: Pathway) -> Iterator[Task]:
    """Tasks covering every record of every file, in order."""
    index = 0
    pending: list[str] = []

    def flush() -> Iterator[Task]:
        nonlocal index, pending
        if pending:
            size = sum(file_size(p) for p in pending)
            yield Task(index, "files", pending[0], size=size, files=tuple(pending))
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
        for task in _big_file(path, suffix in CSV_SUFFIXES, batch, index, pathway):
            yield task
            index = task.index + 1
        if index == first:   # nothing to read in it (empty, or a header only): `inputs.read_file` says so
            pending.append(str(path))
    yield from flush()


def _big_file(path: Path, is_csv: bool, batch: int, index: int, pathway: Pathway) -> Iterator[Task]:
    name = str(path)
    try:
        scan = _scan(path, is_csv, batch)
    except OSError:
        yield Task(index, "files", name, files=(name,))  # `inputs.read_file` words the failure
        return
    if scan.bad_byte is not None:
        yield Task(index, "failed", name, size=file_size(name),
                   problem=Problem(name, None, None, f"not UTF-8 text (byte {scan.bad_byte})", code=Code.NOT_UTF8))
        return
    if is_csv and (scan.csv_module or scan.lone_cr or scan.nul):
        yield from _csv_rows(path, batch, index, pathway)
        return
    header: tuple[str, ...] = ()
    if is_csv:
        with path.open("rb") as f:
            raw = f.read(scan.header_end)
        header = tuple(raw.removeprefix(BOM).decode("utf-8").rstrip("\r\n").split(","))
        problem = header_problem(header, name, pathway)
        if problem is not None:
            yield Task(index, "failed", name, size=file_size(name), problem=problem)
            return
    starts = [(scan.header_end, 1 if is_csv else 0)] + scan.cuts
    ends = scan.cuts + [(file_size(name), scan.newlines)]
    for (start, lines), (end, lines_after) in zip(starts, ends):
        if end > start:
            yield Task(index, "csv" if is_csv else "jsonl", name, size=end - start, start=start, end=end,
                       first_line=lines + 1, header=header, newlines=lines_after - lines if is_csv else None)
            index += 1


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


def _csv_rows(path: Path, batch: int, index: int, pathway: Pathway) -> Iterator[Task]:
    """A CSV with quotes, read row by row exactly as `inputs` reads it, in batches of rows."""
    name = str(path)
    read = [0]

    def counted(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            read[0] += len(line)
            yield line

    with path.open("r", encoding="utf-8-sig", newline="") as f:
        reader = csv_rows(counted(f))
        header = next(reader, None)
        if header is None:
            return
        problem = (Problem(name, 1, None, header[1], code=Code.CSV_SYNTAX) if isinstance(header[1], str)
                   else header_problem(header[1], name, pathway))
        if problem is not None:
            yield Task(index, "failed", name, problem=problem)
            return
        rows: list[tuple[int, tuple[str, ...] | str]] = []
        done = read[0]
        for line, row in reader:
            rows.append((line, row if isinstance(row, str) else tuple(row)))
            if len(rows) >= batch:
                yield Task(index, "rows", name, size=read[0] - done, header=tuple(header[1]), rows=tuple(rows))
                index, rows, done = index + 1, [], read[0]
        if rows:
            yield Task(index, "rows", name, size=read[0] - done, header=tuple(header[1]), rows=tuple(rows))


def file_size(path: str | Path) -> int:
    """Bytes in the file; what cannot be read counts as empty (the audit reports it where it reads it)."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
