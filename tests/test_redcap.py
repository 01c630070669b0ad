"""REDCap: the data dictionary as REDCap reads it, and REDCap's raw records export read back as referrals.

The raw export is built here the way REDCap builds it from the dictionary
(record id first, its own event / repeat columns, one 0/1 column per checkbox
code, `<form>_complete` last), so the round trip checks the dictionary and the
reader together: every example case must give the same checklist.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pathway import conditions as C
from pathway.errors import ExportError
from pathway.inputs import iter_records
from pathway.interop.redcap import data_dictionary
from pathway.referral import validate
from pathway.service import check, referral_values
from pathway.yamlsrc import Located

from .audit_support import audit_matrix_without_sources
from .conftest import RULES, Result, edit
from .shown_when import EXPRESSIBLE, PATHWAY, REDCAP_ONLY, assignments, with_condition
from .test_wording import DECISION_WORDS

Run = Callable[..., Result]
AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
HEADER = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]
FORM = "itb_cp_referral"


def rows(dictionary: str | None = None) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(dictionary or data_dictionary(PATHWAY), newline=""))
    assert reader.fieldnames == HEADER
    return list(reader)


def by_name() -> dict[str, dict[str, str]]:
    return {r["Variable / Field Name"]: r for r in rows()}


def choices(row: dict[str, str]) -> list[str]:
    """The codes of a row's choices, split the way REDCap splits them."""
    text = row["Choices, Calculations, OR Slider Labels"]
    return [part.split(",", 1)[0].strip() for part in text.split("|")] if text else []


# -- the dictionary -----------------------------------------------------------------

def test_the_header_is_redcaps_18_columns_in_order() -> None:
    assert data_dictionary(PATHWAY).split("\n", 1)[0] == (
        'Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, Calculations, OR Slider'
        ' Labels",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,'
        "Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,"
        "Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation")


CONTRACT_CODES = ("max_tolerated_or_recommended",)
"""Choice codes of checklist-v2's public contract that contain a decision word but state none: the oral dose
reached (its label reads "the maximum dose advised"). Only these exact codes are set aside."""


def test_no_decision_wording() -> None:
    text = data_dictionary(PATHWAY)
    for code in CONTRACT_CODES:
        assert f"{code}, " in text
        text = text.replace(f"{code}, ", ", ")
    assert not DECISION_WORDS.findall(text)


def test_one_row_per_field_in_form_order_with_the_record_id_first() -> None:
    table = rows()
    assert [r["Variable / Field Name"] for r in table] == list(PATHWAY.fields)
    assert table[0]["Variable / Field Name"] == "referral_id"
    assert {r["Form Name"] for r in table} == {FORM}
    types = {"tristate": "radio", "choice": "radio", "multichoice": "checkbox", "number": "text", "date": "text",
             "text": "text", "longtext": "notes"}
    assert [r["Field Type"] for r in table] == [types[f.type] for f in PATHWAY.fields.values()]


def test_rows_map_the_fields_as_documented() -> None:
    row = by_name()
    assert list(row["referral_id"].values()) == [
        "referral_id", FORM, "Referral and child", "text", "Referral id", "",
        "A pseudonymous referral id, such as R-2026-014. Never a name or a hospital number.",
        "", "", "", "", "", "y", "", "", "", "", "@CHARLIMIT=64"]
    assert list(row["age_years"].values()) == [
        "age_years", FORM, "", "text", "Age", "", "The child's age in years at referral.",
        "number", "0", "25", "", "", "", "", "", "", "", ""]
    assert list(row["referral_date"].values())[3:10] == ["text", "Referral date", "",
                                                          "The date of the referral (YYYY-MM-DD).", "date_ymd", "", ""]
    assert row["diagnosis_cp"]["Choices, Calculations, OR Slider Labels"] == "yes, Yes | no, No | unknown, Unknown"
    assert list(row["oral_outcome"].values()) == [
        "oral_outcome", FORM, "", "radio", "Outcome of oral medication",
        "adequate_control, Adequate control | inadequate_control, Inadequate control | not_tolerated, Not tolerated",
        "", "", "", "", "", "[oral_tried] = 'yes'", "", "", "", "", "", ""]
    impact = row["functional_impact"]
    assert (impact["Field Type"], impact["Field Annotation"]) == ("checkbox", "@NONEOFTHEABOVE=none")
    assert choices(impact) == ["movement", "daily_activities", "quality_of_life", "comfort_pain", "pain",
                               "ease_of_care", "posture", "none"]
    assert (row["notes"]["Field Type"], row["notes"]["Field Annotation"]) == ("notes", "@CHARLIMIT=4000")


def test_branching_logic_of_every_dependent_field() -> None:
    logic = {r["Variable / Field Name"]: r["Branching Logic (Show field only if...)"] for r in rows()}
    assert {k: v for k, v in logic.items() if v} == {
        "oral_agents": "[oral_tried] = 'yes'",
        "oral_outcome": "[oral_tried] = 'yes'",
        "oral_dose_optimised": "[oral_tried] = 'yes'",
        "oral_side_effects": "[oral_tried] = 'yes'",
        "local_agents": "[local_tried] = 'yes'",
        "local_outcome": "[local_tried] = 'yes'",
        "trial_method": "[trial_status] = 'done'",
        "trial_dose_mcg": "[trial_status] = 'done'",
        "trial_response": "[trial_status] = 'done'",
        "trial_measures": "[trial_status] = 'done'",
        "trial_adverse_effects": "[trial_status] = 'done'",
    }


