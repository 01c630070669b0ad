"""One rule for answers to questions that are not asked (issue 19): set aside, and said, everywhere alike.

An answer to a question whose `shown_when` is documented false is not used, by `pathway check`, the
API, the web form (with and without its script: see test_browser.py), CDS hooks, the MDT packet, both
backends and both audit engines; the report lists it with the reason. Unknown keeps the answer.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import given

from pathway import conditions as C
from pathway.applicable import applicable, passes_needed
from pathway.backends import get_evaluator
from pathway.definition import Pathway
from pathway.engine import cross_check, evaluate
from pathway.render import render
from pathway.resources import schema_path
from pathway.service import check, referral_values
from pathway.web.app import create_app
from pathway.yamlsrc import Located

from .audit_support import reference, run_audit, statuses_of, write_both, write_jsonl
from .conftest import FIXED, RULES, Result, edit
from .test_properties import FIELDS, PATHWAY, SETTINGS, ref_eval, ref_statuses, referrals, values_of

AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
ORAL = {"referral_id": "R-SA", "oral_tried": "no", "oral_outcome": "adequate_control"}
ORAL_REASON = "asked only when Oral antispasticity medication tried is Yes, and it is No"
ORAL_LINE = f"Outcome of oral medication: ‘Adequate control’ set aside: {ORAL_REASON}."
ADEQUATE = "prior.oral_adequate"   # "Oral treatment is documented as controlling the spasticity adequately"


def values(pathway: Pathway, data: dict[str, Any]) -> dict[str, Any]:
    return referral_values(pathway, Located("r.yaml", data))


def with_shown_when(pathway: Pathway, conditions: dict[str, C.Condition | None]) -> Pathway:
    """The pathway with some fields' shown_when replaced (the form is rebuilt, so `fields` follows)."""
    form = tuple(replace(s, fields=tuple(replace(f, shown_when=conditions[f.id]) if f.id in conditions else f
                                         for f in s.fields)) for s in pathway.form)
    return replace(pathway, form=form, fields={})


def chained(pathway: Pathway) -> Pathway:
    """Severity asked only when the diagnosis is confirmed, the distribution only when severity is moderate
    or severe: a chain, each question after the one it depends on, that decides indication.diffuse_or_severe."""
    return with_shown_when(pathway, {
        "spasticity_severity": C.In("diagnosis_cp", ("yes",)),
        "spasticity_distribution": C.In("spasticity_severity", ("moderate", "severe")),
    })


def forward(pathway: Pathway) -> Pathway:
    """The same kind of chain with each condition reading a question further down the form."""
    return with_shown_when(pathway, {
        "spasticity_severity": C.In("spasticity_distribution", ("diffuse",)),
        "spasticity_distribution": C.In("tone_supports_function", ("no",)),
    })


CHAIN = {"referral_id": "R-CHAIN", "diagnosis_cp": "no", "spasticity_severity": "severe",
         "spasticity_distribution": "diffuse"}


# -- the rule, in the engine ----------------------------------------------------------------------------------

def test_an_answer_to_a_question_documented_not_to_apply_is_set_aside(pathway: Pathway) -> None:
    found = evaluate(pathway, values(pathway, ORAL), get_evaluator("python", pathway))
    assert [(e.field.id, e.value) for e in found.set_aside] == [("oral_outcome", "adequate_control")]
    assert found.values["oral_outcome"] is None and found.values["oral_tried"] == "no"
    assert ADEQUATE not in found.discussion_ids()
    # the same answers with the question asked: used, and the point is raised
    asked = evaluate(pathway, values(pathway, {**ORAL, "oral_tried": "yes"}), get_evaluator("python", pathway))
    assert asked.set_aside == () and ADEQUATE in asked.discussion_ids()


def test_an_unknown_condition_keeps_the_answer(pathway: Pathway) -> None:
    """Oral medication tried not documented: the outcome given is information, and is used."""
    for tried in (None, "unknown"):
        data = {**ORAL, "oral_tried": tried}
        found = evaluate(pathway, values(pathway, data), get_evaluator("python", pathway))
        assert found.set_aside == () and found.values["oral_outcome"] == "adequate_control"
        assert ADEQUATE in found.discussion_ids()


def test_nothing_to_set_aside_gives_the_answers_back_unchanged(pathway: Pathway) -> None:
    answers = values(pathway, {"referral_id": "R-1", "oral_tried": "no", "trial_status": "planned"})
    used = applicable(pathway, answers)
    assert used.values is answers and used.set_aside == ()


