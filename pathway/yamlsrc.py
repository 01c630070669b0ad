"""Read YAML (and JSON) into plain values while keeping where each one was.

Every later check reports `file:line:col`, so the loader records the position
of every key and value by its path (a tuple of keys and list indexes). Loading
is `yaml.safe_load` semantics, narrowed further: aliases are refused (no
"billion laughs"), nesting depth and document size are bounded, and only
yes/no/true/false are booleans (YAML 1.1's on/off/y/n stay strings, so a
tri-state answer of `on` is an error rather than a silent "yes").

PyYAML's own reader is the reference: what it reads, how, and how it words a
problem. A pathway's files, read by every command, go to libyaml's parser,
ten times as fast, when it reads them exactly alike; anything else, and any
text with a problem, is read by the reference.

JSON is read as strictly: a key given twice is refused, as in YAML (RFC 8259
leaves to each parser which one wins, so two readers could see different
answers), and a number too long for Python to convert (over 4,300 digits)
becomes an infinite float, which every check refuses, instead of a crash.
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

_BOOL_RE = re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE)$")


class _Refused(Exception):
    def __init__(self, code: Code, message: str, mark: yaml.Mark | None, key: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.mark = mark
        self.key = key


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader without aliases and with narrow booleans."""

    yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

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
        """An integer too long to convert (Python 3.11+ refuses over 4,300 digits) is infinite, as in JSON."""
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            return float("-inf") if str(node.value).lstrip().startswith("-") else float("inf")


_SafeLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("yYnNtTfF"))
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)


@dataclass
class Located:
    """A parsed document with the (line, col) of each value and each key, 1-based."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

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


def _walk(node: yaml.Node, path: Path_, doc: Located, constructor: _SafeLoader) -> Any:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
        raise _Refused(Code.YAML_TAG, f"YAML tags such as '{node.tag}' are not allowed", node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise _Refused(Code.KEY_NOT_A_NAME, "mapping keys must be plain names", key_node.start_mark)
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                raise _Refused(Code.DUPLICATE_KEY, f"duplicate key '{key}'", key_node.start_mark, key)
            sub = path + (key,)
            doc.keys[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _walk(value_node, sub, doc, constructor)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, path + (i,), doc, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node, deep=True)


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


def _libyaml_node(reader: Any, event: Any, path: Path_, doc: Located, depth: int, flow: bool) -> Any:
    """The node `event` starts, as `_SafeLoader` composes it and `_walk` reads it."""
    doc.values[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
    if isinstance(event, yaml.ScalarEvent):
        return _libyaml_scalar(reader, event, flow)
    if not isinstance(event, yaml.CollectionStartEvent) or event.tag is not None or event.anchor is not None \
            or depth >= MAX_DEPTH:
        raise _Unlike  # an alias, a tag, an anchor, or nested too deeply
    flow = flow or bool(event.flow_style)
    depth += 1
    start, event = event, reader.get_event()
    if isinstance(start, yaml.SequenceStartEvent):
        items: list[Any] = []
        while not isinstance(event, yaml.SequenceEndEvent):
            items.append(_libyaml_node(reader, event, path + (len(items),), doc, depth, flow))
            event = reader.get_event()
        return items
    out: dict[str, Any] = {}
    while not isinstance(event, yaml.MappingEndEvent):
        key = _libyaml_scalar(reader, event, flow) if isinstance(event, yaml.ScalarEvent) else None
        if not isinstance(key, (str, int, float, bool)):
            raise _Unlike  # not a plain name
        key = key if isinstance(key, str) else str(key)
        if key in out:
            raise _Unlike  # a duplicate
        sub = path + (key,)
        doc.keys[sub] = (event.start_mark.line + 1, event.start_mark.column + 1)
        out[key] = _libyaml_node(reader, reader.get_event(), sub, doc, depth, flow)
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


def load_yaml(text: str, file: str, *, libyaml: bool = False) -> Located:
    """Parse one YAML document; raise `LoadFailure` with a located problem on any error.

    `libyaml`: read by libyaml's parser when it reads the text exactly as PyYAML's own reader (the
    reference) does, and by the reference otherwise: for a pathway's files, which are large and
    read by every command. A referral, small and from anyone, is read by the reference only."""
    if len(text) > MAX_BYTES:
        raise LoadFailure(_too_large(file))
    if libyaml and yaml.__with_libyaml__ and not _UNLIKE.search(text):
        try:
            return _libyaml(text, file)
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
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(s for s in (exc.context, exc.problem) if s)
        raise LoadFailure(_problem(file, Code.YAML_SYNTAX, f"not valid YAML: {what}", mark)) from None
    except yaml.YAMLError as exc:
        raise LoadFailure(Problem(file, None, None, f"not valid YAML: {exc}", code=Code.YAML_SYNTAX)) from None
    except RecursionError:
        raise LoadFailure(Problem(file, None, None, "not valid YAML: nested too deeply", code=Code.TOO_DEEP)) from None
    finally:
        loader.dispose()


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
    """Where the repeated key is, from the YAML reader, which refuses duplicates with their position."""
    try:
        load_yaml(text, file)
    except LoadFailure as failure:
        if failure.duplicate == exc.key:
            return failure.problem
    return Problem(file, None, None, str(exc), code=Code.DUPLICATE_KEY)


def load_json(text: str, file: str) -> Located:
    """Parse JSON strictly, then borrow positions from the YAML reader when it agrees."""
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
    try:
        located = load_yaml(text, file)
    except LoadFailure:
        return Located(file, data)
    located.data = data
    return located


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
