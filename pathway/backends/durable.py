"""The cross-check backend: the pathway's plan evaluated on durable-rules.

Why it exists: a second, independent evaluation of the same conditions on a
rete engine, so that `cross_check` can refuse a report when the two disagree.

Why it is not the default: durable-rules is an unmaintained C extension (last
release 2020, no wheels: it needs a C compiler; it fails to import on Python
3.13+ and to build with GCC 14), it keeps process-global state that is never
freed, it never releases the GIL (so referrals are evaluated one at a time per
process), and through its public API it is about 80 times slower than the
python backend on the ITB pathway (roughly 2,000 against 165,000 referrals/s
on one core): its Python layer re-parses the fact and re-saves the session
state for every rule that fires, and about 30 fire per referral.

How a condition is compiled (once per pathway). Each named condition of the
plan gets a "T" and an "F" formula, negation pushed down to the leaves
(De Morgan), each expanded to a disjunction of conjunctions; every conjunction
becomes one durable rule whose only pattern is a flat `$and` guarded by
`kind == "referral"`. T(x) fires when x is true, F(x) when x is false, neither
when x is unknown, because every comparison is false on an absent attribute:
an unanswered field is simply left out of the fact.

Hazards of durable-rules made impossible by construction (see the field notes):

- More than 64 patterns matching one fact overflow the matcher's 64-slot
  stack: error 303, at assert time, on whichever referral happens to answer
  enough fields. With flat conjunctions at most one slot per rule can be live,
  so rulesets are cut at 64 rules ("seen" rule included). `check_definitions` re-derives every
  documented limit from the compiled definitions when the pathway loads and
  refuses it (`DurableLimitExceeded`) naming the item or ruleset.
- No `$or` (it fires once per true branch) and no `$nex` (a bare `$nex`
  matches the session's own state); fired rule names are de-duplicated anyway.
- Values are encoded by this module, not by `json.dumps`: options become
  integer codes (no loose `true == 1 == "true"` equality, no escaping), numbers
  are written so durable's JSON reader parses them exactly (`1e-05` is a parse
  error to it), NaN becomes `null` (false under every comparison, as in Python).
- One private `Host` per process, created lazily, with no background timer
  threads; rulesets are registered once per distinct compiled pathway (a
  Host's rulesets are never freed). Referrals are evaluated one at a time
  under a lock with one fixed session id whose state is deleted after every
  referral, so no state can carry over from one referral to the next.
- Every ruleset has a "seen" rule matching every referral: deleting a session
  that never stored a fact crashes durable-rules 2.0.28 (segmentation fault),
  and the "seen" firings prove that every ruleset evaluated the referral.
- Anything unexpected from the engine (a parse error, a fact already live, a
  failed delete) marks it unusable for the rest of the process: fail closed.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import json
import math
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import conditions as C
from ..definition import FormField, Pathway
from ..engine import plan_of
from ..errors import BackendUnavailable, PathwayError, DurableEngineError, DurableLimitExceeded
from ..fieldkinds import FieldKind, per_kind

INSTALL_HINT = 'pip install "itb-pathway[durable]" (it needs Python < 3.13 and a C compiler)'

# Limits of durable-rules 2.0.28 (src/rules/*.h, events.c), and ours.
MAX_MATCHING_PATTERNS = 64  # events.c MAX_STACK_SIZE: one more live alpha node is error 303
MAX_FACT_PROPERTIES = 253  # properties in one asserted fact, "kind" and "sid" included (error 302)
MAX_NEX_SIBLINGS = 128  # rules.h NEXT_LIST_LENGTH: $nex (and $or forward) nodes under one node
ABSENT = "u"  # suffix of the fact key that flags a field as not answered, for `answered: false`
MAX_SIBLINGS = 511  # rules.h NEXT_BUCKET_LENGTH 512: a full bucket loops forever, GIL held
MAX_RULES_PER_NODE = 256  # rules.h BETA_LIST_LENGTH: rules ending on one alpha node
MAX_RULES = 4096  # rete.c MAX_ACTIONS
MAX_COMBINATORS = 15  # rete.h MAX_SEQUENCE_EXPRESSIONS 32: each $and/$or takes two slots
MAX_ALTERNATIVES = 256  # ours: conjunctions one condition may expand to, per polarity

KIND = ("kind", "referral")  # the discriminator every pattern tests first
SID = "referral"  # the one session id; its state is deleted after every referral
_NO_SUCH_SESSION = 309  # rules.h ERR_SID_NOT_FOUND
SEEN = "seen"  # the rule of every ruleset that matches every referral
_NO_OPTION = -1  # the code of a value that is not one of the field's options
_UTC_WARNING = r"datetime\.datetime\.utcfromtimestamp\(\) is deprecated"


# --- compiling conditions to disjunctive normal form ------------------------

# A literal is (operator, fact key, operand); a term is a conjunction of
# literals; a formula is a disjunction of terms.
Literal = tuple[str, str, Any]
Term = tuple[Literal, ...]

_COMPARE = {"lt": ("$lt", "$gte"), "le": ("$lte", "$gt"), "gt": ("$gt", "$lte"), "ge": ("$gte", "$lt")}


class _TooLarge(Exception):
    """A formula grew past MAX_ALTERNATIVES conjunctions."""


def _product(formulas: Sequence[list[Term]]) -> list[Term]:
    """The conjunction of disjunctions, distributed; stops early when too large."""
    out: list[Term] = [()]
    for formula in formulas:
        out = [_merge(a, b) for a in out for b in formula]
        out = [t for t in dict.fromkeys(out) if not _contradictory(t)]
        if len(out) > MAX_ALTERNATIVES:
            raise _TooLarge
    return out


def _union(formulas: Sequence[list[Term]]) -> list[Term]:
    out = list(dict.fromkeys(t for f in formulas for t in f))
    if len(out) > MAX_ALTERNATIVES:
        raise _TooLarge
    return out


def _merge(a: Term, b: Term) -> Term:
    return tuple(dict.fromkeys(a + b))


def _contradictory(term: Term) -> bool:
    """Equal to two options at once, or to one option and not to it: can never match."""
    equal: dict[str, Any] = {}
    for op, key, operand in term:
        if op == "eq" and equal.setdefault(key, operand) != operand:
            return True
    return any(op == "neq" and equal.get(key) == operand for op, key, operand in term)


def _absorb(terms: list[Term]) -> list[Term]:
    """Drop any conjunction implied by a shorter one (a OR (a AND b) is a)."""
    sets = [frozenset(t) for t in terms]
    return [t for i, t in enumerate(terms)
            if not any((sets[j] < sets[i]) or (sets[j] == sets[i] and j < i) for j in range(len(terms)))]


@dataclass(frozen=True)
class _FieldCode:
    """How one referenced field is written into the fact."""

    key: str
    type: FieldKind
    codes: Mapping[str, int]


class _Compiler:
    """Turns the plan's conditions into T/F formulas over fact keys."""

    def __init__(self, fields: Mapping[str, FormField], conditions: Sequence[C.Condition]) -> None:
        self.absent: set[str] = set()
        """Fields some condition tests for not being answered (`answered: false`)."""
        self.fields: dict[str, _FieldCode] = {}
        for cond in conditions:
            for name in C.fields_of(cond):
                if name not in self.fields:
                    self.fields[name] = self._code(name, fields.get(name), len(self.fields))

    @staticmethod
    def _code(name: str, field: FormField | None, index: int) -> _FieldCode:
        if field is None:
            raise DurableLimitExceeded(
                f"durable backend: conditions read field '{name}', which the form does not define")
        return _FieldCode(f"f{index}", field.type, {v: i for i, v in enumerate(field.codes)})

    def formulas(self, cond: C.Condition) -> tuple[list[Term], list[Term]]:
        """(when true, when false), each a list of conjunctions."""
        if isinstance(cond, C.Not):
            t, f = self.formulas(cond.part)
            return f, t
        if isinstance(cond, (C.All, C.AnyOf)):
            parts = [self.formulas(p) for p in cond.parts]
            trues, falses = [t for t, _ in parts], [f for _, f in parts]
            if isinstance(cond, C.All):
                return _product(trues), _union(falses)
            return _union(trues), _product(falses)
        field = self.fields[cond.field]
        key = field.key
        if isinstance(cond, C.In):
            codes = [self._option(field, cond.field, v) for v in cond.values]
            return [(("eq", key, c),) for c in codes], [tuple(("neq", key, c) for c in codes)]
        if isinstance(cond, C.Compare):
            true_op, false_op = _COMPARE[cond.op]
            n = _rule_number(cond.number, cond.field)
            # NaN is written as null: false under every comparison, as in Python, so
            # "not less than" must also hold for it.
            return [((true_op, key, n),)], [((false_op, key, n),), (("eq", key, None),)]
        if isinstance(cond, C.Contains):
            codes = [self._option(field, cond.field, v) for v in cond.values]
            has = [("iany", key, c) for c in codes]
            lacks = [("inone", key, c) for c in codes]
            if cond.mode == "any":
                return [(lit,) for lit in has], [tuple(lacks)]
            return [tuple(has)], [(lit,) for lit in lacks]
        if isinstance(cond, C.Unanswered):
            # No `$nex`: an unanswered field tested for absence is written into the fact as a flag.
            self.absent.add(cond.field)
            return [(("eq", key + ABSENT, 1),)], [(("ex", key, 1),)]
        return [(("ex", key, 1),)], []  # Answered: true when answered, never false

    @staticmethod
    def _option(field: _FieldCode, name: str, value: str) -> int:
        if value not in field.codes:
            raise DurableLimitExceeded(f"durable backend: field '{name}' has no option '{value}'")
        return field.codes[value]


