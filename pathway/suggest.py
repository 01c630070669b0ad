"""'Did you mean' hints for near-miss names, as yamllint and rule-engine give."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ` (did you mean 'x'?)` for the closest known name, or ''."""
    return _closest(name, tuple(known))


@lru_cache(maxsize=1024)
def _closest(name: str, known: tuple[str, ...]) -> str:
    """Worked out once per name: an audit words the same misspelt column in every rejected row."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(values: Iterable[str]) -> str:
    """Render allowed values the way every message names them."""
    return ", ".join(str(v) for v in values)
