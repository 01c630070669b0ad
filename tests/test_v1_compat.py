"""Referrals written for checklist v1 (pathway itb-cp 1.0.0) still check under v2.

`tests/data/v1/` holds frozen copies of what v1 shipped and wrote: its example
cases, a `pathway form` template filled in by hand, and a file saved by its web
form. Every v1 field id and value stays valid, and each v1 item keeps the status
v1 gave it, except where checklist-v2 changes the logic on purpose (the age
limit of `population.child_with_cp` is now the NICE scope, under 19).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pathway.definition import Pathway
from pathway.service import check, referral_values
from pathway.yamlsrc import Located

from .conftest import Result

V1 = Path(__file__).parent / "data" / "v1"
V1_ITEMS = ("population.child_with_cp", "indication.diffuse_or_severe", "indication.functional_impact",
            "prior.less_invasive_inadequate", "trial.done", "trial.response", "therapy.physiotherapy",
            "therapy.occupational_therapy", "therapy.orthotics", "therapy.goals", "safety.risks_discussed",
            "safety.withdrawal_education", "safety.refill_commitment", "safety.no_active_infection",
            "safety.body_size", "safety.contraindications_reviewed", "expectations.evidence_discussed")
AT = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def v1_cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(V1.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "cases" in doc:
            out += [(f"{path.name}: {c['name']}", c) for c in doc["cases"]]
    return out


CASES = v1_cases()


def v2_expectation(item: str, v1: str, referral: dict[str, Any]) -> str:
    """What v2 gives where v1's logic changed on purpose; v1's own status everywhere else."""
    age = referral.get("age_years")
    if item == "population.child_with_cp" and isinstance(age, (int, float)) and 18 <= age < 19:
        diagnosis = referral.get("diagnosis_cp")
        return {True: "met", "yes": "met", False: "not_met", "no": "not_met"}.get(diagnosis, "missing")
    return v1


def test_the_frozen_v1_examples_are_all_here() -> None:
    assert len(CASES) == 86
    assert set(V1_ITEMS) <= {item for _, c in CASES for item in c["expect"]}


@pytest.mark.parametrize(("name", "case"), CASES, ids=[n for n, _ in CASES])
def test_every_v1_example_checks_under_v2_with_the_v1_statuses(pathway: Pathway, name: str,
                                                                 case: dict[str, Any]) -> None:
    assert pathway.version.startswith("2.")
    values = referral_values(pathway, Located(name, case["referral"]))   # raises on any field v2 refuses
    statuses = {i.id: i.status for i in check(pathway, values, at=AT).items}
    expected = {item: v2_expectation(item, status, case["referral"])
                for item, status in case["expect"].items() if item in V1_ITEMS}
    assert {item: statuses[item] for item in expected} == expected


def test_the_age_limit_changed_as_v2_says(pathway: Pathway) -> None:
    changed = [n for n, c in CASES
               if v2_expectation("population.child_with_cp", c["expect"].get("population.child_with_cp", ""),
                                 c["referral"]) != c["expect"].get("population.child_with_cp", "")]
    assert changed, "a v1 case at age 18 shows the one deliberate change of logic"


@pytest.mark.parametrize("name", ["form-template.yaml", "saved-by-form.yaml"])
def test_files_written_by_v1_check_under_v2(runner: Any, name: str) -> None:
    r: Result = runner("check", str(V1 / name), "--format", "json", "--now", "2026-12-01T00:00:00Z")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["format"] == "itb-pathway-report/2"
    assert report["pathway"]["version"].startswith("2.")
    statuses = {i["id"]: i["status"] for i in report["items"]}
    if name == "saved-by-form.yaml":   # age 18.5: under v1 not met, under v2 (NICE scope, under 19) met
        assert statuses["population.child_with_cp"] == "met"
        assert statuses["trial.response"] == "met"
        assert statuses["safety.risks_discussed"] == "met"    # v1's four risks: the item is unchanged
    else:
        assert statuses["trial.done"] == "not_met"          # trial_status: planned
        assert statuses["trial.response"] == "not_applicable"