def _rule_number(n: float, field: str) -> float | int:
    """A threshold as durable's JSON reader will parse it exactly, or a clear refusal.

    That reader takes an exponent only after a decimal point ("1e-05" is a parse
    error), and JSON has no infinities.
    """
    if not math.isfinite(n):
        raise DurableLimitExceeded(f"durable backend: field '{field}' is compared with {n}, which JSON cannot carry")
    text = json.dumps(n)
    if "e" in text and "." not in text:
        if n.is_integer() and abs(n) < 2**63:
            return int(n)  # read back as a 64-bit integer, exactly the same value
        raise DurableLimitExceeded(
            f"durable backend: field '{field}' is compared with {text}, which durable-rules cannot read exactly;"
            " write the threshold with a decimal point and fewer than 5 leading zeros")
    return n


def _pattern(literal: Literal) -> dict[str, Any]:
    op, key, operand = literal
    if op == "eq":
        return {key: operand}
    if op == "neq":
        return {"$neq": {key: operand}}
    if op == "ex":
        return {"$ex": {key: 1}}
    if op == "iany":
        return {"$iany": {key: {"$i": operand}}}
    if op == "inone":
        return {"$iall": {key: {"$neq": {"$i": operand}}}}
    return {op: {key: operand}}  # $lt $lte $gt $gte


