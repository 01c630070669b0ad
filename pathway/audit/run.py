"""Run tasks in worker processes, or in this one, and hand back their results in input order.

Tasks are cut the same way whatever `--jobs` is, and results come back in task
order, so the audit does not depend on it. Workers are separate processes
(spawned, so it works the same on every platform), each with its share of
Polars threads; at most two tasks per worker are in flight, so memory is
bounded by the batch size, not by the input.

A worker takes about a third of a second to start (an interpreter, Polars,
the referral model), so the command starts them first (`Workers`), before it
imports anything heavy itself, and loads the pathway while they get ready; the
pathway then travels with each task, pickled once (a worker unpickles it only
when it differs from the last one it saw). This module imports no Polars: the
main process only plans, merges and writes.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from ..errors import PathwayError

if TYPE_CHECKING:   # the main process starts the workers before it imports Polars or the engine
    from ..definition import Pathway
    from .results import Options, TaskResult
    from .sources import Task


class Workers:
    """`jobs` worker processes, started now; stopped on leaving the `with` block (at once,
    mid-task, if it is left by an error or an interruption)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        with _polars_threads(max(1, (os.cpu_count() or 1) // jobs)), _deaf_to_ctrl_c():
            self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_worker_start)
            for _ in range(jobs):   # start them all now, not one by one as tasks come
                self.pool.submit(_ready)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close(finished=kind is None)

    def finish(self) -> None:
        """No more tasks will come: let the workers exit now, while the caller goes on (`close` waits)."""
        self.pool.shutdown(wait=False)

    def close(self, finished: bool = True) -> None:
        if not finished:
            self._stop_now()
        self.pool.shutdown(wait=True, cancel_futures=not finished)  # none outlives the audit, even mid-start

    def _stop_now(self) -> None:
        """Interrupted or failed: stop the workers now, mid-task, quietly. A worker stopped while
        it sends a result leaves half a message in the results pipe, and the pool's own thread
        would wait for the rest for ever: once the workers are gone, this process closes its end
        for writing too, so that read ends. (The pool has no public way to stop its workers
        before Python 3.14, hence its private fields, read defensively.)"""
        workers = list((getattr(self.pool, "_processes", None) or {}).values())  # None once shut down
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(10)
            if worker.exitcode is None:   # it did not stop on SIGTERM: SIGKILL cannot be refused
                worker.kill()
                worker.join()
        results = getattr(self.pool, "_result_queue", None)
        if results is not None:
            results._writer.close()


def run(pathway: Pathway, work: Iterable[tuple[Task, Options]], jobs: int,
        workers: Workers | None = None) -> Iterator[TaskResult]:
    """Results in task order; with jobs > 1, at most 2 × jobs tasks in flight (bounded memory).
    `work` is read lazily: each task's options may depend on the results yielded before it."""
    if jobs <= 1:
        from .task import prepare, process

        prepare(pathway)
        for task, options in work:
            yield process(task, options)
        return
    if workers is None:
        with Workers(jobs) as own:
            yield from _pooled(pathway, work, own)
        return
    yield from _pooled(pathway, work, workers)


def _pooled(pathway: Pathway, work: Iterable[tuple[Task, Options]], workers: Workers) -> Iterator[TaskResult]:
    blob = pickle.dumps(pathway, protocol=pickle.HIGHEST_PROTOCOL)
    pending: deque[Future[TaskResult]] = deque()
    try:
        for task, options in work:
            pending.append(workers.pool.submit(_process, blob, task, options))
            while len(pending) >= 2 * workers.jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        raise PathwayError("a worker process stopped unexpectedly (out of memory?); nothing was written."
                           " Try a smaller --batch-size or fewer --jobs.") from None


_SEEN: bytes = b""


def _process(blob: bytes, task: Task, options: Options) -> TaskResult:
    """In a worker: the pathway the main process loaded and checked (no rule file is read again,
    so none can have changed), compiled once, then the task."""
    from .task import prepare, process

    global _SEEN
    if blob != _SEEN:
        prepare(pickle.loads(blob))
        _SEEN = blob
    return process(task, options)


def _worker_start() -> None:
    """A worker leaves Ctrl+C to the main process, which stops it and cleans up the outputs; then
    it loads what tasks need (Polars, the engine) while the main process loads the pathway."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):   # born with them blocked if the main process held them
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    importlib.import_module("pathway.audit.task")


def _ready() -> None:
    """A task that only makes a worker start."""


STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextmanager
def held_interrupts(workers: bool = True) -> Iterator[None]:
    """Hold Ctrl+C and SIGTERM back while the command starts (the workers start, this process
    imports and loads the pathway: about half a second) and act on them as soon as it is over.
    Struck in the middle of an import, a KeyboardInterrupt can leave a library half-imported, or
    be swallowed by native code that reports it as "ignored" (pydantic while it builds a
    validator) so the audit runs on; held, it arrives at one known point, in the command.
    `workers`: whether `Workers` will be started inside (see `_blocked`)."""
    with _blocked(STOP_SIGNALS, tracker=workers):
        yield


@contextmanager
def _deaf_to_ctrl_c() -> Iterator[None]:
    """Workers are born ignoring Ctrl+C (an ignored signal stays ignored across exec, and Python
    then installs no KeyboardInterrupt handler), so a Ctrl+C in the terminal, which reaches the
    whole process group, interrupts only the main process, which stops the workers and cleans
    up: no worker prints a traceback, even one cut off while it starts. Meanwhile the main
    thread holds a Ctrl+C back rather than losing it (Linux keeps a blocked signal pending even
    while it is ignored) and gets it as soon as the workers are started."""
    with _blocked({signal.SIGINT}) as blocking:
        if not blocking:
            yield   # the workers' initializer still ignores it once they are up
            return
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, handler)


@contextmanager
def _blocked(signals: Iterable[int], tracker: bool = True) -> Iterator[bool]:
    """Block `signals` in this thread (they stay pending, delivered on leaving); False where that
    cannot be done. Threads started meanwhile keep them blocked for good, so a signal reaches only
    the main thread. A pool's locks start multiprocessing's resource tracker, which blocks and
    then *unblocks* Ctrl+C and SIGTERM around its own start: with `tracker`, for a pool started
    inside, it is started first."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield False
        return
    if tracker:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    try:
        yield True
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


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
