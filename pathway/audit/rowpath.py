"""The row path: records the columnar codec was unsure of, decided exactly as `pathway check` would.

Deciding and explaining are split because they cost very different amounts.
The decision (is this record accepted, with which values?) needs only the
record's data and the referral model: `yamlsrc.parse_json` or `inputs.csv_row`, then
`model_validate`, tens of microseconds. The explanation of a rejection needs
every value's line and column, which for JSONL means re-reading the line for
positions, and the validator's messages: several times that. So a rejected
record carries what it takes to re-read it (`Pending`), and its messages are
worked out only where they are shown: the first rejected records on the page,
or all of them when `--rejects FILE` asks for them. Both steps call the same
functions `inputs` and `referral.validate` use, so the decision and the
messages are those of the row validator, never an approximation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from ..backends import get_evaluator
from ..definition import STATUSES, Pathway
from ..engine import evaluate
from ..filekinds import DocumentKind, document_kind
from ..errors import Problem
from ..inputs import Record, csv_record, csv_row, jsonl_record, row_code, skipped_row
from ..referral import Values, number_for_text, referral_model, to_values
from ..service import validate_referral
from ..yamlsrc import MAX_BYTES, Located, parse_json
from . import jsonline


@dataclass(frozen=True)
class Pending:
    """One record to decide row by row, with what it takes to re-read it exactly, anywhere.

    kind "json": a JSONL line; "csv": a row's cells under `header`; "record": a record
    already read (a referral file, or a file-level failure), kept as is."""

    kind: str
    source: str
    name: str = ""
    line: int = 0
    text: str = ""
    header: tuple[str, ...] = ()
    cells: tuple[str, ...] = ()
    record: Record | None = None

    def full(self, pathway: Pathway) -> Record | None:
        """The record exactly as `inputs` reads it (None: a blank CSV row, not a record)."""
        if self.kind == "json":
            return jsonline.record(self.text, self.name, self.line)
        if self.kind == "csv":
            return csv_record(list(self.header), list(self.cells), self.name, self.line, pathway)
        return self.record


def json_line(name: str, line: int, text: str) -> Pending:
    return Pending("json", f"{name}:{line}", name, line, text=text)


def csv_cells(name: str, line: int, header: tuple[str, ...], cells: tuple[str, ...] | list[str]) -> Pending:
    return Pending("csv", f"{name}:{line}", name, line, header=header, cells=tuple(cells))


def read_record(record: Record) -> Pending:
    return Pending("record", record.source, record=record)


def read_row(name: str, line: int, header: tuple[str, ...], row: tuple[str, ...] | str) -> Pending:
    """A row the csv module read: its cells, or (a str) its complaint, worded as `inputs` words it."""
    if isinstance(row, str):
        source = f"{name}:{line}"
        return read_record(Record(source, Located(source, None), Problem(name, line, None, row, code=row_code(row))))
    return csv_cells(name, line, header, row)


class Decided:
    """`values` when accepted; otherwise `problems` (messages) or None when they are still to be worked
    out; `skipped`: a REDCap row of another event or form, which is no record to evaluate."""

    __slots__ = ("values", "problems", "skipped")

    def __init__(self, values: Values | None, problems: tuple[str, ...] | None = None, skipped: bool = False) -> None:
        self.values = values
        self.problems = problems
        self.skipped = skipped


SKIPPED = Decided(None, skipped=True)



def decide(pending: Pending, pathway: Pathway) -> Decided | None:
    """Accept or reject as `inputs` + `service.referral_values` would; None for a blank CSV row (no record)."""
    data: Any
    if pending.kind == "json":
        if len(pending.text) > MAX_BYTES:
            return Decided(None, problems(pending, pathway))
        try:
            data = parse_json(pending.text)   # the JSON reading `inputs` uses, without the positions
        except (ValueError, RecursionError):
            return Decided(None, problems(pending, pathway))   # the reading failed: cheap to word
    elif pending.kind == "csv":
        if not any(cell.strip() for cell in pending.cells):
            return None
        if len(pending.cells) != len(pending.header):   # too many cells, or too few (cut off?)
            return Decided(None, problems(pending, pathway))
        if skipped_row(pending.header, pending.cells, pathway):
            return SKIPPED
        data, _ = csv_row(list(pending.header), list(pending.cells), pathway)
    else:
        record = pending.record
        assert record is not None
        if record.skipped is not None:
            return SKIPPED
        if record.problem is not None:
            return Decided(None, (str(record.problem),))
        values, found = validate_referral(pathway, record.doc)
        return Decided(values, None if values is not None else tuple(str(p) for p in found))
    if pending.kind == "json" and number_for_text(data, pathway.fields):
        record = jsonl_record(pending.text, pending.name, pending.line)   # keeps the characters written (1.50)
        if record.problem is not None:
            return Decided(None, (str(record.problem),))
        values, found = validate_referral(pathway, record.doc)
        return Decided(values, None if values is not None else tuple(str(p) for p in found))
    kind = document_kind(data)
    if kind is DocumentKind.OTHER:
        return Decided(None)
    if kind is DocumentKind.FHIR:  # a FHIR QuestionnaireResponse: read by the shared path, as `pathway check` does
        return Decided(validate_referral(pathway, Located(pending.source, data))[0])
    try:
        model = referral_model_of(pathway).model_validate(data)
    except ValidationError:
        return Decided(None)
    return Decided(to_values(model))


NOT_APPLICABLE, MISSING = STATUSES.index("not_applicable"), STATUSES.index("missing")


def scored(pathway: Pathway, values: Values) -> tuple[list[int], int, int]:
    """An accepted record's status codes in item order (indexes of `STATUSES`), and how many
    items are documented and applicable: as `pathway check` evaluates it (the python backend)."""
    statuses = evaluate(pathway, values, get_evaluator("python", pathway)).statuses()
    codes = [STATUSES.index(statuses[item.id]) for item in pathway.items]
    applicable = len(codes) - codes.count(NOT_APPLICABLE)
    return codes, applicable - codes.count(MISSING), applicable


_MODELS: dict[int, tuple[Pathway, type[BaseModel]]] = {}


def referral_model_of(pathway: Pathway) -> type[BaseModel]:
    """The referral model, looked up once per pathway (`referral_model` hashes every field per call)."""
    entry = _MODELS.get(id(pathway))
    if entry is None or entry[0] is not pathway:
        entry = _MODELS[id(pathway)] = (pathway, referral_model(tuple(pathway.fields.values())))
    return entry[1]


def problems(pending: Pending, pathway: Pathway) -> tuple[str, ...]:
    """Why a rejected record was rejected: the row validator's located messages."""
    record = pending.full(pathway)
    if record is None:
        return ()
    if record.problem is not None:
        return (str(record.problem),)
    values, found = validate_referral(pathway, record.doc)
    assert values is None, f"{pending.source}: decided as rejected, but the row validator accepts it"
    return tuple(str(p) for p in found)
