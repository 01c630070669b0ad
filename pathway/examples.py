"""Run a pathway's example cases, and measure which item statuses they cover.

The cases in `examples/*.yaml` are the executable specification of a pathway:
a referral in, the expected status of items and the discussion points that
fire out. This module is pure (no printing, no file reading): it takes a
loaded `Pathway` and an evaluator and returns values that the CLI prints as a
diff and the tests assert on.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import conditions as C
from .definition import STATUSES, Case, Item, Pathway
from .engine import Evaluator, evaluate
from .errors import Problem
from .referral import validate
from .yamlsrc import Located

NO_SUCH_ITEM = "no such item"


@dataclass(frozen=True)
class StatusDifference:
    """One item whose status is not the one the case expects."""

    item_id: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.item_id}: expected {self.expected}, got {self.actual}"


@dataclass(frozen=True)
class DiscussionDifference:
    """The discussion points that fired differ from the expected list (ids, in item order)."""

    expected: tuple[str, ...]
    actual: tuple[str, ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Expected points that did not fire."""
        return tuple(p for p in self.expected if p not in self.actual)

    @property
    def unexpected(self) -> tuple[str, ...]:
        """Points that fired but were not expected."""
        return tuple(p for p in self.actual if p not in self.expected)

    def lines(self) -> list[str]:
        out = [f"discussion: expected {p}, which did not fire" for p in self.missing]
        out += [f"discussion: {p} fired, not expected" for p in self.unexpected]
        if not out:  # the same points, in another order or repeated
            out.append(f"discussion: expected [{', '.join(self.expected)}], got [{', '.join(self.actual)}]")
        return out

    def __str__(self) -> str:
        return "; ".join(self.lines())


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: where it is, and every way it differs from its expectation."""

    name: str
    file: str
    line: int | None
    differences: tuple[StatusDifference, ...] = ()
    discussion: DiscussionDifference | None = None
    problems: tuple[Problem, ...] = ()
    """Why the case's referral did not validate (then nothing was evaluated)."""
    statuses: Mapping[str, str] = field(default_factory=dict)
    discussion_ids: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not (self.differences or self.discussion or self.problems)

    @property
    def location(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def diff_lines(self) -> list[str]:
        """What differs, one readable line each (empty when the case passed)."""
        out = [f"referral: {p.message}" for p in self.problems]
        out += [str(d) for d in self.differences]
        if self.discussion is not None:
            out += self.discussion.lines()
        return out


def run_case(pathway: Pathway, evaluator: Evaluator, case: Case) -> CaseResult:
    """Validate the case's referral as any referral is, evaluate it, compare with the expectation."""
    values, problems = validate(case.referral, tuple(pathway.fields.values()), Located(case.file, None))
    if values is None:
        return CaseResult(case.name, case.file, case.line, problems=tuple(problems))
    found = evaluate(pathway, values, evaluator)
    statuses = found.statuses()
    fired = tuple(found.discussion_ids())
    differences = tuple(
        StatusDifference(item_id, expected, statuses.get(item_id, NO_SUCH_ITEM))
        for item_id, expected in _in_item_order(pathway, case.expect)
        if statuses.get(item_id) != expected
    )
    discussion = None
    if case.expect_discussion is not None and tuple(case.expect_discussion) != fired:
        discussion = DiscussionDifference(tuple(case.expect_discussion), fired)
    return CaseResult(case.name, case.file, case.line, differences, discussion,
                      statuses=statuses, discussion_ids=fired)


def run_cases(pathway: Pathway, evaluator: Evaluator, cases: Iterable[Case] | None = None) -> list[CaseResult]:
    """Run every example case of the pathway (or the given ones), in file order."""
    return [run_case(pathway, evaluator, c) for c in (pathway.cases if cases is None else cases)]


def _in_item_order(pathway: Pathway, expect: Mapping[str, str]) -> list[tuple[str, str]]:
    """Differences read in checklist order, whatever order the case file lists them in."""
    order = {item.id: i for i, item in enumerate(pathway.items)}
    return sorted(expect.items(), key=lambda kv: order.get(kv[0], len(order)))


# -- coverage ------------------------------------------------------------------

def reachable(item: Item) -> tuple[str, ...]:
    """The statuses some referral can give this item, in `STATUSES` order.

    `missing` is always reachable (an empty referral); `met` and `not_met` need
    `holds` able to be true or false (`answered` is never false) and the item
    able to apply; `not_applicable` needs an `applies_when` that can be false.
    """
    can_true, can_false = C.can_be(item.holds)
    applies_true, applies_false = C.can_be(item.applies_when) if item.applies_when is not None else (True, False)
    possible = {
        "met": can_true and applies_true,
        "not_met": can_false and applies_true,
        "missing": True,
        "not_applicable": applies_false,
    }
    return tuple(s for s in STATUSES if possible[s])


def coverage(pathway: Pathway) -> dict[str, dict[str, list[str]]]:
    """For each item and each status it can reach (or that a case expects), the cases expecting it.

    Read from the expectations, so it means something only when every case passes.
    """
    table: dict[str, dict[str, list[str]]] = {item.id: {s: [] for s in reachable(item)} for item in pathway.items}
    for case in pathway.cases:
        for item_id, status in case.expect.items():
            if item_id in table:
                table[item_id].setdefault(status, []).append(case.name)
    return {item_id: {s: by[s] for s in STATUSES if s in by} for item_id, by in table.items()}


def uncovered(pathway: Pathway) -> list[tuple[str, str]]:
    """(item id, status) pairs some referral can reach but no case pins down."""
    table = coverage(pathway)
    return [(item.id, s) for item in pathway.items for s in reachable(item) if not table[item.id][s]]


def discussion_coverage(pathway: Pathway) -> dict[str, list[str]]:
    """For each discussion point, the cases that expect it to fire."""
    table: dict[str, list[str]] = {p.id: [] for item in pathway.items for p in item.discussion}
    for case in pathway.cases:
        for point_id in case.expect_discussion or ():
            if point_id in table and case.name not in table[point_id]:
                table[point_id].append(case.name)
    return table


def uncovered_discussion(pathway: Pathway) -> list[str]:
    """Discussion points that no case expects to fire."""
    return [point_id for point_id, names in discussion_coverage(pathway).items() if not names]
