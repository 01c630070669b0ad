"""Shared fixtures: the bundled pathway, a copy of it to break, and a CLI runner."""
from __future__ import annotations

import datetime as dt
import io
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pathway.cli import main
from pathway.definition import Pathway
from pathway.loader import load_pathway

with warnings.catch_warnings():  # newer Starlette prefers httpx2 to httpx, and says so once, at import
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from pathway.web.app import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "itb-cp"
EXAMPLE = ROOT / "examples" / "referral-R-001.yaml"
FIXED = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
"""The fixed clock of the web tests."""


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The web app in-process, with the fixed clock."""
    with TestClient(create_app(RULES, clock=lambda: FIXED)) as c:
        yield c


def example() -> dict[str, Any]:
    """The bundled example referral as JSON-ready data."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in data.items()}


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