def test_a_chain_sets_aside_a_question_that_depends_on_one_not_asked(pathway: Pathway) -> None:
    p = chained(pathway)
    assert passes_needed(p) == 1
    found = evaluate(p, values(p, CHAIN), get_evaluator("python", p))
    assert [e.field.id for e in found.set_aside] == ["spasticity_severity", "spasticity_distribution"]
    assert found.statuses()["indication.diffuse_or_severe"] == "missing"   # met on the raw answers
    assert evaluate(p, values(p, {**CHAIN, "diagnosis_cp": "yes"}),
                    get_evaluator("python", p)).statuses()["indication.diffuse_or_severe"] == "met"
    report = check(p, values(p, CHAIN), at=AT)
    assert [(a.field, a.value, a.reason) for a in report.set_aside] == [
        ("spasticity_severity", "Severe",
         "asked only when Cerebral palsy diagnosis confirmed is Yes, and it is No"),
        ("spasticity_distribution", "Diffuse (widespread, e.g. upper and lower limbs)",
         "asked only when Severity of spasticity is Moderate or Severe, and it is not asked either"),
    ]


def test_a_chain_whose_first_link_is_unknown_keeps_every_answer(pathway: Pathway) -> None:
    p = chained(pathway)
    data = {k: v for k, v in CHAIN.items() if k != "diagnosis_cp"}
    found = evaluate(p, values(p, data), get_evaluator("python", p))
    assert found.set_aside == () and found.statuses()["indication.diffuse_or_severe"] == "met"


def test_a_chain_that_refers_down_the_form_reaches_the_same_fixed_point(pathway: Pathway) -> None:
    p = forward(pathway)
    assert passes_needed(p) == 2
    data = {"referral_id": "R-FWD", "tone_supports_function": "yes", "spasticity_severity": "severe",
            "spasticity_distribution": "diffuse"}
    found = evaluate(p, values(p, data), get_evaluator("python", p))
    assert [e.field.id for e in found.set_aside] == ["spasticity_severity", "spasticity_distribution"]
    assert found.statuses()["indication.diffuse_or_severe"] == "missing"


def test_questions_that_depend_on_each_other_in_a_circle_are_decided_once(pathway: Pathway) -> None:
    """Severity asked when the distribution is diffuse, the distribution when severity is severe: with
    severity moderate, the distribution is not asked, and then neither is severity (a test of a
    question not asked is false): a result, not a loop."""
    p = cycle(pathway)
    data = {"referral_id": "R-LOOP", "spasticity_severity": "moderate", "spasticity_distribution": "diffuse"}
    found = evaluate(p, values(p, data), get_evaluator("python", p))
    assert [e.field.id for e in found.set_aside] == ["spasticity_severity", "spasticity_distribution"]


def test_a_question_not_asked_answers_no_test_even_under_not(pathway: Pathway) -> None:
    """'Asked unless severity is mild': with severity not asked it is not mild, so the distribution is asked."""
    p = with_shown_when(pathway, {"spasticity_severity": C.In("diagnosis_cp", ("yes",)),
                                  "spasticity_distribution": C.Not(C.In("spasticity_severity", ("mild",)))})
    data = {"referral_id": "R-NOT", "diagnosis_cp": "no", "spasticity_severity": "mild",
            "spasticity_distribution": "diffuse"}
    found = evaluate(p, values(p, data), get_evaluator("python", p))
    assert [e.field.id for e in found.set_aside] == ["spasticity_severity"]
    assert found.statuses()["indication.diffuse_or_severe"] == "met"


def test_both_backends_evaluate_the_answers_used(pathway: Pathway) -> None:
    pytest.importorskip("durable")
    for p, data in ((pathway, ORAL), (chained(pathway), CHAIN)):
        evaluators = [get_evaluator("python", p), get_evaluator("durable", p)]
        found = cross_check(p, values(p, data), evaluators)   # raises if they disagree
        durable = evaluate(p, values(p, data), evaluators[1])
        assert durable.set_aside == found.set_aside and durable.statuses() == found.statuses()


# -- an independent reading of the rule, on random referrals --------------------------------------------------

_FORMS: dict[str, Pathway] = {}   # filled below, once FORMS is defined

RAW_FORM = [f for s in yaml.safe_load((RULES / "form.yaml").read_text(encoding="utf-8"))["sections"]
            for f in s["fields"]]


def cycle(pathway: Pathway) -> Pathway:
    """Severity asked when the distribution is diffuse, the distribution when severity is severe."""
    return with_shown_when(pathway, {"spasticity_severity": C.In("spasticity_distribution", ("diffuse",)),
                                     "spasticity_distribution": C.In("spasticity_severity", ("severe",))})


