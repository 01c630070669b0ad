"""One task by the columnar engine, start to finish (in this process, or on a Dask worker).

It reads its task (`chunks`), validates the fast rows column by column
(`codec`), evaluates them as whole columns (`columnar`), and sends every row
the codec is unsure of to the row path (`rowpath`: the row validator and the
python backend, as `pathway check`). What goes back is small: status counts,
the task's least complete referrals, its rejected records and, when a CSV is
wanted, its rows of the status matrix.
"""
from __future__ import annotations

import io
import math
from functools import lru_cache
from typing import Any

import polars as pl

from ..definition import STATUSES, Pathway
from ..outputs import FORMULA_START, inert_cell
from . import codec, columnar, rowpath
from . import rows as row_engine
from .chunks import Batch, read_task
from .groups import By, group_of
from .results import Entry, Options, Reject, TaskResult
from .rowpath import Pending
from .sources import Task


class _Context:
    """What a process needs once per pathway: the compiled expressions and the reference backend."""

    def __init__(self, pathway: Pathway) -> None:
        self.pathway = pathway
        self.fields = tuple(self.pathway.fields.values())
        self.items = [i.id for i in self.pathway.items]
        self.statuses = columnar.status_exprs(self.pathway)
        self.aside = columnar.set_aside_steps(self.pathway)   # answers to questions not asked, made unknown first
        self.completeness = columnar.completeness_exprs(self.pathway)
        self.json = codec.Codec(self.pathway)
        self.schema = {"_file": pl.String, "_line": pl.Int64, "referral_id": pl.String, "_date": pl.String,
                       "_group": pl.String} \
            | {i: columnar.STATUS_DTYPE for i in self.items} | {"_documented": pl.UInt16, "_applicable": pl.UInt16}

    @lru_cache(maxsize=64)  # noqa: B019 - one context per process, kept for its whole life
    def csv(self, header: tuple[str, ...]) -> tuple[codec.CsvPlan, codec.Codec]:
        plan = codec.csv_plan(list(header), self.pathway)
        return plan, codec.Codec(self.pathway, plan)


_CONTEXT: _Context | None = None


def prepare(pathway: Pathway) -> None:
    """Compile once for the pathway the main process loaded and checked (a Dask worker
    receives it pickled: no rule files are read again, and they cannot have changed)."""
    global _CONTEXT
    if _CONTEXT is None or _CONTEXT.pathway is not pathway:
        _CONTEXT = _Context(pathway)


def process(task: Task, options: Options, pathway: Pathway) -> TaskResult:
    """One task, start to finish; referral files and failed files, which are read record by
    record whatever the engine, go to the row engine."""
    prepare(pathway)
    ctx = _CONTEXT
    assert ctx is not None
    if task.kind in ("files", "failed"):
        return row_engine.process(task, options, pathway)
    batch = read_task(task, pathway)
    if batch is None:
        return row_engine.process(task, options, pathway)
    fast, routed, bad = _fast_rows(batch, task, ctx, options.by)
    keep = None if options.reasons else options.rejects
    frame, rejects, rejected, skipped = _routed_rows(routed, bad, batch, task, ctx, fast, keep, options.by)
    return TaskResult(
        index=task.index, records=frame.height + rejected + skipped, evaluated=frame.height, rejected=rejected,
        rechecked=len(routed), counts=_counts(frame, ctx), rejects=rejects,
        least=_least(frame, ctx, options.keep, options.below),
        matrix=_matrix_csv(frame, ctx, task.name if _lined(task) else None, options.by) if options.matrix else b"",
        skipped=skipped, notices=task.notices, ids=tuple(frame.get_column("referral_id").to_list()),
        tally=_tally(frame), group_counts=_group_counts(frame, ctx) if options.by is not None else {},
    )


def _tally(frame: pl.DataFrame) -> dict[tuple[str, str, int, int], int]:
    """`groups.Tally` of the task's referrals."""
    if frame.height == 0:
        return {}
    counted = frame.group_by(pl.col("_date").str.slice(0, 7).alias("_month"), "_group", "_documented",
                             "_applicable").len()
    return {(m, g, d, a): n for m, g, d, a, n in counted.iter_rows()}


def _group_counts(frame: pl.DataFrame, ctx: _Context) -> dict[str, list[list[int]]]:
    """[item][status] counts per group (--by)."""
    if frame.height == 0:
        return {}
    n = len(STATUSES)
    counted = frame.group_by("_group").agg([(pl.col(i) == s).sum().alias(f"{i}:{s}")
                                            for i in ctx.items for s in range(n)])
    return {row[0]: [list(row[1 + k * n:1 + (k + 1) * n]) for k in range(len(ctx.items))]
            for row in counted.iter_rows()}


