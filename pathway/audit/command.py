"""Registers `pathway audit` with the CLI: parse options, call `service.audit`, report.

Exit codes: 0 when the audit ran, even if records were rejected (they are in
the report); 2 when it could not run (an input not there or holding no
referral, an output that cannot be written, a bad option value); 3 when the
pathway files are broken.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import ExitStack
from typing import Any, TextIO

from ..options import count, moment, output_file, positive

HTML = (".html", ".htm")


def register(sub: Any, rules_opt: Any, engine_opts: Any) -> None:
    p = sub.add_parser(
        "audit", help="how completely many referrals are documented, item by item (HTML, and CSV files)",
        description="Audit the documentation of many referrals: per item, how many are met, not met, missing or "
                    "not applicable; the least completely documented referrals; and every record that could not "
                    "be evaluated, with its source and reason.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="referral files or folders: YAML/JSON referrals, JSONL, or CSV (one row per referral)")
    p.add_argument("-o", "--output", type=output_file(HTML), help="the HTML audit (default: standard output)")
    p.add_argument("--csv", metavar="FILE", help="write the referral × item status matrix (every evaluated referral)")
    p.add_argument("--rejects", metavar="FILE", help="write every record that could not be evaluated, with the reasons")
    p.add_argument("--jobs", type=positive, metavar="N",
                   help="worker processes (default: all cores, fewer for an input too small to share;"
                        " one means none, the audit runs in this process); the results do not depend on it")
    p.add_argument("--batch-size", type=positive, default=25_000, metavar="N",
                   help="records per task: bounds each worker's memory (default: 25000)")
    p.add_argument("--list", type=count, default=1000, metavar="N", dest="keep",
                   help="least complete referrals and rejected records listed in the HTML (default: 1000)")
    p.add_argument("--now", type=moment, metavar="TIME",
                   help="fixed audit time, ISO 8601 (default: SOURCE_DATE_EPOCH or now)")
    p.add_argument("--engine", choices=("columnar", "row"), default="columnar",
                   help="columnar (default), or row: validate and evaluate every record one by one with the python "
                        "backend, as `pathway check` does (slow; the reference the columnar path is tested against)")
    rules_opt(p)
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    from .run import Workers, held_interrupts  # light: the workers start before this process loads anything heavy
    from .sizing import useful_jobs

    started = time.monotonic()
    jobs = args.jobs or useful_jobs(args.inputs, args.batch_size, os.cpu_count() or 1)
    with ExitStack() as stack:   # workers get ready while this process loads the engine and the pathway
        with held_interrupts(workers=jobs > 1):   # a Ctrl+C meanwhile is acted on once they are done
            workers = stack.enter_context(Workers(jobs)) if jobs > 1 else None
            from ..cli import chosen_pathway
            from ..service import now
            from .progress import Progress, record_count
            from .service import Outputs, audit

            at = args.now or now()
            to_stdout = args.output in (None, "-")
            pathway = chosen_pathway(args, examples=False)
        page = audit(
            pathway, args.inputs, Outputs(None if to_stdout else args.output, args.csv, args.rejects),
            jobs=jobs, batch=args.batch_size, keep=args.keep, clock=lambda: at, progress=Progress(0),
            row_only=args.engine == "row", workers=workers,
        )
    if to_stdout:
        from .page import render_page

        out.write(render_page(page))
    written = [f for f in (None if to_stdout else args.output, args.csv, args.rejects) if f]
    print(f"audit: {record_count(page.records)} = {page.evaluated:,} evaluated"
          f" + {page.rejected:,} not evaluated"
          f" ({page.rechecked:,} checked row by row; {time.monotonic() - started:.1f} s)"
          f"{'; wrote ' + ', '.join(written) if written else ''}", file=sys.stderr)
    return 0
