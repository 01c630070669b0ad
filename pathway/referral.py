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
LONG_LIST = 1_000
"""A multi-choice answer longer than this, with values not allowed, is refused as one problem (`_multi_reader`)."""
LISTED = 100
"""At most this many problems of one referral are listed, in line order; one more says how many are not."""
_DECIMAL = re.compile(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")
"""A number written as text (a CSV cell, a quoted YAML or JSON string): decimal only, as YAML 1.2 and JSON
write numbers (Python's float() also takes '1_0' as 10)."""
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
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) \
            or isinstance(value, str) and not _DECIMAL.fullmatch(value):
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
        text = value.strip()
        if _DATE_TIME.match(text):   # REDCap's and Excel's date-times: the date is what was meant
            text = text[:10]
        if _ISO_DATE.match(text):
            try:
                return _dt.date.fromisoformat(text)
            except ValueError:
                pass
    raise PydanticCustomError("date", "not a date")


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$")
_REFORMATTED = re.compile(r"^([0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}|[0-9]{5}(\.[0-9]+)?)$")
"""A day-first or month-first date, or a spreadsheet's serial number: what Excel makes of a date."""


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


def _multi_reader(field: FormField) -> Callable[[Any], Any]:
    """`_multi`; a list longer than `LONG_LIST` holding values not allowed is one problem, not one per value
    (a 4 MB file could otherwise hold 400,000 of them: minutes and gigabytes to list)."""
    codes = frozenset(field.values)

    def read(value: Any) -> Any:
        value = _multi(value)
        if isinstance(value, list) and len(value) > LONG_LIST:
            bad = [i for i, v in enumerate(value) if not (isinstance(v, str) and v in codes)]
            if bad:
                raise PydanticCustomError("values_not_allowed", "values not allowed",
                                          {"index": bad[0], "first": value[bad[0]], "others": len(bad) - 1})
        return value

    return read


def _multi_annotation(field: FormField) -> Any:
    return Annotated[
        list[Literal[field.values]] | None,  # type: ignore[name-defined]
        BeforeValidator(_multi_reader(field)),
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
    if kind == "values_not_allowed":
        others = err["ctx"]["others"]
        nor = "nor is 1 other value" if others == 1 else f"nor are {others:,} other values"
        return (Code.NOT_ALLOWED_VALUE, f"field '{name}': {_show(err['ctx']['first'])} is not an allowed value, "
                f"{nor} of this list; allowed: {allowed(field)}", name, False)
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
    if field.type is FieldKind.DATE:
        excel = _REFORMATTED.match(str(value).strip()) is not None and not isinstance(value, bool)
        return (Code.NOT_A_DATE, f"field '{name}': {_show(value)} is not a date: use YYYY-MM-DD"
                + (" (Excel may have reformatted it)" if excel else ""), name, False)
    reading = _READINGS[field.type]
    # "too_long": a required text, its length checked after its reader (worded as not allowed)
    code = Code.TOO_LONG if kind == "too_long" else reading.refused
    return code, f"field '{name}': {_show(value)} {reading.refusal}; allowed: {allowed(field)}", name, False


def as_written(data: Any, fields: Mapping[str, FormField], doc: Located, prefix: Path_ = ()) -> Any:
    """`data` with each text field holding the characters written, where the reader took them for
    something else: YAML's `referral_id: 0012` is "0012" (not 12), `1e3` is "1e3", a JSON 1.50 is "1.50".
    A number no float holds (1e400, NaN) stays refused: as an id it is far likelier a slip than a name."""
    if not doc.written or not isinstance(data, dict):
        return data
    out = data
    for name, value in data.items():
        field = fields.get(name)
        if field is not None and field.kind.free_text and not isinstance(value, str) \
                and not (isinstance(value, float) and not math.isfinite(value)):
            text = doc.written.get(prefix + (name,))
            if text is not None:
                out = dict(data) if out is data else out
                out[name] = text
    return out


def number_for_text(data: Any, fields: Mapping[str, FormField]) -> bool:
    """Whether a text field of `data` holds a number: its answer is the characters written (JSON's 1.50, 1e3),
    which only a reading that keeps them has (`yamlsrc.load_json`, `Located.written`), not `parse_json` alone."""
    return isinstance(data, dict) and any(
        isinstance(value, (int, float)) and not isinstance(value, bool) and name in fields
        and fields[name].kind.free_text for name, value in data.items())


def validate(
    data: Any, fields: tuple[FormField, ...], doc: Located, prefix: Path_ = ()
) -> tuple[Values | None, list[Problem]]:
    """Validate one referral mapping; return its values, or every problem found."""
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else ("empty" if data is None else type(data).__name__)
        return None, [doc.at(prefix, f"a referral must be a mapping of field id to value, not {kind}",
                             code=Code.NOT_A_MAPPING)]
    by_id = {f.id: f for f in fields}
    data = as_written(data, by_id, doc, prefix)
    extra: list[Any] = []
    if len(data) > len(by_id) + LISTED:  # hundreds of unknown fields: found here, not as pydantic's errors (memory)
        extra = [{"type": "extra_forbidden", "loc": (k,), "input": v} for k, v in data.items() if k not in by_id]
        data = {k: v for k, v in data.items() if k in by_id}
    try:
        model = referral_model(fields).model_validate(data)
    except ValidationError as exc:
        return None, _problems(exc.errors(include_url=False) + extra, by_id, doc, prefix)
    if extra:
        return None, _problems(extra, by_id, doc, prefix)
    return to_values(model), []


def _problems(errors: list[Any], fields: Mapping[str, FormField], doc: Located, prefix: Path_) -> list[Problem]:
    """Every problem, in line order; past `LISTED` of them, the first ones and how many more there are
    (the words of each, a did-you-mean among them, are worked out only for those listed)."""
    def place(err: Any) -> Path_:
        extra = (err["ctx"]["index"],) if err["type"] == "values_not_allowed" else ()
        return prefix + tuple(err["loc"]) + extra

    unlisted: list[Problem] = []
    if len(errors) > LISTED:
        def where(err: Any) -> tuple[int, int]:
            found = doc.at(place(err), "", code=Code.INVALID_VALUE, key=err["type"] == "extra_forbidden")
            return found.line or 0, found.col or 0

        errors = sorted(errors, key=where)
        first = doc.at(place(errors[LISTED]), f"and {len(errors) - LISTED:,} more problems in this referral, not "
                       f"listed", code=Code.TOO_MANY_PROBLEMS, key=errors[LISTED]["type"] == "extra_forbidden")
        errors, unlisted = errors[:LISTED], [first]
    problems = []
    for err in errors:
        code, message, name, key = _message(fields, err)
        problems.append(doc.at(place(err), message, code=code, key=key, field=name))
    return sorted(set(problems), key=lambda p: (p.line or 0, p.col or 0, p.message)) + unlisted
