"""How many worker processes an audit is worth, judged from file sizes and counts alone.

Workers pay for themselves only when there are tasks for them to share: an
input that makes one task (a few hundred referral files, or a JSONL or CSV file
of less than a batch) is audited faster in the main process, which would
otherwise wait while a worker starts and does the same work. Runs before the
workers would start, so it opens no file and imports nothing heavy; an
estimate is enough, because the results are the same whatever `--jobs` is.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..filekinds import ALL_SUFFIXES, MANY_SUFFIXES

FILES_PER_TASK = 200
"""Referral files (YAML, JSON) per task."""
MIN_RECORD_BYTES = 64
"""Fewer bytes than any JSONL line or CSV row of a referral takes: so a file is
estimated at no fewer tasks than it makes, and workers are never held back from
an input that has work for them."""


def useful_jobs(inputs: Iterable[str], batch: int, cores: int) -> int:
    """All `cores`, or fewer when the input makes fewer tasks: one means this process alone."""
    tasks, files = 0, 0
    for path, size in _files(inputs):
        if path.suffix.lower() in MANY_SUFFIXES:
            tasks += max(1, -(-size // (batch * MIN_RECORD_BYTES)))
        else:
            files += 1
        if tasks + -(-files // FILES_PER_TASK) >= cores:
            return cores
    return max(1, tasks + -(-files // FILES_PER_TASK))


def _files(inputs: Iterable[str]) -> Iterator[tuple[Path, int]]:
    """The files `inputs.expand` would find (named files, referral files in folders outside
    hidden ones), with their sizes; what cannot be read counts as empty (the audit reports it)."""
    for name in inputs:
        path = Path(name)
        if not path.is_dir():
            yield path, file_size(path)
            continue
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = [d for d in subfolders if not d.startswith(".")]
            for file in names:
                found = Path(folder, file)
                if not file.startswith(".") and found.suffix.lower() in ALL_SUFFIXES:
                    yield found, file_size(found)


def file_size(path: str | Path) -> int:
    """Bytes in the file; what cannot be read counts as empty (the audit reports it where it reads it)."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0
