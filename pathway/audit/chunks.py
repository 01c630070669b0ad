"""Read one task into a batch: a frame of raw cells for the columnar path, and the
records that must go through the row validator.

Line numbers are the file's: the main process counted the lines before each
byte range when it cut the file (`sources`). A line goes to
the row validator, re-read exactly as `inputs` reads it, whenever the fast
reader cannot vouch for it: JSON with escapes, odd spacing or control
characters, CSV rows with too many cells, or anything Polars refuses.
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ..definition import Pathway
from ..errors import Problem
from ..inputs import Record, read_file
from ..yamlsrc import MAX_BYTES, Located
from .rowpath import Pending, csv_cells, json_line, read_record
from .sources import BOM, Task

SUB_BATCH = 1000


@dataclass
class Batch:
    """A task's records: `raw` rows (one per `lines` entry) read fast, `routed` for the row validator."""

    kind: str                                   # "json" or "csv": how to read `raw`'s cells
    raw: pl.DataFrame | None = None
    raw_lines: list[int] = field(default_factory=list)
    reread: Callable[[int], Pending] = lambda k: Pending("record", "")  # raw row k, for the row validator
    routed: list[tuple[int, Pending]] = field(default_factory=list)    # (order key, record to decide row by row)


def read_task(task: Task, pathway: Pathway) -> Batch:
    if task.kind == "jsonl":
        return _jsonl(_bytes(task), task.name, task.first_line, pathway)
    if task.kind == "csv":
        return _csv_chunk(_bytes(task), task, pathway)
    if task.kind == "rows":
        return _rows(task, pathway)
    if task.kind == "failed":
        assert task.problem is not None
        return Batch("csv", routed=[(0, read_record(Record(task.name, Located(task.name, None), task.problem)))])
    batch = Batch("csv")
    for path in task.files:
        for record in read_file(Path(path), pathway):
            batch.routed.append((len(batch.routed), read_record(record)))
    return batch


def _bytes(task: Task) -> bytes:
    with open(task.name, "rb") as f:
        f.seek(task.start)
        raw = f.read(task.end - task.start)
    return raw.removeprefix(BOM) if task.start == 0 else raw


# --- JSONL -------------------------------------------------------------------

_JSON_UNSAFE = (("\\", "\\"), ("\t", "\t"), ("\x00", "\x00"), ('" ', '" +:'))
"""(look for, then match per line): escapes, tabs, NUL, spaces before a colon (`"key" :`). Lines holding
any go to the row validator, so that in the rest no string holds a quote and `":` marks exactly the keys."""


def _jsonl(raw: bytes, name: str, first_line: int, pathway: Pathway) -> Batch:
    """Lines exactly as `str.splitlines` (what `inputs` uses); plain object lines go to Polars."""
    text = raw.decode("utf-8")
    lines = text.splitlines()
    batch = Batch("json")
    at = first_line   # line i of the range is line `at + i` of the file
    series = pl.Series("line", lines, dtype=pl.String)
    plain = series.str.starts_with("{") & series.str.ends_with("}") & (series.str.len_bytes() <= MAX_BYTES)
    for probe, pattern in _JSON_UNSAFE:
        if probe in text:
            plain = plain & ~series.str.contains(pattern, literal=probe == pattern)
    candidates: list[int] = plain.arg_true().to_list()
    if len(candidates) < len(lines):
        batch.routed += [(at + i, json_line(name, at + i, lines[i])) for i in (~plain).arg_true().to_list()
                         if lines[i].strip()]
    # Polars reads the bytes as they are when they are exactly the candidate lines, one per "\n".
    whole = len(candidates) == len(lines) == text.count("\n") + (not text.endswith("\n"))
    frames: list[pl.DataFrame] = []
    kept: list[int] = []
    schema = {f: pl.String for f in pathway.fields}
    reader = (lambda idx: _ndjson(raw, len(idx), schema) if whole and len(idx) == len(lines)
              else _ndjson("\n".join(lines[i] for i in idx).encode("utf-8"), len(idx), schema))
    for idx, frame in _parts(candidates, reader):
        if frame is None:
            batch.routed += [(at + i, json_line(name, at + i, lines[i])) for i in idx]
            continue
        frames.append(frame)
        kept += idx
    if frames:
        frame = pl.concat(frames) if len(frames) > 1 else frames[0]
        kept_lines = series if len(kept) == len(lines) else series.gather(kept)
        keys = _keys_ok(kept_lines, frame, set(pathway.fields))
        batch.raw = _empty_lists(frame, kept_lines, pathway).with_columns(_keys_ok=keys)
        batch.raw_lines = [at + i for i in kept]
        batch.reread = lambda k: json_line(name, at + kept[k], lines[kept[k]])
    return batch


