from __future__ import annotations

import pytest

from pathway.errors import Code
from pathway.yamlsrc import LoadFailure, load_json, load_yaml


def test_positions_of_keys_and_values() -> None:
    doc = load_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert doc.keys[("b",)] == (2, 1)
    assert doc.values[("b", 1, "c")] == (4, 9)
    assert str(doc.at(("b", 1, "c"), "bad", code=Code.INVALID_VALUE)) == "f.yaml:4:9: bad"
    assert str(doc.at(("b", 1, "c"), "bad", code=Code.INVALID_VALUE, key=True)) == "f.yaml:4:6: bad"


def test_only_yes_no_true_false_are_booleans() -> None:
    doc = load_yaml("a: yes\nb: No\nc: on\nd: off\ne: y\nf: TRUE\n", "f.yaml")
    assert doc.data == {"a": True, "b": False, "c": "on", "d": "off", "e": "y", "f": True}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1]\nb: *x\n", "f.yaml:2:4: YAML aliases (*name) are not allowed in pathway or referral files"),
        ("a: 1\na: 2\n", "f.yaml:2:1: duplicate key 'a'"),
        ("a: [\n", "f.yaml:2:1: not valid YAML: while parsing a flow node expected the node content, but found '<stream end>'"),
        ("[" * 100 + "]" * 100, "f.yaml:1:65: nesting deeper than 64 levels"),
        ("? [a]\n: 1\n", "f.yaml:1:3: mapping keys must be plain names"),
    ],
)
def test_refusals_are_located(text: str, message: str) -> None:
    with pytest.raises(LoadFailure) as info:
        load_yaml(text, "f.yaml")
    assert str(info.value) == message


def test_billion_laughs_is_refused_at_the_first_alias() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    with pytest.raises(LoadFailure, match="aliases"):
        load_yaml("\n".join(lines), "lol.yaml")


def test_json_errors_name_line_and_column() -> None:
    with pytest.raises(LoadFailure) as info:
        load_json('{"a": 1,\n "b": }', "r.json")
    assert str(info.value) == "r.json:2:7: not valid JSON: Expecting value"
    doc = load_json('{"a": 1,\n "b": "x"}', "r.json")
    assert doc.data == {"a": 1, "b": "x"}
    assert doc.values[("b",)] == (2, 7)


def test_control_characters_are_located() -> None:
    with pytest.raises(LoadFailure) as info:
        load_yaml("a: 1\nb: x\x00y\n", "f.yaml")
    assert str(info.value) == "f.yaml:2:5: not valid YAML: character U+0000 is not allowed"
