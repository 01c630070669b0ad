"""Output files that are either whole or absent, and never an input.

Every report, packet, audit page and CSV is written as `.NAME.part` beside its
target and renamed over it only when complete; on any failure or interruption
(Ctrl+C, or SIGTERM, which the command turns into the same) the part file is
removed. So a file that exists is a whole one. A link is written through (its
target is replaced, the link kept); what is not a regular file (/dev/null, a
FIFO) and this process's descriptors (/dev/stdout) are written into, never
replaced. Before anything is read, `refuse_clobbering` refuses outputs that
name an input or each other.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from .errors import Code, InputError, Problem
from .filekinds import read_in_folder


def in_place(target: str | Path) -> bool:
    """Whether `target` is written into rather than replaced: it is there and not a regular file
    (a device such as /dev/null, a FIFO, a terminal), or it is one of this process's file
    descriptors (/dev/stdout, /dev/fd/1, /proc/self/fd/1), whatever that is open on. Not a folder."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not stat.S_ISDIR(mode) and (not stat.S_ISREG(mode) or _descriptor(target))


def _descriptor(target: str | Path) -> bool:
    """Whether `target`, followed link by link, leads through /proc (where a descriptor names the
    file it is open on: replacing that file would leave the descriptor writing to nothing)."""
    path = os.path.abspath(target)
    for _ in range(40):   # the system's own limit on links followed
        path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        if path.startswith("/proc/"):
            return True
        if not os.path.islink(path):
            return False
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    return False


def _cannot_write(target: str | Path, exc: OSError) -> InputError:
    return InputError([Problem(str(target), None, None, f"cannot write: {exc.strerror}", code=Code.CANNOT_WRITE)])


@contextmanager
def atomic_output(target: str | Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A file handle whose contents replace `target` only if the block completes; or, for a
    target that is not a regular file (`in_place`), one that writes into it as it goes."""
    path = Path(target)
    if path.is_dir():
        raise InputError([Problem(str(target), None, None, "cannot write: is a folder", code=Code.CANNOT_WRITE)])
    if in_place(path):
        try:   # appending: standard output sent to a file keeps what is already there
            stream: IO[Any] = (open(path, "ab") if binary  # noqa: SIM115
                               else open(path, "a", encoding="utf-8", newline=""))  # noqa: SIM115
        except OSError as exc:
            raise _cannot_write(target, exc) from None
        with stream:
            yield stream
        return
    path = Path(os.path.realpath(path))   # a link: its target is replaced, the link stays
    tmp = path.with_name(f".{path.name}.part")
    opened = False
    try:  # the open is inside: a signal landing after the file exists, before `open` returns, removes it too
        try:
            # opened outside a `with` on purpose: `with handle` below closes it, after `opened` is set
            handle: IO[Any] = (open(tmp, "wb") if binary  # noqa: SIM115
                               else open(tmp, "w", encoding="utf-8", newline=""))  # noqa: SIM115
        except OSError as exc:
            raise _cannot_write(target, exc) from None
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


def _same(a: str, b: str) -> bool:
    """The same file: by device and inode when both are there (a link, another spelling), else by
    the path they resolve to."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(name: str, folder: str | Path) -> Path | None:
    """Where `name` would be inside `folder`, relative to it; None when it is not inside."""
    if not os.path.isdir(folder):
        return None
    path, top = Path(os.path.realpath(name)), Path(os.path.realpath(folder))
    return path.relative_to(top) if path != top and path.is_relative_to(top) else None


def refuse_clobbering(outputs: Sequence[tuple[str, str]], inputs: Sequence[str], pathway: str | Path | None) -> None:
    """Refuse (bad input, exit 2), before anything is read or written, outputs that would destroy
    an input or each other: `outputs` as (option, file) that name an input file, a file a folder
    named as input would read (`filekinds.read_in_folder`), a file in the `pathway` folder, or
    the same file as an earlier output (unless it is written into, as /dev/null is). Each message
    names both files. A folder as output is left to `atomic_output` to refuse."""
    problems: list[Problem] = []

    def refuse(name: str, message: str, code: Code) -> None:
        problems.append(Problem(name, None, None, message, code=code))

    for index, (option, name) in enumerate(outputs):
        if os.path.isdir(name):
            continue
        for source in inputs:
            if _same(name, source):
                refuse(name, f"{option} would overwrite the input {source}: choose another file", Code.OUTPUT_IS_INPUT)
            elif (inside := _inside(name, source)) is not None and read_in_folder(inside):
                refuse(name, f"{option} would write into the input folder {source}, which reads it as a referral"
                             " file: choose a file outside it", Code.OUTPUT_IS_INPUT)
        if pathway is not None and _inside(name, pathway) is not None:
            refuse(name, f"{option} would write into the pathway folder {pathway}: choose a file outside it",
                   Code.OUTPUT_IS_INPUT)
        for other, earlier in outputs[:index]:
            if _same(name, earlier) and not in_place(name):
                refuse(name, f"{option} names the same file as {other} {earlier}: choose another file",
                       Code.SAME_OUTPUT)
    if problems:
        raise InputError(problems)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP's list for CSV injection)."""


def inert_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading
    apostrophe. Used for cells that carry what a referral or a file name said."""
    return "'" + text if text.startswith(FORMULA_START) else text
