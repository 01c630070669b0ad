"""The one path from inputs to an audit: plan tasks, run them, merge, write the files.

Every task runs the same function (`run_task`), here in this process or on a
Dask cluster (`cluster`), and results are merged in task order, so the files
do not depend on where, or how many at once, the tasks ran. One process is
enough on one machine: two tasks at a time in threads, each spread over the
cores by Polars (see docs/audit.md for the figures against worker processes).

Output files are written beside their targets under a temporary name and
renamed only when the audit is complete, so an interrupted audit leaves no
half-written file (and an earlier audit's files stay as they were).
"""
from __future__ import annotations

import datetime as dt
import importlib
import io
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from ..csvlayout import AS_FOUND, Reading
from ..definition import Pathway
from ..outputs import atomic_output
from .aggregate import Merger
from .groups import By
from .page import AuditPage, build_page, render_page
from .progress import Progress
from .results import Options, TaskResult
from .sources import Task, check_inputs, file_size, plan

THREADS = 2
"""Tasks run at once in this process (results do not depend on it)."""
SMALL_INPUT = 2 << 20
"""Bytes of input under which "auto" takes the row engine: it needs no Polars, whose import
alone costs about as much as deciding a few thousand records row by row."""


@dataclass(frozen=True)
class Outputs:
    html: str | None
    matrix: str | None = None
    rejects: str | None = None


Runner = Callable[[Pathway, Iterable[Task], Callable[[], Options], bool], Iterator[tuple[Task, TaskResult]]]


def audit(
    pathway: Pathway, inputs: Sequence[str], outputs: Outputs, *, batch: int = 25_000, keep: int = 1000,
    clock: Callable[[], dt.datetime], progress: Progress | None = None, engine: str = "auto",
    runner: Runner | None = None, reading: Reading = AS_FOUND, by: By | None = None,
) -> AuditPage:
    """Audit every record of `inputs`; write the page and the files asked for; return the page.
    `runner`: where the tasks run (default: `run_here`, in this process); `reading`: the encoding
    and delimiter the person named (default: found from each file); `by`: a breakdown by group."""
    files = check_inputs(inputs)
    total = sum(file_size(f) for f in files)
    columnar = engine == "columnar" or (engine == "auto" and total >= SMALL_INPUT)
    options = Options(keep=keep, rejects=keep, matrix=outputs.matrix is not None, reasons=outputs.rejects is not None,
                      by=by)
    with ExitStack() as stack:
        matrix = stack.enter_context(atomic_output(outputs.matrix, binary=True)) if outputs.matrix else None
        rejects = stack.enter_context(atomic_output(outputs.rejects)) if outputs.rejects else None
        page_out = stack.enter_context(atomic_output(outputs.html)) if outputs.html else None
        merger = Merger(pathway, keep, matrix, rejects, by.name if by else None)
        tracker = progress or Progress(0, stream=io.StringIO())   # not a terminal: silent
        tracker.total = max(1, total)
        tasks = plan(files, batch, pathway, reading)
        for task, result in (runner or run_here)(pathway, tasks, lambda: merger.narrow(options), columnar):
            merger.add(result)
            tracker.update(task.size, result.records)
        tracker.close()
        page = build_page(pathway, merger.finish(), inputs=inputs, files=len(files), at=clock(),
                          matrix_file=outputs.matrix, rejects_file=outputs.rejects, by=by)
        if page_out is not None:
            page_out.write(render_page(page))
    return page


def run_here(pathway: Pathway, tasks: Iterable[Task], options: Callable[[], Options],
             columnar: bool) -> Iterator[tuple[Task, TaskResult]]:
    """The tasks in this process, two at a time in threads (Polars works outside Python's lock, so
    one task's reading overlaps the other's Python work), results in task order. `options` is
    asked afresh for each task: what a task sends back narrows as earlier results come in."""
    process = _prepared(pathway, columnar)
    pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="audit")
    pending: deque[tuple[Task, Future[TaskResult]]] = deque()
    try:
        for task in tasks:
            pending.append((task, pool.submit(process, task, options(), pathway)))
            if len(pending) > THREADS:
                done, result = pending.popleft()
                yield done, result.result()
        while pending:
            done, result = pending.popleft()
            yield done, result.result()
    finally:
        pool.shutdown(cancel_futures=True)   # interrupted: the tasks running finish, no other starts


def run_task(pathway: Pathway, task: Task, options: Options, columnar: bool) -> TaskResult:
    """One task by either engine: the function a cluster's workers run."""
    return _prepared(pathway, columnar)(task, options, pathway)


def _prepared(pathway: Pathway, columnar: bool) -> Callable[[Task, Options, Pathway], TaskResult]:
    """The engine's task function, with what it builds once per pathway built; Polars is
    imported only when the columnar engine runs."""
    with held_interrupts():
        engine = importlib.import_module(".task" if columnar else ".rows", __package__)
        engine.prepare(pathway)
    process: Callable[[Task, Options, Pathway], TaskResult] = engine.process
    return process


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Ctrl+C and SIGTERM wait until the block is done: it builds things in native code (the
    import of Polars, pydantic's validators), which can turn the KeyboardInterrupt into another
    error or drop it. Then they stop the audit as anywhere else. (Only in the main thread: a
    Dask worker's tasks run in threads of their own, and it handles its signals itself.)"""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
