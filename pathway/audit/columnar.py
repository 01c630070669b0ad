"""The pathway's condition tree compiled into Polars expressions over a batch.

The same tree the single-referral backends evaluate, compiled once into one
expression per item that maps a batch of normalised answers to status codes.
Polars' boolean `&`, `|` and `~` already follow Kleene's three-valued logic
on nulls (`false & null = false`, `true | null = true`, `~null = null`), and
comparisons with null give null, so an unanswered field is unknown exactly
as in `conditions.evaluate`.

Before the items are evaluated, answers to questions that are not asked
(their `shown_when` documented false) are made null, as `applicable` does for
one referral: `set_aside_steps`, compiled from the same conditions.

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


def _asked_condition(cond: C.Condition, fields: dict[str, FormField], gated: set[str]) -> pl.Expr:
    """A `shown_when` condition as `applicable.not_asked` reads it: a test of a question not asked (its
    flag column `not_asked_column` true) is false, whatever the column holds."""
    if isinstance(cond, C.All):
        return reduce(lambda a, b: a & b, (_asked_condition(p, fields, gated) for p in cond.parts))
    if isinstance(cond, C.AnyOf):
        return reduce(lambda a, b: a | b, (_asked_condition(p, fields, gated) for p in cond.parts))
    if isinstance(cond, C.Not):
        return ~_asked_condition(cond.part, fields, gated)
    test = compile_condition(cond, fields)
    if cond.field not in gated:
        return test
    return pl.when(pl.col(not_asked_column(cond.field))).then(pl.lit(False)).otherwise(test)


def not_asked_column(field_id: str) -> str:
    return f"_not_asked:{field_id}"


def set_aside_steps(pathway: Pathway) -> list[list[pl.Expr]]:
    """`applicable.applicable` over a batch: groups of expressions, each applied with `with_columns` in turn.

    First a flag per dependent question, false; then, pass after pass in form order, a question's flag
    turns true (and stays) when its condition over the batch is documented false, each group reading
    the flags the groups before it set; last, the answers of flagged questions become null (unknown)
    and the flags go. One pass for a form whose conditions read only questions decided before them
    (`applicable.passes_needed`), so the bundled pathway needs three steps.
    """
    from ..applicable import dependents, passes_needed

    fields = pathway.fields
    gated = [f for f in dependents(pathway)]
    if not gated:
        return []
    ids = {f.id for f in gated}
    steps: list[list[pl.Expr]] = [[pl.lit(False).alias(not_asked_column(f.id)) for f in gated]]
    for _ in range(passes_needed(pathway)):
        group: list[pl.Expr] = []
        in_group: set[str] = set()
        for f in gated:
            assert f.shown_when is not None
            if in_group.intersection(C.fields_of(f.shown_when)):
                steps.append(group)
                group, in_group = [], set()
            flag = pl.col(not_asked_column(f.id))
            false = (~_asked_condition(f.shown_when, fields, ids)).fill_null(False)
            group.append((flag | false).alias(not_asked_column(f.id)))
            in_group.add(f.id)
        steps.append(group)
    steps.append([pl.when(pl.col(not_asked_column(f.id))).then(None).otherwise(pl.col(f.id)).alias(f.id)
                  for f in gated])
    return steps


def set_aside(frame: pl.DataFrame, steps: list[list[pl.Expr]]) -> pl.DataFrame:
    """The batch with the answers `set_aside_steps` sets aside made unknown, as `engine.evaluate` does
    before any backend sees a referral (a no-op for a form without dependent questions)."""
    if not steps:
        return frame
    for step in steps:
        frame = frame.with_columns(step)
    return frame.drop([e.meta.output_name() for e in steps[0]])


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
