"""The kinds of form field: one enum, its facts in one place, and every per-kind mapping complete."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from pathway.audit import codec
from pathway.backends import durable
from pathway.definition import FormField, Option
from pathway.errors import Code, RulesError
from pathway.fieldkinds import KINDS, FieldKind, per_kind
from pathway.loader import load_pathway
from pathway.web import api
from pathway import referral

from .conftest import edit

PACKAGE = Path(__file__).resolve().parents[1] / "pathway"

PER_KIND: dict[str, dict[Any, Any]] = {
    "fieldkinds.KINDS": dict(KINDS),
    "referral._READINGS": referral._READINGS,
    "audit.codec._COLUMNS": codec._COLUMNS,
    "backends.durable._ENCODERS": durable._ENCODERS,
    "web.api._ACCEPTED": api._ACCEPTED,
}
"""Every mapping keyed by kind: adding a kind fails here (and at import) until each has its entry."""


@pytest.mark.parametrize("name", PER_KIND)
def test_every_kind_has_an_entry_in_every_per_kind_mapping(name: str) -> None:
    assert set(PER_KIND[name]) == set(FieldKind)


def test_every_per_kind_mapping_in_the_package_is_checked_here() -> None:
    made = sorted(name for path in PACKAGE.rglob("*.py") for name in _per_kind_names(path))
    assert made == sorted(PER_KIND)


def _per_kind_names(path: Path) -> list[str]:
    """The names `per_kind(..., "name")` gives its tables in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [call.args[1].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "per_kind"
            and len(call.args) == 2 and isinstance(call.args[1], ast.Constant)]


def test_a_table_lacking_a_kind_is_refused_naming_it() -> None:
    table = {kind: 1 for kind in FieldKind if kind not in (FieldKind.DATE, FieldKind.CHOICE)}
    with pytest.raises(RuntimeError) as info:
        per_kind(table, "a table")
    assert str(info.value) == "a table has no entry for date, choice"


def test_a_kind_is_its_word() -> None:
    """As form.yaml spells it: in messages, f-strings, templates and JSON, and equal to it."""
    kind = FieldKind.TRISTATE
    assert (kind == "tristate", str(kind), f"{kind}", f"{kind:>9}", kind.value) == \
        (True, "tristate", "tristate", " tristate", "tristate")
    assert [k.value for k in FieldKind] == ["text", "longtext", "date", "number", "tristate", "choice", "multichoice"]


def test_a_form_field_holds_its_kind_even_when_given_the_word() -> None:
    field = FormField("c", "choice", "C", "s", options=(Option("a", "A"),))  # type: ignore[arg-type]
    assert field.type is FieldKind.CHOICE
    assert field.kind is KINDS[FieldKind.CHOICE]
    assert field.codes == ("a",)
    assert FormField("t", FieldKind.TRISTATE, "T", "s").codes == ("yes", "no")
    with pytest.raises(ValueError):
        FormField("x", "tri-state", "X", "s")  # type: ignore[arg-type]


def test_what_each_kind_means() -> None:
    coded = {k for k, facts in KINDS.items() if facts.coded}
    assert coded == {FieldKind.TRISTATE, FieldKind.CHOICE, FieldKind.MULTICHOICE}
    assert {k for k, facts in KINDS.items() if facts.listed} == {FieldKind.CHOICE, FieldKind.MULTICHOICE}
    assert all("answered" in facts.operators for facts in KINDS.values())
    assert all(facts.fhir_values for facts in KINDS.values())


def test_the_loader_refuses_an_unknown_type_as_before(rules_copy: Path) -> None:
    edit(rules_copy / "form.yaml", "      - id: local_tried\n        type: tristate",
         "      - id: local_tried\n        type: tri-state")
    with pytest.raises(RulesError) as info:
        load_pathway(rules_copy)
    [problem] = info.value.problems
    assert (Path(problem.file).name, problem.line, problem.col, problem.message, problem.code) == (
        "form.yaml", 166, 15,
        "'type': must be 'text', 'longtext', 'date', 'number', 'tristate', 'choice' or 'multichoice'",
        Code.NOT_ALLOWED_VALUE,
    )


WORDS = {k.value for k in FieldKind}


def _is_word(node: ast.AST) -> bool:
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_word(e) for e in node.elts)
    return isinstance(node, ast.Constant) and node.value in WORDS


def _is_type(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "type") or \
        (isinstance(node, ast.Name) and node.id == "field_type")


def _spelt_kinds(path: Path) -> list[str]:
    """Lines that compare a field's type with a kind's word, or key a table by kinds' words."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_type(s) for s in sides) and any(_is_word(s) for s in sides):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
        elif isinstance(node, ast.Dict) and sum(k is not None and _is_word(k) for k in node.keys) > 1:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_module_spells_a_kind_as_a_string() -> None:
    """A kind is a `FieldKind` (a str enum, so mypy cannot see a misspelt word compared with it): no module
    compares a field's type with a word, or keys a table by words, where a misspelling would go unseen."""
    assert [line for path in sorted(PACKAGE.rglob("*.py")) for line in _spelt_kinds(path)] == []
