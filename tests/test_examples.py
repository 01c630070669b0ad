"""The itb-cp example cases are the pathway's executable specification: run them all.

Each case is its own test (named after the case), so a failure names the case
and prints the diff the CLI would show.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pathway import conditions as C
from pathway.backends.python import PythonEvaluator, compile_condition
from pathway.definition import Case, Pathway
from pathway.engine import plan_of
from pathway.examples import (
    DiscussionDifference,
    StatusDifference,
    coverage,
    discussion_coverage,
    reachable,
    run_case,
    run_cases,
    uncovered,
    uncovered_discussion,
)
from pathway.loader import load_pathway
from pathway.referral import validate
from pathway.yamlsrc import Located

RULES = Path(__file__).resolve().parent.parent / "rules" / "itb-cp"
PATHWAY = load_pathway(RULES)  # at import: the cases parametrise the tests below
COMPLETE = "fully documented referral: all 24 items met"


@pytest.fixture(scope="module")
def pathway() -> Pathway:
    return PATHWAY


@pytest.fixture(scope="module")
def evaluator(pathway: Pathway) -> PythonEvaluator:
    return PythonEvaluator(pathway)


def _case(pathway: Pathway, name: str) -> Case:
    return next(c for c in pathway.cases if c.name == name)


@pytest.mark.parametrize("case", PATHWAY.cases, ids=[c.name for c in PATHWAY.cases])
def test_case_passes(pathway: Pathway, evaluator: PythonEvaluator, case: Case) -> None:
    result = run_case(pathway, evaluator, case)
    if not result.passed:
        pytest.fail("\n".join([result.location, *result.diff_lines()]), pytrace=False)


def test_run_cases_reports_every_case_in_file_order(pathway: Pathway, evaluator: PythonEvaluator) -> None:
    results = run_cases(pathway, evaluator)
    assert [r.name for r in results] == [c.name for c in pathway.cases]
    assert all(r.passed and r.diff_lines() == [] for r in results)


def test_case_location_points_at_its_name(pathway: Pathway, evaluator: PythonEvaluator) -> None:
    for result in run_cases(pathway, evaluator):
        assert result.line is not None
        text = Path(result.file).read_text(encoding="utf-8").splitlines()[result.line - 1]
        assert "name:" in text and result.name in text, result.location


def test_every_reachable_status_is_covered(pathway: Pathway) -> None:
    assert uncovered(pathway) == []


def test_every_discussion_point_is_covered(pathway: Pathway) -> None:
    assert uncovered_discussion(pathway) == []
    assert discussion_coverage(pathway)["trial.scheduled"]


def test_reachable_statuses(pathway: Pathway) -> None:
    assert reachable(pathway.item("safety.contraindications_reviewed")) == ("met", "missing")
    assert reachable(pathway.item("trial.response")) == ("met", "not_met", "missing", "not_applicable")
    assert reachable(pathway.item("population.child_with_cp")) == ("met", "not_met", "missing")


def test_coverage_table_lists_only_reachable_statuses(pathway: Pathway) -> None:
    table = coverage(pathway)
    assert list(table) == [item.id for item in pathway.items]
    assert "not_met" not in table["safety.contraindications_reviewed"]
    assert "not_applicable" not in table["trial.done"]
    assert COMPLETE in table["trial.response"]["met"]
    assert table["trial.response"]["not_applicable"]


def test_uncovered_names_a_status_no_case_pins(pathway: Pathway) -> None:
    fewer = tuple(c for c in pathway.cases if c.expect.get("safety.body_size") != "not_met")
    assert uncovered(replace(pathway, cases=fewer)) == [("safety.body_size", "not_met")]
    everything = [(item.id, status) for item in pathway.items for status in reachable(item)]
    assert uncovered(replace(pathway, cases=())) == everything


def test_wrong_status_expectation_is_a_readable_failure(pathway: Pathway, evaluator: PythonEvaluator) -> None:
    case = _case(pathway, COMPLETE)
    wrong = replace(case, expect={**case.expect, "safety.body_size": "missing", "trial.response": "not_met"})
    result = run_case(pathway, evaluator, wrong)
    assert not result.passed
    assert (result.name, result.file, result.line) == (case.name, case.file, case.line)
    assert result.differences == (
        StatusDifference("trial.response", "not_met", "met"),
        StatusDifference("safety.body_size", "missing", "met"),
    )
    assert result.diff_lines() == [
        "trial.response: expected not_met, got met",
        "safety.body_size: expected missing, got met",
    ]
    assert result.discussion is None


def test_wrong_discussion_expectation_is_a_readable_failure(pathway: Pathway, evaluator: PythonEvaluator) -> None:
    case = _case(pathway, "trial planned: response not applicable")
    result = run_case(pathway, evaluator, replace(case, expect_discussion=("trial.no_clear_response",)))
    assert not result.passed and result.differences == ()
    assert result.discussion == DiscussionDifference(("trial.no_clear_response",), ("trial.scheduled",))
    assert result.diff_lines() == [
        "discussion: expected trial.no_clear_response, which did not fire",
        "discussion: trial.scheduled fired, not expected",
    ]


def test_discussion_order_is_part_of_the_expectation(pathway: Pathway, evaluator: PythonEvaluator) -> None:
    case = _case(pathway, "prior: sedation and weakness each named, in item order")
    assert case.expect_discussion is not None
    result = run_case(pathway, evaluator, replace(case, expect_discussion=tuple(reversed(case.expect_discussion))))
    assert result.diff_lines() == [
        "discussion: expected [prior.oral_weakness, prior.oral_sedation], got [prior.oral_sedation, prior.oral_weakness]"
    ]


def test_invalid_referral_is_a_failure_not_an_exception(pathway: Pathway, evaluator: PythonEvaluator) -> None:
    case = _case(pathway, COMPLETE)
    result = run_case(pathway, evaluator, replace(case, referral={"referral_id": "R-BAD", "diagnosis_cp": "maybe"}))
    assert not result.passed and result.differences == ()
    assert [p.field for p in result.problems] == ["diagnosis_cp"]
    assert result.diff_lines()[0].startswith("referral: field 'diagnosis_cp': 'maybe' is not a tri-state answer")


def test_python_backend_agrees_with_the_reference_on_every_example(pathway: Pathway) -> None:
    """The compiled closures and `conditions.evaluate` give the same truth for every plan condition."""
    plan = plan_of(pathway)
    compiled = [compile_condition(c) for c in plan.conditions]
    for case in pathway.cases:
        values, _ = validate(case.referral, tuple(pathway.fields.values()), Located(case.file, None))
        assert values is not None
        for name, cond, fn in zip(plan.names, plan.conditions, compiled):
            assert fn(values) is C.evaluate(cond, values), (case.name, name)
