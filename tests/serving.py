"""Start `pathway serve` as a user would (a subprocess), on a free loopback port, and stop it."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDRESS = re.compile(r"^pathway serve: (http://127\.0\.0\.1:\d+/)  \(Ctrl\+C to stop\)$")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    output: str = ""
    """Everything the server printed (stdout and stderr), once stopped."""


@contextmanager
def served(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> Iterator[Served]:
    """`python -m pathway serve --port 0 ARGS`; yields once it answers, stops it (SIGINT) afterwards."""
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathway", "serve", "--port", "0", *args],
        cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().rstrip("\n")
    match = ADDRESS.match(first)
    if not match:
        proc.kill()
        raise RuntimeError(f"pathway serve did not print its address: {first!r}{proc.stdout.read()}")
    server = Served(match.group(1), proc)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.url + "api/pathway", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("pathway serve did not start") from None
            time.sleep(0.05)
    try:
        yield server
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
        server.output = first + "\n" + rest