def _source_expr() -> pl.Expr:
    """`file:line`, or the file alone for a referral file."""
    return pl.when(pl.col("_line").is_null()).then(pl.col("_file")).otherwise(
        pl.concat_str(pl.col("_file"), pl.lit(":"), pl.col("_line").cast(pl.String)))


def _lined(task: Task) -> bool:
    """Whether the task's records are lines of one file (their source: file:line)."""
    return task.kind not in ("files", "failed")


def _matrix_csv(frame: pl.DataFrame, ctx: _Context, name: str | None, by: By | None) -> bytes:
    """The task's rows of the referral × item status matrix, as CSV without a header.
    `name`: the one file all the rows are lines of (its name made inert once, not per row)."""
    if frame.height == 0:
        return b""
    names = pl.lit(pl.Series(STATUSES, dtype=pl.Enum(STATUSES)))   # written as the names, never made as text
    source = (pl.lit(inert_cell(name) + ":") + pl.col("_line").cast(pl.String) if name is not None
              else _inert(_source_expr()))
    out = frame.select(
        source.alias("source"), _inert(pl.col("referral_id")).alias("referral_id"), pl.col("_date"),
        *([_inert(pl.col("_group"))] if by is not None else []), pl.col("_documented").alias("documented"),
        pl.col("_applicable").alias("applicable"), columnar.completeness_ratio().alias("completeness"),
        *[names.gather(pl.col(i)).alias(i) for i in ctx.items],
    )
    buffer = io.BytesIO()
    out.write_csv(buffer, include_header=False, float_precision=4)
    return buffer.getvalue()


def _inert(text: pl.Expr) -> pl.Expr:
    """`outputs.inert_cell` over a column: a cell a spreadsheet would take for a formula starts with '."""
    starts = pl.any_horizontal([text.str.starts_with(c) for c in FORMULA_START])
    return pl.when(starts).then(pl.lit("'") + text).otherwise(text)


def _fast_rows(
    batch: Batch, task: Task, ctx: _Context, by: By | None,
) -> tuple[pl.DataFrame | None, list[tuple[int, Pending]], list[tuple[int, int]]]:
    """Statuses of the rows the codec vouches for; the rows it is unsure of, re-read for the row
    validator; and the rows it knows are rejected, as (line, row) to re-read only if shown."""
    routed = list(batch.routed)
    if batch.raw is None or batch.raw.height == 0:
        return None, routed, []
    raw = batch.raw
    if batch.kind == "csv" and not ctx.csv(task.header)[0].simple:
        routed += [(line, batch.reread(k)) for k, line in enumerate(batch.raw_lines)]
        return None, routed, []
    lines = pl.Series("_line", batch.raw_lines, dtype=pl.Int64)
    if batch.kind == "json":
        norm = ctx.json.normalise(raw.drop("_keys_ok", "_keys_bad")).with_columns(
            _unsure=pl.col("_unsure") | ~raw.get_column("_keys_ok"), _bad=pl.col("_bad") | raw.get_column("_keys_bad"))
    else:
        norm = ctx.csv(task.header)[1].normalise(raw)
    flags = norm.select(
        ok=~(pl.col("_unsure") | pl.col("_bad") | pl.col("_blank")),
        unsure=pl.col("_unsure") & ~pl.col("_bad") & ~pl.col("_blank"),
        bad=pl.col("_bad"),
    )
    for k in flags.get_column("unsure").arg_true().to_list():
        routed.append((batch.raw_lines[k], batch.reread(k)))
    bad = [(batch.raw_lines[k], k) for k in flags.get_column("bad").arg_true().to_list()]
    ok = flags.get_column("ok")
    used = columnar.set_aside(norm.with_columns(_line=lines, _group=_group_column(batch, task, norm, by)).filter(ok),
                              ctx.aside)
    fast = used.with_columns(ctx.statuses).with_columns(ctx.completeness).select(
        pl.lit(task.name, pl.String).alias("_file"), pl.col("_line"), pl.col("referral_id"),
        (pl.col("referral_date").fill_null("") if "referral_date" in ctx.pathway.fields else pl.lit("")).alias("_date"),
        pl.col("_group"),
        *ctx.items, pl.col("_documented").cast(pl.UInt16), pl.col("_applicable").cast(pl.UInt16),
    )
    return fast, routed, bad


