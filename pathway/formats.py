"""The report formats and the output-file suffixes that pick them.

Apart from `render` so that the command line can offer them without loading
the templates' machinery (a command starts faster when it imports only what
it runs).
"""
from __future__ import annotations

from pathlib import Path

FORMATS = ("html", "md", "json")
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}


def format_for(path: str | Path, default: str = "html") -> str:
    """The format an output file's suffix asks for."""
    return SUFFIXES.get(Path(path).suffix.lower(), default)
