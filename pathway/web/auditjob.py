"""The audit of an upload, run as its own process in the job's folder: `service.audit`, as the command runs it.

A process of its own, not a thread of the server: a million records keep two
cores busy for seconds and Polars' memory for longer, and none of it may slow
the pages other people are using or outlive a deleted job (the process is
killed). Run in the job's folder on the uploads' plain names, so the page
names the files as `pathway audit` names them run there, byte for byte.

It reports on standard output, one JSON object a line: `{"done", "total",
"records"}` as batches finish, then `{"result": {...}}` or `{"problems":
[...]}` (the command's messages, when the inputs could not be audited).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence

PAGE, MATRIX, REJECTS = "audit.html", "statuses.csv", "rejects.csv"
"""What the audit writes in the job's folder (the names `--csv` and `--rejects` are given)."""
OUTPUTS = (PAGE, MATRIX, REJECTS)


def _say(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pathway.web.auditjob")
    parser.add_argument("--rules")
    parser.add_argument("--now", required=True)
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args(argv)

    from ..audit.progress import Progress
    from ..audit.service import Outputs, audit
    from ..errors import PathwayError, ProblemsError
    from ..loader import load_pathway
    from ..resources import default_pathway_dir

    class Reporting(Progress):
        """Progress as JSON lines for the server, at most five a second."""

        def update(self, size: int, records: int) -> None:
            self.done += size
            self.records += records
            now = time.monotonic()
            if now - self._last > 0.2 or self.done >= self.total:
                self._last = now
                _say({"done": self.done, "total": self.total, "records": self.records})

        def close(self) -> None:
            _say({"done": self.total, "total": self.total, "records": self.records})

    at = dt.datetime.fromisoformat(args.now)
    try:
        pathway = load_pathway(args.rules or default_pathway_dir())
        page = audit(pathway, args.inputs, Outputs(PAGE, MATRIX, REJECTS), clock=lambda: at,
                     progress=Reporting(0), engine="auto")
    except ProblemsError as exc:
        _say({"problems": [str(p) for p in exc.problems]})
        return exc.exit_code
    except PathwayError as exc:
        _say({"problems": [str(exc)]})
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the kind only: a message could quote a record
        _say({"problems": [f"the audit stopped with an internal error ({type(exc).__name__}); nothing was produced"]})
        return 1
    _say({"result": {"records": page.records, "evaluated": page.evaluated, "rejected": page.rejected}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
