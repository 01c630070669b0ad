"""Every bad referral gets one clear, located message naming the field and what it may be."""
from __future__ import annotations

import pytest

from pathway.definition import Pathway
from pathway.referral import validate
from pathway.yamlsrc import load_text


def check(pathway: Pathway, text: str, name: str = "r.yaml") -> tuple[dict | None, list[str]]:  # type: ignore[type-arg]
    doc = load_text(text, name)
    values, problems = validate(doc.data, tuple(pathway.fields.values()), doc)
    return values, [str(p) for p in problems]


def test_yaml_bare_words_and_unknowns_normalise(pathway: Pathway) -> None:
    values, problems = check(pathway, (
        "referral_id: R-1\ndiagnosis_cp: yes\noral_tried: false\nlocal_tried: unknown\nphysiotherapy: null\n"
        "orthotics: True\ngmfcs_level: ''\nfunctional_impact: []\nrisks_discussed: [withdrawal, infection, infection]\n"
        "age_years: '9'\nreferral_date: 2026-10-01\n"
    ))
    assert problems == []
    assert values is not None
    assert values["diagnosis_cp"] == "yes"
    assert values["oral_tried"] == "no"
    assert values["orthotics"] == "yes"
    assert values["local_tried"] is None and values["physiotherapy"] is None
    assert values["gmfcs_level"] is None and values["functional_impact"] is None
    assert values["risks_discussed"] == ("infection", "withdrawal")  # form order, no duplicates
    assert values["age_years"] == 9.0
    assert values["referral_date"] == "2026-10-01"
    assert values["trial_status"] is None  # absent is unknown


def test_a_choice_offering_yes_and_no_reads_yaml_booleans_as_them(pathway: Pathway) -> None:
    """`communicates_symptoms: no` is what a person types; YAML 1.1 makes it false. Only a choice that offers
    both yes and no reads it so: any other choice still refuses true and false."""
    values, problems = check(pathway, "referral_id: R-1\ncommunicates_symptoms: no\n")
    assert problems == [] and values is not None and values["communicates_symptoms"] == "no"
    values, _ = check(pathway, "referral_id: R-1\ncommunicates_symptoms: yes\n")
    assert values is not None and values["communicates_symptoms"] == "yes"
    values, problems = check(pathway, "referral_id: R-1\ntravel_to_centre: no\n")
    assert values is None
    assert problems == ["r.yaml:2:19: field 'travel_to_centre': False is not an allowed value;"
                        " allowed: local_refills_available, manageable, difficult (or unknown)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("referral_id: R-1\ndiagnosis: yes\n",
         "r.yaml:2:1: unknown field 'diagnosis' (did you mean 'diagnosis_cp'?)"),
        ("referral_id: R-1\nspasticity_severity: very severe\n",
         "r.yaml:2:22: field 'spasticity_severity': 'very severe' is not an allowed value;"
         " allowed: mild, moderate, severe (or unknown)"),
        ("referral_id: R-1\nfunctional_impact: [movement, walking]\n",
         "r.yaml:2:31: field 'functional_impact': 'walking' is not an allowed value; allowed: a list of movement,"
         " daily_activities, quality_of_life, comfort_pain, pain, ease_of_care, posture, none"),
        ("referral_id: R-1\nfunctional_impact: [movement, none]\n",
         "r.yaml:2:20: field 'functional_impact': 'none' cannot be combined with other values; allowed: a list of"
         " movement, daily_activities, quality_of_life, comfort_pain, pain, ease_of_care, posture, none"),
        ("referral_id: R-1\nage_years: 30\n",
         "r.yaml:2:12: field 'age_years': 30 is out of range; allowed: a number from 0 to 25 years"),
        ("referral_id: R-1\nage_years: nine\n",
         "r.yaml:2:12: field 'age_years': 'nine' is not a number; allowed: a number from 0 to 25 years"),
        ("referral_id: R-1\nage_years: true\n",
         "r.yaml:2:12: field 'age_years': True is not a number; allowed: a number from 0 to 25 years"),
        ("referral_id: R-1\ndiagnosis_cp: maybe\n",
         "r.yaml:2:15: field 'diagnosis_cp': 'maybe' is not a tri-state answer;"
         " allowed: yes, no or unknown (true/false/null also accepted)"),
        ("referral_id: R-1\ndiagnosis_cp: on\n",
         "r.yaml:2:15: field 'diagnosis_cp': 'on' is not a tri-state answer;"
         " allowed: yes, no or unknown (true/false/null also accepted)"),
        ("diagnosis_cp: yes\n",
         "r.yaml:1:1: missing required field 'referral_id' (A pseudonymous referral id, such as R-2026-014."
         " Never a name or a hospital number.)"),
        ("referral_id: ''\n", "r.yaml:1:14: missing required field 'referral_id' (it is empty)"),
        ("referral_id: R-1\nreferral_date: 14/10/2026\n",
         "r.yaml:2:16: field 'referral_date': '14/10/2026' is not a date: use YYYY-MM-DD"
         " (Excel may have reformatted it)"),
        ("- referral_id: R-1\n", "r.yaml:1:1: a referral must be a mapping of field id to value, not a list"),
        ("", "r.yaml: a referral must be a mapping of field id to value, not empty"),
    ],
)
def test_bad_values(pathway: Pathway, text: str, expected: str) -> None:
    values, problems = check(pathway, text)
    assert values is None
    assert problems == [expected]


