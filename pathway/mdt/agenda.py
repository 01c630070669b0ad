"""The meeting's agenda: which referrals are discussed in what order, when, and who presents each.

A coordinator writes it as a CSV file in a spreadsheet (header
`referral_id,time,presenter`; `time` and `presenter` are optional columns and
optional cells; semicolons or tabs instead of commas are read too), or as a
YAML or JSON list of mappings with the same keys. A web page builds the
same `Agenda` from a form with `make_agenda`, no file needed.
Every problem is collected and reported at once, each with its file and line
(for a form, `file` names the form and `lines` its row numbers). Time and
presenter are free text, shown as written (autoescaped); nothing here checks
that a time is a time.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import Code, InputError, Problem
from ..suggest import did_you_mean

COLUMNS = ("referral_id", "time", "presenter")
MAX_BYTES = 1_000_000
"""An agenda is a few dozen rows; anything bigger is the wrong file."""
MAX_CHARS = {"referral_id": 200, "time": 40, "presenter": 200}
YAML_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class AgendaEntry:
    """One line of the agenda. Empty `time` or `presenter`: not given."""

    referral_id: str
    time: str = ""
    presenter: str = ""


@dataclass(frozen=True)
class Agenda:
    """The agenda's entries in meeting order; ids are unique and non-empty (see `make_agenda`)."""

    entries: tuple[AgendaEntry, ...]

    @cached_property
    def _places(self) -> dict[str, int]:
        return {e.referral_id: n for n, e in reversed(list(enumerate(self.entries)))}

    def position(self, referral_id: str) -> int | None:
        """0-based place of `referral_id` on the agenda, or None when it is not on it."""
        return self._places.get(referral_id)

    def entry(self, referral_id: str) -> AgendaEntry | None:
        place = self.position(referral_id)
        return None if place is None else self.entries[place]

    @property
    def has_times(self) -> bool:
        return any(e.time for e in self.entries)

    @property
    def has_presenters(self) -> bool:
        return any(e.presenter for e in self.entries)


def _clean(text: str) -> str:
    """Cells as a person means them: spaces and line breaks inside run together, none at the ends."""
    return " ".join(text.split())


def agenda_problems(entries: Sequence[AgendaEntry], *, file: str = "agenda",
                    lines: Sequence[int | None] | None = None) -> list[Problem]:
    """What is wrong with these entries: an empty referral id, an id given twice, text too long.
    `lines[n]` is where entry n was written (a file's line, a form's row)."""
    problems: list[Problem] = []
    first: dict[str, int | None] = {}
    for n, entry in enumerate(entries):
        line = lines[n] if lines is not None and n < len(lines) else n + 1
        for column in COLUMNS:
            value = getattr(entry, column)
            if len(value) > MAX_CHARS[column]:
                problems.append(Problem(file, line, None, f"{column} is longer than {MAX_CHARS[column]} characters",
                                        column, code=Code.TOO_LONG))
        rid = entry.referral_id
        if not rid:
            problems.append(Problem(file, line, None, "referral_id is empty: each agenda row names one referral",
                                    "referral_id", code=Code.MISSING_REQUIRED_FIELD))
        elif rid in first:
            at = first[rid]
            problems.append(Problem(file, line, None, f"referral {rid} is already on the agenda"
                                    + (f" (line {at})" if at is not None else "") + ": give each referral once",
                                    "referral_id", code=Code.DUPLICATE_ID))
        else:
            first[rid] = line
    return problems


def make_agenda(entries: Iterable[AgendaEntry], *, file: str = "agenda",
                lines: Sequence[int | None] | None = None) -> Agenda:
    """The agenda of `entries` (cells tidied: inner runs of spaces made one); `InputError` with every
    problem when any entry is wrong. For a web form: `file` the form's name, `lines` its row numbers."""
    tidy = [AgendaEntry(_clean(e.referral_id), _clean(e.time), _clean(e.presenter)) for e in entries]
    problems = agenda_problems(tidy, file=file, lines=lines)
    if problems:
        raise InputError(problems)
    return Agenda(tuple(tidy))


def parse_agenda(text: str, file: str) -> Agenda:
    """An agenda from a file's text: CSV, or YAML/JSON when `file` ends .yaml, .yml or .json."""
    if file.lower().endswith(YAML_SUFFIXES):
        entries, lines, problems = _from_yaml(text, file)
    else:
        entries, lines, problems = _from_csv(text, file)
    if not problems and not entries:
        problems.append(Problem(file, None, None, "the agenda lists no referral", code=Code.EMPTY_INPUT))
    problems += agenda_problems(entries, file=file, lines=lines)
    if problems:
        raise InputError(problems)
    return Agenda(tuple(entries))


