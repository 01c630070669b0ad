"""Merge task results, in input order, into the audit: counts, the least complete
referrals, rejected records, and the streamed status matrix and reject list.

Memory stays bounded by what is kept for the page (the `keep` least complete
referrals, the first `keep` rejected records), whatever the input size; every
referral goes to the matrix file and every rejected record to the rejects
file as they arrive.
"""
from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import IO

from ..definition import STATUSES, Pathway
from ..outputs import inert_cell
from .results import Entry, Options, TaskResult, matrix_header

REJECT_COLUMNS = ("source", "problems")


@dataclass(frozen=True)
class Rejected:
    source: str
    problems: tuple[str, ...]

    @property
    def shown(self) -> tuple[str, ...]:
        """The reasons as the page shows them beside the source: without the file's name, which the
        source gives (`r.csv:4:2: field …` reads `line 4, column 2: field …`); --rejects keeps them whole."""
        return tuple(_without_file(p, self.source) for p in self.problems)


def _without_file(problem: str, source: str) -> str:
    tail = source.rsplit(":", 1)
    name = tail[0] if len(tail) == 2 and tail[1].isdigit() else source
    if not problem.startswith(name + ":"):
        return problem
    rest = problem[len(name) + 1:]
    head, _, message = rest.partition(": ")
    parts = head.split(":")
    if message and 1 <= len(parts) <= 2 and all(p.isdigit() for p in parts):
        return f"line {parts[0]}" + (f", column {parts[1]}" if len(parts) == 2 else "") + f": {message}"
    return rest.lstrip()


@dataclass
class Totals:
    """Everything the page needs, accumulated task by task."""

    items: Sequence[str]
    keep: int
    records: int = 0
    evaluated: int = 0
    rejected: int = 0
    rechecked: int = 0
    counts: list[list[int]] = field(default_factory=list)
    least: list[Entry] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)
    skipped: int = 0                                              # REDCap rows of another event or form
    notices: list[str] = field(default_factory=list)              # about the files, once per file
    duplicates: list[tuple[str, int]] = field(default_factory=list)   # ids given more than once, how often
    tally: dict[tuple[str, str, int, int], int] = field(default_factory=dict)   # `groups.Tally`
    group_counts: dict[str, list[list[int]]] = field(default_factory=dict)       # --by: [item][status] per group


class Merger:
    """Consumes `TaskResult`s in task order; writes the matrix and rejects as it goes."""

    def __init__(self, pathway: Pathway, keep: int, matrix: IO[bytes] | None = None,
                 rejects: IO[str] | None = None, by: str | None = None) -> None:
        self.pathway = pathway
        self.items = [i.id for i in pathway.items]
        self.totals = Totals(self.items, keep, counts=[[0] * len(STATUSES) for _ in self.items])
        self._heap: list[tuple[float, int, int, Entry]] = []   # a max-heap: keys negated
        self._matrix = matrix
        self._rejects = csv.writer(rejects, lineterminator="\n") if rejects is not None else None
        self._ids: dict[str, int] = {}
        if matrix is not None:
            matrix.write((",".join(matrix_header(tuple(self.items), by)) + "\n").encode("utf-8"))
        if self._rejects is not None:
            self._rejects.writerow(REJECT_COLUMNS)

    def add(self, result: TaskResult) -> None:
        t = self.totals
        assert result.records == result.evaluated + result.rejected + result.skipped, \
            "every record is evaluated, rejected or skipped"
        t.records += result.records
        t.evaluated += result.evaluated
        t.skipped += result.skipped
        t.notices.extend(result.notices)
        ids = self._ids
        for referral_id in result.ids:
            ids[referral_id] = ids.get(referral_id, 0) + 1
        for key, n in result.tally.items():
            t.tally[key] = t.tally.get(key, 0) + n
        for group, by_item in result.group_counts.items():
            into = t.group_counts.setdefault(group, [[0] * len(STATUSES) for _ in self.items])
            for summed, row in zip(into, by_item):
                for k, n in enumerate(row):
                    summed[k] += n
        t.rechecked += result.rechecked
        for total, counts in zip(t.counts, result.counts):
            for k, n in enumerate(counts):
                total[k] += n
        for reject in result.rejects:
            shown = len(t.rejects) < t.keep
            if shown or self._rejects is not None:
                reasons = reject.reasons(self.pathway)   # worked out here only for the records shown
                if shown:
                    t.rejects.append(Rejected(reject.source, reasons))
                if self._rejects is not None:
                    self._rejects.writerow((inert_cell(reject.source), inert_cell("\n".join(reasons))))
        t.rejected += result.rejected
        for entry in result.least:   # least complete first, then input order: (task, order in task)
            item = (-entry.completeness, -result.index, -entry.order, entry)
            if len(self._heap) < t.keep:
                heapq.heappush(self._heap, item)
            elif self._heap and item[:3] > self._heap[0][:3]:
                heapq.heapreplace(self._heap, item)
        if self._matrix is not None:
            self._matrix.write(result.matrix)

    def narrow(self, options: Options) -> Options:
        """Options for the next task: no more rejected records than the page still has room for,
        and only referrals less complete than the least complete list's last (a later one that is
        as complete comes after it in input order, so it could not displace it)."""
        t = self.totals
        rejects = options.rejects if options.reasons else max(0, min(options.rejects, t.keep - len(t.rejects)))
        below = -self._heap[0][0] if t.keep and len(self._heap) >= t.keep else math.inf
        return replace(options, rejects=rejects, below=below)

    def finish(self) -> Totals:
        """The totals, with the least complete referrals sorted (least complete first, then input order)."""
        ranked = sorted(self._heap, key=lambda item: item[:3], reverse=True)
        self.totals.least = [e for *_, e in ranked]
        self.totals.duplicates = [(i, n) for i, n in self._ids.items() if n > 1]
        assert self.totals.records == self.totals.evaluated + self.totals.rejected + self.totals.skipped
        return self.totals
