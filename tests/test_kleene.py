"""Checklist-v1's three-valued logic, proven exhaustively on both evaluators.

The truth tables are written out literally (not computed with min/max), so they
read as the specification: `true OR unknown = true`, `false OR unknown =
unknown`, `false AND unknown = false`, `true AND unknown = unknown`,
`NOT unknown = unknown`. Every test runs on the reference evaluator
(`conditions.evaluate`) and on the compiled python backend.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from pathway import conditions as C
from pathway.backends.python import compile_condition
from pathway.conditions import TV, All, Answered, AnyOf, Compare, Contains, In, Not
from pathway.engine import status_of

T, F, U = True, False, None
TRUTH: tuple[TV, ...] = (T, F, U)
NAME = {T: "T", F: "F", U: "U"}

AND = {
    (T, T): T, (T, F): F, (T, U): U,
    (F, T): F, (F, F): F, (F, U): F,
    (U, T): U, (U, F): F, (U, U): U,
}
OR = {
    (T, T): T, (T, F): T, (T, U): T,
    (F, T): T, (F, F): F, (F, U): U,
    (U, T): T, (U, F): U, (U, U): U,
}
NOT = {T: F, F: T, U: U}

Run = Callable[[C.Condition, Mapping[str, Any]], TV]


def _reference(cond: C.Condition, values: Mapping[str, Any]) -> TV:
    return C.evaluate(cond, values)


def _compiled(cond: C.Condition, values: Mapping[str, Any]) -> TV:
    return compile_condition(cond)(values)


EVALUATORS = pytest.mark.parametrize("run", [_reference, _compiled], ids=["reference", "python"])


def leaf(name: str) -> In:
    """A leaf that is true for 'yes', false for 'no' and unknown when unanswered."""
    return In(name, ("yes",))


def answer(tv: TV) -> str | None:
    return {T: "yes", F: "no", U: None}[tv]


def ids(*tvs: TV) -> str:
    return "".join(NAME[t] for t in tvs)


A, B, X = leaf("a"), leaf("b"), leaf("f")
PAIRS = list(itertools.product(TRUTH, TRUTH))


@EVALUATORS
@pytest.mark.parametrize("tv", TRUTH, ids=ids)
def test_leaf(run: Run, tv: TV) -> None:
    assert run(X, {"f": answer(tv)}) is tv


@EVALUATORS
def test_absent_field_is_unknown(run: Run) -> None:
    assert run(X, {}) is None
    assert run(X, {"f": None}) is None


@EVALUATORS
@pytest.mark.parametrize("a, b", PAIRS, ids=[ids(*p) for p in PAIRS])
def test_and(run: Run, a: TV, b: TV) -> None:
    assert run(All((A, B)), {"a": answer(a), "b": answer(b)}) is AND[a, b]


@EVALUATORS
@pytest.mark.parametrize("a, b", PAIRS, ids=[ids(*p) for p in PAIRS])
def test_or(run: Run, a: TV, b: TV) -> None:
    assert run(AnyOf((A, B)), {"a": answer(a), "b": answer(b)}) is OR[a, b]


@EVALUATORS
@pytest.mark.parametrize("tv", TRUTH, ids=ids)
def test_not(run: Run, tv: TV) -> None:
    assert run(Not(X), {"f": answer(tv)}) is NOT[tv]


@EVALUATORS
def test_single_part_combinations_are_the_part(run: Run) -> None:
    for tv in TRUTH:
        values = {"f": answer(tv)}
        assert run(All((X,)), values) is tv
        assert run(AnyOf((X,)), values) is tv


@EVALUATORS
def test_three_parts_fold_the_binary_tables(run: Run) -> None:
    parts = (leaf("a"), leaf("b"), leaf("c"))
    for a, b, c in itertools.product(TRUTH, repeat=3):
        values = {"a": answer(a), "b": answer(b), "c": answer(c)}
        assert run(All(parts), values) is AND[AND[a, b], c], ids(a, b, c)
        assert run(AnyOf(parts), values) is OR[OR[a, b], c], ids(a, b, c)


@EVALUATORS
@pytest.mark.parametrize("a, b", PAIRS, ids=[ids(*p) for p in PAIRS])
def test_de_morgan_holds(run: Run, a: TV, b: TV) -> None:
    values = {"a": answer(a), "b": answer(b)}
    assert run(Not(All((A, B))), values) is run(AnyOf((Not(A), Not(B))), values)
    assert run(Not(AnyOf((A, B))), values) is run(All((Not(A), Not(B))), values)


@EVALUATORS
def test_excluded_middle_does_not_hold_for_unknown(run: Run) -> None:
    """`x OR NOT x` is unknown when x is: an unanswered field proves nothing either way."""
    assert run(AnyOf((X, Not(X))), {}) is None
    assert run(All((X, Not(X))), {}) is None


# -- answered: true when answered, otherwise unknown, never false ----------------

ANSWERS: tuple[Any, ...] = ("yes", "no", "done", ("none",), ("infection", "withdrawal"), 0.0, 18.0, None)


@EVALUATORS
@pytest.mark.parametrize("value", ANSWERS, ids=repr)
def test_answered_is_never_false(run: Run, value: Any) -> None:
    expected = None if value is None else True
    assert run(Answered("f"), {"f": value}) is expected
    assert run(Not(Answered("f")), {"f": value}) is NOT[expected]


@EVALUATORS
@pytest.mark.parametrize("value", ANSWERS, ids=repr)
def test_not_answered_is_never_unknown(run: Run, value: Any) -> None:
    """`answered: false` (discussion points only) tests that the referral leaves a field out."""
    assert run(C.Unanswered("f"), {"f": value}) is (value is None)
    assert run(All((X, C.Unanswered("g"))), {"f": "yes", "g": value}) is (value is None)
    assert run(All((X, C.Unanswered("g"))), {"f": None, "g": value}) is (None if value is None else False)


def test_answered_can_be_true_but_never_false() -> None:
    assert C.can_be(Answered("f")) == (True, False)
    assert C.can_be(Not(Answered("f"))) == (False, True)
    assert C.can_be(All((Answered("f"), X))) == (True, True)
    assert C.can_be(AnyOf((Answered("f"), Answered("g")))) == (True, False)


# -- unknown is never read as "no" ----------------------------------------------

UNKNOWN_READS = [
    In("f", ("no",)),
    Not(In("f", ("yes",))),
    Compare("f", "lt", 18.0),
    Compare("f", "ge", 18.0),
    Contains("f", ("none",), "any"),
    Contains("f", ("infection", "withdrawal"), "all"),
    Not(Contains("f", ("infection",), "any")),
]


@EVALUATORS
@pytest.mark.parametrize("cond", UNKNOWN_READS, ids=C.describe)
def test_unknown_is_never_no(run: Run, cond: C.Condition) -> None:
    """No test of an unanswered field is true or false, whatever it tests for (or against)."""
    assert run(cond, {}) is None
    assert run(cond, {"f": None}) is None


@EVALUATORS
def test_documented_answers_still_decide(run: Run) -> None:
    assert run(In("f", ("no",)), {"f": "no"}) is True
    assert run(Compare("f", "lt", 18.0), {"f": 18.0}) is False
    assert run(Compare("f", "ge", 18.0), {"f": 18.0}) is True
    assert run(Contains("f", ("infection", "withdrawal"), "all"), {"f": ("infection",)}) is False
    assert run(Contains("f", ("none",), "any"), {"f": ("none",)}) is True


# -- the compiled backend is the reference, on every small tree -------------------

def _trees() -> Iterator[C.Condition]:
    """Every condition up to depth two over two tri-state leaves and an `answered`."""
    leaves: list[C.Condition] = [A, B, Answered("a")]
    depth1 = leaves + [Not(x) for x in leaves]
    depth1 += [k((x, y)) for k in (All, AnyOf) for x in leaves for y in leaves]
    yield from depth1
    yield from (Not(x) for x in depth1)
    yield from (k((x, y)) for k in (All, AnyOf) for x in depth1 for y in depth1)


def test_compiled_backend_matches_reference_on_every_small_tree() -> None:
    valuations = [{"a": answer(a), "b": answer(b)} for a, b in PAIRS]
    checked = 0
    for tree in _trees():
        fn = compile_condition(tree)
        for values in valuations:
            assert fn(values) is C.evaluate(tree, values), (C.describe(tree), values)
            checked += 1
    assert checked > 10_000


# -- engine.status_of: applicability first, then whether the item holds -----------

STATUS = {
    (T, T): "met", (T, F): "not_met", (T, U): "missing",
    (F, T): "not_applicable", (F, F): "not_applicable", (F, U): "not_applicable",
    (U, T): "missing", (U, F): "missing", (U, U): "missing",
}


@pytest.mark.parametrize("applies, holds", PAIRS, ids=[f"applies={NAME[a]}-holds={NAME[h]}" for a, h in PAIRS])
def test_status_of(applies: TV, holds: TV) -> None:
    assert status_of(applies, holds) == STATUS[applies, holds]


def test_unknown_never_gives_not_met() -> None:
    assert "not_met" not in {status_of(a, h) for a, h in PAIRS if U in (a, h)}
