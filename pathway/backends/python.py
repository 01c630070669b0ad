"""The default backend: the condition tree compiled once into plain closures."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import conditions as C
from ..definition import Pathway
from ..engine import plan_of

Fn = Callable[[Mapping[str, Any]], C.TV]


def compile_condition(cond: C.Condition) -> Fn:
    """Kleene semantics exactly as `conditions.evaluate`, without the tree walk."""
    if isinstance(cond, C.All):
        parts = tuple(compile_condition(p) for p in cond.parts)

        def all_(v: Mapping[str, Any]) -> C.TV:
            unknown = False
            for part in parts:
                r = part(v)
                if r is False:
                    return False
                if r is None:
                    unknown = True
            return None if unknown else True

        return all_
    if isinstance(cond, C.AnyOf):
        parts = tuple(compile_condition(p) for p in cond.parts)

        def any_(v: Mapping[str, Any]) -> C.TV:
            unknown = False
            for part in parts:
                r = part(v)
                if r is True:
                    return True
                if r is None:
                    unknown = True
            return None if unknown else False

        return any_
    if isinstance(cond, C.Not):
        inner = compile_condition(cond.part)

        def not_(v: Mapping[str, Any]) -> C.TV:
            r = inner(v)
            return None if r is None else not r

        return not_
    name = cond.field
    if isinstance(cond, C.In):
        allowed = frozenset(cond.values)

        def in_(v: Mapping[str, Any]) -> C.TV:
            x = v.get(name)
            return None if x is None else x in allowed

        return in_
    if isinstance(cond, C.Compare):
        cmp, n = C.COMPARATORS[cond.op], cond.number

        def compare(v: Mapping[str, Any]) -> C.TV:
            x = v.get(name)
            return None if x is None else cmp(x, n)

        return compare
    if isinstance(cond, C.Contains):
        wanted = frozenset(cond.values)
        if cond.mode == "any":
            def contains_any(v: Mapping[str, Any]) -> C.TV:
                x = v.get(name)
                return None if x is None else not wanted.isdisjoint(x)

            return contains_any

        def contains_all(v: Mapping[str, Any]) -> C.TV:
            x = v.get(name)
            return None if x is None else wanted.issubset(x)

        return contains_all

    if isinstance(cond, C.Unanswered):
        def unanswered(v: Mapping[str, Any]) -> C.TV:
            return v.get(name) is None

        return unanswered

    def answered(v: Mapping[str, Any]) -> C.TV:
        return True if v.get(name) is not None else None

    return answered


class PythonEvaluator:
    name = "python"

    def __init__(self, pathway: Pathway) -> None:
        self._fns = tuple(compile_condition(c) for c in plan_of(pathway).conditions)

    def truth(self, values: Mapping[str, Any]) -> Sequence[C.TV]:
        return [fn(values) for fn in self._fns]
