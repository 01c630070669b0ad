"""The pathway's form as a REDCap data dictionary (CSV), so a service can collect referrals in REDCap.

REDCap's "raw" records export of a project built from this dictionary is read
back by `pathway.inputs` (checkbox columns `field___code`, REDCap's own
columns such as `redcap_event_name` and `<form>_complete` ignored), so audit
and mdt give the same checklist as for the referral files.

Form field → dictionary row (one instrument, `<pathway id>_referral`):
- the first row is the record id: REDCap keys records on the first field, so
  the form's first field must be `referral_id` (else the export fails);
- tristate → `radio` with `yes, Yes | no, No | unknown, Unknown`;
- choice → `radio` with `code, label | ...`;
- multichoice → `checkbox` (exported as one 0/1 column per code); an
  exclusive option ("none") gets the `@NONEOFTHEABOVE` action tag;
- number → `text` validated as `number` with min and max; date → `text` as
  `date_ymd`; text → `text`; longtext → `notes`; a maximum length →
  `@CHARLIMIT`;
- required → `y`; help (else the unit) → Field Note; a section header on the
  first field of each section; Identifier? left blank (the form is
  pseudonymous by design);
- shown_when → branching logic: `[oral_tried] = 'yes'`, a multi-choice test
  `[field(code)] = '1'`, numbers `[f] <> '' and [f] < 18`, answered `[f] <>
  ''`, all / any as and / or. These conditions have no negation, so REDCap's
  two-valued logic (a blank field fails every test) shows a field exactly when
  the pathway's three-valued condition is true; a negation fails the export.

REDCap names must be lower-case letters, digits and underscores (at most 100
characters, a letter first), checkbox codes likewise lower-case (they become
column names); a pathway that breaks this fails the export, naming each field.
Output: UTF-8, "\\n" line ends (REDCap reads either), the same bytes for the
same rules.
"""
from __future__ import annotations

import csv
import io
import re

from .. import conditions as C
from ..definition import FormField, Pathway
from ..errors import ExportError
from ..fieldkinds import FieldKind
from ..csvlayout import REDCAP_COLUMNS, form_name

HEADER = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
RECORD_ID = "referral_id"
UNKNOWN_CHOICE = ("unknown", "Unknown")
"""The choice of a kind that says unknown (a tri-state's third state)."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_RADIO_CODE = re.compile(r"^[A-Za-z0-9_]+$")
_CHECKBOX_CODE = re.compile(r"^[a-z0-9_]+$")
_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def data_dictionary(pathway: Pathway) -> str:
    """The REDCap data dictionary CSV, or `ExportError` naming every field REDCap cannot hold."""
    form = form_name(pathway)
    problems = _check(pathway, form)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for section in pathway.form:
        for k, f in enumerate(section.fields):
            logic = ""
            if f.shown_when is not None:
                try:
                    logic = _logic(pathway, f.shown_when)
                except _Inexpressible as exc:
                    problems.append(f"field '{f.id}': its shown_when ({C.describe(f.shown_when)}) has no REDCap"
                                    f" branching logic form: {exc}")
            row = {
                "Variable / Field Name": f.id,
                "Form Name": form,
                "Section Header": section.title if k == 0 else "",
                "Field Type": f.kind.redcap_type,
                "Field Label": f.label,
                "Choices, Calculations, OR Slider Labels": " | ".join(f"{c}, {label}" for c, label in _choices(f)),
                "Field Note": f.help or f.unit or "",
                "Text Validation Type OR Show Slider Number": f.kind.redcap_validation,
                "Text Validation Min": _number(f.min),
                "Text Validation Max": _number(f.max),
                "Branching Logic (Show field only if...)": logic,
                "Required Field?": "y" if f.required else "",
                "Field Annotation": _annotation(f),
            }
            writer.writerow([row.get(column, "") for column in HEADER])
    if problems:
        raise ExportError("a REDCap data dictionary", problems)
    return out.getvalue()


def _choices(f: FormField) -> list[tuple[str, str]]:
    """(code, label) of each choice: the kind's own (and unknown where it says so), or the form's options."""
    if f.kind.answers:
        return [*f.kind.answers, UNKNOWN_CHOICE] if f.kind.says_unknown else list(f.kind.answers)
    return [(o.value, o.label) for o in f.options]


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(value)


def _annotation(f: FormField) -> str:
    tags = []
    if f.max_length and f.kind.free_text:
        tags.append(f"@CHARLIMIT={f.max_length}")
    tags += [f"@NONEOFTHEABOVE={o.value}" for o in f.options if o.exclusive and f.kind.multiple]
    return " ".join(tags)


def _check(pathway: Pathway, form: str) -> list[str]:
    """Everything about the form that REDCap cannot hold, one message per problem."""
    problems = []
    first = pathway.form[0].fields[0]
    if first.id != RECORD_ID or first.type is not FieldKind.TEXT:
        problems.append(f"REDCap keys records on the first field: the form's first field must be the text field"
                        f" '{RECORD_ID}', not '{first.id}'")
    if not _NAME.match(form):
        problems.append(f"pathway id '{pathway.id}' gives the instrument name '{form}', which REDCap cannot use")
    reserved = set(REDCAP_COLUMNS) | {f"{form}_complete"}
    for f in pathway.fields.values():
        if not _NAME.match(f.id) or "___" in f.id:
            problems.append(f"field '{f.id}': a REDCap variable name is lower-case letters, digits and underscores"
                            " (not three in a row), a letter first, at most 100 characters")
        elif f.id in reserved or f.id.startswith("redcap_"):
            problems.append(f"field '{f.id}': REDCap uses this name itself")
        code_ok = _CHECKBOX_CODE if f.kind.multiple else _RADIO_CODE
        for code, label in _choices(f):
            if not code_ok.match(code):
                rule = "lower-case letters, digits and underscores (it names the export column" \
                       f" {f.id}___{code.lower()})" if f.kind.multiple else "letters, digits and underscores"
                problems.append(f"field '{f.id}': REDCap choice code '{code}' must be {rule}")
            if "|" in label or "\n" in label:
                problems.append(f"field '{f.id}': the label of '{code}' cannot hold '|' or a line break in REDCap")
    return problems


class _Inexpressible(Exception):
    pass


def _logic(pathway: Pathway, cond: C.Condition, nested: bool = False) -> str:
    """REDCap branching logic showing a field when `cond` is true (parenthesised when nested)."""
    if isinstance(cond, (C.All, C.AnyOf)):
        joiner = " and " if isinstance(cond, C.All) else " or "
        text = joiner.join(_logic(pathway, p, nested=True) for p in cond.parts)
        return f"({text})" if nested else text
    if isinstance(cond, C.Not):
        raise _Inexpressible("a negation (REDCap's logic has no 'unknown')")
    f = pathway.fields[cond.field]
    if isinstance(cond, C.In):
        tests = [f"[{f.id}] = '{v}'" for v in cond.values]
        joiner = " or "
    elif isinstance(cond, C.Contains):
        tests = [f"[{f.id}({v})] = '1'" for v in cond.values]
        joiner = " and " if cond.mode == "all" else " or "
    elif isinstance(cond, C.Compare):
        tests = [f"[{f.id}] <> ''", f"[{f.id}] {_COMPARE[cond.op]} {_number(cond.number)}"]
        joiner = " and "
    elif f.kind.multiple:  # answered: any box ticked
        tests = [f"[{f.id}({v})] = '1'" for v in f.values]
        joiner = " or "
    else:
        tests = [f"[{f.id}] <> ''"]
        joiner = " and "
    text = joiner.join(tests)
    return f"({text})" if nested and len(tests) > 1 else text