def read_agenda(path: str | Path) -> Agenda:
    """The agenda in the file at `path`; `InputError` (file, line and what is wrong) otherwise."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError([Problem(name, None, None, "agenda file not found", code=Code.FILE_NOT_FOUND)]) from None
    except IsADirectoryError:
        raise InputError([Problem(name, None, None, "is a folder, not an agenda file", code=Code.IS_A_FOLDER)]) \
            from None
    except OSError as exc:
        raise InputError([Problem(name, None, None, f"cannot read: {exc.strerror}", code=Code.CANNOT_READ)]) from None
    if len(raw) > MAX_BYTES:
        raise InputError([Problem(name, None, None, f"file is larger than {MAX_BYTES:,} bytes: not an agenda",
                                  code=Code.FILE_TOO_LARGE)])
    if Path(name).suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise InputError([Problem(name, None, None, 'a workbook, not an agenda file: save it as "CSV UTF-8 (Comma '
                                  'delimited)" and name the .csv file', code=Code.NOT_A_REFERRAL_FILE)])
    try:
        text = raw.decode("utf-8-sig")   # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, None, None, f"not UTF-8 text (byte {exc.start}): save it as \"CSV UTF-8"
                                  " (Comma delimited)\"", code=Code.NOT_UTF8)]) from None
    return parse_agenda(text, name)


def _header_problems(header: list[str], file: str) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for col, name in enumerate(header, start=1):
        if name in seen:
            problems.append(Problem(file, 1, col, f"column {name!r} is given twice", name,
                                    code=Code.DUPLICATE_COLUMN))
        elif name and name not in COLUMNS:
            problems.append(Problem(file, 1, col, f"unknown column {name!r}{did_you_mean(name, COLUMNS)}; the columns"
                                    f" are {', '.join(COLUMNS)}", name, code=Code.UNKNOWN_KEY))
        seen.add(name)
    if "referral_id" not in seen:
        problems.append(Problem(file, 1, None, "no referral_id column: the first line must be the header"
                                f" {','.join(COLUMNS)}", "referral_id", code=Code.MISSING_REQUIRED_KEY))
    return problems


def _delimiter(text: str) -> str:
    """Commas, or what the header line uses instead: Excel writes semicolons where a comma is the
    decimal mark, and some exports use tabs."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    return next((d for d in (";", "\t") if d in header), ",")


def _from_csv(text: str, file: str) -> tuple[list[AgendaEntry], list[int | None], list[Problem]]:
    reader = csv.reader(text.splitlines(), delimiter=_delimiter(text))
    entries: list[AgendaEntry] = []
    lines: list[int | None] = []
    try:
        header = [_clean(h).lower() for h in next(reader, [])]
        problems = _header_problems(header, file)
        if "referral_id" not in header:
            return [], [], problems   # every row would say its id is empty
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue   # blank rows, and Excel's rows of empty cells
            if len(row) > len(header) and any(cell.strip() for cell in row[len(header):]):
                problems.append(Problem(file, line, len(header) + 1, f"{len(row)} cells, but the header has"
                                        f" {len(header)}", code=Code.TOO_MANY_CELLS))
                continue
            cells = dict(zip(header, row, strict=False))
            entries.append(AgendaEntry(*(_clean(cells.get(c, "")) for c in COLUMNS)))
            lines.append(line)
    except csv.Error as exc:
        return [], [], [Problem(file, reader.line_num, None, f"not valid CSV: {exc}", code=Code.CSV_SYNTAX)]
    return entries, lines, problems


def _from_yaml(text: str, file: str) -> tuple[list[AgendaEntry], list[int | None], list[Problem]]:
    from ..yamlsrc import LoadFailure, load_text

    try:
        doc = load_text(text, file)
    except LoadFailure as exc:
        return [], [], [exc.problem]
    if not isinstance(doc.data, list):
        return [], [], [doc.at((), "the agenda must be a list of entries, each with referral_id (and optionally time"
                               " and presenter)", code=Code.NOT_A_LIST)]
    entries: list[AgendaEntry] = []
    lines: list[int | None] = []
    problems: list[Problem] = []
    for n, item in enumerate(doc.data):
        line = doc.values.get((n,), (None, None))[0]
        if not isinstance(item, Mapping):
            problems.append(doc.at((n,), "an agenda entry must be a mapping with referral_id (and optionally time"
                                   " and presenter)", code=Code.NOT_A_MAPPING))
            continue
        cells: dict[str, str] = {}
        for key, value in item.items():
            if key not in COLUMNS:
                problems.append(doc.at((n, key), f"unknown key {key!r}{did_you_mean(str(key), COLUMNS)}; the keys are"
                                       f" {', '.join(COLUMNS)}", code=Code.UNKNOWN_KEY, key=True, field=str(key)))
                continue
            text_value = _as_text(doc.written.get((n, key), value))
            if text_value is None:
                problems.append(doc.at((n, key), f"{key} must be text", code=Code.NOT_TEXT, field=key))
                continue
            cells[key] = _clean(text_value)
        entries.append(AgendaEntry(*(cells.get(c, "") for c in COLUMNS)))
        lines.append(line)
    return entries, lines, problems


def _as_text(value: Any) -> str | None:
    """A scalar as written (`0012`, `09:30`); None for a list, a mapping or a bare yes/no."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value)