FORMS = {"bundled": lambda p: p, "chained": chained, "forward": forward, "cycle": cycle}
_FORMS.update((name, make(PATHWAY)) for name, make in FORMS.items())


def raw_form(p: Pathway) -> list[dict[str, Any]]:
    """The form's fields as form.yaml spells them (the bundled one read from the file itself)."""
    if p.fields == PATHWAY.fields:
        return RAW_FORM
    return [{"id": f.id, **({"shown_when": C.to_data(f.shown_when)} if f.shown_when else {})} for f in p.fields.values()]


def ref_used(answers: dict[str, Any], form: list[dict[str, Any]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The rule from docs/rules.md, on the raw YAML: in form order, passes until nothing changes."""
    form = RAW_FORM if form is None else form
    gone: set[str] = set()

    def test(cond: dict[str, Any]) -> bool | None:
        if "field" in cond and cond["field"] in gone:
            return False
        if "all" in cond or "any" in cond or "not" in cond:
            key = next(k for k in ("all", "any", "not") if k in cond)
            parts = [test(c) for c in (cond[key] if key != "not" else [cond[key]])]
            if key == "not":
                return None if parts[0] is None else not parts[0]
            if key == "all":
                return False if False in parts else (None if None in parts else True)
            return True if True in parts else (None if None in parts else False)
        return ref_eval(cond, answers)

    changed = True
    while changed:
        changed = False
        for f in form:
            if "shown_when" in f and f["id"] not in gone and test(f["shown_when"]) is False:
                gone.add(f["id"])
                changed = True
    aside = [f["id"] for f in form if f["id"] in gone and answers.get(f["id"]) is not None]
    return {k: (None if k in gone else v) for k, v in answers.items()}, aside


@pytest.mark.parametrize("name", list(FORMS))
@SETTINGS
@given(data=referrals())
def test_the_engine_sets_aside_what_an_independent_reading_does(name: str, data: dict[str, Any]) -> None:
    p = _FORMS[name]
    given_values = values_of(data)
    used, aside = ref_used(given_values, raw_form(p))
    found = evaluate(p, given_values, get_evaluator("python", p))
    assert [e.field.id for e in found.set_aside] == aside
    assert dict(found.values) == used
    assert found.statuses() == ref_statuses(used)
    assert len(FIELDS) == len(found.values)


# -- every path says the same ----------------------------------------------------------------------------------

def test_check_writes_the_set_aside_answers_in_every_format(runner: Any, tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(yaml.safe_dump(ORAL), encoding="utf-8")
    r: Result = runner("check", str(f), "--format", "json", "--now", "2026-12-03T09:00:00Z")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    jsonschema.validate(data, json.loads(schema_path().read_text(encoding="utf-8")))
    assert data["set_aside"] == [{"field": "oral_outcome", "label": "Outcome of oral medication",
                                  "value": "Adequate control", "reason": ORAL_REASON}]
    assert ADEQUATE not in [d["id"] for d in data["discussion"]]
    item = next(i for i in data["items"] if i["id"] == "prior.less_invasive_inadequate")
    assert item["explanation"].endswith("Set aside, as the question is not asked: Outcome of oral medication.")
    assert "Outcome of oral medication" not in item["explanation"].split("Not answered in the referral: ")[-1].split(".")[0]
    md = runner("check", str(f), "--format", "md", "--now", "2026-12-03T09:00:00Z").out
    assert f"Answers set aside (1): the checklist does not use them.\n\n- {ORAL_LINE}\n" in md
    page = runner("check", str(f), "--format", "html", "--now", "2026-12-03T09:00:00Z").out
    assert f'<li data-field="oral_outcome">{ORAL_LINE}</li>' in page


def test_a_report_without_set_aside_answers_keeps_the_contract(pathway: Pathway) -> None:
    report = check(pathway, values(pathway, {"referral_id": "R-1", "oral_tried": "yes"}), at=AT)
    data = json.loads(report.to_json())
    assert data["set_aside"] == []
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    assert "set_aside" not in schema["required"]
    del data["set_aside"]   # a report written before the field existed is still valid
    jsonschema.validate(data, schema)
    assert "Answers set aside" not in render(report, "html") + render(report, "md")


def test_the_api_and_the_form_without_javascript_set_aside_the_same(pathway: Pathway, runner: Any,
                                                                    tmp_path: Path) -> None:
    f = tmp_path / "r.json"
    f.write_text(json.dumps(ORAL), encoding="utf-8")
    cli = runner("check", str(f), "--format", "json", "--now", "2026-12-03T09:00:00Z").out
    with TestClient(create_app(RULES, clock=lambda: FIXED)) as client:
        assert client.post("/api/check", json=ORAL).text == cli
        page = client.post("/", data=ORAL).text              # "Update the checklist" without the script
        assert f'<li data-field="oral_outcome">{ORAL_LINE}</li>' in page
        preview = client.post("/preview", data=ORAL).json()   # what the script asks for
        assert f'<li data-field="oral_outcome">{ORAL_LINE}</li>' in preview["panel"]
        report = client.post("/report", data=ORAL).text
        assert f'<li data-field="oral_outcome">{ORAL_LINE}</li>' in report
        assert "Oral treatment is documented as controlling the spasticity adequately" not in page + report


def test_a_cds_card_names_the_set_aside_answer(pathway: Pathway) -> None:
    from .test_cds import URL, call, form, only_card

    with TestClient(create_app(RULES, clock=lambda: FIXED)) as client:
        detail = only_card(client.post(URL, json=call(form(pathway, ORAL))))["detail"]
    assert f"**Answers set aside (1)**: the checklist does not use them.\n\n- {ORAL_LINE}\n" in detail


def test_the_mdt_packet_checks_each_referral_as_check_does(pathway: Pathway, tmp_path: Path) -> None:
    """The packet's referrals are `pathway check` reports, set-aside answers and all (mdt.html shows them)."""
    from pathway.mdt.gather import gather

    f = write_jsonl(tmp_path / "meeting.jsonl", [json.dumps(ORAL), json.dumps({"referral_id": "R-2", "oral_tried": "yes"})])
    first, second = gather([f], pathway, at=AT).included
    assert [(a.field, a.reason) for a in first.report.set_aside] == [("oral_outcome", ORAL_REASON)]
    assert first.report == check(pathway, values(pathway, ORAL), at=AT)
    assert second.report.set_aside == []


def test_check_with_a_chained_form_from_a_rules_folder(rules_copy: Path, runner: Any, tmp_path: Path) -> None:
    edit(rules_copy / "form.yaml", "        label: Severity of spasticity\n",
         "        label: Severity of spasticity\n        shown_when: {field: diagnosis_cp, is: yes}\n")
    edit(rules_copy / "form.yaml", "        label: Distribution of spasticity\n",
         "        label: Distribution of spasticity\n"
         "        shown_when: {field: spasticity_severity, in: [moderate, severe]}\n")
    f = tmp_path / "chain.yaml"
    f.write_text(yaml.safe_dump(CHAIN), encoding="utf-8")
    r = runner("check", str(f), "--rules", str(rules_copy), "--format", "json", "--now", "2026-12-03T09:00:00Z")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert [a["field"] for a in data["set_aside"]] == ["spasticity_severity", "spasticity_distribution"]
    assert {i["id"]: i["status"] for i in data["items"]}["indication.diffuse_or_severe"] == "missing"


# -- both audit engines -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(FORMS))
def test_both_audit_engines_set_aside_as_check_does(pathway: Pathway, tmp_path: Path, name: str) -> None:
    from .audit_support import referrals as synthetic

    p = FORMS[name](pathway)
    write_both(synthetic(400, seed=19, pathway=p), tmp_path / "g.jsonl", tmp_path / "g.csv", p)
    rows, _ = reference(p, tmp_path / "g.jsonl")
    for name in ("g.jsonl", "g.csv"):
        for engine in ("columnar", "row"):
            result = run_audit(p, tmp_path / f"{engine}-{name}", tmp_path / name, batch=150, engine=engine)
            got = statuses_of(result)
            assert [r[1:] for r in got] == [r[1:] for r in rows], (name, engine)
            assert result.page.rechecked == (0 if engine == "columnar" else 400)


def test_the_audit_counts_a_chain_as_check_does(pathway: Pathway, tmp_path: Path) -> None:
    p = chained(pathway)
    lines = [json.dumps(CHAIN), json.dumps({**CHAIN, "referral_id": "R-YES", "diagnosis_cp": "yes"}),
             json.dumps({k: v for k, v in CHAIN.items() if k != "diagnosis_cp"} | {"referral_id": "R-UNK"})]
    f = write_jsonl(tmp_path / "chain.jsonl", lines)
    for engine in ("columnar", "row"):
        result = run_audit(p, tmp_path / engine, f, engine=engine)
        header = result.matrix_bytes.decode("utf-8").splitlines()[0].split(",")
        at = header.index("indication.diffuse_or_severe")
        assert [(r[1], r[at]) for r in result.matrix] == [("R-CHAIN", "missing"), ("R-YES", "met"),
                                                           ("R-UNK", "met")], engine
