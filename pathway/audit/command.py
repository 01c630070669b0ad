"""Registers `pathway audit` with the CLI: parse options, call `service.audit`, report.

Exit codes: 0 when the audit ran, even if records were rejected (they are in
the report); 2 when it could not run (an input not there or holding no
referral, an output that cannot be written, a bad option value); 3 when the
pathway files are broken; 4 when `--dask` names no cluster that answers, or
Dask is not installed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, TextIO

from ..options import count, moment, output_file, positive, reading_options

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
                   help="threads the columnar engine may use (default: all cores); the results do not depend on it")
    p.add_argument("--batch-size", type=positive, default=25_000, metavar="N",
                   help="records per batch: bounds memory (default: 25000); the results do not depend on it")
    p.add_argument("--list", type=count, default=50, metavar="N", dest="keep",
                   help="least complete referrals and rejected records listed in the HTML (default: 50; the CSV"
                        " files have every one)")
    p.add_argument("--by", metavar="NAME",
                   help="break completeness down by group: a field (gmfcs_level, say) or a column of the CSV export"
                        " that is no field (site, referrer); the status matrix gets the column too")
    p.add_argument("--now", type=moment, metavar="TIME",
                   help="fixed audit time, ISO 8601 (default: SOURCE_DATE_EPOCH or now)")
    p.add_argument("--engine", choices=("auto", "columnar", "row"), default="auto",
                   help="columnar: whole batches at once, with Polars; row: every record validated and evaluated one "
                        "by one, as `pathway check` does (the reference the columnar engine is tested against); "
                        "auto (default): row for an input under 2 MiB, which it audits sooner, else columnar")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the batches on the Dask cluster whose scheduler is at ADDRESS (host:port); its "
                        "workers must see the input files at the same paths and have this package installed"
                        ' (pip install ".[dask]")')
    reading_options(p)
    rules_opt(p)
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace, out: TextIO) -> int:
    started = time.monotonic()
    if args.jobs:   # read by Polars when it is first imported, which is after this
        os.environ["POLARS_MAX_THREADS"] = str(args.jobs)
    from ..cli import chosen_pathway
    from ..service import now
    from ..csvlayout import Reading
    from .groups import by_option
    from .progress import Progress, record_count
    from .service import Outputs, audit, held_interrupts

    at = args.now or now()
    to_stdout = args.output in (None, "-")
    with held_interrupts():
        pathway = chosen_pathway(args, examples=False)
    by = by_option(pathway, args.by)
    runner = None
    if args.dask:
        from .cluster import runner as on_cluster

        runner = on_cluster(args.dask)
    page = audit(
        pathway, args.inputs, Outputs(None if to_stdout else args.output, args.csv, args.rejects),
        batch=args.batch_size, keep=args.keep, clock=lambda: at, progress=Progress(0), engine=args.engine,
        runner=runner, reading=Reading(args.encoding, args.delimiter, (by.name,) if by and not by.field else ()),
        by=by,
    )
    if to_stdout:
        from .page import render_page

        out.write(render_page(page))
    written = [f for f in (None if to_stdout else args.output, args.csv, args.rejects) if f]
    print(f"audit: {record_count(page.records)} = {page.evaluated:,} evaluated"
          f" + {page.rejected:,} not evaluated"
          f"{f' + {page.skipped:,} REDCap rows skipped' if page.skipped else ''}"
          f"{'' if page.records else '; no record found in the inputs'}"
          f" ({page.rechecked:,} checked row by row; {time.monotonic() - started:.1f} s)"
          f"{'; wrote ' + ', '.join(written) if written else ''}", file=sys.stderr)
    return 0
