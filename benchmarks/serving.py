"""Start `pathway serve` as a user would (on 127.0.0.1, a free port) and stop it by process id."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def start_server(options: list[str], log: Any = subprocess.DEVNULL) -> tuple[subprocess.Popen[str], int]:
    """`python -m pathway serve --port 0 OPTIONS` on 127.0.0.1, once it answers; its errors go to `log`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pathway", "serve", "--host", HOST, "--port", "0", "--log-level", "warning", *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        stop_server(proc)
        raise RuntimeError(f"pathway serve did not start: {line!r}")
    port = int(match.group(1))
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/api/pathway", timeout=2):
                return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                stop_server(proc)
                raise RuntimeError("pathway serve did not answer") from None
            time.sleep(0.1)


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Ctrl+C by process id, as a user stops it; killed if it has not stopped in 20 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