def _empty_lists(frame: pl.DataFrame, lines: pl.Series, pathway: Pathway) -> pl.DataFrame:
    """A multi-choice `[]` (unknown) reads as the text "[]", as does the string "[]" (an error):
    the line tells them apart, since in these lines no string holds a quote."""
    for fid, field in pathway.fields.items():
        if field.type == "multichoice" and (frame[fid] == "[]").any():
            listed = lines.str.contains(f'"{re.escape(fid)}" *: *\\[ *\\]')
            frame = frame.with_columns(pl.when((pl.col(fid) == "[]") & listed).then(None).otherwise(pl.col(fid)).alias(fid))
    return frame


def _parts(idx: list[int], read: Callable[[list[int]], pl.DataFrame | None]) -> list[tuple[list[int], pl.DataFrame | None]]:
    """Read all at once; if Polars refuses, read in small parts so one bad line costs little."""
    if not idx:
        return []
    whole = read(idx)
    if whole is not None:
        return [(idx, whole)]
    return [(idx[k:k + SUB_BATCH], read(idx[k:k + SUB_BATCH])) for k in range(0, len(idx), SUB_BATCH)]


def _ndjson(payload: bytes, rows: int, schema: dict[str, type[pl.String]]) -> pl.DataFrame | None:
    try:
        frame = pl.read_ndjson(io.BytesIO(payload), schema=schema)
    except pl.exceptions.PolarsError:
        return None
    return frame if frame.height == rows else None


def _keys_ok(lines: pl.Series, raw: pl.DataFrame, known: set[str]) -> pl.Series:
    """True where every key of the line is a known field, once (Polars drops unknown keys
    and keeps the first of duplicates, which the row reader refuses).

    In these lines no string holds a quote, so `":` marks exactly the keys; when their
    number equals the non-null fields Polars read, there is nothing else. Otherwise
    (explicit nulls, say) the keys are listed and checked.
    """
    counted = lines.str.count_matches('":', literal=True)
    present = raw.select(pl.sum_horizontal(pl.all().is_not_null().cast(pl.UInt32))).to_series()
    ok = (counted == present).to_list()
    others = [i for i, good in enumerate(ok) if not good]
    if others:
        found = lines.gather(others).str.extract_all(r'"[^"]*":').to_list()
        for i, keys in zip(others, found):
            names = [k[1:-2] for k in keys or []]
            ok[i] = len(set(names)) == len(names) and all(n in known for n in names)
    return pl.Series("_keys_ok", ok, dtype=pl.Boolean)


# --- CSV ---------------------------------------------------------------------

def _csv_chunk(data: bytes, task: Task, pathway: Pathway) -> Batch:
    """A byte range of a CSV without quotes: each line is a row, cells split at commas."""
    text = data.decode("utf-8")
    header = task.header
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line.removesuffix("\r") for line in lines]
    batch = Batch("csv")
    at = task.first_line
    width = len(header)
    good: list[int] = []
    for i, line in enumerate(lines):
        if line.count(",") >= width:   # more cells than the header: the row validator says so
            batch.routed.append((at + i, csv_cells(task.name, at + i, header, line.split(","))))
        else:
            good.append(i)
    if good:
        payload = "\n".join(lines[i] for i in good) if len(good) != len(lines) else "\n".join(lines)
        raw = _read_cells(payload, width)
        if raw is None or raw.height != len(good):
            rows = [(at + i, lines[i].split(",")) for i in good]
            raw = _cells_frame(rows, width)
        batch.raw = raw
        batch.raw_lines = [at + i for i in good]
        batch.reread = lambda k: csv_cells(task.name, at + good[k], header, lines[good[k]].split(","))
    return batch


def _read_cells(payload: str, width: int) -> pl.DataFrame | None:
    try:
        return pl.read_csv(io.BytesIO(payload.encode("utf-8")), has_header=False, quote_char=None,
                           schema={f"c{i}": pl.String for i in range(width)}, empty_string_is_null=False,
                           truncate_ragged_lines=True, raise_if_empty=False)
    except pl.exceptions.PolarsError:
        return None


def _cells_frame(rows: Sequence[tuple[int, Sequence[str]]], width: int) -> pl.DataFrame:
    """Rows of cells (shorter rows padded with '', as Polars does) as a frame of columns c0, c1, …"""
    columns = {f"c{k}": [row[k] if k < len(row) else "" for _, row in rows] for k in range(width)}
    return pl.DataFrame(columns, schema={c: pl.String for c in columns})


def _rows(task: Task, pathway: Pathway) -> Batch:
    """Rows the main process read with the csv module (a CSV with quotes); lines are absolute."""
    header = task.header
    width = len(header)
    batch = Batch("csv")
    good: list[tuple[int, tuple[str, ...]]] = []
    for line, row in task.rows:
        if isinstance(row, str):   # the csv module refused the row (inputs reports it the same way)
            source = f"{task.name}:{line}"
            batch.routed.append((line, read_record(Record(source, Located(source, None), Problem(task.name, line, None, row)))))
        elif len(row) > width:
            batch.routed.append((line, csv_cells(task.name, line, header, row)))
        else:
            good.append((line, row))
    if good:
        batch.raw = _cells_frame(good, width)
        batch.raw_lines = [line for line, _ in good]
        batch.reread = lambda k: csv_cells(task.name, good[k][0], header, good[k][1])
    return batch
