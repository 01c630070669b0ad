"""Output files that are either whole or absent.

Every report, packet, audit page and CSV is written as `.NAME.part` beside its
target and renamed over it only when complete; on any failure or interruption
(Ctrl+C, or SIGTERM, which the command turns into the same) the part file is
removed. So a file that exists is a whole one.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from .errors import Code, InputError, Problem


@contextmanager
def atomic_output(target: str | Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A file handle whose contents replace `target` only if the block completes."""
    path = Path(target)
    if path.is_dir():
        raise InputError([Problem(str(target), None, None, "cannot write: is a folder", code=Code.CANNOT_WRITE)])
    tmp = path.with_name(f".{path.name}.part")
    opened = False
    try:  # the open is inside: a signal landing after the file exists, before `open` returns, removes it too
        try:
            # opened outside a `with` on purpose: `with handle` below closes it, after `opened` is set
            handle: IO[Any] = (open(tmp, "wb") if binary  # noqa: SIM115
                               else open(tmp, "w", encoding="utf-8", newline=""))  # noqa: SIM115
        except OSError as exc:
            problem = Problem(str(target), None, None, f"cannot write: {exc.strerror}", code=Code.CANNOT_WRITE)
            raise InputError([problem]) from None
        opened = True
        with handle:
            yield handle
        os.replace(tmp, path)
    except BaseException as exc:
        if opened or not isinstance(exc, InputError):  # never remove a file this call did not make
            with suppress(OSError):
                tmp.unlink(missing_ok=True)
        raise


def write_atomic(target: str | Path, data: str | bytes) -> None:
    """Write a whole file at once (text as UTF-8), whole or not at all."""
    with atomic_output(target, binary=isinstance(data, bytes)) as out:
        out.write(data)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP's list for CSV injection)."""


def inert_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading
    apostrophe. Used for cells that carry what a referral or a file name said."""
    return "'" + text if text.startswith(FORMULA_START) else text