def test_a_section_header_on_the_first_field_of_each_section_only() -> None:
    headers = [(r["Variable / Field Name"], r["Section Header"]) for r in rows() if r["Section Header"]]
    assert headers == [(s.fields[0].id, s.title) for s in PATHWAY.form]


@pytest.mark.parametrize(("cond", "logic"), [
    (C.In("gmfcs_level", ("III", "IV", "V")), "[gmfcs_level] = 'III' or [gmfcs_level] = 'IV' or [gmfcs_level] = 'V'"),
    (C.Contains("functional_impact", ("movement", "posture"), "all"),
     "[functional_impact(movement)] = '1' and [functional_impact(posture)] = '1'"),
    (C.AnyOf((C.In("gmfcs_level", ("IV", "V")), C.Compare("age_years", "ge", 12.5))),
     "([gmfcs_level] = 'IV' or [gmfcs_level] = 'V') or ([age_years] <> '' and [age_years] >= 12.5)"),
    (C.Answered("local_agents"), "[local_agents(botulinum_toxin)] = '1' or [local_agents(phenol)] = '1'"),
    (C.Answered("age_years"), "[age_years] <> ''"),
])
def test_branching_logic_forms(cond: C.Condition, logic: str) -> None:
    table = rows(data_dictionary(with_condition("notes", cond)))
    assert table[-1]["Branching Logic (Show field only if...)"] == logic


def raw_value(field_id: str, values: dict[str, Any], referral: dict[str, Any]) -> str:
    """A field's cell as REDCap's raw export holds it (radio code, number as typed, Y-M-D date)."""
    value = values.get(field_id)
    if value is None:
        said = referral.get(field_id)
        unknown = PATHWAY.fields[field_id].type == "tristate" and isinstance(said, str) and said.lower() == "unknown"
        return "unknown" if unknown else ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def raw_export(referrals: list[dict[str, Any]], dictionary: str) -> str:
    """What REDCap's "CSV (raw data)" export of a longitudinal project built from `dictionary` holds."""
    table = rows(dictionary)
    columns: list[str] = []
    for r in table:
        name = r["Variable / Field Name"]
        columns += [f"{name}___{code}" for code in choices(r)] if r["Field Type"] == "checkbox" else [name]
    header = columns[:1] + ["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"] + columns[1:]
    header.append(f"{table[0]['Form Name']}_complete")
    out = io.StringIO()
    writer = csv.writer(out)  # REDCap's own line ends: \r\n
    writer.writerow(header)
    for referral in referrals:
        values, problems = validate(referral, tuple(PATHWAY.fields.values()), Located("r", referral))
        assert values is not None, problems
        cells = {"redcap_event_name": "referral_arm_1", f"{FORM}_complete": "2"}
        for r in table:
            name = r["Variable / Field Name"]
            if r["Field Type"] == "checkbox":
                cells |= {f"{name}___{code}": "1" if code in (values[name] or ()) else "0" for code in choices(r)}
            else:
                cells[name] = raw_value(name, values, referral)
        writer.writerow([cells.get(c, "") for c in header])
    return out.getvalue()


