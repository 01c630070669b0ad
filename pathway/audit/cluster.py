"""The audit's tasks on a Dask cluster: the same `run_task` over the same tasks, merged in order.

`pathway audit FILE --dask ADDRESS` plans the tasks here (byte ranges of the
inputs, so every worker must see the input files at the same path: a shared
file system), sends the checked pathway to every worker once, and maps
`service.run_task` over the tasks, a few per worker in flight, taking results
back in task order: the files are byte for byte those of the audit run here.
Needs the `dask` extra (`pip install ".[dask]"`), on the workers too.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..definition import Pathway
from ..errors import BackendUnavailable
from .results import Options, TaskResult
from .service import Runner, run_task
from .sources import Task

IN_FLIGHT_PER_WORKER = 2
"""Tasks queued per worker: enough to keep it busy, few enough that memory stays bounded."""


def runner(address: str) -> Runner:
    """A runner for `service.audit` on the cluster whose scheduler is at `address` (host:port)."""
    try:
        from distributed import Client
    except ImportError:
        raise BackendUnavailable('--dask needs Dask: pip install ".[dask]" (on the workers too)') from None

    def run(pathway: Pathway, tasks: Iterable[Task], options: Callable[[], Options],
            columnar: bool) -> Iterator[tuple[Task, TaskResult]]:
        try:
            client = Client(address, timeout="5s", set_as_default=False)  # type: ignore[no-untyped-call]
        except OSError as exc:
            raise BackendUnavailable(f"--dask {address}: no Dask scheduler answered ({exc})") from None
        with client:
            shared = client.scatter(pathway, broadcast=True, hash=False)  # type: ignore[no-untyped-call]
            room = IN_FLIGHT_PER_WORKER * max(1, len(client.scheduler_info()["workers"]))
            pending: deque[tuple[Task, Any]] = deque()
            for task in tasks:
                pending.append((task, client.submit(run_task, shared, task, options(), columnar, pure=False)))
                while len(pending) >= room:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()

    return run
