"""How much `pathway serve` takes in one upload and how long it keeps a job: the options' values.

Standard library only: the command line imports this whenever it starts.
"""
from __future__ import annotations

import argparse
import re

MAX_UPLOAD = 2 * 10**9
"""Bytes in one upload unless `pathway serve --max-upload` says otherwise: a million-row export is 650 MB."""
EXPIRY = 30 * 60.0
"""Seconds a job is kept after it was made, unless its files are downloaded or it is deleted first."""

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30}
_SECONDS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def upload_size(text: str) -> int:
    """--max-upload: '2GB', '500MB', '1.5GB', '750MiB' or bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS or float(match.group(1)) * _UNITS[unit] < 1:
        raise argparse.ArgumentTypeError(f"must be a size such as 500MB or 2GB, not {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])


def duration(text: str) -> float:
    """--expire-after: '30m', '90s', '1h' (a bare number is minutes); seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", text)
    if match is None or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"must be a time such as 30m, 90s or 1h, not {text!r}")
    return float(match.group(1)) * _SECONDS[match.group(2) or "m"]


def size_text(size: int) -> str:
    """'2 GB', '500 MB', '1.5 GB': sizes as people write them (powers of 1000, as disks are sold)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if round(value, 1) == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"
