"""Referral validation: a pydantic model generated from the pathway's form.

A referral is one flat mapping from field id to value. Unknown is a first-class
answer: an absent field, `unknown`, null or an empty value all mean "the
referral does not say", and the engine treats them so. Every rejected value
gets a message naming the field and what it may be.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from .definition import FormField
from .errors import Code, Problem
from .fieldkinds import FieldKind, per_kind, yes_no_word
from .suggest import did_you_mean, one_of
from .yamlsrc import Located, Path_

Values = dict[str, Any]
"""Normalised answers: tri-state 'yes'/'no', choice str, multi-choice tuple, float, ISO date str, or None."""

_UNKNOWN_WORDS = {"unknown", ""}
_SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A lone UTF-16 surrogate (JSON's "\\ud800"): not text, and no report could be written with it."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _UNKNOWN_WORDS)


def _tristate(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _blank(value):
        return None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("yes", "true"):
            return "yes"
        if word in ("no", "false"):
            return "no"
    raise PydanticCustomError("tristate", "not a tri-state answer")


def _choice(value: Any) -> Any:
    if _blank(value):
        return None
    if isinstance(value, (bool, dict, list)):
        raise PydanticCustomError("choice", "not an allowed value")
    return str(value).strip()


def _yes_no_choice(value: Any) -> Any:
    """A choice that offers yes and no (e.g. yes / partly / no): true and false are its yes and no."""
    if isinstance(value, bool):
        return yes_no_word(value, ("yes", "no"))
    return _choice(value)


def _multi(value: Any) -> Any:
    if _blank(value):
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise PydanticCustomError("multichoice", "not a list of allowed values")
    if not value:
        return None
    return [v.strip() if isinstance(v, str) else v for v in value]


def _number(value: Any) -> Any:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PydanticCustomError("number", "not a number")
    return value


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)) or (isinstance(value, float) and not math.isfinite(value)):
        raise PydanticCustomError("text", "not text")  # nan/inf would show as a referral id of 'nan'
    text = str(value).strip()
    if _SURROGATE.search(text):
        raise PydanticCustomError("text_unicode", "not valid Unicode text")
    return text or None


def _date(value: Any) -> Any:
    if _blank(value):
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("date", "not a date")


def _canonical_multi(field: FormField) -> Any:
    order = {v: i for i, v in enumerate(field.values)}
    exclusive = {o.value for o in field.options if o.exclusive}

    def check(values: list[str] | None) -> tuple[str, ...] | None:
        if values is None:
            return None
        chosen = sorted(set(values), key=order.__getitem__)
        clash = exclusive.intersection(chosen)
        if clash and len(chosen) > 1:
            raise PydanticCustomError("exclusive", "exclusive option combined", {"option": sorted(clash)[0]})
        return tuple(chosen)

    return check


def _tristate_annotation(field: FormField) -> Any:
    return Annotated[Literal["yes", "no"] | None, BeforeValidator(_tristate)]


def _choice_annotation(field: FormField) -> Any:
    reader = _yes_no_choice if yes_no_word(True, field.codes) else _choice
    return Annotated[Literal[field.values] | None, BeforeValidator(reader)]


def _multi_annotation(field: FormField) -> Any:
    return Annotated[
        list[Literal[field.values]] | None,  # type: ignore[name-defined]
        BeforeValidator(_multi),
        AfterValidator(_canonical_multi(field)),
    ]


def _number_annotation(field: FormField) -> Any:
    number = Annotated[float, Field(ge=field.min, le=field.max, allow_inf_nan=False)]
    return Annotated[number | None, BeforeValidator(_number)]


def _date_annotation(field: FormField) -> Any:
    return Annotated[_dt.date | None, BeforeValidator(_date)]


def _text_annotation(field: FormField) -> Any:
    if field.required:
        return Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=field.max_length)]
    return Annotated[Annotated[str, Field(max_length=field.max_length)] | None, BeforeValidator(_text)]


@lru_cache(maxsize=16)
def referral_model(fields: tuple[FormField, ...]) -> type[BaseModel]:
    """The pydantic model of a referral for this form (cached per form)."""
    definitions: dict[str, Any] = {}
    for f in fields:
        default = ... if f.required else None
        definitions[f.id] = (_READINGS[f.type].annotation(f), Field(default, title=f.label, description=f.help))
    return create_model(
        "Referral",
        __config__=ConfigDict(extra="forbid", frozen=True),
        **definitions,
    )


def to_values(model: BaseModel) -> Values:
    """Plain normalised answers for the engine (dates as ISO strings)."""
    out = dict(model.__dict__)
    for key, value in out.items():
        if isinstance(value, _dt.date):
            out[key] = value.isoformat()
    return out


def allowed(field: FormField) -> str:
    """How a message says what a field may hold."""
    return _READINGS[field.type].allowed(field)


def _number_allowed(field: FormField) -> str:
    unit = f" {field.unit}" if field.unit else ""
    return f"a number from {field.min:g} to {field.max:g}{unit}" if field.min is not None and field.max is not None \
        else "a number"


def _text_allowed(field: FormField) -> str:
    return "text" + (f" of at most {field.max_length} characters" if field.max_length else "")


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class _Reading:
    """How a referral reads one kind of field: its pydantic annotation, the words saying what it may hold,
    and the code and words of a value it cannot take (where no more specific problem applies)."""

    annotation: Callable[[FormField], Any]
    allowed: Callable[[FormField], str]
    refused: Code = Code.NOT_ALLOWED_VALUE
    refusal: str = "is not an allowed value"


_READINGS = per_kind({
    FieldKind.TEXT: _Reading(_text_annotation, _text_allowed, Code.NOT_TEXT),
    FieldKind.LONGTEXT: _Reading(_text_annotation, _text_allowed, Code.NOT_TEXT),
    FieldKind.DATE: _Reading(_date_annotation, lambda f: "an ISO 8601 date, YYYY-MM-DD", Code.NOT_A_DATE),
    FieldKind.NUMBER: _Reading(_number_annotation, _number_allowed, Code.NOT_A_NUMBER, "is not a number"),
    FieldKind.TRISTATE: _Reading(_tristate_annotation, lambda f: "yes, no or unknown (true/false/null also accepted)",
                                 refusal="is not a tri-state answer"),
    FieldKind.CHOICE: _Reading(_choice_annotation, lambda f: one_of(f.values) + " (or unknown)"),
    FieldKind.MULTICHOICE: _Reading(_multi_annotation, lambda f: "a list of " + one_of(f.values)),
}, "referral._READINGS")


def _message(fields: Mapping[str, FormField], err: Mapping[str, Any]) -> tuple[Code, str, str | None, bool]:
    """(code, message, field id, located at key?) for one pydantic error."""
    loc = err["loc"]
    name = str(loc[0]) if loc else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        return Code.UNKNOWN_FIELD, f"unknown field '{name}'{did_you_mean(name, fields)}", name, True
    if name not in fields:  # about the mapping itself: a key that is not valid Unicode text ("\\ud800")
        if kind == "string_unicode":
            return Code.NOT_UNICODE, "a field id is not valid Unicode text", None, False
        return Code.INVALID_VALUE, err["msg"], None, False
    field = fields[name]
    if kind == "missing":
        what = f" ({field.help})" if field.help else ""
        return Code.MISSING_REQUIRED_FIELD, f"missing required field '{name}'{what}", name, False
    value = err.get("input")
    if kind == "exclusive":
        option = err.get("ctx", {}).get("option")
        return (Code.EXCLUSIVE_COMBINED, f"field '{name}': '{option}' cannot be combined with other values; allowed: "
                f"{allowed(field)}", name, False)
    if len(loc) > 1:  # an element of a multi-choice list
        return (Code.NOT_ALLOWED_VALUE,
                f"field '{name}': {_show(value)} is not an allowed value; allowed: {allowed(field)}", name, False)
    if kind in ("greater_than_equal", "less_than_equal"):
        return (Code.OUT_OF_RANGE, f"field '{name}': {_show(value)} is out of range; allowed: {allowed(field)}",
                name, False)
    if field.required and (value is None or (isinstance(value, str) and not value.strip())):
        return Code.MISSING_REQUIRED_FIELD, f"missing required field '{name}' (it is empty)", name, False
    if kind == "string_too_long":
        return Code.TOO_LONG, f"field '{name}' is too long; allowed: {allowed(field)}", name, False
    if kind == "text_unicode":
        return (Code.NOT_UNICODE, f"field '{name}': {_show(value)} is not valid Unicode text (a lone surrogate)",
                name, False)
    reading = _READINGS[field.type]
    # "too_long": a required text, its length checked after its reader (worded as not allowed)
    code = Code.TOO_LONG if kind == "too_long" else reading.refused
    return code, f"field '{name}': {_show(value)} {reading.refusal}; allowed: {allowed(field)}", name, False


def validate(
    data: Any, fields: tuple[FormField, ...], doc: Located, prefix: Path_ = ()
) -> tuple[Values | None, list[Problem]]:
    """Validate one referral mapping; return its values, or every problem found."""
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else ("empty" if data is None else type(data).__name__)
        return None, [doc.at(prefix, f"a referral must be a mapping of field id to value, not {kind}",
                             code=Code.NOT_A_MAPPING)]
    by_id = {f.id: f for f in fields}
    try:
        model = referral_model(fields).model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            code, message, name, key = _message(by_id, err)
            problems.append(doc.at(prefix + tuple(err["loc"]), message, code=code, key=key, field=name))
        return None, sorted(set(problems), key=lambda p: (p.line or 0, p.col or 0, p.message))
    return to_values(model), []
