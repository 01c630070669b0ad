"""'Did you mean' hints for near-miss names, as yamllint and rule-engine give."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest known name, or ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(values: Iterable[str]) -> str:
    """Render allowed values the way every message names them."""
    return ", ".join(str(v) for v in values)