def _group_column(batch: Batch, task: Task, norm: pl.DataFrame, by: By | None) -> pl.Series:
    """Each fast row's group (`groups.group_of`, as whole columns): the field's value (a coded field's
    code turned back into its value), or the CSV column's cell, stripped; "" where there is none."""
    empty = pl.repeat("", norm.height, dtype=pl.String, eager=True)
    if by is None:
        return empty
    if by.field is not None:
        column = norm.get_column(by.name)
        if by.field.kind.coded:
            words = pl.Series(columnar.vocabulary(by.field), dtype=pl.String)
            column = norm.select(pl.lit(words).gather(pl.col(by.name).cast(pl.UInt32))).to_series()
        return column.cast(pl.String).fill_null("")
    if batch.kind == "csv" and batch.raw is not None and by.name in task.header:
        cells = batch.raw.get_column(f"c{task.header.index(by.name)}").cast(pl.String)
        return cells.str.strip_chars(codec.WS).fill_null("")
    return empty


def _routed_rows(
    routed: list[tuple[int, Pending]], bad: list[tuple[int, int]], batch: Batch, task: Task, ctx: _Context,
    fast: pl.DataFrame | None, keep: int | None, by: By | None,
) -> tuple[pl.DataFrame, list[Reject], int, int]:
    """Decide the routed records exactly as `pathway check` would and evaluate the accepted ones with the
    python backend; count the bad ones as rejected; merge with the fast rows in input order. Rejects
    beyond `keep` are only counted (None: every one is worded here)."""
    rows: dict[str, list[Any]] = {c: [] for c in ctx.schema}
    rejects: list[Reject] = []
    rejected = skipped = 0
    lined = _lined(task)

    def reject(pending: Pending | None, row: int, problems: tuple[str, ...] | None) -> None:
        nonlocal rejected
        rejected += 1
        if keep is None or len(rejects) < keep:
            pending = pending or batch.reread(row)
            if keep is None and problems is None:
                problems = rowpath.problems(pending, ctx.pathway)
            rejects.append(Reject(pending.source, problems, None if problems else pending))

    work: list[tuple[int, int, Pending | None]] = [(order, -1, pending) for order, pending in routed]
    work += [(line, k, None) for line, k in bad]
    work.sort(key=lambda w: w[0])
    for order, row, pending in work:
        if pending is None:
            reject(None, row, None)
            continue
        decided = rowpath.decide(pending, ctx.pathway)
        if decided is None:
            continue   # a blank row: not a record
        if decided.skipped:
            skipped += 1
            continue
        values = decided.values
        if values is None:
            reject(pending, row, decided.problems)
            continue
        codes, documented, applicable = rowpath.scored(ctx.pathway, values)
        rows["_file"].append(task.name if lined else pending.source)
        rows["_line"].append(order if lined else None)
        rows["referral_id"].append(values["referral_id"])
        date = values.get("referral_date")
        rows["_date"].append(str(date) if date else "")
        rows["_group"].append(group_of(by, values, pending))
        for item, code in zip(ctx.items, codes):
            rows[item].append(code)
        rows["_documented"].append(documented)
        rows["_applicable"].append(applicable)
    slow = pl.DataFrame(rows, schema=ctx.schema)
    if fast is not None and fast.height and slow.height:
        slow = pl.concat([fast, slow]).sort("_line", maintain_order=True)
    elif fast is not None and fast.height:
        slow = fast
    return slow, rejects, rejected, skipped


def _counts(frame: pl.DataFrame, ctx: _Context) -> list[list[int]]:
    if frame.height == 0:
        return [[0] * len(STATUSES) for _ in ctx.items]
    row = frame.select([(pl.col(i) == s).sum().alias(f"{i}:{s}")
                        for i in ctx.items for s in range(len(STATUSES))]).row(0)
    return [list(row[k * len(STATUSES):(k + 1) * len(STATUSES)]) for k in range(len(ctx.items))]


def _least(frame: pl.DataFrame, ctx: _Context, keep: int, below: float = math.inf) -> list[Entry]:
    """The task's `keep` least complete referrals, of those less complete than `below`."""
    if frame.height == 0 or keep <= 0:
        return []
    ranked = frame.with_row_index("_order").with_columns(_completeness=columnar.completeness_ratio())
    if below < math.inf:
        ranked = ranked.filter(pl.col("_completeness") < below)
    ranked = ranked.bottom_k(keep, by=["_completeness", "_order"]).sort(["_completeness", "_order"]).with_columns(
        _source=_source_expr())
    out = []
    for row in ranked.iter_rows(named=True):
        missing = tuple(i for i in ctx.items if row[i] == columnar.MISSING)
        out.append(Entry(row["_completeness"], row["_order"], row["_source"], row["referral_id"],
                         row["_documented"], row["_applicable"], missing))
    return out
