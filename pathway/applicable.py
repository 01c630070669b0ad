"""Which answers are used: an answer to a question that is not asked is set aside, everywhere alike.

A form field with a `shown_when` condition is asked only when the condition
holds. When the referral documents the condition as false (three-valued:
false, not unknown) the question does not apply, and an answer given to it
anyway (a file, an export, a form sent without JavaScript) is *set aside*:
left out of every condition the checklist evaluates, and listed in the
report with the reason. When the condition is unknown (what it reads is not
documented) the answer is kept: it is information the referral gives, and
unknown is never taken as "no".

Chains: a question that does not apply has no answer that meets a test, so a
question asked only when it takes some value does not apply either (a test
of it is false, not unknown, while deciding which questions are asked; the
checklist's own conditions see it as not documented). Questions are decided
in form order, in passes repeated until one decides nothing new; a question
once found not to apply stays so, which makes the result defined for any
form, even one whose conditions refer forward or in a circle. The web form's
script (`pathway/web/static/app.js`) computes the same set to hide questions,
and the columnar audit compiles it (`audit.columnar.applied_columns`).

Pure: no I/O. `engine.evaluate` calls it, so every path (check, the API, the
web form, CDS hooks, the MDT packet, both audit engines, both backends) uses
the same answers.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import conditions as C
from .definition import FormField, Pathway


@dataclass(frozen=True, slots=True)
class SetAside:
    """One answer not used, and why: its question's condition is documented false."""

    field: FormField
    value: Any
    condition: C.Condition
    not_asked: tuple[str, ...]
    """Fields the condition reads that are themselves not asked (a chain); empty when its own inputs decide."""


@dataclass(frozen=True, slots=True)
class Applicable:
    """The answers the checklist uses, and those set aside (in form order)."""

    values: Mapping[str, Any]
    set_aside: tuple[SetAside, ...]


@lru_cache(maxsize=16)
def dependents(pathway: Pathway) -> tuple[FormField, ...]:
    """The fields with a `shown_when` condition, in form order."""
    return tuple(f for f in pathway.fields.values() if f.shown_when is not None)


@lru_cache(maxsize=16)
def passes_needed(pathway: Pathway) -> int:
    """How many form-order passes reach the fixed point (the columnar audit compiles that many): one,
    plus one per question whose condition reads a question at or after it in the form. (A question
    found not to apply in a pass is seen by the questions after it in the same pass; one before it
    sees it in the next pass. A chain of such findings visits each question once, so it takes no
    more passes than that.) Every form so far needs one."""
    order = {f.id: k for k, f in enumerate(pathway.fields.values())}
    gated = {f.id for f in dependents(pathway)}
    forward = [f for f in dependents(pathway) if f.shown_when is not None
               and any(n in gated and order[n] >= order[f.id] for n in C.fields_of(f.shown_when))]
    return 1 + len(forward)


Test = Callable[[Mapping[str, Any], set[str]], C.TV]


def _compile(cond: C.Condition, gated: frozenset[str]) -> Test:
    """A `shown_when` condition, three-valued, where a test of a question not asked is false, compiled
    into closures: the tests are the python backend's; the combinators, Kleene's, take the set of
    questions not asked along (it grows while a pass runs)."""
    if isinstance(cond, (C.All, C.AnyOf)):
        parts = tuple(_compile(p, gated) for p in cond.parts)
        decisive = isinstance(cond, C.AnyOf)   # the value that decides: True for any, False for all

        def combined(v: Mapping[str, Any], out: set[str]) -> C.TV:
            unknown = False
            for part in parts:
                r = part(v, out)
                if r is decisive:
                    return decisive
                if r is None:
                    unknown = True
            return None if unknown else not decisive

        return combined
    if isinstance(cond, C.Not):
        inner = _compile(cond.part, gated)

        def negated(v: Mapping[str, Any], out: set[str]) -> C.TV:
            r = inner(v, out)
            return None if r is None else not r

        return negated
    from .backends.python import compile_condition   # here, not at import: the backend imports the engine

    test = compile_condition(cond)
    name = cond.field
    if name not in gated:
        return lambda v, out: test(v)
    return lambda v, out: False if name in out else test(v)


@lru_cache(maxsize=16)
def _tests(pathway: Pathway) -> tuple[tuple[str, Test], ...]:
    gated = frozenset(f.id for f in dependents(pathway))
    return tuple((f.id, _compile(f.shown_when, gated)) for f in dependents(pathway))  # type: ignore[arg-type]


def not_asked(pathway: Pathway, values: Mapping[str, Any]) -> set[str]:
    """The questions whose condition is documented false (with chains), answered or not: in form order,
    pass after pass until one finds nothing new (never more than `passes_needed`)."""
    out: set[str] = set()
    tests = _tests(pathway)
    for _ in range(passes_needed(pathway)):
        before = len(out)
        for name, test in tests:
            if name not in out and test(values, out) is False:
                out.add(name)
        if len(out) == before:
            break
    return out


def applicable(pathway: Pathway, values: Mapping[str, Any]) -> Applicable:
    """The answers used and those set aside. The answers come back as given (the same mapping) when
    nothing is set aside, the common case, so this costs almost nothing on an audit's hot path."""
    fields = dependents(pathway)
    if not any(values.get(f.id) is not None for f in fields):
        return Applicable(values, ())
    out = not_asked(pathway, values)
    aside = [f for f in fields if f.id in out and values.get(f.id) is not None]
    if not aside:
        return Applicable(values, ())
    used = {k: (None if k in out else v) for k, v in values.items()}
    return Applicable(used, tuple(
        SetAside(f, values[f.id], f.shown_when,  # type: ignore[arg-type]
                 tuple(n for n in dict.fromkeys(C.fields_of(f.shown_when)) if n in out))  # type: ignore[arg-type]
        for f in aside))
