"""Rule files are validated like source code: every problem, located, at once."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pathway import conditions as C
from pathway.errors import RulesError
from pathway.loader import load_pathway, rules_sha256

from .conftest import edit


def problems(folder: Path) -> list[str]:
    with pytest.raises(RulesError) as info:
        load_pathway(folder)
    root = str(folder.parent.parent) + "/"
    return [str(p).replace(root, "") for p in info.value.problems]


def test_bundled_pathway_loads(pathway) -> None:  # type: ignore[no-untyped-def]
    assert pathway.id == "itb-cp"
    assert len(pathway.items) == 24
    assert [s.title for s in pathway.sections] == [
        "Population", "Indication", "Prior treatment", "Trial before implant",
        "Integration with therapies", "Risks and safety", "Child and family", "Alternatives", "Expectations",
    ]


V1_ITEMS = [
    "population.child_with_cp", "indication.diffuse_or_severe", "indication.functional_impact",
    "prior.less_invasive_inadequate", "trial.done", "trial.response", "therapy.physiotherapy",
    "therapy.occupational_therapy", "therapy.orthotics", "therapy.goals", "safety.risks_discussed",
    "safety.withdrawal_education", "safety.refill_commitment", "safety.no_active_infection",
    "safety.body_size", "safety.contraindications_reviewed", "expectations.evidence_discussed",
]
V1_FIELDS = [
    "referral_id", "referral_date", "age_years", "diagnosis_cp", "gmfcs_level", "spasticity_severity",
    "spasticity_distribution", "functional_impact", "oral_tried", "oral_outcome", "oral_side_effects",
    "local_tried", "local_agents", "local_outcome", "trial_status", "trial_method", "trial_response",
    "physiotherapy", "occupational_therapy", "orthotics", "goals_documented", "risks_discussed",
    "withdrawal_education", "refill_commitment", "active_infection", "body_size_adequate",
    "potential_contraindications", "spinal_fusion_likely", "evidence_discussed", "notes",
]


def test_every_checklist_v1_item_and_field_is_present(pathway) -> None:  # type: ignore[no-untyped-def]
    assert [i.id for i in pathway.items if i.id in V1_ITEMS] == V1_ITEMS
    assert [f for f in pathway.fields if f in V1_FIELDS] == V1_FIELDS


def test_checklist_v2_items_and_fields_in_order(pathway) -> None:  # type: ignore[no-untyped-def]
    assert [i.id for i in pathway.items] == [
        "population.child_with_cp", "indication.tone_type_documented", "indication.diffuse_or_severe",
        "indication.functional_impact", "prior.non_invasive_tried", "prior.less_invasive_inadequate", "trial.done",
        "trial.response", "trial.measured", "therapy.physiotherapy", "therapy.occupational_therapy",
        "therapy.orthotics", "therapy.goals", "therapy.outcome_measure", "safety.risks_discussed",
        "safety.withdrawal_education", "safety.refill_commitment", "safety.no_active_infection",
        "safety.body_size", "safety.contraindications_reviewed", "family.child_views", "family.carers_informed",
        "alternatives.discussed", "expectations.evidence_discussed",
    ]
    assert list(pathway.fields) == [
        "referral_id", "referral_date", "age_years", "diagnosis_cp", "gmfcs_level", "tone_type", "tone_assessment",
        "spasticity_severity", "spasticity_distribution", "limbs_involved", "tone_supports_function",
        "functional_impact", "non_invasive_tried", "oral_tried", "oral_agents", "oral_outcome",
        "oral_dose_optimised", "oral_side_effects", "local_tried", "local_agents", "local_outcome", "trial_status",
        "trial_method", "trial_dose_mcg", "trial_response", "trial_measures", "trial_adverse_effects",
        "physiotherapy", "occupational_therapy", "orthotics", "goals_documented", "goal_types",
        "outcome_measure_planned", "risks_discussed", "withdrawal_education", "refill_commitment",
        "active_infection", "body_size_adequate", "potential_contraindications", "spinal_fusion_likely",
        "communicates_symptoms", "child_views_sought", "carers_informed", "travel_to_centre",
        "alternatives_discussed", "evidence_discussed", "notes",
    ]
    added = [f for f in pathway.fields.values() if f.id not in V1_FIELDS]
    assert len(added) == 17 and all(f.source for f in added), [f.id for f in added if not f.source]
    assert all(i.source for i in pathway.items if i.id not in V1_ITEMS)


def test_every_seed_quote_is_verbatim(pathway) -> None:  # type: ignore[no-untyped-def]
    seeds = {s.id: s.text for s in pathway.seeds}
    quotes = [(c.source, c.quote) for i in pathway.items for c in i.citations if c.quote]
    quotes += [(c.source, c.quote) for i in pathway.items for d in i.discussion for c in d.citations if c.quote]
    quotes += [(pathway.evidence_source.source, q) for q in pathway.evidence]
    assert len(quotes) > 20
    for source, quote in quotes:
        assert quote in seeds[source]


def test_seeds_are_the_shared_documents_unchanged() -> None:
    root = Path(__file__).resolve().parents[1]
    shared = root.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared is not beside this checkout")
    for original in shared.glob("*.txt"):
        assert (root / "seeds" / original.name).read_bytes() == original.read_bytes()


def test_all_problems_reported_at_once_with_locations(rules_copy: Path) -> None:
    items = rules_copy / "items.yaml"
    edit(items, "- {field: diagnosis_cp, is: yes}", "- {field: diagnosis, is: yes}")
    edit(items, "        - {field: spasticity_distribution, is: diffuse}\n        - {field: spasticity_severity, is: severe}",
         "        - {field: spasticity_distribution, is: diffuse}\n        - {field: spasticity_severity, is: very_severe}")
    edit(items, "holds: {field: physiotherapy, is: yes}", "holds: {field: physiotherapy, lt: 3}")
    edit(items, "    section: trial\n    title: Has a trial of", "    sektion: trial\n    title: Has a trial of")
    edit(items, 'quote: "Spasticity can interfere', 'quote: "Spasticity can interfer')
    assert problems(rules_copy) == [
        "rules/itb-cp/items.yaml:15:19: unknown field 'diagnosis' (did you mean 'diagnosis_cp'?)",
        "rules/itb-cp/items.yaml:91:44: field 'spasticity_severity' cannot take 'very_severe' (did you mean 'severe'?);"
        " allowed: mild, moderate, severe",
        "rules/itb-cp/items.yaml:145:16: quote is not verbatim in seed 'itb-overview' (002_46f1345da9a237e1.txt):"
        ' "Spasticity can interfer with movement, daily activities, and quality of life."',
        "rules/itb-cp/items.yaml:220:5: missing required key 'section'",
        "rules/itb-cp/items.yaml:221:5: unknown key 'sektion' (did you mean 'section'?); allowed: id, section, title,"
        " holds, applies_when, explain, citations, discussion, source, shows",
        "rules/itb-cp/items.yaml:292:35: operator 'lt' cannot test tristate field 'physiotherapy'; allowed: is, answered",
    ]


def test_quote_differing_only_in_hyphen_gets_a_hint(rules_copy: Path) -> None:
    edit(rules_copy / "pathway.yaml", "in the short‐term. The effect", "in the short-term. The effect")
    [message] = problems(rules_copy)
    assert message.startswith("rules/itb-cp/pathway.yaml:")
    assert "quote is not verbatim in seed 'cochrane-itb-cp' (000_db4ad87d1ed8ab18.txt) (it differs only in" \
        " punctuation or spacing: copy the characters exactly, e.g. '‐' U+2010 hyphens)" in message


def test_edited_seed_names_the_citation_that_no_longer_matches(rules_copy: Path) -> None:
    seed = rules_copy.parent.parent / "seeds" / "002_46f1345da9a237e1.txt"
    seed.write_text(seed.read_text(encoding="utf-8").replace("catheter malfunction", "catheter fault"), encoding="utf-8")
    found = problems(rules_copy)
    assert len(found) == 1
    assert found[0].startswith("rules/itb-cp/items.yaml:")
    assert "quote is not verbatim in seed 'itb-overview'" in found[0]
    assert '"Potential risks and complications include infection, catheter malfunction' in found[0]


def test_missing_seed_file_is_reported(rules_copy: Path) -> None:
    (rules_copy.parent.parent / "seeds" / "000_db4ad87d1ed8ab18.txt").unlink()
    found = problems(rules_copy)
    assert found[0] == "seeds/manifest.yaml:5:11: seed 'cochrane-itb-cp': 000_db4ad87d1ed8ab18.txt: file not found"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: Is the child free of current infection?\n    holds: {field: active_infection, is: no}\n"
         "    explain:", "title: Is the child free of current infection?\n    holds: {field: active_infection, is: no}\n"
         "    source: x\n    explain:", None),
        ("      - source: nice-cg145\n        reference: \"1.6.1 (despite the use of non-invasive treatments)\"\n",
         "      - source: nice-cg154\n        reference: \"1.6.1 (despite the use of non-invasive treatments)\"\n",
         "unknown source 'nice-cg154' (did you mean 'nice-cg145'?); known: cochrane-itb-cp, itb-overview,"
         " nice-cg145, itb-prescribing-information, boster-2016-screening, saulino-2016-selection,"
         " nhs-england-itb-policy"),
        ("holds: {field: trial_status, is: done}", "holds: {field: trial_status, is: finished}",
         "field 'trial_status' cannot take 'finished'; allowed: not_planned, planned, done"),
        ("holds: {field: trial_status, is: done}", "holds: {field: trial_status, equals: done}",
         "operator 'equals' cannot test choice field 'trial_status'; allowed: is, in, answered"),
        ("holds: {field: trial_status, is: done}", "holds: {field: trial_status, is: unknown}",
         "field 'trial_status' cannot take unknown (conditions never test for unknown: unanswered is handled by"
         " three-valued logic); allowed: not_planned, planned, done"),
        ("holds: {field: trial_status, is: done}", "holds: {alll: []}",
         "unknown condition key 'alll' (did you mean 'all'?); expected all, any, not or field"),
        ("holds: {field: trial_status, is: done}", "holds: {any: []}", "'any' takes a non-empty list of conditions"),
        ("holds: {field: trial_status, is: done}", "holds: {field: trial_status}",
         "a test of field 'trial_status' needs exactly one operator (for a choice field: is, in, answered)"),
        ("    section: trial\n    title: Has a trial of", "    section: trail\n    title: Has a trial of",
         "item 'trial.done': unknown section 'trail' (did you mean 'trial'?)"),
        ("      - id: trial.scheduled\n        when: {field: trial_status, is: planned}",
         "      - id: trial.scheduled\n        when_status: [not_met]\n        when: {field: trial_status, is: planned}",
         "discussion point 'trial.scheduled' needs exactly one of 'when' or 'when_status'"),
        ("      - source: nice-cg145\n        reference: \"1.6.4\"\n    discussion:",
         "      - source: nice-cg145\n        quote: \"Contraindications\"\n    discussion:",
         "source 'nice-cg145' is not a bundled seed, so a quote cannot be checked; cite it by 'reference'"
         " (section) instead"),
    ],
)
def test_item_mistakes(rules_copy: Path, old: str, new: str, expected: str | None) -> None:
    edit(rules_copy / "items.yaml", old, new)
    if expected is None:  # a harmless edit: the pathway still loads
        load_pathway(rules_copy)
        return
    found = problems(rules_copy)
    assert len(found) == 1, found
    assert found[0].startswith("rules/itb-cp/items.yaml:")
    assert found[0].split(": ", 1)[1] == expected


def test_form_mistakes(rules_copy: Path) -> None:
    form = rules_copy / "form.yaml"
    edit(form, "shown_when: {field: oral_tried, is: yes}\n        options:\n          - {value: adequate_control",
         "shown_when: {field: oral_tryed, is: yes}\n        options:\n          - {value: adequate_control")
    edit(form, "      - id: local_tried\n        type: tristate", "      - id: local_tried\n        type: tri-state")
    found = problems(rules_copy)
    assert found[0] == "rules/itb-cp/form.yaml:140:29: unknown field 'oral_tryed' (did you mean 'oral_tried'?)"
    assert found[1].startswith("rules/itb-cp/form.yaml:166:15: 'type': must be 'text', 'longtext', 'date',")
    # a broken field definition is reported once, not again at every item that uses it
    assert len(found) == 2


def test_not_a_pathway_folder(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        load_pathway(tmp_path)
    assert str(info.value) == f"{tmp_path}: not a pathway folder (no pathway.yaml)"


def test_rules_hash_changes_with_rules_not_with_examples(rules_copy: Path) -> None:
    before = rules_sha256(rules_copy)
    (rules_copy / "examples" / "extra.yaml").write_text("cases: []\n", encoding="utf-8")
    assert rules_sha256(rules_copy) == before
    edit(rules_copy / "items.yaml", "title: Is the spasticity diffuse or severe?", "title: Is the spasticity severe or diffuse?")
    assert rules_sha256(rules_copy) != before


def test_a_pathway_loaded_without_its_examples_is_the_same_pathway(rules_copy: Path) -> None:
    """The audit skips the example cases (its start-up time counts); everything else is loaded and checked."""
    whole = load_pathway(rules_copy)
    (rules_copy / "examples" / "extra.yaml").write_text("cases: []\n", encoding="utf-8")   # broken: no cases
    with pytest.raises(RulesError, match="extra.yaml"):
        load_pathway(rules_copy)
    lean = load_pathway(rules_copy, examples=False)
    assert lean.cases == () and len(whole.cases) > 80
    assert (lean.rules_sha256, lean.items, lean.form) == (whole.rules_sha256, whole.items, whole.form)
    edit(rules_copy / "items.yaml", "title: Is the spasticity diffuse or severe?", "title: 12")
    with pytest.raises(RulesError):
        load_pathway(rules_copy, examples=False)


def test_a_seeds_folder_without_a_manifest_is_reported_at_the_seeds_key(rules_copy: Path) -> None:
    """Found by the rule fuzzer: a mangled `seeds:` path once gave a problem with no line."""
    edit(rules_copy / "pathway.yaml", "seeds: ../../seeds", "seeds: ../..")
    found = problems(rules_copy)
    seeds_folder = rules_copy.parent.parent.resolve()
    assert f"rules/itb-cp/pathway.yaml:19:8: 'seeds': no seed manifest (manifest.yaml) in {seeds_folder}" in found
    assert all(re.match(r"[^:]+:[0-9]+:[0-9]+: ", p) for p in found), found   # every one located


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [("holds: {field: trial_status, is: done}", "holds: {field: trial_dose_mcg, answered: false}", "holds"),
     ("applies_when: {field: trial_status, is: done}\n    holds: {field: trial_response, is: positive}",
      "applies_when: {field: trial_method, answered: false}\n    holds: {field: trial_response, is: positive}",
      "applies_when")],
)
def test_answered_false_is_for_discussion_points_only(rules_copy: Path, old: str, new: str, key: str) -> None:
    """A status never reads a missing answer as anything but unknown: `answered: false` decides no status."""
    edit(rules_copy / "items.yaml", old, new)
    with pytest.raises(RulesError) as info:
        load_pathway(rules_copy)
    [problem] = info.value.problems
    assert problem.code.value == "wrong-operator"
    assert problem.message.endswith("'answered: false' belongs in a discussion point's 'when'; a status never reads"
                                    " a missing answer as anything but unknown")


def test_a_bare_no_in_a_condition_on_a_yes_partly_no_choice_is_the_word_no(rules_copy: Path) -> None:
    """The same rule as for a referral's answers: YAML 1.1's false is "no" where the field offers yes and no,
    and stays false (refused) where it does not."""
    edit(rules_copy / "items.yaml", 'in: [partly, "no"]', "in: [partly, no]")
    loaded = load_pathway(rules_copy)
    [when] = [d.when for i in loaded.items for d in i.discussion
              if d.when is not None and list(C.fields_of(d.when)) == ["communicates_symptoms"]]
    assert C.to_data(when) == {"field": "communicates_symptoms", "in": ["partly", "no"]}
    edit(rules_copy / "items.yaml", "{field: communicates_symptoms, in: [partly, no]}", "{field: travel_to_centre, is: no}")
    [problem] = problems(rules_copy)
    assert problem.endswith("field 'travel_to_centre' cannot take 'False'; allowed: local_refills_available,"
                            " manageable, difficult")


def test_an_example_case_keeps_its_referral_id_as_written(rules_copy: Path) -> None:
    edit(rules_copy / "examples" / "complete.yaml", "referral_id: R-EX-COMPLETE-01", "referral_id: 0012")
    cases = [c for c in load_pathway(rules_copy).cases if c.referral["referral_id"] in ("0012", 12)]
    assert [c.referral["referral_id"] for c in cases] == ["0012"]  # as run: `pathway test` runs case.referral


def test_the_referral_id_field_is_required_text(rules_copy: Path) -> None:
    edit(rules_copy / "form.yaml", "      - id: referral_id\n        type: text\n        required: true\n",
         "      - id: referral_id\n        type: text\n")
    assert problems(rules_copy) == [
        "rules/itb-cp/form.yaml:9:13: field 'referral_id' must be text and required (type: text, required: true):"
        " every report, packet and audit names a referral by it"]


def test_a_form_without_a_referral_id_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "rules" / "hip"
    shutil.copytree(Path(__file__).parent / "data" / "hip-check", folder)
    edit(folder / "pathway.yaml", "seeds: ../../../seeds", f"seeds: {Path(__file__).parents[1] / 'seeds'}")
    edit(folder / "form.yaml", "{id: referral_id,", "{id: child_ref,")
    found = problems(folder)
    assert found[0] == ("rules/hip/form.yaml:2:3: the form has no field 'referral_id': every report, packet and audit"
                        " names a referral by it; add {id: referral_id, type: text, required: true}")
