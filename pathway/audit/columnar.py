"""The pathway's condition tree compiled into Polars expressions over a batch.

The same tree the single-referral backends evaluate, compiled once into one
expression per item that maps a batch of normalised answers to status codes.
Polars' boolean `&`, `|` and `~` already follow Kleene's three-valued logic
on nulls (`false & null = false`, `true | null = true`, `~null = null`), and
comparisons with null give null, so an unanswered field is unknown exactly
as in `conditions.evaluate`.

Normalised columns (what `codec` produces): tri-state and choice fields as the
index of their value (UInt8), multi-choice fields as a bitmask of their
options (UInt32), numbers as Float64, dates and text as strings; null is
unknown.
"""
from __future__ import annotations

from functools import reduce

import polars as pl

from .. import conditions as C
from ..definition import STATUSES, FormField, Item, Pathway

MET, NOT_MET, MISSING, NOT_APPLICABLE = (STATUSES.index(s) for s in ("met", "not_met", "missing", "not_applicable"))
STATUS_DTYPE = pl.UInt8


def vocabulary(field: FormField) -> tuple[str, ...]:
    """The values a coded field can take, in code order."""
    return field.codes


def bit(field: FormField, value: str) -> int:
    """A multi-choice option's bit in the field's mask."""
    return 1 << field.values.index(value)


def mask_of(field: FormField, values: tuple[str, ...]) -> int:
    return sum(bit(field, v) for v in set(values))


def compile_condition(cond: C.Condition, fields: dict[str, FormField]) -> pl.Expr:
    """A Boolean expression that is null exactly where the condition is unknown."""
    if isinstance(cond, C.All):
        return reduce(lambda a, b: a & b, (compile_condition(p, fields) for p in cond.parts))
    if isinstance(cond, C.AnyOf):
        return reduce(lambda a, b: a | b, (compile_condition(p, fields) for p in cond.parts))
    if isinstance(cond, C.Not):
        return ~compile_condition(cond.part, fields)
    column = pl.col(cond.field)
    field = fields[cond.field]
    if isinstance(cond, C.In):
        codes = [vocabulary(field).index(v) for v in cond.values]
        return reduce(lambda a, b: a | b, (column == pl.lit(c, STATUS_DTYPE) for c in codes))
    if isinstance(cond, C.Compare):
        number = pl.lit(cond.number, pl.Float64)
        return {"lt": column < number, "le": column <= number, "gt": column > number, "ge": column >= number}[cond.op]
    if isinstance(cond, C.Contains):
        wanted = pl.lit(mask_of(field, cond.values), pl.UInt32)
        if cond.mode == "any":
            return (column & wanted) != pl.lit(0, pl.UInt32)
        return (column & wanted) == wanted
    if isinstance(cond, C.Unanswered):
        return column.is_null()
    return pl.when(column.is_not_null()).then(pl.lit(True)).otherwise(pl.lit(None, pl.Boolean))  # Answered


def status_expr(item: Item, fields: dict[str, FormField]) -> pl.Expr:
    """Checklist-v1's mapping, as `engine.status_of`: applicability documented false →
    not applicable; unknown applicability or unknown holding → missing."""
    holds = compile_condition(item.holds, fields)

    def code(n: int) -> pl.Expr:
        return pl.lit(n, STATUS_DTYPE)

    chain = pl.when(holds).then(code(MET)).when(~holds).then(code(NOT_MET)).otherwise(code(MISSING))
    if item.applies_when is None:
        return chain.alias(item.id)
    applies = compile_condition(item.applies_when, fields)
    return (pl.when(~applies).then(code(NOT_APPLICABLE))
            .when(applies.is_null()).then(code(MISSING))
            .otherwise(chain)).alias(item.id)


def status_exprs(pathway: Pathway) -> list[pl.Expr]:
    """One UInt8 status-code column per item, named by the item id, in pathway order."""
    return [status_expr(item, pathway.fields) for item in pathway.items]


def completeness_exprs(pathway: Pathway) -> list[pl.Expr]:
    """Documented and applicable item counts of each referral (completeness = their ratio)."""
    ids = [i.id for i in pathway.items]
    applicable = pl.sum_horizontal([(pl.col(i) != NOT_APPLICABLE).cast(pl.UInt8) for i in ids])
    missing = pl.sum_horizontal([(pl.col(i) == MISSING).cast(pl.UInt8) for i in ids])
    return [(applicable - missing).cast(pl.UInt8).alias("_documented"), applicable.cast(pl.UInt8).alias("_applicable")]


def completeness_ratio() -> pl.Expr:
    """Documented ÷ applicable from the counts `completeness_exprs` names (1 when nothing applies),
    as the single-referral report computes it."""
    return pl.when(pl.col("_applicable") == 0).then(pl.lit(1.0)).otherwise(
        pl.col("_documented").cast(pl.Float64) / pl.col("_applicable").cast(pl.Float64))
