"""Read YAML (and JSON) into plain values while keeping where each one was.

Every later check reports `file:line:col`, so the loader records the position
of every key and value by its path (a tuple of keys and list indexes). Loading
is `yaml.safe_load` semantics, narrowed further: aliases are refused (no
"billion laughs"), nesting depth and document size are bounded, and only
yes/no/true/false are booleans (YAML 1.1's on/off/y/n stay strings, so a
tri-state answer of `on` is an error rather than a silent "yes"). Numbers are
YAML 1.2's: decimal only, so `0012` is 12 (not octal 10), and `0x1F`, `12:30`
and `1_0` are strings (not 31, 750 and 10). The characters of a plain scalar
read as something other than a string are kept too (`Located.written`): a text
field keeps exactly what was typed (`referral_id: 0012` is "0012").

PyYAML's own reader is the reference: what it reads, how, and how it words a
problem. libyaml's parser, ten times as fast, reads a document when it reads
it exactly alike; anything else, and any text with a problem, is read by the
reference.

JSON is read as strictly: a key given twice is refused, as in YAML (RFC 8259
leaves to each parser which one wins, so two readers could see different
answers), and a number too long for Python to convert (over 4,300 digits)
becomes an infinite float, which every check refuses, instead of a crash.
Its positions come from a scan of its tokens (lines end at line feeds, as in
JSON's own messages), and a number keeps its characters as a YAML scalar does.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Code, Problem

Path_ = tuple[str | int, ...]

MAX_BYTES = 5_000_000
MAX_DEPTH = 64
PLACED_ITEMS = 10_000
"""The items of a list whose places are kept; a problem in a later one (a 4 MB list can hold two million, whose
places would take half a gigabyte) is placed at the list."""

_BOOL_RE = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
                       r"|\.(?:nan|NaN|NAN))$")
"""YAML 1.2's core schema: no octal, hexadecimal, binary, sexagesimal or underscores (YAML 1.1 has them all)."""


def _yaml11(tag: str, first: str) -> re.Pattern[str]:
    """PyYAML's own pattern for `tag`."""
    return next(rx for t, rx in yaml.SafeLoader.yaml_implicit_resolvers[first] if t == tag)


