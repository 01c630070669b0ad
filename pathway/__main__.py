"""`python -m pathway`: the same as the `pathway` command."""
from __future__ import annotations

from .entry import main_entry

if __name__ == "__main__":
    main_entry()
