"""The pathway's form as a FHIR R4 Questionnaire, and QuestionnaireResponses read back as referrals.

Pure functions of the pathway and plain JSON data (no I/O), so the CLI, the
web API and the tests share them. A response is turned into the flat referral
mapping and then validated like any referral file, so it gets the same
checklist, with problems located at the answer in the response file.

Form field → Questionnaire item (R4, 4.0.1):
- tristate → `choice`, answerOption yes / no / unknown in the pathway's own
  code system `<base>/CodeSystem/yes-no-unknown`. Not `boolean`: "unknown"
  must be answerable, and distinct from unanswered. A response may also answer
  `valueBoolean` (true → yes, false → no).
- choice → `choice`, answerOption valueCoding: system `<base>/CodeSystem/<field
  id>`, code = option value, display = its label.
- multichoice → `choice` with `repeats: true`; an exclusive option ("none")
  carries the core `questionnaire-optionExclusive` extension.
- number → `decimal` (an age can be 9.5), min and max as the core `minValue`
  / `maxValue` extensions, the unit as `questionnaire-unit`. A response may
  answer valueDecimal or valueInteger.
- date → `date`; text → `string` (`maxLength`); longtext → `text`.
- required → `required: true`; help → a `display` child with itemControl help.
- a form section → a `group` item, linkId = section id.
- shown_when → `enableWhen` (question = field id): one test, or an all / any
  of tests, each one enableWhen (is, in, contains, contains_any,
  contains_all, lt..ge, answered), with `enableBehavior` when there are
  several. These conditions have no negation, so FHIR's reading (a question
  not answered makes its test false) shows a question exactly when the
  pathway's three-valued condition is true. A negation, or all/any nested
  deeper, has no enableWhen form: the export fails naming the field.

The Questionnaire is `<base>/Questionnaire/<pathway id>`, version = pathway
version, where `<base>` is pathway.yaml's `canonical` (default
`urn:itb-pathway:<id>`). No date: the same rules give the same bytes.

Reading a response: items are walked through groups and `answer.item`, so a
flat response is read too. Every answer is checked against its item's type
and every problem names the linkId. The referral id is the `referral_id`
answer, else `QuestionnaireResponse.identifier.value`; both given and
different is an error (a report must not carry the wrong child's id). A
response `entered-in-error` is refused, and so is one naming another
Questionnaire (any version of this one is read: its answers are checked
anyway). A coding without a system is read as the pathway's.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import conditions as C
from ..definition import FormField, Pathway
from ..errors import Code, ExportError, InputError, Problem
from ..fieldkinds import KINDS
from ..referral import validate
from ..suggest import did_you_mean, one_of
from ..yamlsrc import Located, Path_

EXT = "http://hl7.org/fhir/StructureDefinition/"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
UNKNOWN_OPTION = ("unknown", "Unknown")
"""The answer option of a kind that says unknown (a tri-state's third state)."""
_ENABLE_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


# -- names ---------------------------------------------------------------------

def base(pathway: Pathway) -> str:
    """The base URI of the pathway's FHIR artefacts."""
    return pathway.canonical or f"urn:itb-pathway:{pathway.id}"


def questionnaire_url(pathway: Pathway) -> str:
    return f"{base(pathway)}/Questionnaire/{pathway.id}"


def code_system(pathway: Pathway, field: FormField) -> str:
    """Where a coded field's answer codes live: one system for every tri-state, one per choice field."""
    return f"{base(pathway)}/CodeSystem/{field.kind.fhir_system or field.id}"


def _name(pathway_id: str) -> str:
    """A computer-friendly name (constraint que-0): itb-cp → ItbCp."""
    return "".join(part[:1].upper() + part[1:] for part in pathway_id.replace(".", "-").replace("_", "-").split("-"))


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _options(field: FormField) -> list[tuple[str, str, bool]]:
    """(code, label, exclusive) of each answer option: the kind's own (and unknown where it says so), or the form's."""
    kind = field.kind
    if kind.answers:
        own = [*kind.answers, UNKNOWN_OPTION] if kind.says_unknown else list(kind.answers)
        return [(code, label, False) for code, label in own]
    return [(o.value, o.label, o.exclusive) for o in field.options]


# -- the Questionnaire ---------------------------------------------------------

def questionnaire(pathway: Pathway) -> dict[str, Any]:
    """The pathway's form as a FHIR R4 Questionnaire (JSON-ready), or `ExportError` naming each field it
    cannot express."""
    problems: list[str] = []
    groups = []
    for section in pathway.form:
        children: list[dict[str, Any]] = []
        if section.description:
            children.append({"linkId": f"{section.id}.description", "text": section.description, "type": "display"})
        children += [_item(pathway, f, problems) for f in section.fields]
        groups.append({"linkId": section.id, "text": section.title, "type": "group", "item": children})
    seen: set[str] = set()
    for link in _link_ids(groups):
        if link in seen:
            problems.append(f"linkId '{link}' would be used twice (a section, field or help item shares it)")
        seen.add(link)
    shared = {f"{base(pathway)}/CodeSystem/{k.fhir_system}" for k in KINDS.values() if k.fhir_system}
    for f in pathway.fields.values():
        if f.kind.listed and (system := code_system(pathway, f)) in shared:
            problems.append(f"field '{f.id}': its code system would be the tri-state one ({system}); rename the field")
    if problems:
        raise ExportError("a FHIR Questionnaire", problems)
    return {
        "resourceType": "Questionnaire",
        "id": re.sub(r"[^A-Za-z0-9.-]", "-", pathway.id)[:64],  # FHIR's id alphabet
        "url": questionnaire_url(pathway),
        "version": pathway.version,
        "name": _name(pathway.id),
        "title": pathway.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": pathway.description,
        "purpose": pathway.disclaimer,
        "item": groups,
    }


def _link_ids(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for item in items:
        out.append(item["linkId"])
        out += _link_ids(item.get("item", []))
    return out


def _item(pathway: Pathway, f: FormField, problems: list[str]) -> dict[str, Any]:
    extensions: list[dict[str, Any]] = []
    if f.min is not None:
        extensions.append({"url": EXT + "minValue", "valueDecimal": _number(f.min)})
    if f.max is not None:
        extensions.append({"url": EXT + "maxValue", "valueDecimal": _number(f.max)})
    if f.unit:
        extensions.append({"url": EXT + "questionnaire-unit", "valueCoding": {"display": f.unit}})
    item: dict[str, Any] = {}
    if extensions:
        item["extension"] = extensions
    item |= {"linkId": f.id, "text": f.label, "type": f.kind.fhir_item}
    if f.shown_when is not None:
        try:
            entries, behaviour = _enable_when(pathway, f.shown_when)
        except _Inexpressible as exc:
            problems.append(f"field '{f.id}': its shown_when ({C.describe(f.shown_when)}) has no FHIR enableWhen form:"
                            f" {exc}")
        else:
            item["enableWhen"] = entries
            if behaviour:
                item["enableBehavior"] = behaviour
    if f.required:
        item["required"] = True
    if f.kind.multiple:
        item["repeats"] = True
    if f.max_length and f.kind.free_text:
        item["maxLength"] = f.max_length
    if f.kind.coded:
        system = code_system(pathway, f)
        options = []
        for code, label, exclusive in _options(f):
            option: dict[str, Any] = {}
            if exclusive:
                option["extension"] = [{"url": EXT + "questionnaire-optionExclusive", "valueBoolean": True}]
            option["valueCoding"] = {"system": system, "code": code, "display": label}
            options.append(option)
        item["answerOption"] = options
    if f.help:
        item["item"] = [{
            "extension": [{"url": EXT + "questionnaire-itemControl", "valueCodeableConcept": {
                "coding": [{"system": ITEM_CONTROL, "code": "help", "display": "Help-Button"}]}}],
            "linkId": f"{f.id}.help", "text": f.help, "type": "display",
        }]
    return item


class _Inexpressible(Exception):
    pass


def _enable_when(pathway: Pathway, cond: C.Condition) -> tuple[list[dict[str, Any]], str | None]:
    """enableWhen entries and the enableBehavior that combines them (None for a single entry)."""
    if isinstance(cond, (C.All, C.AnyOf)):
        wanted = "all" if isinstance(cond, C.All) else "any"
        entries: list[dict[str, Any]] = []
        for part in cond.parts:
            if isinstance(part, (C.All, C.AnyOf, C.Not)):
                raise _Inexpressible("enableWhen takes one level of all/any, without negation")
            sub, behaviour = _enable_when(pathway, part)
            if behaviour not in (None, wanted):
                raise _Inexpressible(f"a test needing '{behaviour}' inside '{wanted}'")
            entries += sub
        return entries, wanted
    if isinstance(cond, C.Not):
        raise _Inexpressible("a negation (FHIR shows a question whose test is unanswered differently)")
    field = pathway.fields[cond.field]
    if isinstance(cond, (C.In, C.Contains)):
        system = code_system(pathway, field)
        entries = [{"question": cond.field, "operator": "=", "answerCoding": {"system": system, "code": v}}
                   for v in cond.values]
        if len(entries) == 1:
            return entries, None
        return entries, "all" if isinstance(cond, C.Contains) and cond.mode == "all" else "any"
    if isinstance(cond, C.Compare):
        return [{"question": cond.field, "operator": _ENABLE_OPS[cond.op], "answerDecimal": _number(cond.number)}], None
    return [{"question": cond.field, "operator": "exists", "answerBoolean": True}], None


# -- a referral as a QuestionnaireResponse ---------------------------------------

def referral_to_response(referral: Mapping[str, Any], pathway: Pathway) -> dict[str, Any]:
    """A referral mapping (as in a referral file) as a QuestionnaireResponse to the pathway's Questionnaire.

    For round-trip tests and for systems that hold referrals as files. An
    explicit tri-state `unknown` stays an answer; other unknowns are left out.
    """
    values, problems = validate(dict(referral), tuple(pathway.fields.values()), Located("referral", referral))
    if values is None:
        raise InputError(problems)
    groups = []
    for section in pathway.form:
        items = []
        for f in section.fields:
            answers = _answers(pathway, f, referral.get(f.id), values.get(f.id))
            if answers:
                items.append({"linkId": f.id, "text": f.label, "answer": answers})
        if items:
            groups.append({"linkId": section.id, "text": section.title, "item": items})
    response: dict[str, Any] = {"resourceType": "QuestionnaireResponse"}
    if values.get("referral_id"):
        response["identifier"] = {"value": values["referral_id"]}
    response |= {"questionnaire": f"{questionnaire_url(pathway)}|{pathway.version}", "status": "completed",
                 "item": groups}
    return response


def _answers(pathway: Pathway, f: FormField, raw: Any, value: Any) -> list[dict[str, Any]]:
    labels = {code: label for code, label, _exclusive in _options(f)}

    def coding(code: str) -> dict[str, Any]:
        return {"valueCoding": {"system": code_system(pathway, f), "code": code, "display": labels.get(code, code)}}

    kind = f.kind
    if value is None:
        said_unknown = isinstance(raw, str) and raw.strip().lower() == "unknown"
        return [coding("unknown")] if kind.says_unknown and said_unknown else []
    if kind.multiple:
        return [coding(v) for v in value]
    if kind.coded:
        return [coding(value)]
    key = kind.fhir_values[0]
    return [{key: _number(value) if key == "valueDecimal" else value}]


# -- a QuestionnaireResponse as a referral ---------------------------------------

def values_from_response(data: Mapping[str, Any], pathway: Pathway, doc: Located, prefix: Path_ = ()) -> dict[str, Any]:
    """The referral mapping a QuestionnaireResponse answers, or `InputError` with every problem, each naming
    its linkId."""
    mapping: dict[str, Any] = response_document(data, pathway, doc, prefix).data
    return mapping


def response_document(data: Mapping[str, Any], pathway: Pathway, doc: Located, prefix: Path_ = ()) -> Located:
    """Like `values_from_response`, as a document whose field positions are the answers' places in `doc`.

    So that the referral validation that follows reports, say, an age out of
    range at the line of the answer in the response file.
    """
    reader = _ResponseReader(pathway, doc, prefix)
    reader.read(data)
    if reader.problems:
        raise InputError(reader.problems)
    positions: dict[Path_, tuple[int, int]] = {(): doc.values[prefix]} if prefix in doc.values else {}
    positions |= reader.positions
    return Located(doc.file, reader.mapping, positions, {})


def _kind(f: FormField) -> str:
    return "a yes/no/unknown choice" if f.kind.says_unknown else f"a {f.kind.fhir_item}"


class _ResponseReader:
    """Walks one QuestionnaireResponse, collecting answers by field id and every problem."""

    def __init__(self, pathway: Pathway, doc: Located, prefix: Path_) -> None:
        self.pathway = pathway
        self.doc = doc
        self.prefix = prefix
        self.problems: list[Problem] = []
        self.mapping: dict[str, Any] = {}
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.seen: set[str] = set()
        sections = {s.id: "a group" for s in pathway.form}
        displays = {f"{s.id}.description": "a display item" for s in pathway.form if s.description}
        displays |= {f"{f.id}.help": "a display item" for f in pathway.fields.values() if f.help}
        self.structure = sections | displays

    def fail(self, code: Code, path: Path_, message: str, field: str | None = None) -> None:
        self.problems.append(self.doc.at(self.prefix + path, message, code=code, field=field))

    def read(self, data: Mapping[str, Any]) -> None:
        kind = data.get("resourceType")
        if kind != "QuestionnaireResponse":
            what = f"a FHIR {kind}" if isinstance(kind, str) else f"resourceType {kind!r}"
            self.fail(Code.NOT_A_QUESTIONNAIRE_RESPONSE, ("resourceType",),
                      f"{what} is not a referral: send a QuestionnaireResponse answering the"
                      " pathway's Questionnaire (pathway export questionnaire)")
            return
        if data.get("status") == "entered-in-error":
            self.fail(Code.ENTERED_IN_ERROR, ("status",),
                      "this QuestionnaireResponse is marked entered-in-error: it must not be used")
        self.questionnaire(data.get("questionnaire"))
        items = data.get("item", [])
        if not isinstance(items, list):
            self.fail(Code.NOT_A_LIST, ("item",), "'item' must be a list of items")
        else:
            self.walk(items, ("item",))
        self.identifier(data.get("identifier"))

    def questionnaire(self, ref: Any) -> None:
        if ref is None:
            return
        url = questionnaire_url(self.pathway)
        if not isinstance(ref, str) or ref.split("|", 1)[0] != url:
            self.fail(Code.WRONG_QUESTIONNAIRE, ("questionnaire",),
                      f"this response answers the Questionnaire {ref!r}, not this pathway's '{url}'")

    def identifier(self, ident: Any) -> None:
        """R4's identifier is one Identifier (R5 made it a list: a list of one is read too)."""
        at: Path_ = ("identifier",)
        if isinstance(ident, list) and len(ident) == 1:
            ident, at = ident[0], at + (0,)
        if ident is None:
            return
        value = ident.get("value") if isinstance(ident, dict) else None
        if not isinstance(value, str) or not value.strip():
            self.fail(Code.BAD_IDENTIFIER, at, "identifier must be one Identifier with a 'value' (the referral id)")
            return
        answered = self.mapping.get("referral_id")
        if answered is None:
            self.mapping["referral_id"] = value
            position = self.doc.values.get(self.prefix + at + ("value",))
            if position:
                self.positions[("referral_id",)] = position
        elif isinstance(answered, str) and answered.strip() != value.strip():
            self.fail(Code.CONFLICTING_ID, at + ("value",),
                      f"identifier.value '{value}' differs from the referral_id answer '{answered}'",
                      field="referral_id")

    def walk(self, items: list[Any], path: Path_) -> None:
        for i, item in enumerate(items):
            at = path + (i,)
            if not isinstance(item, dict):
                self.fail(Code.BAD_ITEM, at, "an item must be a JSON object with a linkId")
                continue
            link = item.get("linkId")
            if not isinstance(link, str):
                self.fail(Code.BAD_ITEM, at, "an item needs a linkId")
                continue
            field = self.pathway.fields.get(link)
            if field is not None:
                self.answers(field, item, at)
            elif link in self.structure:
                if item.get("answer"):
                    self.fail(Code.UNEXPECTED_ANSWER, at + ("answer",),
                              f"linkId '{link}' is {self.structure[link]} and takes no answer")
            else:
                known = list(self.pathway.fields) + list(self.structure)
                self.fail(Code.UNKNOWN_LINK_ID, at + ("linkId",),
                          f"linkId '{link}' is not in the pathway's Questionnaire{did_you_mean(link, known)}")
                continue
            children = item.get("item")
            if isinstance(children, list):
                self.walk(children, at + ("item",))
            answers = item.get("answer")
            if isinstance(answers, list):
                for j, answer in enumerate(answers):
                    if isinstance(answer, dict) and isinstance(answer.get("item"), list):
                        self.walk(answer["item"], at + ("answer", j, "item"))

    def answers(self, f: FormField, item: dict[str, Any], at: Path_) -> None:
        if f.id in self.seen:
            self.fail(Code.DUPLICATE_ANSWER, at + ("linkId",), f"linkId '{f.id}' is answered more than once",
                      field=f.id)
            return
        self.seen.add(f.id)
        answers = item.get("answer", [])
        if not isinstance(answers, list):
            self.fail(Code.NOT_A_LIST, at + ("answer",), f"linkId '{f.id}': 'answer' must be a list", field=f.id)
            return
        if not answers:
            return
        if len(answers) > 1 and not f.kind.multiple:
            self.fail(Code.TOO_MANY_ANSWERS, at + ("answer",), f"linkId '{f.id}' takes one answer, not {len(answers)}",
                      field=f.id)
            return
        got: list[Any] = []
        for j, answer in enumerate(answers):
            where = at + ("answer", j)
            value = self.value(f, answer, where)
            if value is not _BAD:
                got.append(value)
                position = self.doc.values.get(self.prefix + where + (self._value_key(answer),))
                if position:
                    self.positions[(f.id, j) if f.kind.multiple else (f.id,)] = position
                    self.positions.setdefault((f.id,), position)
        if len(got) == len(answers):
            self.mapping[f.id] = got if f.kind.multiple else got[0]

    @staticmethod
    def _value_key(answer: Mapping[str, Any]) -> str:
        return next((k for k in answer if k.startswith("value")), "")

    def value(self, f: FormField, answer: Any, at: Path_) -> Any:
        expected = f.kind.fhir_values
        keys = [k for k in answer if k.startswith("value")] if isinstance(answer, dict) else []
        if len(keys) != 1:
            what = "no value" if not keys else f"{len(keys)} values ({', '.join(keys)})"
            self.fail(Code.ANSWER_VALUE_COUNT, at, f"linkId '{f.id}': an answer needs exactly one value, here {what};"
                                                   f" expected {' or '.join(expected)}", field=f.id)
            return _BAD
        key = keys[0]
        raw = answer[key]
        where = at + (key,)
        if key not in expected:
            self.fail(Code.WRONG_ANSWER_TYPE, where, f"linkId '{f.id}': {key} does not answer {_kind(f)} question;"
                                                     f" expected {' or '.join(expected)}", field=f.id)
            return _BAD
        if key == "valueCoding":
            return self.coding(f, raw, where)
        if key == "valueBoolean":
            if isinstance(raw, bool):
                return "yes" if raw else "no"
            self.fail(Code.WRONG_ANSWER_TYPE, where,
                      f"linkId '{f.id}': valueBoolean must be true or false, not {raw!r}", field=f.id)
            return _BAD
        if key in ("valueDecimal", "valueInteger"):
            number_ok = isinstance(raw, int) if key == "valueInteger" else isinstance(raw, (int, float))
            if number_ok and not isinstance(raw, bool):
                return raw
            self.fail(Code.WRONG_ANSWER_TYPE, where, f"linkId '{f.id}': {key} must be a JSON number, not {raw!r}",
                      field=f.id)
            return _BAD
        if isinstance(raw, str):  # valueDate, valueString
            return raw
        self.fail(Code.WRONG_ANSWER_TYPE, where, f"linkId '{f.id}': {key} must be a JSON string, not {raw!r}",
                  field=f.id)
        return _BAD

    def coding(self, f: FormField, coding: Any, at: Path_) -> Any:
        codes = [code for code, _label, _exclusive in _options(f)]
        if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
            self.fail(Code.BAD_CODING, at, f"linkId '{f.id}': valueCoding needs a 'code', one of {one_of(codes)}",
                      field=f.id)
            return _BAD
        system = code_system(self.pathway, f)
        if coding.get("system", system) != system:
            self.fail(Code.WRONG_CODE_SYSTEM, at + ("system",),
                      f"linkId '{f.id}': code system {coding['system']!r} is not the pathway's; expected '{system}'",
                      field=f.id)
            return _BAD
        return coding["code"]


_BAD = object()
"""A value that could not be read (its problem is already recorded)."""
