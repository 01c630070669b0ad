"""The one path from inputs to an audit: plan tasks, run them, merge, write the files.

Output files are written beside their targets under a temporary name and
renamed only when the audit is complete, so an interrupted audit leaves no
half-written file (and an earlier audit's files stay as they were).
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from ..definition import Pathway
from ..outputs import atomic_output
from . import chart
from .aggregate import Merger
from .page import AuditPage, build_page, render_page
from .progress import Progress
from .results import Options
from .run import Workers, run
from .sizing import file_size
from .sources import Task, check_inputs, plan


@dataclass(frozen=True)
class Outputs:
    html: str | None
    matrix: str | None = None
    rejects: str | None = None


def audit(
    pathway: Pathway, inputs: Sequence[str], outputs: Outputs, *, jobs: int, batch: int = 25_000,
    keep: int = 1000, clock: Callable[[], dt.datetime], progress: Progress | None = None, row_only: bool = False,
    workers: Workers | None = None,
) -> AuditPage:
    """Audit every record of `inputs`; write the page and the files asked for; return the page.
    `workers`: processes already started for `jobs` > 1 (else they are started here)."""
    files = check_inputs(inputs)
    options = Options(keep=keep, rejects=keep, matrix=outputs.matrix is not None, reasons=outputs.rejects is not None,
                      row_only=row_only)
    with ExitStack() as stack:
        matrix = stack.enter_context(atomic_output(outputs.matrix, binary=True)) if outputs.matrix else None
        rejects = stack.enter_context(atomic_output(outputs.rejects)) if outputs.rejects else None
        page_out = stack.enter_context(atomic_output(outputs.html)) if outputs.html else None
        merger = Merger(pathway, keep, matrix, rejects)
        tracker = progress or Progress(0, stream=io.StringIO())   # not a terminal: silent
        tracker.total = max(1, sum(file_size(f) for f in files))
        sizes: dict[int, int] = {}

        def work() -> Iterator[tuple[Task, Options]]:
            for task in plan(files, batch):
                sizes[task.index] = task.size
                yield task, merger.narrow(options)
                if jobs > 1:
                    # from here this process mostly waits for the workers: get the chart's library
                    # meanwhile (not earlier: it would slow the scan the first task waits for)
                    chart.warm_up()

        for result in run(pathway, work(), jobs, workers):
            merger.add(result)
            tracker.update(sizes.pop(result.index, 0), result.records)
        if workers is not None:
            workers.finish()   # no more tasks: they exit while the page is made
        tracker.close()
        page = build_page(pathway, merger.finish(), inputs=inputs, files=len(files), at=clock(),
                          matrix_file=outputs.matrix, rejects_file=outputs.rejects)
        if page_out is not None:
            page_out.write(render_page(page))
    return page
