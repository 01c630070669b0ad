"""The pathway's condition language: a small typed tree with Kleene logic.

A condition evaluates to True, False or None (unknown). An unanswered field is
unknown, and unknown is never read as "no": `false OR unknown` is unknown,
`false AND unknown` is false, `NOT unknown` is unknown. Conditions are parsed
from YAML once, at load, and checked against the form: a condition that names
a field the form does not define, uses an operator the field's type does not
support, or tests a value the field cannot take is a load error.

YAML forms (one mapping per node):
    {all: [C, ...]}   {any: [C, ...]}   {not: C}
    {field: F, is: V}            tri-state or choice equals V
    {field: F, in: [V, ...]}     choice is one of
    {field: F, lt|le|gt|ge: N}   number comparison
    {field: F, contains: V}      multi-choice includes V
    {field: F, contains_any: [V, ...]} / {field: F, contains_all: [V, ...]}
    {field: F, answered: true}   true when answered, otherwise unknown (never false)
    {field: F, answered: false}  true when not answered, false when answered: in a
                                 discussion point's `when` only (the loader refuses it
                                 elsewhere), so that a point can name what a referral
                                 leaves out ("the trial is done; its dose is not
                                 recorded") without any status reading unknown as "no"
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Code, Problem
from .fieldkinds import KINDS, FieldKind, Kind, yes_no_word
from .suggest import did_you_mean, one_of
from .yamlsrc import Located, Path_

TV = bool | None  # a three-valued truth value


@dataclass(frozen=True)
class All:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    part: Condition


@dataclass(frozen=True)
class In:
    """A tri-state or choice field takes one of `values`."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # lt, le, gt, ge
    number: float


@dataclass(frozen=True)
class Contains:
    """A multi-choice field includes any (or all) of `values`."""

    field: str
    values: tuple[str, ...]
    mode: str  # "any" or "all"


@dataclass(frozen=True)
class Answered:
    field: str


@dataclass(frozen=True)
class Unanswered:
    """True exactly when the field is not answered: never unknown. Discussion points only."""

    field: str


Condition = All | AnyOf | Not | In | Compare | Contains | Answered | Unanswered

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_SYMBOLS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}

_ALL_OPS = ("is", "in", "lt", "le", "gt", "ge", "contains", "contains_any", "contains_all", "answered")


def fields_of(cond: Condition) -> Iterator[str]:
    """Every field a condition reads, in order of first mention."""
    if isinstance(cond, (All, AnyOf)):
        for part in cond.parts:
            yield from fields_of(part)
    elif isinstance(cond, Not):
        yield from fields_of(cond.part)
    else:
        yield cond.field


def evaluate(cond: Condition, values: Mapping[str, Any]) -> TV:
    """Reference evaluator, straight from the definitions (backends compile for speed)."""
    if isinstance(cond, All):
        results = [evaluate(p, values) for p in cond.parts]
        return False if False in results else (None if None in results else True)
    if isinstance(cond, AnyOf):
        results = [evaluate(p, values) for p in cond.parts]
        return True if True in results else (None if None in results else False)
    if isinstance(cond, Not):
        r = evaluate(cond.part, values)
        return None if r is None else not r
    value = values.get(cond.field)
    if isinstance(cond, Unanswered):
        return value is None
    if value is None:
        return None
    if isinstance(cond, In):
        return value in cond.values
    if isinstance(cond, Compare):
        return COMPARATORS[cond.op](value, cond.number)
    if isinstance(cond, Contains):
        chosen = set(value)
        return bool(chosen.intersection(cond.values)) if cond.mode == "any" else chosen.issuperset(cond.values)
    return True  # Answered


