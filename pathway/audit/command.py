"""Registers the `pathway audit` sub-command(s) with the CLI."""
from __future__ import annotations

from typing import Any


def register(sub: Any, rules_opt: Any, engine_opts: Any) -> None:
    """Filled in by the audit front end."""
