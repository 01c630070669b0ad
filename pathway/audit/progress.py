"""A one-line progress bar on stderr, only when stderr is a terminal (silent in logs and pipes)."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_bytes: int, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = max(1, total_bytes)
        self.done = 0
        self.records = 0
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, size: int, records: int) -> None:
        self.done += size
        self.records += records
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.2 or self.done >= self.total):
            self._last = now
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * 30)
            count = record_count(self.records)
            self.stream.write(f"\raudit [{bar:<30}] {share:4.0%}  {count}  {now - self.started:.1f} s")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def record_count(count: int) -> str:
    """"1 record", "2,500 records": as the bar and the command's closing line count them."""
    return f"{count:,} record{'' if count == 1 else 's'}"