def _keys_of(literals: Iterable[Literal]) -> set[str]:
    return {key for _, key, _ in literals}


@dataclass(frozen=True)
class _Rule:
    name: str
    index: int  # the condition's place in the plan
    truth: bool  # fires when the condition is true (else when false)
    term: Term


# --- bounds, re-derived from the compiled definitions -----------------------

def fnv1a_32(name: str) -> int:
    """durable's property-name hash (json.c): FNV-1a over signed bytes. Properties are
    looked up by this hash alone, so two names with one hash would be one property."""
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ (b - 256 if b >= 128 else b)) & 0xFFFFFFFF) * 16777619 & 0xFFFFFFFF
    return h


def _walk(pattern: Any) -> tuple[int, int, int]:
    """(alternative paths, $and/$or combinators, $nex tests) of one pattern."""
    if isinstance(pattern, dict) and len(pattern) == 1:
        (op, arg), = pattern.items()
        if op in ("$and", "$or") and isinstance(arg, list):
            parts = [_walk(p) for p in arg]
            paths = math.prod(p for p, _, _ in parts) if op == "$and" else sum(p for p, _, _ in parts)
            return paths, 1 + sum(c for _, c, _ in parts), sum(x for _, _, x in parts)
        if op == "$nex":
            return 1, 0, 1
    return 1, 0, 0


