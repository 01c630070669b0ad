"""The first line every benchmark prints: when, and on what machine, its figures were measured."""
from __future__ import annotations

import datetime as dt
import os
import platform
import sys


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return "memory unknown"
    return f"{pages * size / 2**30:.0f} GiB"


def header() -> str:
    """'2026-12-01 22:50 UTC · Linux x86_64 · 2 cores (model) · 24 GiB · Python 3.11.7 · load 0.70'."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = f"load {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "load unknown"
    return (f"{now} · {platform.system()} {platform.machine()} · {os.cpu_count()} cores ({_cpu()}) · {_memory_gib()}"
            f" · Python {sys.version.split()[0]} · {load}")


if __name__ == "__main__":
    print(header())
