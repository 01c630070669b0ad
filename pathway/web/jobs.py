"""Jobs of the packet and audit pages: a private folder each, kept only as long as it is needed.

Every job has an unguessable id (`secrets.token_urlsafe(24)`) and a folder
(mode 0700) inside the server's own folder, `pathway-serve-PID-XXXX` under the
system's temporary folder or `--work-dir`. A job is deleted when its last file
is downloaded, when its owner asks, when it expires (30 minutes unless told
otherwise), and with everything else when the server stops; a server that
died leaves a folder the next one removes at start. Nothing here logs.

Audits run one at a time (`AuditQueue`), each as a process of its own
(`auditjob`), so a million-row export neither blocks the pages nor waits for
the server's lock; the jobs behind it say how many are ahead.

Jobs live in the memory of the server process that made them: the pages
need `pathway serve --workers 1` (the default).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .auditjob import arguments
from .limits import EXPIRY
from .uploads import Saved

PREFIX = "pathway-serve-"
ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
STDERR = ".audit-messages.txt"
"""Where the audit's messages go while it runs (hidden: never read as an input)."""
SUMMARY = re.compile(r"^audit: (?P<records>[\d,]+) records? = (?P<evaluated>[\d,]+) evaluated"
                     r" \+ (?P<rejected>[\d,]+) not evaluated")
"""The command's closing line, whose figures the job's page repeats."""


@dataclass(eq=False)
class Job:
    """One upload and what became of it. `status`: new, waiting, running, done or failed."""

    id: str
    kind: str
    folder: Path
    expires: float
    inputs: list[Saved] = field(default_factory=list)
    status: str = "new"
    done: int = 0
    total: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)
    result: dict[str, int] = field(default_factory=dict)
    downloaded: set[str] = field(default_factory=set)
    choices: dict[str, Any] = field(default_factory=dict)
    encoding: str = ""             # the files' encoding, as chosen on the upload form ("": found from each file)
    process: subprocess.Popen[str] | None = None
    deleted: bool = False

    @property
    def share(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class Jobs:
    """The server's jobs and their folders."""

    def __init__(self, work_dir: str | Path | None = None, expiry: float = EXPIRY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.parent = Path(work_dir) if work_dir else Path(tempfile.gettempdir())
        self.expiry = expiry
        self.clock = clock
        self._root: Path | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        if self._root is None:
            self.open()
        assert self._root is not None
        return self._root

    def open(self) -> None:
        """Make this server's folder (private), after removing those of servers that are gone."""
        with self._lock:
            if self._root is not None:
                return
            self.parent.mkdir(parents=True, exist_ok=True)
            remove_stale(self.parent)
            self._root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=self.parent))

    def close(self) -> None:
        """Stop every audit and delete every job's files: the server is stopping."""
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
            root, self._root = self._root, None
        for job in jobs:
            _stop(job)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def create(self, kind: str) -> Job:
        job_id = secrets.token_urlsafe(24)
        folder = self.root / job_id
        folder.mkdir(mode=0o700)
        job = Job(job_id, kind, folder, self.clock() + self.expiry)
        with self._lock:
            self._jobs[job_id] = job
        return job

    def get(self, job_id: str, kind: str) -> Job | None:
        """The job, or None when there is none of this kind by that id (never made, deleted, expired)."""
        if not ID.match(job_id):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.kind != kind:
            return None
        if self.clock() >= job.expires:
            self.delete(job)
            return None
        return job

    def delete(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        job.deleted = True
        _stop(job)
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self) -> int:
        """Delete the jobs past their time; how many."""
        now = self.clock()
        with self._lock:
            old = [j for j in self._jobs.values() if now >= j.expires]
        for job in old:
            self.delete(job)
        return len(old)

    def __len__(self) -> int:
        return len(self._jobs)


def _stop(job: Job) -> None:
    process = job.process
    if process is not None and process.poll() is None:
        process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def remove_stale(parent: Path) -> None:
    """Folders left by servers of this user that are no longer running (killed, or the machine stopped)."""
    for entry in parent.glob(f"{PREFIX}*"):
        match = re.match(rf"^{PREFIX}(\d+)-", entry.name)
        if match is None or not entry.is_dir() or entry.is_symlink():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != os.getuid() or _alive(int(match.group(1))):
                continue
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False   # this very process: a folder from before it started (pid reused)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AuditQueue:
    """Audits one at a time, in the order they came, each as its own process (`auditjob`)."""

    def __init__(self, rules: str | Path | None, now: Callable[[], str]) -> None:
        self.rules = str(rules) if rules else None
        self.now = now
        self._waiting: deque[Job] = deque()
        self._running: Job | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, job: Job) -> None:
        with self._cond:
            job.status = "waiting"
            self._waiting.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pathway-audit-queue", daemon=True)
                self._thread.start()
            self._cond.notify()

    def ahead(self, job: Job) -> int:
        """Audits to finish before this one starts (the one running included)."""
        with self._cond:
            if job not in self._waiting:
                return 0
            return self._waiting.index(job) + (self._running is not None)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._waiting.clear()
            self._cond.notify_all()

    def _next(self) -> Job | None:
        with self._cond:
            while not self._waiting and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            job = self._waiting.popleft()
            self._running = job
            return job

    def _run(self) -> None:
        while (job := self._next()) is not None:
            try:
                if not job.deleted:
                    self._audit(job)
            except Exception as exc:  # noqa: BLE001 - the job says so; the queue goes on
                job.problems = [f"the audit stopped with an internal error ({type(exc).__name__}); "
                                "nothing was produced"]
                job.status = "failed"
            finally:
                with self._cond:
                    self._running = None

    def _audit(self, job: Job) -> None:
        job.status = "running"
        job.total = sum(s.size for s in job.inputs)
        command = [sys.executable, "-m", "pathway.web.auditjob",
                   *arguments([s.name for s in job.inputs], self.now(), self.rules, job.choices)]
        errors = job.folder / STDERR
        with errors.open("w+", encoding="utf-8") as stderr:
            process = subprocess.Popen(command, cwd=job.folder, stdout=subprocess.PIPE, stderr=stderr,
                                       stdin=subprocess.DEVNULL, text=True, start_new_session=True)
            job.process = process
            if job.deleted:   # deleted while the process started
                _stop(job)
            assert process.stdout is not None
            with process.stdout:
                for message in _messages(process.stdout):
                    if "done" in message:
                        job.done, job.total, job.records = message["done"], message["total"], message["records"]
            code = process.wait()
            stderr.seek(0)
            said = [line.rstrip("\n") for line in stderr if line.strip()]
        errors.unlink(missing_ok=True)
        if job.deleted:
            return
        summary = next((SUMMARY.match(line) for line in reversed(said) if SUMMARY.match(line)), None)
        if code == 0 and summary is not None:
            job.result = {k: int(v.replace(",", "")) for k, v in summary.groupdict().items()}
            job.status = "done"
            return
        job.problems = [line for line in said if not line.startswith(("Traceback", "  "))][-200:] or [
            f"the audit stopped ({_why(code)}); nothing was produced"]
        job.status = "failed"


def _messages(stream: Any) -> Iterator[dict[str, Any]]:
    for line in stream:
        with contextlib.suppress(ValueError):
            message = json.loads(line)
            if isinstance(message, dict):
                yield message


def _why(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"stopped by {signal.Signals(-code).name}"
    return f"exit status {code}"