def check_definitions(
    definitions: Mapping[str, Mapping[str, Any]], fact_keys: Mapping[str, Sequence[str]], what: Mapping[str, str],
) -> None:
    """Refuse, naming the item, anything that would fail at assert time (or hang).

    Works from the definitions as durable-rules will read them, so it also
    guards the compiler. `fact_keys` lists the field properties of each
    ruleset's facts; `what` names the plan condition behind each rule.
    """
    def refuse(rule: str, message: str) -> None:
        raise DurableLimitExceeded(f"durable backend: condition '{what.get(rule, rule)}' {message}")

    for ruleset, rules in definitions.items():
        conds = list(dict.fromkeys(what[r] for r in rules if r in what))
        named = f"ruleset {ruleset} (conditions {', '.join(conds[:3])}{', ...' if len(conds) > 3 else ''})"
        if len(rules) > MAX_RULES:
            raise DurableLimitExceeded(f"durable backend: {named} has {len(rules)} rules (at most {MAX_RULES})")
        matching = nex = 0
        firsts: set[str] = set()
        ends: dict[str, int] = {}
        for rule_name, rule in rules.items():
            patterns = rule.get("all", [])
            if len(patterns) != 1 or set(patterns[0]) != {"m"}:
                refuse(rule_name, "compiled to a rule that is not a single fact pattern")
            pattern = patterns[0]["m"]
            paths, combinators, nexes = _walk(pattern)
            if combinators > MAX_COMBINATORS:
                refuse(rule_name, f"nests {combinators} $and/$or (durable-rules allows {MAX_COMBINATORS} per rule)")
            matching += paths
            nex += nexes
            conj = pattern.get("$and", [pattern])
            if not conj or conj[0] != {KIND[0]: KIND[1]}:
                refuse(rule_name, f"compiled to a pattern that does not test {KIND[0]} first")
            firsts.add(json.dumps(conj[1] if len(conj) > 1 else conj[0], sort_keys=True))
            end = json.dumps(pattern, sort_keys=True)
            ends[end] = ends.get(end, 0) + 1
        if matching > MAX_MATCHING_PATTERNS:
            raise DurableLimitExceeded(
                f"durable backend: {named} could match one referral {matching} times"
                f" (durable-rules fails past {MAX_MATCHING_PATTERNS}, at assert time)")
        if nex > MAX_NEX_SIBLINGS:
            raise DurableLimitExceeded(f"durable backend: {named} has {nex} $nex tests (at most {MAX_NEX_SIBLINGS})")
        if len(firsts) > MAX_SIBLINGS:
            raise DurableLimitExceeded(
                f"durable backend: {named} has {len(firsts)} distinct first tests (at most {MAX_SIBLINGS})")
        same = max(ends.values(), default=0)
        if same > MAX_RULES_PER_NODE:
            raise DurableLimitExceeded(
                f"durable backend: {named} has {same} rules with one pattern (at most {MAX_RULES_PER_NODE})")
        keys = list(fact_keys[ruleset])
        properties = [KIND[0], "sid", *keys]
        if len(properties) > MAX_FACT_PROPERTIES:
            raise DurableLimitExceeded(
                f"durable backend: {named} needs facts of {len(properties)} properties"
                f" (at most {MAX_FACT_PROPERTIES})")
        hashes: dict[int, str] = {}
        for name in [*properties, "id", "$s"]:
            other = hashes.setdefault(fnv1a_32(name), name)
            if other != name:
                raise DurableLimitExceeded(f"durable backend: {named}: properties '{other}' and '{name}' share a hash")


def _rule_sets(rules: Sequence[_Rule], names: Sequence[str]) -> list[list[_Rule]]:
    """Cut the rules, in plan order, into rulesets that respect every bound (one slot is the "seen" rule)."""
    out: list[list[_Rule]] = [[]]
    keys: set[str] = set()
    for rule in rules:
        rule_keys = _keys_of(rule.term)
        if len(rule_keys) + 2 > MAX_FACT_PROPERTIES:
            raise DurableLimitExceeded(
                f"durable backend: condition '{names[rule.index]}' tests {len(rule_keys)} fields in one conjunction"
                f" (durable-rules reads at most {MAX_FACT_PROPERTIES - 2} per fact)")
        current = out[-1]
        if len(current) == MAX_MATCHING_PATTERNS - 1 or len(keys | rule_keys) + 2 > MAX_FACT_PROPERTIES:
            out.append([])
            keys = set()
        out[-1].append(rule)
        keys |= rule_keys
    return [r for r in out if r]


# --- the process-wide engine -------------------------------------------------

_LOCK = threading.Lock()  # one referral at a time, process-wide: one live session id
_HOST: Any = None
_ENGINE: Any = None
_REGISTERED: dict[str, list[str]] = {}  # digest of compiled definitions -> ruleset names
_BROKEN: list[str] = []  # why the engine can no longer be trusted in this process

if hasattr(os, "register_at_fork"):  # a child must never inherit a referral in progress
    os.register_at_fork(before=_LOCK.acquire, after_in_parent=_LOCK.release, after_in_child=_LOCK.release)


