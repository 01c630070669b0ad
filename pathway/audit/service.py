"""The one path from inputs to an audit: plan tasks, run them, merge, write the files.

Output files are written beside their targets under a temporary name and
renamed only when the audit is complete, so an interrupted audit leaves no
half-written file (and an earlier audit's files stay as they were).
"""
from __future__ import annotations

import datetime as dt
import importlib
import io
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..definition import Pathway
from ..errors import InputError, Problem
from .aggregate import Merger
from .page import AuditPage, build_page, render_page
from .progress import Progress
from .run import run
from .task import Options
from .sources import check_inputs, plan


@dataclass(frozen=True)
class Outputs:
    html: str | None
    matrix: str | None = None
    rejects: str | None = None


def audit(
    pathway: Pathway, inputs: Sequence[str], outputs: Outputs, *, jobs: int, batch: int = 25_000,
    keep: int = 1000, clock: Callable[[], dt.datetime], progress: Progress | None = None, row_only: bool = False,
) -> AuditPage:
    """Audit every record of `inputs`; write the page and the files asked for; return the page."""
    files = check_inputs(inputs)
    if jobs > 1:   # the main process mostly waits for workers: get the chart's library ready meanwhile
        threading.Thread(target=importlib.import_module, args=("matplotlib.backends.backend_svg",), daemon=True).start()
    options = Options(keep=keep, matrix=outputs.matrix is not None, reasons=outputs.rejects is not None,
                      row_only=row_only)
    with ExitStack() as stack:
        matrix = stack.enter_context(_atomic(outputs.matrix, binary=True)) if outputs.matrix else None
        rejects = stack.enter_context(_atomic(outputs.rejects)) if outputs.rejects else None
        page_out = stack.enter_context(_atomic(outputs.html)) if outputs.html else None
        merger = Merger(pathway, keep, matrix, rejects)
        tracker = progress or Progress(0, stream=io.StringIO())   # not a terminal: silent
        tracker.total = max(1, sum(_size(f) for f in files))
        sizes: dict[int, int] = {}

        def tasks() -> Iterator[Any]:
            for task in plan(files, batch):
                sizes[task.index] = task.size
                yield task

        for result in run(pathway, tasks(), options, jobs):
            merger.add(result)
            tracker.update(sizes.pop(result.index, 0), result.records)
        tracker.close()
        page = build_page(pathway, merger.finish(), inputs=inputs, files=len(files), at=clock(),
                          matrix_file=outputs.matrix, rejects_file=outputs.rejects)
        if page_out is not None:
            page_out.write(render_page(page))
    return page


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextmanager
def _atomic(target: str, binary: bool = False) -> Iterator[IO[Any]]:
    """A file written as `.NAME.part` beside `target`, renamed over it only if the block completes."""
    path = Path(target)
    if path.is_dir():
        raise InputError([Problem(target, None, None, "cannot write: is a folder")])
    tmp = path.with_name(f".{path.name}.part")
    try:
        handle: IO[Any] = open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError([Problem(target, None, None, f"cannot write: {exc.strerror}")]) from None
    try:
        with handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
