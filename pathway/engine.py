"""The pure core: a referral's answers in, findings out. No I/O, no rendering.

A pathway is reduced to a *plan*: a flat list of named three-valued
conditions (each item's `applies_when` and `holds`, each discussion point's
`when`). A backend evaluates the plan to truth values; this module turns them
into statuses, the same way whatever the backend, so backends can be
cross-checked on exactly what they compute.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .conditions import TV, Condition
from .definition import DiscussionPoint, Item, Pathway
from .errors import CrossCheckMismatch


@dataclass(frozen=True)
class Plan:
    """The named conditions of a pathway, in a fixed order."""

    names: tuple[str, ...]
    conditions: tuple[Condition, ...]


def plan_of(pathway: Pathway) -> Plan:
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


@dataclass(frozen=True)
class ItemResult:
    item: Item
    status: str
    discussion: tuple[DiscussionPoint, ...]


@dataclass(frozen=True)
class Findings:
    """Everything the engine concludes about one referral: values, never verdicts."""

    referral_id: str
    values: Mapping[str, Any]
    results: tuple[ItemResult, ...]

    def statuses(self) -> dict[str, str]:
        return {r.item.id: r.status for r in self.results}

    def discussion_ids(self) -> list[str]:
        return [d.id for r in self.results for d in r.discussion]


def status_of(applies: TV, holds: TV) -> str:
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


def findings(pathway: Pathway, plan: Plan, values: Mapping[str, Any], truth: Sequence[TV]) -> Findings:
    """Assemble statuses and discussion points from a plan's truth values."""
    by_name = dict(zip(plan.names, truth))
    results = []
    for item in pathway.items:
        applies = by_name[f"{item.id}#applies"] if item.applies_when is not None else True
        status = status_of(applies, by_name[f"{item.id}#holds"])
        points = tuple(
            p for p in item.discussion
            if (status in p.when_status if p.when is None else by_name[f"{p.id}#when"] is True)
        )
        results.append(ItemResult(item, status, points))
    return Findings(str(values.get("referral_id") or ""), values, tuple(results))


def evaluate(pathway: Pathway, values: Mapping[str, Any], evaluator: Evaluator) -> Findings:
    """Evaluate one validated referral with one backend."""
    return findings(pathway, plan_of(pathway), values, evaluator.truth(values))


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