def describe(cond: Condition, labels: Mapping[str, str] | None = None) -> str:
    """A compact human reading of a condition, for reports and the API."""
    name = (lambda f: labels.get(f, f)) if labels else (lambda f: f)
    if isinstance(cond, All):
        return "(" + " AND ".join(describe(p, labels) for p in cond.parts) + ")"
    if isinstance(cond, AnyOf):
        return "(" + " OR ".join(describe(p, labels) for p in cond.parts) + ")"
    if isinstance(cond, Not):
        return "NOT " + describe(cond.part, labels)
    if isinstance(cond, In):
        if len(cond.values) == 1:
            return f"{name(cond.field)} = {cond.values[0]}"
        return f"{name(cond.field)} ∈ {{{', '.join(cond.values)}}}"
    if isinstance(cond, Compare):
        return f"{name(cond.field)} {_SYMBOLS[cond.op]} {cond.number:g}"
    if isinstance(cond, Contains):
        if len(cond.values) == 1:
            return f"{name(cond.field)} ∋ {cond.values[0]}"
        return f"{name(cond.field)} ∋ {cond.mode} of {{{', '.join(cond.values)}}}"
    if isinstance(cond, Unanswered):
        return f"{name(cond.field)} not answered"
    return f"{name(cond.field)} answered"


def to_data(cond: Condition) -> dict[str, Any]:
    """The YAML/JSON form of a condition (what `parse` reads back)."""
    if isinstance(cond, All):
        return {"all": [to_data(p) for p in cond.parts]}
    if isinstance(cond, AnyOf):
        return {"any": [to_data(p) for p in cond.parts]}
    if isinstance(cond, Not):
        return {"not": to_data(cond.part)}
    if isinstance(cond, In):
        return {"field": cond.field, "in": list(cond.values)}
    if isinstance(cond, Compare):
        return {"field": cond.field, cond.op: cond.number}
    if isinstance(cond, Contains):
        return {"field": cond.field, f"contains_{cond.mode}": list(cond.values)}
    return {"field": cond.field, "answered": not isinstance(cond, Unanswered)}


@dataclass(frozen=True)
class FieldShape:
    """What the condition parser needs to know of a form field."""

    type: FieldKind | None
    """None: the field's own definition is broken (and already reported)."""
    options: tuple[str, ...] = ()


