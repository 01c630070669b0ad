"""What a task is asked for (`Options`) and what it sends back (`TaskResult`).

Apart from `task` so that the row engine and the merging never import Polars
or the columnar engine: a small audit starts as fast as a check.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..definition import Pathway
from . import rowpath
from .groups import By
from .rowpath import Pending

MATRIX_FIXED = ("source", "referral_id", "referral_date", "documented", "applicable", "completeness")


def matrix_header(items: tuple[str, ...], by: str | None) -> tuple[str, ...]:
    """The status matrix's columns: the fixed ones, the `--by` column after the date, the items."""
    fixed = MATRIX_FIXED[:3] + ((by,) if by else ()) + MATRIX_FIXED[3:]
    return fixed + items


@dataclass(frozen=True)
class Reject:
    """A record that could not be evaluated: where it is and why (`problems`), or what it
    takes to work out why (`pending`) when the messages are wanted only if it is shown."""

    source: str
    problems: tuple[str, ...] | None
    pending: Pending | None = None

    def reasons(self, pathway: Pathway) -> tuple[str, ...]:
        if self.problems is not None:
            return self.problems
        assert self.pending is not None
        return rowpath.problems(self.pending, pathway)


@dataclass(frozen=True)
class Entry:
    """A referral on the least complete list: where it is, how complete, what is missing;
    `order`: its place in its task (ties go in input order)."""

    completeness: float
    order: int
    source: str
    referral_id: str
    documented: int
    applicable: int
    missing: tuple[str, ...]


@dataclass
class TaskResult:
    index: int
    records: int
    evaluated: int
    rejected: int
    rechecked: int                     # records the row validator decided (the columnar codec was unsure)
    counts: list[list[int]]            # [item][status]
    rejects: list[Reject]              # all of them with `Options.reasons`, else the first `Options.rejects`
    least: list[Entry]
    matrix: bytes                      # the task's rows of the status matrix CSV (empty if not wanted)
    skipped: int = 0                   # REDCap rows of another event or form: no referral, not evaluated
    notices: tuple[str, ...] = ()      # what the task's files hold that is not used, once per file
    ids: tuple[str, ...] = ()          # the referral ids evaluated, in order (to find those given twice)
    tally: dict[tuple[str, str, int, int], int] = field(default_factory=dict)   # `groups.Tally`
    group_counts: dict[str, list[list[int]]] = field(default_factory=dict)       # --by: [item][status] per group


@dataclass(frozen=True)
class Options:
    """What a task sends back. The main process narrows `rejects` and `below` as results come
    in, so that later tasks do not send what can no longer reach the page."""

    keep: int = 1000          # least complete referrals a task returns at most
    rejects: int = 1000       # rejected records a task returns, to be worded where shown (all with `reasons`)
    below: float = math.inf   # only referrals less complete than this can still reach the page's list
    matrix: bool = True
    reasons: bool = False     # word every rejected record's reasons here (for --rejects FILE)
    by: By | None = None      # --by: the group each referral is counted in