_RESOLVERS = (  # (tag, pattern, first characters), tried in this order
    ("tag:yaml.org,2002:bool", _BOOL_RE, "yYnNtTfF"),
    ("tag:yaml.org,2002:int", _INT_RE, "-+0123456789"),
    ("tag:yaml.org,2002:float", _FLOAT_RE, "-+.0123456789"),
    ("tag:yaml.org,2002:null", _yaml11("tag:yaml.org,2002:null", "~"), ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:timestamp", _yaml11("tag:yaml.org,2002:timestamp", "0"), "0123456789"),
)
"""What a plain scalar may be other than a string. Dates stay YAML 1.1's (a date field reads them); its merge
(`<<`) and value (`=`) keys are strings."""


class _Refused(Exception):
    def __init__(self, code: Code, message: str, mark: yaml.Mark | None, key: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark
        self.key = key


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader without aliases, with narrow booleans and YAML 1.2's numbers."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused(Code.YAML_ALIAS, "YAML aliases (*name) are not allowed in pathway or referral files",
                           event.start_mark)
        if self.check_event(yaml.MappingStartEvent, yaml.SequenceStartEvent):
            self._depth = getattr(self, "_depth", 0) + 1
            if self._depth > MAX_DEPTH:
                raise _Refused(Code.TOO_DEEP, f"nesting deeper than {MAX_DEPTH} levels",
                               self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        """A decimal integer; one too long to convert (Python 3.11+ refuses over 4,300 digits) is infinite,
        as in JSON."""
        value = str(self.construct_scalar(node))
        if not _INT_RE.match(value):  # only with an explicit !!int: the resolver takes nothing else
            raise yaml.constructor.ConstructorError(None, None, f"'{value}' is not a whole number", node.start_mark)
        try:
            return int(value)
        except ValueError:
            return float("-inf") if value.startswith("-") else float("inf")

    def construct_yaml_float(self, node: yaml.ScalarNode) -> Any:
        value = str(self.construct_scalar(node))
        if not _FLOAT_RE.match(value):
            raise yaml.constructor.ConstructorError(None, None, f"'{value}' is not a number", node.start_mark)
        if value.lower().endswith(".inf"):
            return float("-inf") if value.startswith("-") else float("inf")
        return float("nan") if value.lower() == ".nan" else float(value)


for _tag, _pattern, _first in _RESOLVERS:
    _SafeLoader.add_implicit_resolver(_tag, _pattern, list(_first))
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)
_SafeLoader.add_constructor("tag:yaml.org,2002:float", _SafeLoader.construct_yaml_float)


@dataclass
class Located:
    """A parsed document with the (line, col) of each value and each key, 1-based, and the characters
    written of each mapping value read as other than a string or null (a YAML plain scalar such as
    `0012`, `1e3`, `yes` or `2026-03-04`; a JSON number): a text field keeps them, whatever they resolve to."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    written: dict[Path_, str] = field(default_factory=dict)

    def at(self, path: Path_, message: str, *, code: Code, key: bool = False, field: str | None = None) -> Problem:
        """A problem located at `path` (or the nearest enclosing node we know)."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                line, col = table[probe]
                return Problem(self.file, line, col, message, field, code=code)
            if probe in self.values:
                line, col = self.values[probe]
                return Problem(self.file, line, col, message, field, code=code)
            probe = probe[:-1]
        pos = self.values.get(())
        return Problem(self.file, pos[0] if pos else None, pos[1] if pos else None, message, field, code=code)


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


def _walk(node: yaml.Node, path: Path_, doc: Located, constructor: _SafeLoader, in_mapping: bool = False,
          placed: bool = True) -> Any:
    """The value of `node`, its places (and those of all within it) noted in `doc` if `placed`."""
    if placed:
        doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        raise _Refused(Code.YAML_TAG, f"YAML tags such as '{node.tag}' are not allowed", node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise _Refused(Code.KEY_NOT_A_NAME, "mapping keys must be plain names", key_node.start_mark)
            key = key if isinstance(key, str) else str(key_node.value)  # as written: `010:` is '010'
            if key in out:
                raise _Refused(Code.DUPLICATE_KEY, f"duplicate key '{key}'", key_node.start_mark, key)
            sub = path + (key,)
            if placed:
                doc.keys[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _walk(value_node, sub, doc, constructor, True, placed)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), doc, constructor, False, placed and i < PLACED_ITEMS)
                for i, item in enumerate(node.value)]
    value = constructor.construct_object(node, deep=True)
    if placed and in_mapping and getattr(node, "style", None) is None and value is not None \
            and not isinstance(value, str):
        doc.written[path] = str(node.value)
    return value


# The fast path: libyaml's parser, for text it reads exactly as PyYAML's own reader does.

_UNLIKE = re.compile("[\t\r\x85\u2028\u2029\ufeff]|^%", re.MULTILINE)
"""What libyaml and PyYAML's reader take differently: tabs, BOMs, line breaks other than LF, directives."""
_UNLIKE_IN_FLOW = re.compile("[?:#]")
"""In a flow collection PyYAML's reader ends a plain scalar at '?' and libyaml does not; at ':' and '#' there
their rules differ too."""
_BLOCK_HEADER = re.compile(r"[|>](?:[+-][1-9]?|[1-9][+-]?)?(?: +(?:#[^\n]*)?)?(?:\n|\Z)")
"""A block scalar's header as PyYAML's reader takes it (libyaml takes more, such as '|#')."""


class _Unlike(Exception):
    """For PyYAML's reader: text libyaml may read otherwise, or that is to be refused (which that reader words)."""


if yaml.__with_libyaml__:
    class _Libyaml(yaml.CSafeLoader, _SafeLoader):
        """`_SafeLoader`'s resolvers and constructors on libyaml's parser (its events: `_libyaml` composes)."""

        def __init__(self, text: str) -> None:
            super().__init__(text)
            self.text = text


def _libyaml(text: str, file: str) -> Located:
    """`text` read as `_SafeLoader` would read it, with libyaml's parser (ten times as fast); `_Unlike`
    when the two parsers could differ on it (tags, anchors, `_UNLIKE`...) or it holds anything refused."""
    reader: Any = _Libyaml(text)
    try:
        reader.get_event()  # the stream's start
        doc = Located(file, None)
        if not reader.check_event(yaml.StreamEndEvent):
            reader.get_event()  # the document's start
            doc.data = _libyaml_node(reader, reader.get_event(), (), doc, 0, False)
            reader.get_event()  # its end
            if not reader.check_event(yaml.StreamEndEvent):
                raise _Unlike  # another document
        return doc
    finally:
        reader.dispose()


