from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathway.errors import Code
from pathway.yamlsrc import PLACED_ITEMS, LoadFailure, load_json, load_yaml


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
        ("a: [\n", "f.yaml:1:4: not valid YAML: the list opened at line 1, column 4 is never closed: the file ends at line 2, column 1 without its ']'"),
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


# -- YAML 1.2's numbers, and the characters written -----------------------------

@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "reference"])
@pytest.mark.parametrize(
    ("scalar", "value", "written"),
    [
        ("0012", 12, "0012"),  # YAML 1.1: octal 10
        ("010", 10, "010"),  # YAML 1.1: octal 8
        ("+12", 12, "+12"),
        ("12:30", "12:30", None),  # YAML 1.1: sexagesimal 750
        ("0x1F", "0x1F", None),  # YAML 1.1: 31
        ("0o17", "0o17", None),
        ("0b101", "0b101", None),
        ("1_0", "1_0", None),  # YAML 1.1: 10
        ("1e3", 1000.0, "1e3"),  # YAML 1.1: a string (no dot)
        (".5", 0.5, ".5"),
        ("1.", 1.0, "1."),
        ("-.inf", float("-inf"), "-.inf"),
        ("yes", True, "yes"),
        ("on", "on", None),
        ("~", None, None),
        ("=", "=", None),  # YAML 1.1: the value key, which no constructor takes
    ],
)
def test_numbers_are_yaml_1_2_and_keep_their_characters(scalar: str, value: object, written: str | None,
                                                         libyaml: bool) -> None:
    doc = load_yaml(f"a: {scalar}\n", "f.yaml", libyaml=libyaml)
    assert repr(doc.data) == repr({"a": value})
    assert doc.written == ({("a",): written} if written else {})


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "reference"])
def test_keys_are_the_characters_written(libyaml: bool) -> None:
    doc = load_yaml("010: a\n10: b\n<<: c\n", "f.yaml", libyaml=libyaml)
    assert doc.data == {"010": "a", "10": "b", "<<": "c"}


def test_an_explicit_int_tag_takes_decimals_only() -> None:
    with pytest.raises(LoadFailure) as info:
        load_yaml("a: !!int 0x1F\n", "f.yaml")
    assert str(info.value) == "f.yaml:1:4: not valid YAML: '0x1F' is not a whole number"


# -- what is never closed is placed where it opened ------------------------------

@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("referral_id: R-1\nfunctional_impact: [movement,\n  comfort_pain\n",
         "f.yaml:2:20: not valid YAML: the list opened at line 2, column 20 is never closed: the file ends at"
         " line 4, column 1 without its ']'"),
        ("referral_id: R-1\nfunctional_impact: [movement,\n  comfort_pain\nnotes: x\n",
         "f.yaml:2:20: not valid YAML: the list opened at line 2, column 20 is not closed: expected ',' or ']' at"
         " line 4, column 6, but found ':'"),
        ("referral_id: R-1\nrisks: {a: 1, b: 2\n",
         "f.yaml:2:8: not valid YAML: the mapping opened at line 2, column 8 is never closed: the file ends at"
         " line 3, column 1 without its '}'"),
        ("a: [b, c}\n",
         "f.yaml:1:4: not valid YAML: the list opened at line 1, column 4 is not closed: expected ',' or ']' at"
         " line 1, column 9, but found '}'"),
        ("a: {b: [c, }\n",
         "f.yaml:1:8: not valid YAML: the list opened at line 1, column 8 is not closed: found '}' at line 1,"
         " column 12"),
        ('referral_id: R-1\nnotes: "Seen in clinic.\ngoals_documented: yes\n',
         'f.yaml:2:8: not valid YAML: the quoted text opened at line 2, column 8 is never closed: the file ends at'
         ' line 4, column 1 without its closing quote (")'),
        ("notes: 'it\n---\na: 1\n",
         "f.yaml:1:8: not valid YAML: the quoted text opened at line 1, column 8 is never closed: a document"
         " separator at line 2, column 1 ends it first"),
        ("a: [b, , c]\n",  # not about closing: PyYAML's words, where it noticed
         "f.yaml:1:8: not valid YAML: while parsing a flow node expected the node content, but found ','"),
    ],
)
def test_what_is_never_closed_is_placed_where_it_opened(text: str, message: str) -> None:
    for libyaml in (True, False):
        with pytest.raises(LoadFailure) as info:
            load_yaml(text, "f.yaml", libyaml=libyaml)
        assert str(info.value) == message
        assert info.value.problem.code is Code.YAML_SYNTAX


