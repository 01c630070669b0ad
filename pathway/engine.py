"""The pure core: a referral's answers in, findings out. No I/O, no rendering.

A pathway is reduced to a *plan*: a flat list of named three-valued
conditions (each item's `applies_when` and `holds`, each discussion point's
`when`). A backend evaluates the plan to truth values; this module turns them
into statuses, the same way whatever the backend, so backends can be
cross-checked on exactly what they compute. Before any backend sees a
referral, answers to questions that are not asked are set aside
(`applicable`), so every backend and every path evaluates the same answers.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from .applicable import SetAside, applicable
from .conditions import TV, Condition
from .definition import DiscussionPoint, Item, Pathway, Status
from .errors import CrossCheckMismatch


@dataclass(frozen=True)
class Plan:
    """The named conditions of a pathway, in a fixed order."""

    names: tuple[str, ...]
    conditions: tuple[Condition, ...]


@lru_cache(maxsize=16)
def plan_of(pathway: Pathway) -> Plan:
    """The pathway's plan (computed once per loaded pathway)."""
    names: list[str] = []
    conds: list[Condition] = []
    for item in pathway.items:
        if item.applies_when is not None:
            names.append(f"{item.id}#applies")
            conds.append(item.applies_when)
        names.append(f"{item.id}#holds")
        conds.append(item.holds)
        for point in item.discussion:
            if point.when is not None:
                names.append(f"{point.id}#when")
                conds.append(point.when)
    return Plan(tuple(names), tuple(conds))


class Evaluator(Protocol):
    """A backend compiled for one pathway."""

    name: str

    def truth(self, values: Mapping[str, Any]) -> Sequence[TV]:
        """Truth values of the plan's conditions, in plan order."""


class ItemResult(NamedTuple):
    """One item's status and the discussion points that fired (a tuple: built per item per referral)."""

    item: Item
    status: Status
    discussion: tuple[DiscussionPoint, ...]


@dataclass(frozen=True)
class Findings:
    """Everything the engine concludes about one referral: values, never verdicts."""

    referral_id: str
    values: Mapping[str, Any]
    """The answers used: those set aside are unknown here."""
    results: tuple[ItemResult, ...]
    set_aside: tuple[SetAside, ...] = ()
    """Answers to questions whose condition is documented false, in form order: not used."""

    def statuses(self) -> dict[str, str]:
        return {r.item.id: r.status for r in self.results}

    def discussion_ids(self) -> list[str]:
        return [d.id for r in self.results for d in r.discussion]


def status_of(applies: TV, holds: TV) -> Status:
    """Checklist-v1's mapping: documented-false applicability → not_applicable;
    unknown applicability or unknown holding → missing."""
    if applies is False:
        return "not_applicable"
    if applies is None:
        return "missing"
    if holds is True:
        return "met"
    if holds is False:
        return "not_met"
    return "missing"


_Slot = tuple[Item, "int | None", int, tuple[tuple[DiscussionPoint, "int | None"], ...]]


@lru_cache(maxsize=16)
def _slots(pathway: Pathway) -> tuple[_Slot, ...]:
    """Where each item's conditions sit in the plan, so assembling is index lookups only."""
    index = {name: i for i, name in enumerate(plan_of(pathway).names)}
    return tuple(
        (
            item,
            index[f"{item.id}#applies"] if item.applies_when is not None else None,
            index[f"{item.id}#holds"],
            tuple((p, index[f"{p.id}#when"] if p.when is not None else None) for p in item.discussion),
        )
        for item in pathway.items
    )


def findings(pathway: Pathway, values: Mapping[str, Any], truth: Sequence[TV],
             set_aside: tuple[SetAside, ...] = ()) -> Findings:
    """Assemble statuses and discussion points from a plan's truth values (of the answers used)."""
    results = []
    for item, applies_at, holds_at, points in _slots(pathway):
        status = status_of(True if applies_at is None else truth[applies_at], truth[holds_at])
        fired = tuple(
            p for p, when_at in points
            if (status in p.when_status if when_at is None else truth[when_at] is True)
        )
        results.append(ItemResult(item, status, fired))
    return Findings(str(values.get("referral_id") or ""), values, tuple(results), set_aside)


def evaluate(pathway: Pathway, values: Mapping[str, Any], evaluator: Evaluator) -> Findings:
    """Evaluate one validated referral with one backend: on the answers used, those set aside left out."""
    used = applicable(pathway, values)
    return findings(pathway, used.values, evaluator.truth(used.values), used.set_aside)


def cross_check(pathway: Pathway, values: Mapping[str, Any], evaluators: Sequence[Evaluator]) -> Findings:
    """Evaluate with every backend; refuse (raise) if any two disagree on any item."""
    results = [evaluate(pathway, values, e) for e in evaluators]
    first = results[0]
    differences = []
    for other, ev in zip(results[1:], evaluators[1:]):
        for a, b in zip(first.results, other.results):
            if a.status != b.status:
                differences.append(f"{a.item.id} ({evaluators[0].name}: {a.status}, {ev.name}: {b.status})")
            elif [d.id for d in a.discussion] != [d.id for d in b.discussion]:
                differences.append(f"{a.item.id} discussion points ({evaluators[0].name} and {ev.name} differ)")
    if differences:
        raise CrossCheckMismatch(first.referral_id, differences)
    return first
