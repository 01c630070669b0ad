"""The row engine: every record of a task read, decided and evaluated one by one, as `pathway check` does.

It is the reference the columnar engine is tested against (`--engine row`),
and the quicker of the two for a small input: it needs no Polars, whose import
alone takes about a third of a second, so a small audit starts as fast as a
check. Records are read from the same tasks (`sources.plan`) and decided by
the same functions (`rowpath`), so both engines give the same files, byte for
byte.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from ..backends import get_evaluator
from ..definition import STATUSES, Pathway
from ..inputs import Record, jsonl_lines, read_file
from ..outputs import inert_cell
from ..yamlsrc import Located
from . import rowpath
from .groups import Tally, group_of, month_of
from .results import Entry, Options, Reject, TaskResult
from .rowpath import Pending, csv_cells, json_line, read_record
from .sources import BOM, Task

def pending_records(task: Task, pathway: Pathway, notices: list[str] | None = None) -> Iterator[tuple[int, Pending]]:
    """The task's records in order, each with its order key (its line, or its place among the files);
    what the files it reads hold that is not used, in `notices`."""
    if task.kind == "jsonl":
        for k, line in enumerate(jsonl_lines(_text(task))):
            if line.strip():
                yield task.first_line + k, json_line(task.name, task.first_line + k, line)
    elif task.kind == "csv":   # a byte range without quotes, lone "\r" or NUL: each line a row of plain cells
        lines = _text(task).split("\n")
        for k, line in enumerate(lines[:-1] if lines[-1] == "" else lines):
            cells = line.removesuffix("\r").split(task.delimiter)
            yield task.first_line + k, csv_cells(task.name, task.first_line + k, task.header, cells)
    elif task.kind == "rows":   # read by the csv module in `sources`: cells, or the csv module's complaint
        for number, row in task.rows:
            yield number, rowpath.read_row(task.name, number, task.header, row)
    elif task.kind == "failed":
        assert task.problem is not None
        yield 0, read_record(Record(task.name, Located(task.name, None), task.problem))
    else:
        order = 0
        for path in task.files:
            for record in read_file(Path(path), pathway, task.reading, notices):
                yield order, read_record(record)
                order += 1


def _text(task: Task) -> str:
    with open(task.name, "rb") as f:
        f.seek(task.start)
        raw = f.read(task.end - task.start)
    return (raw.removeprefix(BOM) if task.start == 0 else raw).decode("utf-8")


def prepare(pathway: Pathway) -> None:
    """Build what deciding needs once per pathway (the referral model, the compiled rules)."""
    rowpath.referral_model_of(pathway)
    get_evaluator("python", pathway)


def process(task: Task, options: Options, pathway: Pathway) -> TaskResult:
    """One task by the row engine: the same `TaskResult` the columnar engine gives for it."""
    items = [i.id for i in pathway.items]
    counts = [[0] * len(STATUSES) for _ in items]
    least: list[Entry] = []
    rejects: list[Reject] = []
    matrix = io.StringIO()
    evaluated = rejected = skipped = 0
    notices = list(task.notices)
    ids: list[str] = []
    tally: Tally = {}
    group_counts: dict[str, list[list[int]]] = {}
    for _, pending in pending_records(task, pathway, notices):
        decided = rowpath.decide(pending, pathway)
        if decided is None:
            continue   # a blank CSV row: not a record
        if decided.skipped:
            skipped += 1
            continue
        if decided.values is None:
            rejected += 1
            if options.reasons or len(rejects) < options.rejects:
                problems = decided.problems
                if options.reasons and problems is None:
                    problems = rowpath.problems(pending, pathway)
                rejects.append(Reject(pending.source, problems, None if problems else pending))
            continue
        values = decided.values
        codes, documented, applicable = rowpath.scored(pathway, values)
        for row, code in zip(counts, codes):
            row[code] += 1
        completeness = documented / applicable if applicable else 1.0
        referral_id = str(values["referral_id"])
        ids.append(referral_id)
        group = group_of(options.by, values, pending)
        key = (month_of(values), group, documented, applicable)
        tally[key] = tally.get(key, 0) + 1
        if options.by is not None:
            by_group = group_counts.setdefault(group, [[0] * len(STATUSES) for _ in items])
            for row, code in zip(by_group, codes):
                row[code] += 1
        if options.matrix:
            date = values.get("referral_date")
            cells = [inert_cell(pending.source), inert_cell(referral_id), str(date) if date else "",
                     *([inert_cell(group)] if options.by is not None else []), str(documented), str(applicable),
                     f"{completeness:.4f}", *(STATUSES[c] for c in codes)]
            matrix.write(",".join(map(_cell, cells)) + "\n")
        if completeness < options.below:
            missing = tuple(i for i, c in zip(items, codes) if c == rowpath.MISSING)
            least.append(Entry(completeness, evaluated, pending.source, referral_id, documented, applicable, missing))
        evaluated += 1
    least.sort(key=lambda e: (e.completeness, e.order))
    return TaskResult(index=task.index, records=evaluated + rejected + skipped, evaluated=evaluated,
                      rejected=rejected, rechecked=evaluated + rejected, counts=counts, rejects=rejects,
                      least=least[:options.keep], matrix=matrix.getvalue().encode("utf-8"), skipped=skipped,
                      notices=tuple(notices), ids=tuple(ids), tally=tally, group_counts=group_counts)


def _cell(text: str) -> str:
    """A CSV cell quoted as the columnar engine's writer (Polars) quotes it, so both write the same bytes."""
    if text == "" or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
