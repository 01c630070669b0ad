"""The audit of an upload, run as its own process in the job's folder: `service.audit`, as the command runs it.

A process of its own, not a thread of the server: a million records keep two
cores busy for seconds and Polars' memory for longer, and none of it may slow
the pages other people are using or outlive a deleted job (the process is
killed). Run in the job's folder on the uploads' plain names, so the page
names the files as `pathway audit` names them run there, byte for byte.

It is `pathway audit` itself (`cli.main`), its progress bar swapped for JSON
lines on standard output (`{"done", "total", "records"}` as batches finish);
its messages go to standard error, as the command's do.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence

PAGE, MATRIX, REJECTS = "audit.html", "statuses.csv", "rejects.csv"
"""What the audit writes in the job's folder (the names `--csv` and `--rejects` are given)."""
OUTPUTS = (PAGE, MATRIX, REJECTS)


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """`pathway audit ARGS` exactly as the command runs it, with its progress reported as JSON lines."""
    from ..audit import progress
    from ..cli import main as cli_main

    class Reporting(progress.Progress):
        """Progress for the server, at most five times a second (the command draws a bar on a terminal)."""

        def update(self, size: int, records: int) -> None:
            self.done += size
            self.records += records
            now = time.monotonic()
            if now - self._last > 0.2 or self.done >= self.total:
                self._last = now
                _say({"done": self.done, "total": self.total, "records": self.records})

        def close(self) -> None:
            _say({"done": self.total, "total": self.total, "records": self.records})

    progress.Progress = Reporting  # type: ignore[misc]   # what `pathway audit` makes its bar with
    return cli_main(["audit", *(argv if argv is not None else sys.argv[1:])])


def arguments(inputs: Sequence[str], now: str, rules: str | None,
              choices: Mapping[str, str] | None = None) -> list[str]:
    """The command line: the uploads by name (after `--`), the three outputs, the clock, the pathway,
    and the page's choices (`encoding`, `by`) when made."""
    chosen = [(f"--{name}", value) for name in ("encoding", "by") if (value := (choices or {}).get(name, ""))]
    return ["-o", PAGE, "--csv", MATRIX, "--rejects", REJECTS, "--now", now,
            *(["--rules", rules] if rules else []), *(a for pair in chosen for a in pair), "--", *inputs]


if __name__ == "__main__":
    sys.exit(main())
