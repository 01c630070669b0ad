"""Read one task into a batch: a frame of raw cells for the columnar path, and the
records that must go through the row validator.

Line numbers are the file's: the main process counted the lines before each
byte range when it cut the file (`sources`). A line goes to
the row validator, re-read exactly as `inputs` reads it, whenever the fast
reader cannot vouch for it: JSON with escapes, odd spacing or control
characters, CSV rows with too many cells, or anything Polars refuses.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from ..definition import Pathway
from ..filekinds import FHIR_KEY
from ..inputs import jsonl_lines
from ..yamlsrc import MAX_BYTES
from .rowpath import Pending, csv_cells, json_line, read_row
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


def read_task(task: Task, pathway: Pathway) -> Batch | None:
    """None: the task is one the row engine reads (Polars does not give one row per line)."""
    if task.kind == "jsonl":
        return _jsonl(_bytes(task), task.name, task.first_line, pathway)
    if task.kind == "csv":
        return _csv_chunk(_bytes(task), task)
    assert task.kind == "rows", "referral files and failed files go to the row engine"
    return _rows(task, pathway)


def _bytes(task: Task) -> bytes:
    with open(task.name, "rb") as f:
        f.seek(task.start)
        raw = f.read(task.end - task.start)
    return raw.removeprefix(BOM) if task.start == 0 else raw


# --- JSONL -------------------------------------------------------------------

_JSON_UNSAFE = r"[\\\t\x00]"
_SPACED_KEY = '" +:'
"""Escapes, tabs, NUL, spaces before a colon (`"key" :`). Lines holding any go to the row
validator, so that in the rest no string holds a quote and `":` marks exactly the keys."""


def _jsonl(raw: bytes, name: str, first_line: int, pathway: Pathway) -> Batch:
    """Lines exactly as `inputs.jsonl_lines` splits them; plain object lines go to Polars."""
    series, simple = _lines(raw)
    n = len(series)
    batch = Batch("json")
    at = first_line   # line i of the range is line `at + i` of the file
    plain = (series.str.starts_with("{") & series.str.ends_with("}") & (series.str.len_bytes() <= MAX_BYTES)
             & ~series.str.contains(_JSON_UNSAFE))
    spaced = series.str.contains('" ', literal=True)
    if spaced.any():
        plain = plain & ~(spaced & series.str.contains(_SPACED_KEY))
    candidates: list[int] = plain.arg_true().to_list()
    if len(candidates) < n:
        batch.routed += [(at + i, json_line(name, at + i, series[i])) for i in (~plain).arg_true().to_list()
                         if series[i].strip()]
    frames: list[pl.DataFrame] = []
    kept: list[int] = []
    schema = {f: pl.String for f in pathway.fields}
    # Polars reads the bytes as they are when they are exactly the candidate lines, one per "\n".

    def reader(idx: list[int]) -> pl.DataFrame | None:
        if simple and len(idx) == n:
            return _ndjson(raw, len(idx), schema)
        return _ndjson(series.gather(idx).str.join("\n").item().encode("utf-8"), len(idx), schema)
    for idx, frame in _parts(candidates, reader):
        if frame is None:
            batch.routed += [(at + i, json_line(name, at + i, series[i])) for i in idx]
            continue
        frames.append(frame)
        kept += idx
    if frames:
        frame = pl.concat(frames) if len(frames) > 1 else frames[0]
        kept_lines = series if len(kept) == n else series.gather(kept)
        keys = _keys_ok(kept_lines, frame, set(pathway.fields))
        frame = frame.with_columns(pl.when(pl.col(f) != NULL).then(pl.col(f)) for f in frame.columns)
        batch.raw = pl.concat([_empty_lists(frame, kept_lines, pathway), keys], how="horizontal")
        batch.raw_lines = [at + i for i in kept]
        batch.reread = lambda k: json_line(name, at + kept[k], series[kept[k]])
    return batch


def _lines(raw: bytes) -> tuple[pl.Series, bool]:
    """The range's lines as `inputs.jsonl_lines` gives them, and whether they are exactly the bytes
    split at each "\n". Polars splits them (its CSV reader, with a separator the text does not
    hold) when no "\r" needs dropping; otherwise Python does."""
    if b"\x01" not in raw and b"\r" not in raw:
        try:
            lines = pl.read_csv(raw, has_header=False, separator="\x01", quote_char=None,
                                schema={"line": pl.String}, empty_string_is_null=False, raise_if_empty=False)
        except pl.exceptions.PolarsError:
            lines = None
        series = None if lines is None else lines.get_column("line")
        # every byte is in a line or is the "\n" after one: no line was skipped, split or trimmed
        if series is not None and series.str.len_bytes().sum() + series.len() - (not raw.endswith(b"\n")) == len(raw):
            return series, True
    lines_list = jsonl_lines(raw.decode("utf-8"))
    return pl.Series("line", lines_list, dtype=pl.String), b"\r" not in raw


def _empty_lists(frame: pl.DataFrame, lines: pl.Series, pathway: Pathway) -> pl.DataFrame:
    """A multi-choice `[]` (unknown) reads as the text "[]", as does the string "[]" (an error):
    the line tells them apart, since in these lines no string holds a quote."""
    for fid, form_field in pathway.fields.items():
        if form_field.kind.multiple and (frame[fid] == "[]").any():
            listed = lines.str.contains(f'"{re.escape(fid)}" *: *\\[ *\\]')
            frame = frame.with_columns(
                pl.when((pl.col(fid) == "[]") & listed).then(None).otherwise(pl.col(fid)).alias(fid))
    return frame


def _parts(idx: list[int],
           read: Callable[[list[int]], pl.DataFrame | None]) -> list[tuple[list[int], pl.DataFrame | None]]:
    """Read all at once; if Polars refuses, read in small parts so one bad line costs little."""
    if not idx:
        return []
    whole = read(idx)
    if whole is not None:
        return [(idx, whole)]
    return [(idx[k:k + SUB_BATCH], read(idx[k:k + SUB_BATCH])) for k in range(0, len(idx), SUB_BATCH)]


NULL = "\x01"
"""What a key's `null` is read as (written `"\\u0001"` for Polars), so that the key counts as present
(`_keys_ok`); made null after. These lines hold no escape, so no value Polars reads from them is this."""


def _ndjson(payload: bytes, rows: int, schema: dict[str, type[pl.String]]) -> pl.DataFrame | None:
    """The lines' fields as text; `"key":null` read as `NULL` (in these lines no string holds a
    quote, so `":null` is exactly a key and its null)."""
    try:
        frame = pl.read_ndjson(payload.replace(b'":null', b'":"\\u0001"'), schema=schema)
    except pl.exceptions.PolarsError:
        return None
    return frame if frame.height == rows else None


def _keys_ok(lines: pl.Series, raw: pl.DataFrame, known: set[str]) -> pl.DataFrame:
    """`_keys_ok`: every key of the line is a known field, once (Polars drops unknown keys and
    keeps the first of duplicates, which the row reader refuses); `_keys_bad`: the line has a
    duplicate key or an unknown one, so the row reader certainly refuses it (a FHIR resource,
    `filekinds.document_kind` of the line's keys, is left to the row reader: it is read another way).

    Every key is followed by a colon and every non-null field Polars read came from a key
    (a key's `null` is read as `NULL`, so it counts), so a line with exactly as many colons as
    such fields has nothing else. Otherwise (an unknown key, `"key": null` written with a space,
    a colon inside a value) its keys are listed and checked:
    in these lines no string holds a quote, so `":` marks exactly the keys.
    """
    counted = lines.str.count_matches(":", literal=True)
    present = raw.select(pl.sum_horizontal(pl.all().is_not_null().cast(pl.UInt32))).to_series()
    same = counted == present
    others = (~same).arg_true()
    if others.is_empty():
        return pl.DataFrame({"_keys_ok": same, "_keys_bad": pl.repeat(False, len(same), eager=True)})
    keys = pl.DataFrame({"row": others, "key": lines.gather(others).str.extract_all(r'"[^"]*":')}).explode("key")
    checked = keys.group_by("row", maintain_order=True).agg(
        refused=(pl.col("key").n_unique() != pl.col("key").count())
        | ~pl.col("key").is_in([f'"{k}":' for k in known]).all(),
        fhir=(pl.col("key") == f'"{FHIR_KEY}":').any())   # a FHIR resource is read another way: the row reader's
    ok = same.scatter(checked["row"], ~checked["refused"])
    bad = pl.repeat(False, len(same), eager=True).scatter(checked["row"], checked["refused"] & ~checked["fhir"])
    return pl.DataFrame({"_keys_ok": ok, "_keys_bad": bad})


# --- CSV ---------------------------------------------------------------------

def _csv_chunk(data: bytes, task: Task) -> Batch | None:
    """A byte range of a CSV without quotes: each line is a row, cells split at its delimiter.

    Polars reads the bytes as they are when it gives one row per line (so line numbers hold;
    the lines are the scan's count of the range's "\n", not counted again) and no row has more
    cells than the header; otherwise (None) the row engine reads the range."""
    header = task.header
    width = len(header)
    at = task.first_line
    try:   # cells as text, a short row padded with ""; refused: a row with more cells than `width`, say
        raw = pl.read_csv(data, has_header=False, quote_char=None, schema={f"c{i}": pl.String for i in range(width)},
                          empty_string_is_null=False, raise_if_empty=False, separator=task.delimiter)
    except pl.exceptions.PolarsError:
        raw = None
    newlines = data.count(b"\n") if task.newlines is None or len(data) != task.end - task.start else task.newlines
    # Polars pads a short row with empty cells: the commas tell (each row has `width - 1` if none is short)
    if raw is not None and raw.height == newlines + (not data.endswith(b"\n")) \
            and data.count(task.delimiter.encode()) == (width - 1) * raw.height:
        batch = Batch("csv", raw=raw, raw_lines=list(range(at, at + raw.height)))
        batch.reread = lambda k: csv_cells(task.name, at + k, header, ["" if c is None else c for c in raw.row(k)])
        return batch
    return None   # a row with more or fewer cells than the header, say: the row engine reads the task


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
        if isinstance(row, str) or len(row) != width:   # the csv module refused it, or too many or few cells
            batch.routed.append((line, read_row(task.name, line, header, row)))
        else:
            good.append((line, row))
    if good:
        batch.raw = _cells_frame(good, width)
        batch.raw_lines = [line for line, _ in good]
        batch.reread = lambda k: csv_cells(task.name, good[k][0], header, good[k][1])
    return batch
