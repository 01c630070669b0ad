"""docs/safety.md names a test for every hazard, and every test it names exists."""
from __future__ import annotations

import ast
import re

from .conftest import ROOT

SAFETY = ROOT / "docs" / "safety.md"
NAMED = re.compile(r"`(tests/test_\w+\.py)::(test_\w+)`")


def functions_in(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_every_named_test_exists() -> None:
    named = NAMED.findall(SAFETY.read_text(encoding="utf-8"))
    assert len(named) > 30
    missing = [f"{path}::{name}" for path, name in named if name not in functions_in(path)]
    assert missing == []


def test_every_hazard_names_at_least_one_test() -> None:
    text = SAFETY.read_text(encoding="utf-8")
    hazards = re.findall(r"^\| (H\d+) \|", text, re.M)
    assert hazards
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    by_id = {s.split(".", 1)[0]: s for s in sections}
    for hazard in hazards:
        assert hazard in by_id, f"{hazard} has no section"
        assert NAMED.search(by_id[hazard]), f"{hazard} names no test"