def _durable() -> Any:
    """durable.engine, imported on first use so that the package works without it."""
    global _ENGINE
    if _ENGINE is None:
        try:
            engine = importlib.import_module("durable.engine")  # loads the C extension: fails on Python 3.13+
        except ImportError as exc:
            raise BackendUnavailable(
                f"the durable engine is not available here ({exc}). Install it with {INSTALL_HINT}."
            ) from exc
        _ENGINE = engine
    return _ENGINE


def _host() -> Any:
    """The one private Host of this process (call with _LOCK held)."""
    global _HOST
    if _HOST is None:
        _HOST = _make_host(_durable())
    return _HOST


def _make_host(engine: Any) -> Any:
    native = importlib.import_module("durable_rules_engine")  # already loaded by durable.engine

    class _Ruleset(engine.Ruleset):  # type: ignore[misc]
        """Asserts facts already encoded by this module (json.dumps writes numbers durable misreads)."""

        def assert_fact(self, fact: str) -> Any:
            return self._handle_result(native.assert_fact(self._handle, fact), fact)

    class _Host(engine.Host):  # type: ignore[misc]
        """A Host without background threads, whose actions only record what fired."""

        def __init__(self) -> None:
            self.fired: list[tuple[str, int]] = []
            super().__init__()

        def _run(self) -> None:
            """No dispatch or timer threads: we use neither timers nor queued events."""

        def get_action(self, action_name: str) -> Callable[[Any], None]:
            kind, _, index = action_name.partition(":")
            key = (kind, int(index))
            fired = self.fired

            def record(c: Any) -> None:
                fired.append(key)

            return record

        def register_rulesets(self, ruleset_definitions: Mapping[str, Any]) -> list[str]:
            created = {name: _Ruleset(name, self, d) for name, d in ruleset_definitions.items()}
            for name, ruleset in created.items():
                if name in self._ruleset_directory:
                    raise PathwayError(f"durable ruleset {name} registered twice")
                self._ruleset_directory[name] = ruleset
                self._ruleset_list.append(ruleset)
            return list(created)

    return _Host()


