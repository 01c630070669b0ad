"""Where the bundled rules, templates and seeds are, installed or in a checkout.

The wheel carries the top-level `rules/`, `templates/` and `seeds/` folders
as `pathway/_data/…`; a source checkout (or an editable install) reads them
from the repository root. Either way the CLI works from any directory.
"""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
DEFAULT_PATHWAY = "itb-cp"


def data_root() -> Path:
    """The folder holding rules/, templates/ and seeds/."""
    bundled = _PACKAGE / "_data"
    if (bundled / "rules").is_dir():
        return bundled
    return _PACKAGE.parent


def rules_dir() -> Path:
    return data_root() / "rules"


def default_pathway_dir() -> Path:
    return rules_dir() / DEFAULT_PATHWAY


def templates_dir() -> Path:
    return data_root() / "templates"


def schema_path() -> Path:
    return _PACKAGE / "schema" / "report.schema.json"
