"""Run tasks in worker processes, or in this one, and hand back their results in input order.

Tasks are cut the same way whatever `--jobs` is, and results come back in task
order, so the audit does not depend on it. Workers are separate processes
(spawned, so it works the same on every platform), each with its share of
Polars threads; at most two tasks per worker are in flight, so memory is
bounded by the batch size, not by the input.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from ..definition import Pathway
from ..errors import PathwayError
from .sources import Task
from .task import Options, TaskResult, prepare, process


def run(pathway: Pathway, tasks: Iterable[Task], options: Options, jobs: int) -> Iterator[TaskResult]:
    """Results in task order; with jobs > 1, at most 2 × jobs tasks in flight (bounded memory)."""
    if jobs <= 1:
        prepare(pathway)
        for task in tasks:
            yield process(task, options)
        return
    with _polars_threads(max(1, (os.cpu_count() or 1) // jobs)):
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(pathway,))
        for _ in range(jobs):   # start the workers now: they get ready while the inputs are scanned
            pool.submit(_ready)
    finished = False
    try:
        pending: deque[Future[TaskResult]] = deque()
        for task in tasks:
            pending.append(pool.submit(process, task, options))
            while len(pending) >= 2 * jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        finished = True
    except BrokenProcessPool:
        raise PathwayError("a worker process stopped unexpectedly (out of memory?); nothing was written."
                           " Try a smaller --batch-size or fewer --jobs.") from None
    finally:
        if not finished:  # interrupted or failed: stop the workers now, mid-task, quietly
            for worker in list(getattr(pool, "_processes", {}).values()):
                worker.terminate()
        pool.shutdown(wait=True, cancel_futures=not finished)  # none outlives the audit, even mid-start


def _worker_start(pathway: Pathway) -> None:
    """A worker leaves Ctrl+C to the main process, which stops it and cleans up the outputs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    prepare(pathway)


def _ready() -> None:
    """A task that only makes a worker start."""


@contextmanager
def _polars_threads(n: int) -> Iterator[None]:
    """Workers share the cores: each gets its slice of Polars threads (read when a worker starts;
    workers start with the pool, so the setting is restored as soon as it exists)."""
    old = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = str(n)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = old
