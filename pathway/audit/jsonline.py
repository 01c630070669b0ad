"""Re-read one JSONL line as `inputs.jsonl_record` does, fast when the line is plain.

`inputs.jsonl_record` parses with `yamlsrc.parse_json` and borrows the position of every key
and value from the pure-Python YAML reader, which costs about a millisecond a
line: too slow for the few percent of a million lines that the columnar path
sends back to the row validator. For a plain line (printable characters, no
backslash, no tab) the positions YAML reports are simply where each JSON token
starts, so a small tokenizer finds them. Anything else (escapes, duplicate
keys, very long keys, deep nesting, a line `json` refuses) takes the exact
slow route, and the test suite checks both routes agree.
"""
from __future__ import annotations

import re

from ..inputs import Record, jsonl_record
from ..yamlsrc import MAX_BYTES, Located, Path_, parse_json

_PLAIN = re.compile(r"[^\x20-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_BARE = re.compile(r"[{}\[\],:]|[^\s{}\[\],:]+")
_MAX_DEPTH = 32
_MAX_KEY_SPAN = 1000  # PyYAML forgets a flow-context key 1024 characters before its ':'


class _Unsure(Exception):
    """The tokenizer cannot promise YAML's positions: use the exact route."""


def record(line: str, name: str, number: int) -> Record:
    """The same `Record` as `inputs.jsonl_record(line, name, number)`."""
    if len(line) > MAX_BYTES // 4 or _PLAIN.search(line):
        return jsonl_record(line, name, number)
    try:
        data = parse_json(line)
        values, keys = _Positions(line, number).document()
    except (ValueError, _Unsure, RecursionError):
        return jsonl_record(line, name, number)
    return Record(f"{name}:{number}", Located(name, data, values, keys))


class _Positions:
    """Where each value and key of a one-line JSON document starts, as (line, column).

    Splitting at quotes gives the tokens cheaply: in a line without backslashes the
    odd parts are exactly the strings' contents and the even parts what lies between.
    """

    def __init__(self, line: str, number: int) -> None:
        parts = line.split('"')
        if len(parts) % 2 == 0:
            raise _Unsure
        tokens: list[tuple[str, int]] = []
        pos = 0
        for k, part in enumerate(parts):
            if k % 2:
                tokens.append(('"' + part, pos - 1))
            elif part in (":", ","):
                tokens.append((part, pos))
            elif part:
                tokens.extend((m.group(), pos + m.start()) for m in _BARE.finditer(part))
            pos += len(part) + 1
        self.tokens = tokens
        self.i = 0
        self.number = number
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}

    def document(self) -> tuple[dict[Path_, tuple[int, int]], dict[Path_, tuple[int, int]]]:
        self.node((), 0)
        if self.i != len(self.tokens):
            raise _Unsure
        return self.values, self.keys

    def node(self, path: Path_, depth: int) -> None:
        if self.i >= len(self.tokens):
            raise _Unsure
        text, start = self.tokens[self.i]
        self.i += 1
        self.values[path] = (self.number, start + 1)
        if text == "{":
            self.mapping(path, depth + 1)
        elif text == "[":
            self.sequence(path, depth + 1)
        elif text in ("}", "]", ",", ":"):
            raise _Unsure

    def mapping(self, path: Path_, depth: int) -> None:
        tokens = self.tokens
        if depth > _MAX_DEPTH or self.i >= len(tokens):
            raise _Unsure
        if tokens[self.i][0] == "}":
            self.i += 1
            return
        seen: set[str] = set()
        while self.i + 1 < len(tokens):
            (key, start), (colon, at) = tokens[self.i], tokens[self.i + 1]
            if key[:1] != '"' or colon != ":" or at - start > _MAX_KEY_SPAN:
                raise _Unsure
            name = key[1:]
            if name in seen:  # YAML refuses duplicate keys, and then no position is known
                raise _Unsure
            seen.add(name)
            self.i += 2
            self.keys[path + (name,)] = (self.number, start + 1)
            self.node(path + (name,), depth)
            if self.i >= len(tokens):
                break
            text = tokens[self.i][0]
            self.i += 1
            if text == "}":
                return
            if text != ",":
                break
        raise _Unsure

    def sequence(self, path: Path_, depth: int) -> None:
        tokens = self.tokens
        if depth > _MAX_DEPTH or self.i >= len(tokens):
            raise _Unsure
        if tokens[self.i][0] == "]":
            self.i += 1
            return
        index = 0
        while True:
            self.node(path + (index,), depth)
            index += 1
            if self.i >= len(tokens):
                raise _Unsure
            text = tokens[self.i][0]
            self.i += 1
            if text == "]":
                return
            if text != ",":
                raise _Unsure
