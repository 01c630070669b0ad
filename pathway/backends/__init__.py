"""Evaluation backends: each compiles a pathway's plan once and evaluates referrals.

`python` is the default and runs anywhere Python does. `durable` runs the same
plan on durable-rules (an optional, unmaintained C extension) and exists to
cross-check the default.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import PathwayError

if TYPE_CHECKING:   # the command line reads BACKENDS without loading the engine
    from ..definition import Pathway
    from ..engine import Evaluator

BACKENDS = ("python", "durable")


@lru_cache(maxsize=8)
def _compiled(name: str, pathway: Pathway) -> Evaluator:
    if name == "python":
        from .python import PythonEvaluator

        return PythonEvaluator(pathway)
    if name == "durable":
        from .durable import DurableEvaluator

        return DurableEvaluator(pathway)
    raise PathwayError(f"unknown engine '{name}'; choose one of: {', '.join(BACKENDS)}")


def get_evaluator(name: str, pathway: Pathway) -> Evaluator:
    """The backend `name` compiled for `pathway` (compiled once per process)."""
    return _compiled(name, pathway)