def _libyaml_node(reader: Any, event: Any, path: Path_, doc: Located, depth: int, flow: bool,
                  in_mapping: bool = False, placed: bool = True) -> Any:
    """The node `event` starts, as `_SafeLoader` composes it and `_walk` reads it."""
    if placed:
        doc.values[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
    if isinstance(event, yaml.ScalarEvent):
        value = _libyaml_scalar(reader, event, flow)
        if placed and in_mapping and value is not None and not isinstance(value, str):  # plain: tags are _Unlike
            doc.written[path] = event.value
        return value
    if not isinstance(event, yaml.CollectionStartEvent) or event.tag is not None or event.anchor is not None \
            or depth >= MAX_DEPTH:
        raise _Unlike  # an alias, a tag, an anchor, or nested too deeply
    flow = flow or bool(event.flow_style)
    depth += 1
    start, event = event, reader.get_event()
    if isinstance(start, yaml.SequenceStartEvent):
        items: list[Any] = []
        while not isinstance(event, yaml.SequenceEndEvent):
            items.append(_libyaml_node(reader, event, path + (len(items),), doc, depth, flow, False,
                                       placed and len(items) < PLACED_ITEMS))
            event = reader.get_event()
        return items
    out: dict[str, Any] = {}
    while not isinstance(event, yaml.MappingEndEvent):
        key = _libyaml_scalar(reader, event, flow) if isinstance(event, yaml.ScalarEvent) else None
        if not isinstance(key, (str, int, float, bool)):
            raise _Unlike  # not a plain name
        key = key if isinstance(key, str) else event.value
        if key in out:
            raise _Unlike  # a duplicate
        sub = path + (key,)
        if placed:
            doc.keys[sub] = (event.start_mark.line + 1, event.start_mark.column + 1)
        out[key] = _libyaml_node(reader, reader.get_event(), sub, doc, depth, flow, True, placed)
        event = reader.get_event()
    return out


def _libyaml_scalar(reader: Any, event: Any, flow: bool) -> Any:
    if event.tag is not None or event.anchor is not None:
        raise _Unlike
    value = event.value
    if not event.style:  # plain (libyaml says "", PyYAML None)
        if not value or flow and _UNLIKE_IN_FLOW.search(value):
            raise _Unlike  # an empty scalar's place differs by a column at times
    elif event.style in "|>" and not _BLOCK_HEADER.match(reader.text, event.start_mark.index):
        raise _Unlike
    tag = reader.resolve(yaml.ScalarNode, value, event.implicit)
    if tag == "tag:yaml.org,2002:str":
        return value  # what the constructor would return
    return reader.construct_object(yaml.ScalarNode(tag, value, event.start_mark, event.end_mark), deep=True)


def load_yaml(text: str, file: str, *, libyaml: bool = True) -> Located:
    """Parse one YAML document; raise `LoadFailure` with a located problem on any error.

    Read by libyaml's parser when it reads the text exactly as PyYAML's own reader (the reference)
    does, and by the reference otherwise (always, with `libyaml=False`): a 4 MB referral in a second
    or two, not in tens of seconds (benchmarks/bench_check.py). Lines ending CR LF are read as ending
    LF: the reference reads the two alike, to the line and column of every value."""
    if len(text) > MAX_BYTES:
        raise LoadFailure(_too_large(file))
    fast = text.replace("\r\n", "\n") if "\r\n" in text else text
    if libyaml and yaml.__with_libyaml__ and not _UNLIKE.search(fast):
        try:
            return _libyaml(fast, file)
        except (_Unlike, yaml.YAMLError, ValueError):  # ValueError: UnicodeError, a date such as 2026-02-30
            pass  # read again, by the reader that words the problem (or that reads it otherwise)
    try:
        loader = _SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise LoadFailure(_reader_problem(file, text, exc)) from None
    try:
        node = loader.get_single_node()
        doc = Located(file, None)
        if node is not None:
            doc.data = _walk(node, (), doc, loader)
        return doc
    except _Refused as exc:
        raise LoadFailure(_problem(file, exc.code, exc.message, exc.mark), duplicate=exc.key) from None
    except yaml.reader.ReaderError as exc:
        raise LoadFailure(_reader_problem(file, text, exc)) from None
    except yaml.MarkedYAMLError as exc:
        raise LoadFailure(_syntax_problem(file, text, exc, loader)) from None
    except yaml.YAMLError as exc:
        raise LoadFailure(Problem(file, None, None, f"not valid YAML: {exc}", code=Code.YAML_SYNTAX)) from None
    except RecursionError:
        raise LoadFailure(Problem(file, None, None, "not valid YAML: nested too deeply", code=Code.TOO_DEEP)) from None
    finally:
        loader.dispose()


_CLOSERS = {"[": ("list", "]"), "{": ("mapping", "}")}
_FOUND = re.compile(r"but (?:got|found) '(.*)'$")


def _syntax_problem(file: str, text: str, exc: yaml.MarkedYAMLError, loader: _SafeLoader) -> Problem:
    """PyYAML's account of a syntax error; for a list, mapping or quoted text never closed, said in
    plain words and placed where it opened, which is where to look (PyYAML places it where it noticed)."""
    unclosed = _unclosed(text, exc, loader)
    if unclosed is not None:
        return _problem(file, Code.YAML_SYNTAX, f"not valid YAML: {unclosed[1]}", unclosed[0])
    what = " ".join(s for s in (exc.context, exc.problem) if s)
    return _problem(file, Code.YAML_SYNTAX, f"not valid YAML: {what}", exc.problem_mark or exc.context_mark)


def _unclosed(text: str, exc: yaml.MarkedYAMLError, loader: _SafeLoader) -> tuple[yaml.Mark, str] | None:
    """(where it opened, what is wrong) when `exc` is about a flow collection or quoted scalar never closed."""
    seen, problem = exc.problem_mark, exc.problem or ""
    if seen is None:
        return None
    at = f"line {seen.line + 1}, column {seen.column + 1}"
    if exc.context == "while scanning a quoted scalar" and exc.context_mark is not None:
        start, quote = exc.context_mark, text[exc.context_mark.index:exc.context_mark.index + 1]
        where = f"the quoted text opened at line {start.line + 1}, column {start.column + 1} is never closed"
        if problem == "found unexpected end of stream":
            return start, f"{where}: the file ends at {at} without its closing quote ({quote})"
        if problem == "found unexpected document separator":
            return start, f"{where}: a document separator at {at} ends it first"
        return None
    found = _FOUND.search(problem)
    if found is None:
        return None
    token = found.group(1)
    opened: yaml.Mark | None
    if exc.context in ("while parsing a flow sequence", "while parsing a flow mapping"):
        opened = exc.context_mark
    elif exc.context == "while parsing a flow node" and getattr(loader, "marks", None):
        opened = loader.marks[-1]  # the collection being read (block or flow), by the reference parser
    else:
        return None
    if opened is None or text[opened.index:opened.index + 1] not in _CLOSERS:
        return None
    what, closer = _CLOSERS[text[opened.index]]
    where = f"the {what} opened at line {opened.line + 1}, column {opened.column + 1}"
    if token == "<stream end>":
        return opened, f"{where} is never closed: the file ends at {at} without its '{closer}'"
    if exc.context != "while parsing a flow node":
        return opened, f"{where} is not closed: expected ',' or '{closer}' at {at}, but found '{token}'"
    if token in "]}" and token != closer:
        return opened, f"{where} is not closed: found '{token}' at {at}"
    return None


class DuplicateKey(ValueError):
    """A JSON object names the same key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key '{key}'")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def _int(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # more digits than Python converts: too large for any field, so infinite
        return float(digits)


def parse_json(text: str) -> Any:
    """`json.loads`, but a key given twice raises `DuplicateKey` and a huge integer is infinite (module docstring)."""
    return json.loads(text, object_pairs_hook=_unique_keys, parse_int=_int)


def duplicate_problem(text: str, file: str, exc: DuplicateKey) -> Problem:
    """Where the repeated key is: the first key given twice in the text, when it is the one `parse_json`
    refused (it refuses the first object to end holding one)."""
    try:
        _json_located(text, file, None)
    except _JsonDuplicate as found:
        if found.key == exc.key:
            return Problem(file, found.line, found.col, str(exc), code=Code.DUPLICATE_KEY)
    except (IndexError, ValueError):  # text after the refused object that is not JSON
        pass
    return Problem(file, None, None, str(exc), code=Code.DUPLICATE_KEY)


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[][{}:,]|[^][{}:,"\s]+')
"""JSON's tokens: a string, a structural character, or a number or literal (true, NaN...)."""


class _JsonDuplicate(Exception):
    def __init__(self, key: str, line: int, col: int) -> None:
        super().__init__(key)
        self.key, self.line, self.col = key, line, col


def _json_located(text: str, file: str, data: Any) -> Located:
    """The positions of valid JSON `text` (whose value `parse_json` read as `data`), from its tokens: a
    value's is its first character's, a key's its opening quote's (where YAML's reader, which reads
    JSON too, places them). A key given twice raises `_JsonDuplicate`."""
    doc = Located(file, data)
    values, keys, written = doc.values, doc.keys, doc.written
    open_: list[list[Any]] = []  # the collections open, innermost last: [path, is a mapping, index, placed]
    place: Path_ = ()  # of the next value
    placed = True  # whether the next value's place is kept (`PLACED_ITEMS`)
    expect_key = False
    line, line_start, last = 1, 0, 0
    for match in _JSON_TOKEN.finditer(text):
        pos = match.start()
        breaks = text.count("\n", last, pos)
        if breaks:
            line += breaks
            line_start = text.rindex("\n", last, pos) + 1
        last = pos
        token = match.group()
        first = token[0]
        if first == ",":
            top = open_[-1]
            if top[1]:
                expect_key = True
            else:
                top[2] += 1
                place = top[0] + (top[2],)
                placed = top[3] and top[2] < PLACED_ITEMS
        elif first in "]}":
            open_.pop()
            expect_key = False  # after `{}`
        elif first == ":":
            pass
        elif expect_key:
            top = open_[-1]
            key = json.loads(token)
            place, placed = top[0] + (key,), top[3]
            if placed:
                if place in keys:
                    raise _JsonDuplicate(key, line, pos - line_start + 1)
                keys[place] = (line, pos - line_start + 1)
            expect_key = False
        elif not placed:
            if first in "[{":
                open_.append([place, first == "{", 0, False])
                expect_key = first == "{"
                place = place + (0,)
        else:
            values[place] = (line, pos - line_start + 1)
            if first in "[{":
                open_.append([place, first == "{", 0, True])
                expect_key = first == "{"
                place = place + (0,)
            elif first in "-0123456789" and open_ and open_[-1][1] and token != "-Infinity":
                written[place] = token
    return doc


def load_json(text: str, file: str) -> Located:
    """Parse JSON strictly, with the position of every value and key."""
    if len(text) > MAX_BYTES:
        raise LoadFailure(_too_large(file))
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        raise LoadFailure(Problem(file, exc.lineno, exc.colno, f"not valid JSON: {exc.msg}",
                                  code=Code.JSON_SYNTAX)) from None
    except RecursionError:
        raise LoadFailure(Problem(file, None, None, "not valid JSON: nested too deeply", code=Code.TOO_DEEP)) from None
    except DuplicateKey as exc:
        raise LoadFailure(duplicate_problem(text, file, exc)) from None
    return _json_located(text, file, data)


def load_text(text: str, file: str) -> Located:
    """Choose the reader from the file name: `.json` is JSON, anything else YAML."""
    return load_json(text, file) if file.lower().endswith(".json") else load_yaml(text, file)


def _reader_problem(file: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (e.g. NUL), located by counting lines."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    return Problem(file, line, col, f"not valid YAML: character U+{exc.character:04X} is not allowed",
                   code=Code.YAML_SYNTAX)


def _problem(file: str, code: Code, message: str, mark: yaml.Mark | None) -> Problem:
    if mark is None:
        return Problem(file, None, None, message, code=code)
    return Problem(file, mark.line + 1, mark.column + 1, message, code=code)


def _too_large(file: str) -> Problem:
    return Problem(file, None, None, f"file is larger than {MAX_BYTES:,} bytes", code=Code.FILE_TOO_LARGE)


class LoadFailure(Exception):
    """A document could not be parsed at all; `duplicate` names the key given twice, when that is why."""

    def __init__(self, problem: Problem, *, duplicate: str | None = None) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.duplicate = duplicate