# -- JSON's places, from its tokens ----------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
JSON_TREES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=16)


@settings(max_examples=300, deadline=None)
@given(JSON_TREES, st.sampled_from([None, 0, 2]), st.sampled_from([(", ", ": "), (",", ":")]), st.booleans(),
       st.booleans())
def test_json_places_are_where_the_yaml_reader_puts_them(tree: object, indent: int | None,
                                                         separators: tuple[str, str], ascii_only: bool,
                                                         crlf: bool) -> None:
    text = json.dumps(tree, indent=indent, separators=separators, ensure_ascii=ascii_only)
    if crlf:
        text = text.replace("\n", "\r\n")
    doc = load_json(text, "r.json")
    assert doc.data == json.loads(text) or doc.data != doc.data  # nan-free, but -0.0 == 0.0 is fine
    if re.search("[\x85\u2028\u2029]", text):
        return  # YAML counts these as line ends; JSON, as its own messages do, counts only line feeds
    if re.search(r"\\ud[89ab]", text):
        return  # YAML reads an escaped surrogate pair as two characters; JSON, as the one it is
    try:
        reference = load_yaml(text, "r.json", libyaml=False)
    except LoadFailure:
        return  # what YAML cannot read (a tab, deep nesting): JSON still has its places
    assert (doc.values, doc.keys) == (reference.values, reference.keys)


def test_json_numbers_keep_their_characters_and_lines_end_at_line_feeds() -> None:
    doc = load_json('{"referral_id": 1.50, "ids": [1e3],\n "notes": "a\u2028b", "age_years":\t1E1}', "r.json")
    assert doc.written == {("referral_id",): "1.50", ("age_years",): "1E1"}  # a list's items are never text
    assert doc.values[("age_years",)] == (2, 31)  # line 2: U+2028 is no line end
    assert doc.keys[("notes",)] == (2, 2)


def test_json_keys_given_twice_are_placed() -> None:
    with pytest.raises(LoadFailure) as info:
        load_json('{"a": {"b": 1},\n "c": [{"d": 1, "d": 2}]}', "r.json")
    assert str(info.value) == "r.json:2:17: duplicate key 'd'"


@pytest.mark.parametrize("reader", ["json", "libyaml", "reference"])
def test_only_the_first_items_of_a_long_list_are_placed(reader: str) -> None:
    """Two million places would take half a gigabyte: a problem in a later item is placed at its list."""
    items = list(range(PLACED_ITEMS + 3))
    if reader == "json":
        doc = load_json(json.dumps({"a": [{"b": i} for i in items]}), "f.json")
    else:
        doc = load_yaml("a:\n" + "".join(f"- b: {i}\n" for i in items), "f.yaml", libyaml=reader == "libyaml")
    assert len(doc.data["a"]) == len(items)
    last = PLACED_ITEMS - 1
    assert ("a", last, "b") in doc.values and ("a", last, "b") in doc.keys and ("a", last, "b") in doc.written
    assert not any(len(path) > 1 and path[1] >= PLACED_ITEMS for path in [*doc.values, *doc.keys, *doc.written])
    assert doc.at(("a", PLACED_ITEMS, "b"), "bad", code=Code.INVALID_VALUE).line == doc.values[("a",)][0]
