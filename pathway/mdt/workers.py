"""Worker processes for work that takes one core each (WeasyPrint's layout of a document), or
this process alone: the same calls either way, so the results cannot differ.

Ctrl+C in a terminal reaches the whole process group: the workers leave it to
the command, which stops them (SIGTERM) and exits as any interrupted command
does ("pathway: interrupted", exit code 130), rather than each worker printing
a traceback or finishing the document it was laying out. A command killed
outright (SIGKILL, as the web page's time limit ends it) cannot stop them: on
Linux the system ends them with it.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_HELD = {signal.SIGINT, signal.SIGTERM}


class _Here(Executor):
    """Each task run at once, in this process: one core's way through the same calls."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@contextmanager
def workers(count: int) -> Iterator[Executor]:
    """`count` worker processes, or this process alone when `count` is under 2. Interrupted
    (Ctrl+C, SIGTERM), the workers stop at once, not after the part each is printing."""
    if count < 2:
        yield _Here()
        return
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(count, mp_context=_context(), initializer=_worker_signals, initargs=(os.getpid(),))
    try:
        with _signals_held():   # the workers start (forked, all at once) with Ctrl+C held, until they set it aside
            pool.submit(int)
        yield pool
    except BaseException:
        for worker in set(multiprocessing.active_children()) - before:
            worker.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _context() -> BaseContext:
    """Fork on Linux, so that each worker starts with WeasyPrint imported (not where threads
    run: forking them is unsafe); elsewhere the platform's default."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl+C and SIGTERM wait while the workers start (they inherit the held signals)."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _worker_signals(parent: int) -> None:
    """In a worker: Ctrl+C, which a terminal sends to the whole group, is left to the command,
    which stops the workers (SIGTERM, which then ends a worker silently); and on Linux SIGTERM
    comes too when the command ends without stopping them (killed), where a worker would
    otherwise wait for work for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1   # prctl(2): the signal this process gets when its parent ends
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:   # it ended before that was asked
            os._exit(1)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
