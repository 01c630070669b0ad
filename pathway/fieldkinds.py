"""The kinds of form field, and what each kind means to every part of the tool, declared once.

`FieldKind` is a field's `type` as form.yaml spells it (a `str` enum: it equals,
formats and renders as that word, so templates and messages read as before).
`KINDS` holds one `Kind` per kind: what the loader, the conditions, the report,
the web form and the FHIR and REDCap exports need to know of it. Modules that
need a heavy library (the referral model, the audit's Polars codec, the
durable backend, the API's schema) keep their per-kind code in one mapping
keyed by every kind, made with `per_kind`, which refuses one that lacks a kind
(and `tests/test_fieldkinds.py` checks them all): adding a kind fails loudly
until every place has its entry. No imports from the rest of the package.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class FieldKind(str, Enum):
    TEXT = "text"
    LONGTEXT = "longtext"
    DATE = "date"
    NUMBER = "number"
    TRISTATE = "tristate"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"

    def __str__(self) -> str:
        """The word itself, as Python 3.11's StrEnum: in messages, f-strings and templates."""
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Labelled(Protocol):
    """What showing an answer needs of its field (a `definition.FormField`)."""

    @property
    def unit(self) -> str | None: ...

    def label_of(self, value: str) -> str: ...


def _as_given(field: Labelled, value: Any) -> str:
    return str(value)


def _label(field: Labelled, value: Any) -> str:
    return field.label_of(value)


def _labels(field: Labelled, value: Any) -> str:
    return ", ".join(field.label_of(v) for v in value)


def _number(field: Labelled, value: Any) -> str:
    return f"{value:g}" + (f" {field.unit}" if field.unit else "")


@dataclass(frozen=True)
class Kind:
    """What one kind of field is, for every part of the tool that treats kinds differently."""

    operators: tuple[str, ...]
    """The condition operators that can test it (`conditions.Parser`)."""
    show: Callable[[Labelled, Any], str]
    """How a known answer is shown to a person (labels, units): `report.display_value`."""
    control: str
    """Its web form control: radios, select (radios when there are few options), checkboxes, textarea or input."""
    fhir_item: str
    """Its FHIR R4 Questionnaire item type."""
    fhir_values: tuple[str, ...]
    """The QuestionnaireResponse answer value[x] keys that answer it, the one written first."""
    redcap_type: str
    """Its REDCap data dictionary field type."""
    redcap_validation: str = ""
    """Its REDCap text validation type, if any."""
    answers: tuple[tuple[str, str], ...] = ()
    """The answers it defines itself, as (code, label): a tri-state's yes and no. Others have none, or the form's."""
    listed: bool = False
    """Its answers are options the form lists (the loader requires them; other kinds take none)."""
    multiple: bool = False
    """An answer is a set of options, not one value."""
    ranged: bool = False
    """min and max apply."""
    free_text: bool = False
    """Free text: max_length applies."""
    prose: bool = False
    """Long prose (notes): a report does not list it among the other answers."""
    yes_no: bool = False
    """true and false (YAML's bare yes and no) are its yes and no."""
    says_unknown: bool = False
    """'unknown' is an answer of its own, a code in FHIR and REDCap (elsewhere unknown is no answer)."""
    fhir_system: str | None = None
    """The one FHIR code system of every field of this kind (None: a coded field has its own)."""

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the answers it defines itself."""
        return tuple(code for code, _label in self.answers)

    @property
    def coded(self) -> bool:
        """Answered by codes (its own or the form's options), not by a number, date or text."""
        return self.listed or bool(self.answers)


def yes_no_word(value: bool, codes: tuple[str, ...]) -> str | None:
    """YAML 1.1 reads a bare `yes` or `no` as a boolean: for a field whose answers include yes and no (a
    tri-state, or a choice such as yes / partly / no) that is the word typed; for any other field, None."""
    return ("yes" if value else "no") if "yes" in codes and "no" in codes else None


def per_kind(table: dict[FieldKind, T], what: str) -> dict[FieldKind, T]:
    """`table`, checked to hold an entry for every kind: a kind added without one fails at import."""
    missing = [kind.value for kind in FieldKind if kind not in table]
    if missing:
        raise RuntimeError(f"{what} has no entry for {', '.join(missing)}")
    return table


KINDS: Mapping[FieldKind, Kind] = per_kind({
    FieldKind.TEXT: Kind(("answered",), _as_given, "input", "string", ("valueString",), "text", free_text=True),
    FieldKind.LONGTEXT: Kind(("answered",), _as_given, "textarea", "text", ("valueString",), "notes",
                             free_text=True, prose=True),
    FieldKind.DATE: Kind(("answered",), _as_given, "input", "date", ("valueDate",), "text", "date_ymd"),
    FieldKind.NUMBER: Kind(("lt", "le", "gt", "ge", "answered"), _number, "input", "decimal",
                           ("valueDecimal", "valueInteger"), "text", "number", ranged=True),
    FieldKind.TRISTATE: Kind(("is", "answered"), _as_given, "radios", "choice", ("valueCoding", "valueBoolean"),
                             "radio", answers=(("yes", "Yes"), ("no", "No")), yes_no=True, says_unknown=True,
                             fhir_system="yes-no-unknown"),
    FieldKind.CHOICE: Kind(("is", "in", "answered"), _label, "select", "choice", ("valueCoding",), "radio",
                           listed=True),
    FieldKind.MULTICHOICE: Kind(("contains", "contains_any", "contains_all", "answered"), _labels, "checkboxes",
                                "choice", ("valueCoding",), "checkbox", listed=True, multiple=True),
}, "fieldkinds.KINDS")