def test_every_problem_is_reported_in_line_order(pathway: Pathway) -> None:
    _, problems = check(pathway, "gmfcs_level: VI\nage_years: -1\nsmell: bad\n")
    assert problems == [
        "r.yaml:1:1: missing required field 'referral_id' (A pseudonymous referral id, such as R-2026-014."
        " Never a name or a hospital number.)",
        "r.yaml:1:14: field 'gmfcs_level': 'VI' is not an allowed value; allowed: I, II, III, IV, V (or unknown)",
        "r.yaml:2:12: field 'age_years': -1 is out of range; allowed: a number from 0 to 25 years",
        "r.yaml:3:1: unknown field 'smell'",
    ]


def test_json_referrals_are_located_too(pathway: Pathway) -> None:
    _, problems = check(pathway, '{\n  "referral_id": "R-1",\n  "trial_status": "finished"\n}', "r.json")
    assert problems == [
        "r.json:3:19: field 'trial_status': 'finished' is not an allowed value;"
        " allowed: not_planned, planned, done (or unknown)"
    ]


@pytest.mark.parametrize(
    ("text", "name", "referral_id"),
    [
        ("referral_id: 0012\n", "r.yaml", "0012"),  # YAML 1.1 read it as octal: referral 10
        ("referral_id: 1e3\n", "r.yaml", "1e3"),
        ("referral_id: +12\n", "r.yaml", "+12"),
        ("referral_id: 12:30\n", "r.yaml", "12:30"),  # YAML 1.1: 750
        ("referral_id: 0x1F\n", "r.yaml", "0x1F"),  # YAML 1.1: 31
        ("referral_id: yes\n", "r.yaml", "yes"),
        ("referral_id: 2026-03-04 10:00\n", "r.yaml", "2026-03-04 10:00"),
        ('{"referral_id": 1.50}', "r.json", "1.50"),
        ('{"referral_id": 0}', "r.json", "0"),
    ],
)
def test_a_text_field_keeps_the_characters_written(pathway: Pathway, text: str, name: str, referral_id: str) -> None:
    values, problems = check(pathway, text, name)
    assert problems == [] and values is not None
    assert values["referral_id"] == referral_id


def test_notes_keep_the_characters_written(pathway: Pathway) -> None:
    values, _ = check(pathway, "referral_id: R-1\nnotes: 010\n")
    assert values is not None and values["notes"] == "010"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("010", 10.0), ("9.50", 9.5), ("1e1", 10.0), ("'12'", 12.0)],
)
def test_numbers_are_decimal(pathway: Pathway, answer: str, expected: float) -> None:
    values, problems = check(pathway, f"referral_id: R-1\nage_years: {answer}\n")
    assert problems == [] and values is not None and values["age_years"] == expected


@pytest.mark.parametrize("answer", ["0x1F", "12:30", "1_0", "'1_0'", "0o12", "'0x10'"])
def test_what_yaml_1_1_took_for_a_number_is_not_one(pathway: Pathway, answer: str) -> None:
    _, problems = check(pathway, f"referral_id: R-1\nage_years: {answer}\n")
    shown = answer if answer.startswith("'") else repr(answer)
    assert problems == [f"r.yaml:2:12: field 'age_years': {shown} is not a number; allowed: a number from 0 to 25 years"]


def test_a_long_list_of_values_not_allowed_is_one_problem(pathway: Pathway) -> None:
    """Each value not allowed is a problem of its own; past 1,000 values, one problem says how many there are."""
    _, problems = check(pathway, "referral_id: R-1\nfunctional_impact: [movement, walking, running]\n")
    assert len(problems) == 2
    _, problems = check(pathway, "referral_id: R-1\nfunctional_impact: [" + "movement, " * 1000 + "walking, running]\n")
    assert problems == [
        "r.yaml:2:10021: field 'functional_impact': 'walking' is not an allowed value, nor is 1 other value of this"
        " list; allowed: a list of movement, daily_activities, quality_of_life, comfort_pain, pain, ease_of_care,"
        " posture, none"]
    values, problems = check(pathway, "referral_id: R-1\nfunctional_impact: [" + "movement, " * 2000 + "pain]\n")
    assert problems == [] and values is not None and values["functional_impact"] == ("movement", "pain")


@pytest.mark.parametrize("unknown", [120, 250])  # 250: more than the form's fields and 100, found without pydantic
def test_past_100_problems_the_rest_are_counted(pathway: Pathway, unknown: int) -> None:
    text = "referral_id: R-1\n" + "".join(f"extra_{i:03d}: x\n" for i in range(unknown))
    _, problems = check(pathway, text)
    assert len(problems) == 101
    assert problems[0] == "r.yaml:2:1: unknown field 'extra_000'"
    assert problems[99] == "r.yaml:101:1: unknown field 'extra_099'"
    assert problems[100] == f"r.yaml:102:1: and {unknown - 100} more problems in this referral, not listed"
