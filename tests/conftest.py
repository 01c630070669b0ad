"""Shared fixtures: the bundled pathway, a copy of it to break, and a CLI runner."""
from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pathway.cli import main
from pathway.definition import Pathway
from pathway.loader import load_pathway

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "itb-cp"
EXAMPLE = ROOT / "examples" / "referral-R-001.yaml"


@pytest.fixture(scope="session")
def pathway() -> Pathway:
    return load_pathway(RULES)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A private copy of the pathway and its seeds, laid out as in the repo, to edit."""
    shutil.copytree(RULES, tmp_path / "rules" / "itb-cp")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    return tmp_path / "rules" / "itb-cp"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def runner(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run the CLI in-process and return exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        out = io.StringIO()
        code = main(list(args), stdout=out)
        captured = capsys.readouterr()
        return Result(code, out.getvalue() + captured.out, captured.err)

    return run


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact snippet in a file (it must be there exactly once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
