"""Properties the engine must hold for every referral, not just the examples (hypothesis).

The reference evaluator here reads the pathway's raw YAML with yaml.safe_load
and interprets it with its own, deliberately plain Kleene functions: it shares
no code with pathway.conditions or the backends, so agreement means something.
"""
from __future__ import annotations

import datetime as dt
import html
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathway.backends import get_evaluator
from pathway.definition import FormField, Pathway
from pathway.engine import evaluate
from pathway.loader import load_pathway
from pathway.referral import validate
from pathway.render import render
from pathway.report import build_report
from pathway.yamlsrc import Located

from .conftest import RULES

PATHWAY = load_pathway(RULES)
FIELDS = tuple(PATHWAY.fields.values())
AT = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- an independent reference evaluator of the raw YAML --------------------

RAW_ITEMS = yaml.safe_load((RULES / "items.yaml").read_text(encoding="utf-8"))["items"]


def _token(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else str(value)


def ref_and(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def ref_or(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def ref_eval(cond: dict[str, Any], answers: dict[str, Any]) -> bool | None:
    if "all" in cond:
        return ref_and([ref_eval(c, answers) for c in cond["all"]])
    if "any" in cond:
        return ref_or([ref_eval(c, answers) for c in cond["any"]])
    if "not" in cond:
        inner = ref_eval(cond["not"], answers)
        return None if inner is None else not inner
    value = answers.get(cond["field"])
    if cond.get("answered") is False:
        return value is None
    if value is None:
        return None
    if "is" in cond:
        return value == _token(cond["is"])
    if "in" in cond:
        return value in [_token(v) for v in cond["in"]]
    if "lt" in cond:
        return value < cond["lt"]
    if "ge" in cond:
        return value >= cond["ge"]
    if "contains" in cond:
        return cond["contains"] in value
    if "contains_any" in cond:
        return any(v in value for v in cond["contains_any"])
    if "contains_all" in cond:
        return all(v in value for v in cond["contains_all"])
    if "answered" in cond:
        return True
    raise AssertionError(f"reference evaluator does not know {cond}")


def ref_statuses(answers: dict[str, Any]) -> dict[str, str]:
    out = {}
    for item in RAW_ITEMS:
        applies = ref_eval(item["applies_when"], answers) if "applies_when" in item else True
        holds = ref_eval(item["holds"], answers)
        if applies is False:
            out[item["id"]] = "not_applicable"
        elif applies is None or holds is None:
            out[item["id"]] = "missing"
        else:
            out[item["id"]] = "met" if holds else "not_met"
    return out


# --- strategies -------------------------------------------------------------

UNKNOWN = st.sampled_from([None, "unknown", ""])


def answer(field: FormField) -> st.SearchStrategy[Any]:
    if field.type == "tristate":
        return st.sampled_from(["yes", "no", True, False, "Yes", "NO"])
    if field.type == "choice":
        return st.sampled_from(field.values)
    if field.type == "multichoice":
        plain = [o.value for o in field.options if not o.exclusive]
        alone = [[o.value] for o in field.options if o.exclusive]
        subsets = st.lists(st.sampled_from(plain), min_size=1, unique=True)
        return st.one_of(subsets, st.sampled_from(alone)) if alone else subsets
    if field.type == "number":
        return st.one_of(st.integers(int(field.min or 0), int(field.max or 25)),
                         st.floats(field.min or 0, field.max or 25, allow_nan=False))
    if field.type == "date":
        return st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
    return st.text(min_size=1, max_size=40)


@st.composite
def referrals(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"referral_id": draw(st.from_regex(r"R-[A-Z0-9]{1,8}", fullmatch=True))}
    for field in FIELDS:
        if field.id == "referral_id":
            continue
        choice = draw(st.integers(0, 9))
        if choice < 3:
            continue  # absent
        data[field.id] = draw(UNKNOWN) if choice == 3 else draw(answer(field))
    return data


def values_of(data: dict[str, Any]) -> dict[str, Any]:
    values, problems = validate(data, FIELDS, Located("r.yaml", data))
    assert problems == [] and values is not None, problems
    return values


def statuses(values: dict[str, Any], pathway: Pathway = PATHWAY) -> dict[str, str]:
    return evaluate(pathway, values, get_evaluator("python", pathway)).statuses()


# --- properties -------------------------------------------------------------

@SETTINGS
@given(referrals())
def test_every_accepted_referral_gives_a_whole_report(data: dict[str, Any]) -> None:
    values = values_of(data)
    report = build_report(PATHWAY, evaluate(PATHWAY, values, get_evaluator("python", PATHWAY)), AT)
    assert [i.id for i in report.items] == [i.id for i in PATHWAY.items]
    assert all(i.status in ("met", "not_met", "missing", "not_applicable") for i in report.items)
    s = report.summary
    assert s.met + s.not_met + s.missing + s.not_applicable == s.total == len(PATHWAY.items)
    assert s.documented == s.applicable - s.missing and 0 <= s.completeness <= 1
    assert report.disclaimer == PATHWAY.disclaimer
    assert len(report.discussion) == sum(len(i.discussion) for i in report.items)


@SETTINGS
@given(referrals())
def test_engine_agrees_with_the_independent_reference_evaluator(data: dict[str, Any]) -> None:
    values = values_of(data)
    assert statuses(values) == ref_statuses(values)


@SETTINGS
@given(referrals(), st.data())
def test_answering_an_unknown_never_flips_a_documented_status(data: dict[str, Any], more: st.DataObject) -> None:
    """Information monotonicity: unknown → known may turn missing into met or not_met, nothing else."""
    values = values_of(data)
    unknown = [f for f in FIELDS if values.get(f.id) is None and f.id != "referral_id"]
    if not unknown:
        return
    field = more.draw(st.sampled_from(unknown))
    richer = values_of({**data, field.id: more.draw(answer(field))})
    before, after = statuses(values), statuses(richer)
    for item_id, status in before.items():
        if status != "missing":
            assert after[item_id] == status, (field.id, item_id, status, after[item_id])


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@SETTINGS
@given(st.dictionaries(st.sampled_from([f.id for f in FIELDS] + ["oops", "diagnosis"]), JSONISH, max_size=12)
       | JSONISH)
def test_any_input_is_accepted_or_rejected_with_located_messages(data: Any) -> None:
    doc = Located("r.yaml", data, {(): (1, 1)})
    values, problems = validate(data, FIELDS, doc)
    if values is None:
        assert problems
        for p in problems:
            assert p.file == "r.yaml" and p.line is not None and p.message
    else:
        assert problems == []


@SETTINGS
@given(referrals(), st.text(max_size=200))
def test_rendering_is_deterministic_and_free_text_is_escaped(data: dict[str, Any], notes: str) -> None:
    data = {**data, "notes": notes}
    values = values_of(data)
    findings = evaluate(PATHWAY, values, get_evaluator("python", PATHWAY))
    page = render(build_report(PATHWAY, findings, AT), "html")
    assert page == render(build_report(PATHWAY, findings, AT), "html")
    shown = values["notes"]
    if shown:
        assert f'<div class="notes">{html.escape(shown).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")}</div>' \
            in page
    assert page.count("<script") == 0