class Parser:
    """Parses condition data into a tree, collecting located problems."""

    def __init__(self, doc: Located, fields: Mapping[str, FieldShape]) -> None:
        self.doc = doc
        self.fields = fields
        self.problems: list[Problem] = []

    def fail(self, code: Code, path: Path_, message: str, *, key: bool = False) -> None:
        self.problems.append(self.doc.at(path, message, code=code, key=key))

    def parse(self, raw: Any, path: Path_) -> Condition | None:
        if not isinstance(raw, dict) or not raw:
            self.fail(Code.NOT_A_CONDITION, path,
                      "a condition must be a mapping such as {field: diagnosis_cp, is: yes} or {all: [...]}")
            return None
        for combinator in ("all", "any"):
            if combinator in raw:
                return self._combination(raw, path, combinator)
        if "not" in raw:
            extra = sorted(set(raw) - {"not"})
            if extra:
                self.fail(Code.UNEXPECTED_KEY, path + (extra[0],),
                          f"'not' takes a single condition; unexpected key '{extra[0]}'", key=True)
                return None
            inner = self.parse(raw["not"], path + ("not",))
            return Not(inner) if inner is not None else None
        if "field" in raw:
            return self._predicate(raw, path)
        key = next(iter(raw))
        self.fail(
            Code.UNKNOWN_KEY,
            path + (key,),
            f"unknown condition key '{key}'{did_you_mean(str(key), ('all', 'any', 'not', 'field'))};"
            " expected all, any, not or field",
            key=True,
        )
        return None

    def _combination(self, raw: dict[str, Any], path: Path_, combinator: str) -> Condition | None:
        extra = sorted(set(raw) - {combinator})
        if extra:
            self.fail(Code.UNEXPECTED_KEY, path + (extra[0],),
                      f"'{combinator}' cannot be combined with '{extra[0]}' in one mapping", key=True)
            return None
        items = raw[combinator]
        if not isinstance(items, list) or not items:
            self.fail(Code.NOT_A_LIST, path + (combinator,), f"'{combinator}' takes a non-empty list of conditions")
            return None
        parts = [self.parse(item, path + (combinator, i)) for i, item in enumerate(items)]
        if any(p is None for p in parts):
            return None
        done = tuple(p for p in parts if p is not None)
        return All(done) if combinator == "all" else AnyOf(done)

    def _predicate(self, raw: dict[str, Any], path: Path_) -> Condition | None:
        name = raw["field"]
        if not isinstance(name, str):
            self.fail(Code.INVALID_VALUE, path + ("field",), "'field' must be a field id")
            return None
        shape = self.fields.get(name)
        if shape is None:
            self.fail(Code.UNKNOWN_FIELD, path + ("field",), f"unknown field '{name}'{did_you_mean(name, self.fields)}")
            return None
        if shape.type is None:
            return None  # the field's own definition is already reported
        kind = KINDS[shape.type]
        operators = kind.operators
        ops = [k for k in raw if k != "field"]
        if len(ops) != 1:
            allowed = one_of(operators)
            self.fail(Code.OPERATOR_COUNT, path,
                      f"a test of field '{name}' needs exactly one operator (for a {shape.type} field: {allowed})")
            return None
        op = ops[0]
        where = path + (op,)
        if op not in operators:
            hint = did_you_mean(op, operators) if op not in _ALL_OPS else ""
            self.fail(
                Code.WRONG_OPERATOR,
                where,
                f"operator '{op}' cannot test {shape.type} field '{name}'{hint}; allowed: {one_of(operators)}",
                key=True,
            )
            return None
        arg = raw[op]
        if op == "answered":
            if not isinstance(arg, bool):
                self.fail(Code.INVALID_VALUE, where, "'answered' takes true or false")
                return None
            return Answered(name) if arg else Unanswered(name)
        if op in COMPARATORS:
            if isinstance(arg, bool) or not isinstance(arg, (int, float)):
                self.fail(Code.NOT_A_NUMBER, where, f"'{op}' takes a number")
                return None
            return Compare(name, op, float(arg))
        values = self._values(name, shape.options, kind, arg, where, single=op in ("is", "contains"))
        if values is None:
            return None
        if op in ("is", "in"):
            return In(name, values)
        return Contains(name, values, "all" if op == "contains_all" else "any")

    def _values(self, name: str, options: tuple[str, ...], kind: Kind, arg: Any, where: Path_, *,
                single: bool) -> tuple[str, ...] | None:
        if single:
            items, paths = [arg], [where]
        elif isinstance(arg, list) and arg:
            items, paths = arg, [where + (i,) for i in range(len(arg))]
        else:
            self.fail(Code.NOT_A_LIST, where, "this operator takes a non-empty list of values")
            return None
        out: list[str] = []
        for item, at in zip(items, paths):
            value = normalise_token(item, options)
            if value not in options:
                shown = "unknown (conditions never test for unknown: unanswered is handled by three-valued logic)" \
                    if value == "unknown" else f"'{value}'"
                self.fail(
                    Code.NOT_ALLOWED_VALUE,
                    at,
                    f"field '{name}' cannot take {shown}{did_you_mean(str(value), options)};"
                    f" allowed: {one_of(options)}",
                )
                return None
            out.append(value)
        return tuple(out)


def normalise_token(value: Any, options: tuple[str, ...]) -> str:
    """YAML's bare yes/no arrive as booleans; conditions compare strings."""
    word = yes_no_word(value, options) if isinstance(value, bool) else None
    return word if word is not None else str(value)


def can_be(cond: Condition) -> tuple[bool, bool]:
    """(can it be true, can it be false) for some referral: e.g. `answered` is never false.

    Used to know which statuses an item can reach, so example cases can be
    checked to cover every one of them.
    """
    if isinstance(cond, Not):
        t, f = can_be(cond.part)
        return f, t
    if isinstance(cond, (All, AnyOf)):
        parts = [can_be(p) for p in cond.parts]
        if isinstance(cond, All):
            return all(t for t, _ in parts), any(f for _, f in parts)
        return any(t for t, _ in parts), all(f for _, f in parts)
    if isinstance(cond, Answered):
        return True, False
    return True, True  # Unanswered too: true until answered, then false


def reads_absence(cond: Condition) -> bool:
    """Whether a condition tests that a field is not answered (allowed in discussion points only)."""
    if isinstance(cond, (All, AnyOf)):
        return any(reads_absence(p) for p in cond.parts)
    if isinstance(cond, Not):
        return reads_absence(cond.part)
    return isinstance(cond, Unanswered)
