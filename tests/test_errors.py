"""Every problem carries a stable code (`errors.Code`), set where it is made, and no module
branches on a message's wording: codes are for programs, messages for people."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pathway.definition import Pathway
from pathway.errors import Code, InputError, Problem, RulesError
from pathway.inputs import iter_records
from pathway.loader import load_pathway
from pathway.service import read_document, referral_values, validate_referral
from pathway.yamlsrc import LoadFailure, load_json, load_yaml

from .conftest import edit

PACKAGE = Path(__file__).resolve().parents[1] / "pathway"

Found = list[tuple[int | None, int | None, Code]]


def test_a_problem_cannot_be_made_without_a_code() -> None:
    with pytest.raises(TypeError, match="code"):
        Problem("f.yaml", 1, 2, "bad")  # type: ignore[call-arg]
    doc = load_yaml("a: 1\n", "f.yaml")
    with pytest.raises(TypeError, match="code"):
        doc.at(("a",), "bad")  # type: ignore[call-arg]
    problem = doc.at(("a",), "bad", code=Code.INVALID_VALUE)
    assert (problem.code, str(problem)) == (Code.INVALID_VALUE, "f.yaml:1:4: bad")   # the code is not in the message


def test_codes_are_distinct_kebab_case_ids_that_print_as_themselves() -> None:
    assert len(Code.__members__) == len(Code)   # no alias: two names for one value
    for code in Code:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code.value), code
        assert str(code) == f"{code}" == code.value
        assert code.name == code.value.upper().replace("-", "_")


def _sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_code_is_used_where_a_problem_is_made() -> None:
    used = "\n".join(text for path, text in _sources().items() if path != PACKAGE / "errors.py")
    assert [c.name for c in Code if not re.search(rf"\bCode\.{c.name}\b", used)] == []


WORDING = [
    re.compile(r"\.message\s*(==|!=|\bin\b|\[)"),              # problem.message == "...", problem.message[:7]
    re.compile(r"\.message\.(startswith|endswith|find|index)\("),
    re.compile(r"\bin\s+(problem|p)\.message\b"),
    re.compile(r"\bin\s+(str|repr)\((exc|err|error|e|failure)\)"),  # "error code: 309" in str(exc)
    re.compile(r"\b(str|repr)\((exc|err|error|e|failure)\)\s*(==|!=)"),
    re.compile(r"(startswith|endswith)\(f?[\"'](missing required|unknown |duplicate |not valid|not UTF-8|file not)"),
]
WEB = PACKAGE / "web"


def _compares_wording(paths: list[Path]) -> list[str]:
    found = []
    for path, text in _sources().items():
        if any(path.is_relative_to(p) for p in paths):
            for number, line in enumerate(text.splitlines(), start=1):
                if any(rx.search(line) for rx in WORDING):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    return found


def test_no_module_decides_by_a_messages_wording() -> None:
    """What a problem is, is its code; a message may be reworded without changing what any code does."""
    assert _compares_wording([p for p in PACKAGE.iterdir() if p != WEB]) == []


def test_no_web_module_decides_by_a_messages_wording() -> None:
    assert _compares_wording([WEB]) == []


def test_the_grep_finds_what_it_is_for() -> None:
    for line in ('if problem.message.startswith("missing required field"):', 'if "error code: 309" not in str(exc):',
                 "if failure.problem.message == str(exc):",
                 'elif message.startswith(f"missing required field \'{n}\'"):'):
        assert any(rx.search(line) for rx in WORDING), line


# --- what bad input yields -----------------------------------------------------------------------

def referral_codes(pathway: Pathway, path: Path, text: str) -> Found:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        referral_values(pathway, read_document(path))
    return [(p.line, p.col, p.code) for p in info.value.problems]


@pytest.mark.parametrize(("text", "expected"), [
    ("referral_id: R-1\nage_years: 40\n", [(2, 12, Code.OUT_OF_RANGE)]),
    ("referral_id: R-1\nage_years: nine\n", [(2, 12, Code.NOT_A_NUMBER)]),
    ("referral_id: R-1\nspasticity_severity: extreme\n", [(2, 22, Code.NOT_ALLOWED_VALUE)]),
    ("referral_id: R-1\ndiagnosis_cp: maybe\n", [(2, 15, Code.NOT_ALLOWED_VALUE)]),
    ("referral_id: R-1\nfunctional_impact: [none, movement]\n", [(2, 20, Code.EXCLUSIVE_COMBINED)]),
    ("referral_id: R-1\nfunctional_impact: [movement, dancing]\n", [(2, 31, Code.NOT_ALLOWED_VALUE)]),
    ("referral_id: R-1\nreferral_date: 14/10/2026\n", [(2, 16, Code.NOT_A_DATE)]),
    ("referral_id: R-1\nnotes: {a: 1}\n", [(2, 8, Code.NOT_TEXT)]),
    (f"referral_id: {'R' * 65}\n", [(1, 14, Code.TOO_LONG)]),
    (f"referral_id: R-1\nnotes: {'x' * 4001}\n", [(2, 8, Code.TOO_LONG)]),
    ("age_years: 9\n", [(1, 1, Code.MISSING_REQUIRED_FIELD)]),
    ("referral_id: ''\n", [(1, 14, Code.MISSING_REQUIRED_FIELD)]),
    ("referral_id: R-1\ncolour: blue\n", [(2, 1, Code.UNKNOWN_FIELD)]),
    ("- referral_id: R-1\n", [(1, 1, Code.NOT_A_MAPPING)]),
    ("referral_id: R-1\nreferral_id: R-2\n", [(2, 1, Code.DUPLICATE_KEY)]),
    ("referral_id: R-1\nage_years: [9\n", [(2, 12, Code.YAML_SYNTAX)]),  # where the list opened
    ("a: &x 1\nb: *x\n", [(2, 4, Code.YAML_ALIAS)]),
    ("referral_id: !!python/object {}\n", [(1, 14, Code.YAML_TAG)]),
    ("? [a]\n: 1\n", [(1, 3, Code.KEY_NOT_A_NAME)]),
    ("a: " + "[" * 70 + "]" * 70 + "\n", [(1, 67, Code.TOO_DEEP)]),
])
def test_a_bad_referral_file_has_the_expected_codes(pathway: Pathway, tmp_path: Path, text: str,
                                                    expected: Found) -> None:
    assert referral_codes(pathway, tmp_path / "r.yaml", text) == expected


def test_a_bad_json_referral_has_the_expected_codes(pathway: Pathway, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    twice = '{"referral_id": "R-1", "referral_id": "R-2"}'
    assert referral_codes(pathway, path, twice) == [(1, 24, Code.DUPLICATE_KEY)]
    assert referral_codes(pathway, path, '{"referral_id": "R-1",}') == [(1, 23, Code.JSON_SYNTAX)]
    assert referral_codes(pathway, path, '{"referral_id": "R-1", "age_years": 1e999}') == [(1, 37, Code.NOT_A_NUMBER)]


def test_a_duplicate_key_the_yaml_reader_finds_first_elsewhere_keeps_the_json_readers_word(tmp_path: Path) -> None:
    """JSON refuses the inner duplicate first, YAML the outer one: the problem names the inner key, unlocated."""
    with pytest.raises(LoadFailure) as info:
        load_json('{"a": 1, "a": {"b": 1, "b": 2}}', "r.json")
    assert (str(info.value.problem), info.value.problem.code) == ("r.json: duplicate key 'b'", Code.DUPLICATE_KEY)


def test_a_file_that_cannot_be_read_has_the_expected_code(pathway: Pathway, tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"referral_id: R-\xe9\n")
    for path, code in ((tmp_path / "absent.yaml", Code.FILE_NOT_FOUND), (tmp_path, Code.IS_A_FOLDER),
                       (tmp_path / "latin1.yaml", Code.NOT_UTF8)):
        with pytest.raises(InputError) as info:
            read_document(path)
        assert [p.code for p in info.value.problems] == [code]


def test_a_bad_fhir_response_has_the_expected_codes(pathway: Pathway, tmp_path: Path) -> None:
    patient = {"resourceType": "Patient"}
    assert referral_codes(pathway, tmp_path / "p.json", json.dumps(patient)) == [
        (1, 18, Code.NOT_A_QUESTIONNAIRE_RESPONSE)]
    response = {"resourceType": "QuestionnaireResponse", "status": "entered-in-error", "item": [
        {"linkId": "referral_id", "answer": [{"valueString": "R-1"}]},
        {"linkId": "age_year", "answer": [{"valueDecimal": 9}]},
        {"linkId": "diagnosis_cp", "answer": [{"valueDecimal": 1}]},
        {"linkId": "spasticity_severity", "answer": [{"valueCoding": {"system": "urn:other", "code": "mild"}}]},
        {"answer": []},
    ]}
    text = json.dumps(response, indent=1)
    assert sorted(c for _, _, c in referral_codes(pathway, tmp_path / "qr.json", text)) == sorted([
        Code.ENTERED_IN_ERROR, Code.UNKNOWN_LINK_ID, Code.WRONG_ANSWER_TYPE, Code.WRONG_CODE_SYSTEM, Code.BAD_ITEM])


def test_bad_rows_of_a_csv_audit_input_have_the_expected_codes(pathway: Pathway, tmp_path: Path) -> None:
    csv = tmp_path / "referrals.csv"
    csv.write_text("referral_id,age_years,spasticity_severity\nR-1,9,severe\nR-2,40,mild\nR-3,9,extreme,x\n"
                   "R-4,9,severe\n,9,mild\n", encoding="utf-8")
    found: dict[str, list[Code]] = {}
    for record in iter_records([csv], pathway):
        if record.problem is not None:
            found[record.source] = [record.problem.code]
        else:
            values, problems = validate_referral(pathway, record.doc)
            found[record.source] = [p.code for p in problems]
    name = str(csv)
    assert found == {f"{name}:2": [], f"{name}:3": [Code.OUT_OF_RANGE], f"{name}:4": [Code.TOO_MANY_CELLS],
                     f"{name}:5": [], f"{name}:6": [Code.MISSING_REQUIRED_FIELD]}
    (tmp_path / "bytes.csv").write_bytes(b"referral_id\nR-\xe9\n")
    (tmp_path / "notes.txt").write_text("not a referral", encoding="utf-8")
    assert [r.problem.code for r in iter_records([tmp_path / "bytes.csv", tmp_path / "notes.txt"], pathway)
            if r.problem is not None] == [Code.NOT_UTF8, Code.NOT_A_REFERRAL_FILE]


def rule_codes(folder: Path) -> list[Code]:
    with pytest.raises(RulesError) as info:
        load_pathway(folder)
    return [p.code for p in info.value.problems]


AGE_TEST = "        - {field: age_years, lt: 19}\n"


@pytest.mark.parametrize(("file", "old", "new", "code"), [
    ("items.yaml", AGE_TEST, "        - {field: age_yeras, lt: 19}\n", Code.UNKNOWN_FIELD),
    ("items.yaml", AGE_TEST, "        - {field: age_years, lt: old}\n", Code.NOT_A_NUMBER),
    ("items.yaml", AGE_TEST, "        - {field: age_years, is: 19}\n", Code.WRONG_OPERATOR),
    ("items.yaml", AGE_TEST, "        - {field: age_years, lt: 19, gt: 1}\n", Code.OPERATOR_COUNT),
    ("items.yaml", AGE_TEST, "        - {fields: age_years, lt: 19}\n", Code.UNKNOWN_KEY),
    ("items.yaml", AGE_TEST, "        - [age_years]\n", Code.NOT_A_CONDITION),
    ("items.yaml", "        - {field: diagnosis_cp, is: yes}\n", "        - {field: diagnosis_cp, is: perhaps}\n",
     Code.NOT_ALLOWED_VALUE),
    ("items.yaml", "  - id: population.child_with_cp\n    section: population\n",
     "  - id: population.child_with_cp\n    section: populaton\n", Code.UNKNOWN_SECTION),
    ("items.yaml", "  - id: population.child_with_cp\n    section: population\n",
     "  - id: population.child_with_cp\n    sektion: population\n", Code.UNKNOWN_KEY),
    ("items.yaml", "quote: \"Spasticity, which is an increase in muscle tone,",
     "quote: \"Spasticity, which is an increase in muscle tone (hypertonia),", Code.NOT_VERBATIM),
    ("items.yaml", "      - source: nice-cg145\n        reference: \"scope:",
     "      - source: nice-cg154\n        reference: \"scope:", Code.UNKNOWN_SOURCE),
    ("form.yaml", "      - id: age_years\n        type: number\n        min: 0\n        max: 25\n",
     "      - id: age_years\n        type: number\n        min: 30\n        max: 25\n", Code.MIN_ABOVE_MAX),
    ("form.yaml", "          - {value: mild, label: Mild}\n", "          - {value: mild, label: Mild}\n"
     "          - {value: mild, label: Mild again}\n", Code.DUPLICATE_OPTION),
    ("form.yaml", "      - id: age_years\n        type: number\n", "      - id: age_years\n        type: numeric\n",
     Code.NOT_ALLOWED_VALUE),
])
def test_a_broken_rule_file_has_the_expected_code(rules_copy: Path, file: str, old: str, new: str, code: Code) -> None:
    edit(rules_copy / file, old, new)
    assert code in rule_codes(rules_copy)


def test_a_rule_file_that_is_not_yaml_or_is_missing_has_the_expected_code(rules_copy: Path) -> None:
    (rules_copy / "items.yaml").write_text("items: [\n", encoding="utf-8")
    (rules_copy / "form.yaml").unlink()
    assert sorted(rule_codes(rules_copy)) == sorted([Code.FILE_NOT_FOUND, Code.YAML_SYNTAX])
    with pytest.raises(RulesError) as info:
        load_pathway(rules_copy.parent)
    assert [p.code for p in info.value.problems] == [Code.NO_PATHWAY]