def _register(definitions: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Register rulesets once per distinct compiled pathway; return the Host's names, in order."""
    digest = hashlib.sha256(json.dumps(definitions, sort_keys=True).encode()).hexdigest()[:20]
    with _LOCK:
        host = _host()
        if digest not in _REGISTERED:
            named = {f"pathway_{digest}_{name}": copy.deepcopy(d) for name, d in definitions.items()}
            try:
                host.register_rulesets(named)  # registration deletes the "run" keys: hence the copy
            except Exception as exc:
                raise DurableLimitExceeded(
                    f"durable backend: durable-rules refused the compiled pathway: {exc}") from exc
            _REGISTERED[digest] = list(named)
        return list(_REGISTERED[digest])


def _fail(message: str) -> DurableEngineError:
    """Record why the engine can no longer be trusted (replacing a pessimistic marker)."""
    if _BROKEN:
        _BROKEN[-1] = message
    else:
        _BROKEN.append(message)
    return DurableEngineError(f"durable backend: {message}")


# --- encoding a referral -------------------------------------------------------

def _number_text(value: Any, name: str) -> str:
    """A number as durable's JSON reader reads it back exactly (it needs a '.' before an exponent)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DurableEngineError(f"durable backend: field '{name}' holds {value!r}, not a number")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf if value > 0 else -math.inf
    if math.isnan(x):
        return "null"
    if math.isinf(x):
        return "1.0e999" if x > 0 else "-1.0e999"  # strtod reads these as +-infinity
    text = repr(x)
    return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text


def _encoder(name: str, field: _FieldCode) -> Callable[[Any], str]:
    return _ENCODERS[field.type](name, field.codes)


def _one_code(name: str, codes: Mapping[str, int]) -> Callable[[Any], str]:
    def scalar(value: Any) -> str:
        return str(codes.get(value, _NO_OPTION)) if isinstance(value, str) else str(_NO_OPTION)

    return scalar


def _many_codes(name: str, codes: Mapping[str, int]) -> Callable[[Any], str]:
    def many(value: Any) -> str:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise DurableEngineError(f"durable backend: field '{name}' holds {value!r}, not a list of options")
        # An empty list answers the question (nothing chosen); durable's $iall is
        # false on [], so it is written as one code that matches no option.
        items = [codes.get(v, _NO_OPTION) if isinstance(v, str) else _NO_OPTION for v in value] or [_NO_OPTION]
        return "[" + ",".join(map(str, items)) + "]"

    return many


def _a_number(name: str, codes: Mapping[str, int]) -> Callable[[Any], str]:
    return lambda value: _number_text(value, name)


def _answered(name: str, codes: Mapping[str, int]) -> Callable[[Any], str]:
    return lambda value: "1"  # text and dates are only ever tested for being answered


_ENCODERS: dict[FieldKind, Callable[[str, Mapping[str, int]], Callable[[Any], str]]] = per_kind({
    FieldKind.TEXT: _answered, FieldKind.LONGTEXT: _answered, FieldKind.DATE: _answered, FieldKind.NUMBER: _a_number,
    FieldKind.TRISTATE: _one_code, FieldKind.CHOICE: _one_code, FieldKind.MULTICHOICE: _many_codes,
}, "backends.durable._ENCODERS")
"""How a field's answer is written into the fact, by its kind."""


# --- the backend ---------------------------------------------------------------

class DurableEvaluator:
    """The plan of one pathway, compiled to durable-rules rulesets (see the module docstring)."""

    name = "durable"

    def __init__(self, pathway: Pathway) -> None:
        engine = _durable()  # BackendUnavailable before any work if it cannot load
        self._not_handled = engine.MessageNotHandledException
        self._observed = engine.MessageObservedException
        plan = plan_of(pathway)
        self._names = plan.names
        compiler = _Compiler(pathway.fields, plan.conditions)
        rules: list[_Rule] = []
        for index, (name, cond) in enumerate(zip(plan.names, plan.conditions)):
            try:
                when_true, when_false = compiler.formulas(cond)
            except _TooLarge:
                raise DurableLimitExceeded(
                    f"durable backend: condition '{name}' expands to more than {MAX_ALTERNATIVES} alternatives;"
                    " simplify it or use the python engine") from None
            for truth, terms in ((True, when_true), (False, when_false)):
                for k, term in enumerate(_absorb(terms)):
                    rules.append(_Rule(f"c{index}{'T' if truth else 'F'}{k}", index, truth, term))
        definitions: dict[str, dict[str, Any]] = {}
        fact_keys: dict[str, list[str]] = {}
        what: dict[str, str] = {}
        all_keys = [k for name, f in compiler.fields.items()
                    for k in (f.key, *((f.key + ABSENT,) if name in compiler.absent else ()))]
        for n, chunk in enumerate(_rule_sets(rules, plan.names)):
            # Every ruleset also has a rule matching every referral: each assert then
            # stores the fact (deleting a session that never stored one crashes
            # durable-rules 2.0.28), and we can check that each ruleset saw it.
            rs = f"r{n}"
            definitions[rs] = {SEEN: {"all": [{"m": {"$and": [{KIND[0]: KIND[1]}]}}], "run": f"S:{n}"}}
            for r in chunk:
                definitions[rs][r.name] = {
                    "all": [{"m": {"$and": [{KIND[0]: KIND[1]}, *map(_pattern, r.term)]}}],
                    "run": f"{'T' if r.truth else 'F'}:{r.index}",
                }
                what[r.name] = plan.names[r.index]
            used = set().union(*(_keys_of(r.term) for r in chunk))
            fact_keys[rs] = [k for k in all_keys if k in used]
        check_definitions(definitions, fact_keys, what)
        self.definitions: Mapping[str, Mapping[str, Any]] = definitions
        """The compiled rulesets, as given to durable-rules (for inspection and tests)."""
        self._fields = [(name, f.key, _encoder(name, f)) for name, f in compiler.fields.items()]
        self._absent = frozenset(compiler.absent)
        self.rulesets: tuple[str, ...] = tuple(_register(definitions))
        """The names of this pathway's rulesets in the process's Host."""
        self._fact_keys = [fact_keys[rs] for rs in definitions]
        self._prefix = f'{{"{KIND[0]}":"{KIND[1]}","sid":"{SID}"'

    def facts(self, values: Mapping[str, Any]) -> list[str]:
        """The JSON fact asserted into each ruleset: only its fields, unknown ones left out."""
        parts: dict[str, str] = {}
        for name, key, encode in self._fields:
            value = values.get(name)
            if value is not None:
                parts[key] = f'"{key}":{encode(value)}'
            elif name in self._absent:
                parts[key + ABSENT] = f'"{key}{ABSENT}":1'
        return [",".join([self._prefix, *(parts[k] for k in keys if k in parts)]) + "}" for keys in self._fact_keys]

    def truth(self, values: Mapping[str, Any]) -> Sequence[C.TV]:
        facts = self.facts(values)
        with _LOCK:
            fired = self._run(facts)
        seen = {i for kind, i in fired if kind == "S"}
        if seen != set(range(len(self.rulesets))):
            raise DurableEngineError("durable backend: a ruleset did not see the referral")
        true = {i for kind, i in fired if kind == "T"}
        false = {i for kind, i in fired if kind == "F"}
        both = sorted(true & false)
        if both:
            raise DurableEngineError(
                "durable backend: conditions found both true and false: " + ", ".join(self._names[i] for i in both))
        return [True if i in true else (False if i in false else None) for i in range(len(self._names))]

    def _run(self, facts: Sequence[str]) -> list[tuple[str, int]]:
        """Assert one referral into every ruleset, collect what fired, delete the session (lock held)."""
        if _BROKEN:
            raise DurableEngineError(
                f"durable backend: unusable after an earlier failure in this process: {_BROKEN[0]}")
        host = _host()
        host.fired.clear()
        stored: list[str] = []
        try:
            with warnings.catch_warnings():
                # Python 3.12: durable calls datetime.utcfromtimestamp for every action.
                warnings.filterwarnings("ignore", _UTC_WARNING, DeprecationWarning, r"durable\.engine\Z")
                for ruleset, fact in zip(self.rulesets, facts):
                    # Pessimistic: whatever escapes before the pop below (an interrupt
                    # included) leaves the engine marked unusable.
                    _BROKEN.append(f"interrupted while ruleset {ruleset} evaluated a referral")
                    try:
                        state = host.assert_fact(ruleset, fact)
                    except self._not_handled:
                        # Impossible: the "seen" rule matches every referral. Nothing was
                        # stored, and deleting such a session crashes: leave it, stop.
                        raise _fail(f"ruleset {ruleset} matched nothing") from None
                    except self._observed as exc:
                        raise _fail(f"a previous referral's fact is still live: {exc.message}") from None
                    except Exception as exc:
                        raise _fail(f"durable-rules failed on ruleset {ruleset}: {exc}") from exc
                    stored.append(ruleset)
                    _BROKEN.pop()
                    if isinstance(state, dict) and "exception" in state:
                        raise DurableEngineError(f"durable backend: a rule action failed: {state['exception']}")
            return list(host.fired)
        finally:
            host.fired.clear()
            _forget(host, stored)

    def live_sessions(self) -> list[str]:
        """The rulesets still holding a session (none between referrals: for tests)."""
        with _LOCK:
            host = _host()
            return [ruleset for ruleset in self.rulesets if _holds_session(host, ruleset)]


def _holds_session(host: Any, ruleset: str) -> bool:
    """Whether `ruleset` holds the referral's session: asking for one it does not hold fails with
    error code 309; any other failure is raised."""
    try:
        host.get_state(ruleset, SID)
    except Exception as exc:
        if _error_code(exc) != _NO_SUCH_SESSION:
            raise
        return False
    return True


_ERROR_CODE = re.compile(r"error code: (\d+)\Z")


def _error_code(exc: BaseException) -> int | None:
    """The code of a failure in durable-rules' C extension, or None for any other exception. The
    extension has no attribute for it: it ends its error's one argument with it
    ("Could not get state, error code: 309"), so it is read from there, once, here."""
    native = importlib.import_module("durable_rules_engine")
    if not isinstance(exc, native.error) or len(exc.args) != 1:
        return None
    found = _ERROR_CODE.search(str(exc.args[0]))
    return int(found.group(1)) if found else None


def _forget(host: Any, rulesets: Sequence[str]) -> None:
    """Delete the referral's session in every ruleset that stored its fact."""
    for ruleset in rulesets:
        _BROKEN.append(f"interrupted while deleting the referral's state in ruleset {ruleset}")
        try:
            host.delete_state(ruleset, SID)
        except Exception as exc:
            raise _fail(f"could not delete the referral's state in ruleset {ruleset}: {exc}") from exc
        _BROKEN.pop()
