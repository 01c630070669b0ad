"""`python -m pathway`: the same as the `pathway` command."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
