"""Column-wise validation: raw cells → normalised answers, or "ask the row validator".

The row validator (`referral.validate`, pydantic) is the reference. This module
accepts a cell only when it is certain the row validator would accept it with
the same normalised value, and flags everything else as *unsure*; an unsure
record is re-read and decided row by row (`rowpath`), which gives the exact
accept/reject decision and message. So the fast path may be cautious but never
wrong: it never accepts what the row path rejects. It flags a record as *bad*
only where the rejection is certain whatever else the record holds, because one
answer fails on its own in the referral model (a value outside a field's
vocabulary, a plain number outside its range, a filled cell under a column that
is not a field); a bad record is counted as rejected without a second reading,
and its messages are still the row validator's, worked out where they are shown.

Tri-state, choice and multi-choice columns hold few distinct values, so each
distinct value is decided once by the referral model itself (the value the row
reader would hand it: `inputs.csv_row`'s cell reading, or the JSON value) and
the decisions are applied to the whole column as a dictionary: the column is
cast to an Enum of the values seen so far and its codes index a table of
decisions, so a task only decides values it has not met before. Numbers, dates
and text are checked by expressions, on cells with spaces and tabs stripped
(anything else at either end that is not printable ASCII is unsure, because
Python's `str.strip` and Polars' differ on exotic whitespace):
- number: `-?digits(.digits)?` within the field's range; blank, unknown → null;
- date: YYYY-MM-DD that is a real date; blank, unknown → null;
- text: any text within its length; empty → null; required fields present.
JSON loses the distinction between `true` and `"true"` and between `1` and
`"1"` when Polars reads it as strings, so for JSON the values whose reading
depends on that distinction (true/false or numbers in text and choice fields)
are unsure too, and a multi-choice list is read back from Polars' writing of it.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce

import polars as pl

from pydantic import ValidationError

from ..definition import FormField, Pathway
from ..fieldkinds import FieldKind, per_kind
from ..csvlayout import LONGITUDINAL, MISSING_CODES, form_name
from ..inputs import header_plan
from ..referral import referral_model
from .columnar import bit, mask_of, vocabulary

BLANK_WORDS = ("", "unknown", "Unknown", "UNKNOWN")
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_JSON_SCALAR_TEXT = r"^-?[0-9][0-9.eE+-]*$"
_NUMERIC_LOOKING = re.compile(r"-?[0-9][0-9.eE+-]*")
WS = " \t"


@dataclass(frozen=True)
class Normalised:
    """A field's value expression (what it holds where the record is neither unsure nor bad:
    the only rows evaluated), its unsure flag (True where the row validator must decide),
    its bad flag (True where the record is certainly rejected), and the named columns (`prep`)
    they read: each field's costly work (a regex) is done once into a `_…` column (Polars
    does not share such subexpressions itself)."""

    value: pl.Expr
    unsure: pl.Expr
    prep: tuple[pl.Expr, ...] = ()
    bad: pl.Expr = pl.lit(False)


UNSURE = -1
"""In a dictionary: the row validator must decide this value."""
BAD = -2
"""In a dictionary: the referral model refuses this value on its own, so the record is rejected."""


class Dictionary:
    """Decisions for the distinct values of tri-state, choice and multi-choice columns.

    Each value is decided once, by the referral model, as the row reader would hand
    it over; a decision is the value's code (tri-state, choice: its index; multi-choice:
    the bitmask of the options), None for unknown, or UNSURE. Kept for later tasks.
    """

    LIMIT = 50_000   # distinct values kept per field (past it, a column of free text is decided task by task)

    def __init__(self, pathway: Pathway, json: bool) -> None:
        self.json = json
        self.model = referral_model(tuple(pathway.fields.values()))
        self.required = {f.id: "R" for f in pathway.fields.values() if f.required}
        self.known: dict[str, dict[str, int | None]] = {}
        self.tables: dict[str, tuple[pl.Enum, pl.Series]] = {}
        self.lock = threading.Lock()

    def codes(self, field: FormField, cells: pl.Series) -> pl.Series:
        """The column's decisions, coded as `table` codes them: one lookup per cell, and the
        referral model asked only about values no earlier task held."""
        known = self.known.setdefault(field.id, {})
        entry = self.tables.get(field.id)
        if entry is not None:
            try:
                return entry[1].gather(cells.cast(entry[0]).to_physical())
            except pl.exceptions.PolarsError:
                pass   # a value not met before: the strict cast refuses it
        values = [v for v in cells.unique().to_list() if v is not None]
        decided = {v: self.decide(field, v) for v in values if v not in known}
        if len(known) + len(decided) > self.LIMIT:   # too many to keep: this task's values only
            return cells.replace_strict({v: table(field, known[v] if v in known else decided[v]) for v in values},
                                        default=None, return_dtype=code_dtype(field))
        with self.lock:   # tasks may run in two threads: a table and its Enum are made together
            known.update(decided)
            enum = pl.Enum(list(known))
            lut = pl.Series([table(field, d) for d in known.values()], dtype=code_dtype(field))
            self.tables[field.id] = (enum, lut)
        return lut.gather(cells.cast(enum).to_physical())

    def decide(self, field: FormField, cell: str) -> int | None:
        data = self.data(field, cell)
        if data is _ABSENT:
            return None
        if data is _MISSING:
            return UNSURE
        try:
            model = self.model.model_validate({**self.required, field.id: data})
        except ValidationError as exc:
            alone = all(tuple(e["loc"][:1]) == (field.id,) for e in exc.errors())
            return BAD if alone and self.certain(cell) else UNSURE
        value = getattr(model, field.id)
        if value is None:
            return None
        if field.kind.multiple:
            return mask_of(field, tuple(value))
        return vocabulary(field).index(value)

    def certain(self, cell: str) -> bool:
        """Whether the value the row reader sees is the one decided: always for a CSV cell; for
        JSON, not when Polars may have turned a JSON true or number into this text."""
        return not self.json or not (cell in ("true", "false") or _NUMERIC_LOOKING.fullmatch(cell.strip()))

    def data(self, field: FormField, cell: str) -> object:
        """What the row reader hands the validator for this cell: `_ABSENT`, or `_MISSING` when unsure."""
        if not self.json:   # as `inputs.csv_row` reads a cell
            text = cell.strip()
            if not text or text in MISSING_CODES:
                return _ABSENT
            if field.kind.multiple:
                return [v.strip() for v in text.split("|") if v.strip()]
            return text
        if cell.startswith("{"):
            return _MISSING
        if cell.startswith("["):   # Polars writes a JSON list back as JSON; in these lines no string holds a quote
            if not field.kind.multiple or '"' not in cell:
                return _MISSING
            items = json.loads(cell)
            return items if all(isinstance(v, str) for v in items) else _MISSING
        # (a tri-state reads true as it reads "true", and refuses a number either way)
        if not field.kind.yes_no and (cell in ("true", "false") or _NUMERIC_LOOKING.fullmatch(cell.strip())):
            return _MISSING   # a JSON true or number read as text: the row reader would see another type
        return cell


_ABSENT, _MISSING = object(), object()


def code_dtype(field: FormField) -> type[pl.UInt8] | type[pl.UInt32]:
    return pl.UInt32 if field.kind.multiple else pl.UInt8


def _sentinels(field: FormField) -> tuple[int, int]:
    """The codes of UNSURE and BAD in a coded column: above every real code."""
    top = (1 << 31) if field.kind.multiple else 255
    return top, top - 1


def table(field: FormField, decision: int | None) -> int | None:
    """A decision as its code in the column (None: unknown)."""
    if decision == UNSURE:
        return _sentinels(field)[0]
    if decision == BAD:
        return _sentinels(field)[1]
    return decision


def _coded(field: FormField, column: str) -> Normalised:
    """A tri-state, choice or multi-choice field from its column of codes (`Dictionary.codes`)."""
    code = pl.col(column)
    unsure, bad = _sentinels(field)
    return Normalised(code, (code == unsure).fill_null(False), bad=(code == bad).fill_null(False))


def _number(s: pl.Expr, field: FormField) -> Normalised:
    name = f"_number:{field.id}"
    number = pl.col(name)
    prep = pl.when(s.str.contains(_NUMBER)).then(s.cast(pl.Float64, strict=False)).alias(name)
    fits = number.is_not_null()
    if field.min is not None:
        fits = fits & (number >= field.min)
    if field.max is not None:
        fits = fits & (number <= field.max)
    blank = s.is_in(BLANK_WORDS)
    return Normalised(number, s.is_not_null() & ~blank & ~fits, (prep,),
                      bad=(number.is_not_null() & ~fits).fill_null(False))   # a plain number out of range


def _date(s: pl.Expr, field: FormField) -> Normalised:
    name = f"_date:{field.id}"
    prep = (s.str.contains(_DATE) & ~s.str.starts_with("0000")
            & s.str.to_date("%Y-%m-%d", strict=False).is_not_null()).alias(name)
    real = pl.col(name)
    return Normalised(pl.when(real).then(s), s.is_not_null() & ~s.is_in(BLANK_WORDS) & ~real.fill_null(False), (prep,))


def _text(s: pl.Expr, field: FormField, json: bool) -> Normalised:
    name = f"_doubt:{field.id}"
    doubt = ~_edges_plain(s)
    if field.max_length is not None:
        doubt = doubt | (s.str.len_chars() > field.max_length)
    if not json:  # a REDCap missing-data code is no answer
        doubt = doubt | s.is_in(list(MISSING_CODES))
    if json:  # a JSON true, number, list or object read as text would be refused or spelt otherwise
        doubt = (doubt | s.is_in(["true", "false"]) | s.str.contains(_JSON_SCALAR_TEXT)
                 | s.str.starts_with("[") | s.str.starts_with("{"))
    empty = s.is_null() | (s == "")
    unsure = ~empty & pl.col(name).fill_null(False)
    if field.required:
        unsure = unsure | empty
    return Normalised(pl.when(~empty).then(s), unsure, (doubt.alias(name),))


def _edges_plain(text: pl.Expr) -> pl.Expr:
    """Both ends printable ASCII (so Python's strip would stop exactly there)."""
    return text.str.contains(r"^[!-~]") & text.str.contains(r"[!-~]$")


def _from_mask(mask: pl.Expr, field: FormField) -> Normalised:
    """Value (null when nothing is chosen) and unsure flag (an exclusive option combined) of a mask."""
    unsure = pl.lit(False)
    exclusive = sum(bit(field, o.value) for o in field.options if o.exclusive)
    if exclusive:
        unsure = ((mask & exclusive) != 0) & (mask.bitwise_count_ones() > 1)
    return Normalised(pl.when(mask != 0).then(mask), unsure.fill_null(False))


def _normalise(field: FormField, s: pl.Expr, json: bool) -> Normalised:
    """A number, date or text field from its stripped cell (JSON: the value Polars read as a string)."""
    reader = _COLUMNS[field.type].normalise
    if reader is None:
        raise ValueError(f"field '{field.id}': a {field.type} column is read through the dictionary")
    return reader(s, field, json)


def _absent(field: FormField) -> Normalised:
    return Normalised(pl.lit(None, _COLUMNS[field.type].dtype), pl.lit(field.required))


@dataclass(frozen=True)
class _Column:
    """How the codec reads one kind of field: the dtype of its normalised column, and its reader
    (None: a coded kind, decided value by value through the `Dictionary`)."""

    dtype: type[pl.DataType]
    normalise: Callable[[pl.Expr, FormField, bool], Normalised] | None = None


_COLUMNS = per_kind({
    FieldKind.TEXT: _Column(pl.String, _text),
    FieldKind.LONGTEXT: _Column(pl.String, _text),
    FieldKind.DATE: _Column(pl.String, lambda s, field, json: _date(s, field)),
    FieldKind.NUMBER: _Column(pl.Float64, lambda s, field, json: _number(s, field)),
    FieldKind.TRISTATE: _Column(pl.UInt8),
    FieldKind.CHOICE: _Column(pl.UInt8),
    FieldKind.MULTICHOICE: _Column(pl.UInt32),
}, "audit.codec._COLUMNS")


def _any(flags: Iterable[pl.Expr]) -> pl.Expr:
    """`a | b | …` (Kleene, as `|`), as one node: Polars plans a long chain of `|` at every batch."""
    flags = list(flags)
    return pl.any_horizontal(flags) if flags else pl.lit(False)


@dataclass(frozen=True)
class CsvPlan:
    """What each column of a CSV header means, as `inputs.csv_row` reads it."""

    columns: tuple[str, ...]
    plain: dict[str, int]                          # field id → column index
    boxes: dict[str, tuple[tuple[str, int], ...]]  # multi-choice field id → (code, column index)
    unknown: tuple[int, ...]                       # columns that make a non-empty cell an unknown field
    simple: bool                                   # False: duplicate or mixed columns; read row by row
    others: tuple[int, ...] = ()                   # in a REDCap longitudinal export: the answers' columns
                                                   # but the referral id's (none filled: the row is skipped)


def csv_plan(header: list[str], pathway: Pathway) -> CsvPlan:
    """The columns as `inputs.csv_row` reads them (from the same per-header plan)."""
    plain: dict[str, int] = {}
    boxes: dict[str, list[tuple[str, int]]] = {}
    unknown: list[int] = []
    names = [c.strip() for c in header if c.strip()]
    simple = len(set(names)) == len(names)
    for index, (column, fid, code, _multi) in enumerate(header_plan(tuple(header), pathway)):
        if column is None:
            continue
        if fid is not None and code is not None:
            boxes.setdefault(fid, []).append((code, index))
        elif column in pathway.fields:
            plain[column] = index
        else:
            unknown.append(index)
    if set(plain) & set(boxes) or any(not pathway.fields[f].kind.multiple for f in boxes):
        simple = False
    others: list[int] = []
    if any(c in LONGITUDINAL for c in header):   # the form's status column and answers but the id
        others = [i for f, i in plain.items() if f != "referral_id"] + [i for v in boxes.values() for _, i in v]
        others += [i for i, c in enumerate(header) if c == form_name(pathway) + "_complete"]
    return CsvPlan(tuple(header), plain, {k: tuple(v) for k, v in boxes.items()}, tuple(unknown), simple,
                   tuple(sorted(others)))


def _checkboxes(field: FormField, boxes: tuple[tuple[str, int], ...]) -> Normalised:
    """REDCap checkbox columns `field___code` holding 1 (chosen), 0 or nothing (cells stripped).
    Anything else, or a 1 under a code the field does not have, is refused by the row reader:
    certainly when the cell's ends are printable ASCII, so that Python's strip agrees."""
    known = set(field.values)
    cells = [(code, pl.col(f"c{i}")) for code, i in boxes]
    odd = [~c.is_in(["", "0", "1"]) for _, c in cells]
    unsure = _any(odd)
    bad = _any([o & _edges_plain(c) for o, (_, c) in zip(odd, cells)]
               + [c == "1" for code, c in cells if code not in known])
    mask = reduce(lambda a, b: a | b,
                  (pl.when(c == "1").then(pl.lit(bit(field, code) if code in known else 0, pl.UInt32))
                   .otherwise(pl.lit(0, pl.UInt32)) for code, c in cells))
    n = _from_mask(mask, field)
    return Normalised(n.value, n.unsure | unsure.fill_null(False), bad=bad.fill_null(False))


class Codec:
    """Validation of one kind of input: JSONL (no plan), or CSV under one header (its plan).

    Expressions are built once; the dictionaries of the coded columns grow task by task.
    `normalise` gives each field's normalised column, `_unsure`, `_bad` and `_blank` (a CSV
    row of blank cells is not a record).
    """

    def __init__(self, pathway: Pathway, plan: CsvPlan | None = None) -> None:
        self.json = plan is None
        self.dictionary = Dictionary(pathway, json=self.json)
        self.coded: list[tuple[FormField, str]] = []
        fields: list[Normalised] = []
        names: list[str] = []
        stripped: list[str] = []
        for fid, field in pathway.fields.items():
            column = fid if plan is None else (f"c{plan.plain[fid]}" if fid in plan.plain else None)
            names.append(fid)
            if field.kind.coded and column is not None:
                self.coded.append((field, column))
                fields.append(_coded(field, f"_code:{fid}"))
            elif column is not None:
                stripped.append(column)
                fields.append(_normalise(field, pl.col(column), self.json))
            elif plan is not None and fid in plan.boxes:
                fields.append(_checkboxes(field, plan.boxes[fid]))
            else:
                fields.append(_absent(field))
        unsure = [n.unsure for n in fields]
        bad = [n.bad for n in fields]
        self.blank: pl.Expr | None = None
        self.blank_is_unsure = any(f.required for f in pathway.fields.values())
        """A blank row leaves a required field empty, so it is among the unsure rows (which alone are checked)."""
        if plan is not None:
            coded = {c for _, c in self.coded}
            cells = [f"c{i}" for i in range(len(plan.columns))]
            stripped = [c for c in cells if c not in coded]
            unknown = [pl.col(f"c{i}") for i in plan.unknown]   # a filled cell there is a field the form lacks
            unsure += [c != "" for c in unknown]
            bad += [(c != "") & _edges_plain(c) for c in unknown]
            if plan.others:   # a row that may be another event's or form's: the row reader skips it
                unsure.append(pl.all_horizontal([
                    pl.col(f"c{i}").str.strip_chars(WS).is_in(["", "0", *MISSING_CODES]) for i in plan.others]))
            # blank: every cell empty or spaces and tabs, so their concatenation is too
            self.blank = pl.concat_str([pl.col(c).cast(pl.String) for c in cells], ignore_nulls=True
                                       ).str.strip_chars(WS) == ""
        self.strip = [pl.col(c).str.strip_chars(WS) for c in stripped]
        self.prep = [e for n in fields for e in n.prep]
        self.final = [n.value.alias(name) for n, name in zip(fields, names)] + [
            _any(unsure).alias("_unsure"), _any(bad).alias("_bad")]

    def normalise(self, raw: pl.DataFrame) -> pl.DataFrame:
        codes = [self.dictionary.codes(field, raw.get_column(column)).alias(f"_code:{field.id}")
                 for field, column in self.coded]
        out = raw.with_columns(*self.strip, *codes).with_columns(self.prep).select(self.final)
        return out.with_columns(self._blank(raw, out.get_column("_unsure")))

    def _blank(self, raw: pl.DataFrame, unsure: pl.Series) -> pl.Series:
        if self.blank is None:
            return pl.repeat(False, raw.height, eager=True).alias("_blank")
        if not self.blank_is_unsure:
            return raw.select(self.blank.alias("_blank")).to_series()
        rows = unsure.arg_true()
        blank = pl.repeat(False, raw.height, eager=True).alias("_blank")
        if len(rows):
            blank = blank.scatter(rows, raw[rows].select(self.blank).to_series())
        return blank