def test_a_raw_records_export_of_every_example_case_reads_back_as_the_same_referrals(tmp_path: Path) -> None:
    cases = PATHWAY.cases
    export = tmp_path / "ITBReferrals_DATA_2026-12-03_0900.csv"
    export.write_text(raw_export([c.referral for c in cases], data_dictionary(PATHWAY)), encoding="utf-8")
    header = export.read_bytes().decode("utf-8").split("\r\n", 1)[0].split(",")
    assert header[:5] == ["referral_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                          "referral_date"]
    assert "functional_impact___ease_of_care" in header and header[-1] == f"{FORM}_complete"
    records = list(iter_records([export], PATHWAY))
    assert len(records) == len(cases)
    for record, case in zip(records, cases):
        assert record.problem is None
        via_redcap = referral_values(PATHWAY, record.doc)
        direct = referral_values(PATHWAY, Located(case.file, case.referral))
        assert via_redcap == direct, case.name
        assert check(PATHWAY, via_redcap, at=AT).to_json() == check(PATHWAY, direct, at=AT).to_json()


def redcap_shows(logic: str, row: dict[str, str]) -> bool:
    """REDCap's reading of branching logic (blank fails every comparison), by translation to Python."""
    expr = re.sub(r"\[(\w+)\((\w+)\)\]", lambda m: f"row[{m[1] + '___' + m[2]!r}]", logic)
    expr = re.sub(r"\[(\w+)\] (<=|>=|<|>) ([\d.]+)", lambda m: f"float(row[{m[1]!r}]) {m[2]} {m[3]}", expr)
    expr = re.sub(r"\[(\w+)\]", lambda m: f"row[{m[1]!r}]", expr).replace(" <> ", " != ").replace(" = ", " == ")
    return bool(eval(expr, {"row": row, "float": float}))  # our own generated logic, never user input


@pytest.mark.parametrize("cond", EXPRESSIBLE + REDCAP_ONLY, ids=C.describe)
def test_branching_logic_shows_a_field_exactly_when_its_condition_is_true(cond: C.Condition) -> None:
    pathway = with_condition("notes", cond)
    dictionary = data_dictionary(pathway)
    logic = rows(dictionary)[-1]["Branching Logic (Show field only if...)"]
    for referral in assignments(cond):
        export = list(csv.DictReader(io.StringIO(raw_export([referral], dictionary), newline="")))[0]
        values = referral_values(pathway, Located("r", referral))
        assert redcap_shows(logic, export) == (C.evaluate(cond, values) is True), referral


# -- what REDCap cannot hold fails the export, naming each field ---------------------------

def test_a_pathway_redcap_cannot_hold_fails_naming_every_field() -> None:
    fields = {f.id: f for f in PATHWAY.fields.values()}
    renamed = {"notes": replace(fields["notes"], id="free-notes", shown_when=C.Not(C.In("oral_tried", ("yes",)))),
               "local_agents": replace(fields["local_agents"], options=tuple(
                   replace(o, value="Phenol") if o.value == "phenol" else o for o in fields["local_agents"].options)),
               "gmfcs_level": replace(fields["gmfcs_level"], options=tuple(
                   replace(o, label="I | walks") if o.value == "I" else o for o in fields["gmfcs_level"].options))}
    first, *rest = PATHWAY.form
    form = (replace(first, fields=first.fields[1:] + first.fields[:1]),) + tuple(rest)
    form = tuple(replace(s, fields=tuple(renamed.get(f.id, f) for f in s.fields)) for s in form)
    with pytest.raises(ExportError) as info:
        data_dictionary(replace(PATHWAY, form=form, fields={}))
    assert str(info.value) == (
        "cannot export the pathway as a REDCap data dictionary:\n"
        "  REDCap keys records on the first field: the form's first field must be the text field 'referral_id',"
        " not 'referral_date'\n"
        "  field 'gmfcs_level': the label of 'I' cannot hold '|' or a line break in REDCap\n"
        "  field 'local_agents': REDCap choice code 'Phenol' must be lower-case letters, digits and underscores"
        " (it names the export column local_agents___phenol)\n"
        "  field 'free-notes': a REDCap variable name is lower-case letters, digits and underscores"
        " (not three in a row), a letter first, at most 100 characters\n"
        "  field 'free-notes': its shown_when (NOT oral_tried = yes) has no REDCap branching logic form:"
        " a negation (REDCap's logic has no 'unknown')")


# -- the command --------------------------------------------------------------------------

def test_export_redcap_writes_the_same_bytes_every_time(runner: Run, tmp_path: Path) -> None:
    first = runner("export", "redcap")
    assert (first.code, first.err) == (0, "")
    assert first.out == data_dictionary(PATHWAY) == runner("export", "redcap").out
    assert first.out.endswith("@CHARLIMIT=4000\n") and "\r" not in first.out
    out = tmp_path / "dictionary.csv"
    r = runner("export", "redcap", "-o", str(out), "--rules", str(RULES))
    assert (r.code, r.out, r.err) == (0, "", f"wrote {out}: REDCap data dictionary, 47 fields\n")
    assert out.read_bytes() == first.out.encode("utf-8")


def test_export_redcap_of_a_pathway_it_cannot_hold_exits_3(runner: Run, rules_copy: Path) -> None:
    edit(rules_copy / "form.yaml", "label: Trial method\n        shown_when: {field: trial_status, is: done}",
         "label: Trial method\n        shown_when: {not: {field: trial_status, is: planned}}")
    r = runner("export", "redcap", "--rules", str(rules_copy))
    assert (r.code, r.out) == (3, "")
    assert r.err == ("pathway: cannot export the pathway as a REDCap data dictionary:\n"
                     "  field 'trial_method': its shown_when (NOT trial_status = planned) has no REDCap branching"
                     " logic form: a negation (REDCap's logic has no 'unknown')\n")


def test_the_audit_reads_a_raw_records_export_as_it_reads_the_referrals(tmp_path: Path) -> None:
    """`pathway audit` on REDCap's raw export gives the same status matrix as on the referrals themselves."""
    cases = PATHWAY.cases
    export = tmp_path / "export.csv"
    export.write_text(raw_export([c.referral for c in cases], data_dictionary(PATHWAY)), encoding="utf-8")
    plain = tmp_path / "referrals.jsonl"
    plain.write_text("".join(json.dumps(c.referral, default=str) + "\n" for c in cases), encoding="utf-8")
    via_redcap = audit_matrix_without_sources(export, tmp_path)
    assert len(via_redcap) == len(cases) + 1
    assert via_redcap == audit_matrix_without_sources(plain, tmp_path)
