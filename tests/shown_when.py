"""Conditions to put on a form field, and referrals to try them on: shared by the FHIR and REDCap tests.

Both exports claim to show a dependent question exactly when its three-valued
shown_when condition is true; these are the conditions and answers that claim
is tried on.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pathway import conditions as C
from pathway.definition import Pathway
from pathway.loader import load_pathway

from .conftest import RULES

PATHWAY = load_pathway(RULES)


def with_condition(field_id: str, cond: C.Condition | None) -> Pathway:
    """The pathway with one field's shown_when replaced (the form is rebuilt, so `fields` follows)."""
    form = tuple(replace(s, fields=tuple(replace(f, shown_when=cond) if f.id == field_id else f for f in s.fields))
                 for s in PATHWAY.form)
    return replace(PATHWAY, form=form, fields={})


EXPRESSIBLE = [  # in FHIR enableWhen and in REDCap branching logic
    C.In("oral_tried", ("yes",)),
    C.In("gmfcs_level", ("III", "IV", "V")),
    C.AnyOf((C.In("oral_tried", ("yes",)), C.In("local_tried", ("yes",)))),
    C.All((C.Compare("age_years", "lt", 18.0), C.In("diagnosis_cp", ("yes",)))),
    C.AnyOf((C.In("gmfcs_level", ("IV", "V")), C.Compare("age_years", "ge", 12.5))),
    C.Contains("functional_impact", ("movement", "posture"), "all"),
    C.Contains("risks_discussed", ("infection", "withdrawal"), "any"),
    C.All((C.In("trial_status", ("done",)), C.Contains("functional_impact", ("movement", "posture"), "all"))),
    C.Answered("functional_impact"),
    C.Answered("age_years"),
]

SAMPLES: dict[str, list[Any]] = {
    "oral_tried": [None, "yes", "no", "unknown"], "local_tried": [None, "yes", "no"],
    "diagnosis_cp": [None, "yes", "no"], "gmfcs_level": [None, "II", "IV"], "trial_status": [None, "done", "planned"],
    "age_years": [None, 9.5, 12.5, 18, 20], "functional_impact": [None, ["movement"], ["movement", "posture"], ["none"]],
    "risks_discussed": [None, ["infection"], ["pump_failure"], ["none"]],
}


def assignments(cond: C.Condition) -> Iterator[dict[str, Any]]:
    names = list(dict.fromkeys(C.fields_of(cond)))
    for combo in itertools.product(*(SAMPLES[n] for n in names)):
        yield {"referral_id": "R-1"} | {n: v for n, v in zip(names, combo) if v is not None}

REDCAP_ONLY = [  # nesting that enableWhen has no form for
    C.All((C.In("gmfcs_level", ("IV", "V")), C.In("oral_tried", ("yes",)))),
    C.All((C.In("oral_tried", ("yes",)), C.AnyOf((C.In("local_tried", ("yes",)), C.Answered("age_years"))))),
]
