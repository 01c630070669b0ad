"""The `pathway` command: thin wrappers that parse options and call the core.

Exit codes, the same for every command: 0 done; 1 example cases failed
(`test`); 2 bad input (a referral, an option value, a file or folder named
that is not there); 3 broken pathway files (a folder that is there but holds
no pathway, or a broken one); 4 a backend is not available here; 5 backends
disagreed (cross-check); 130 interrupted. Bad input never shows a traceback.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .backends import BACKENDS
from .entry import interrupted
from .errors import Code, PathwayError, Problem, ProblemsError, RulesError
from .formats import FORMATS, SUFFIXES, format_for
from .options import moment, output_file, reading_options
from .outputs import refuse_clobbering, write_atomic
from .resources import default_pathway_dir, rules_dir

if TYPE_CHECKING:
    from .definition import Pathway

# Each command imports what it runs when it runs (the engine, the templates, pydantic): the
# command line starts at once, and `audit` starts its worker processes before loading anything.


def emit(text: str, output: str | None, stdout: TextIO) -> None:
    if output in (None, "-"):
        stdout.write(text)
    else:
        write_atomic(output, text)


def chosen_pathway(args: argparse.Namespace, examples: bool = True) -> Pathway:
    """The pathway `--rules` names, else the bundled one (check, form, mdt, export, audit).
    `examples`: also load and check its example cases (the audit never runs them)."""
    from .loader import load_pathway

    return load_pathway(pathway_folder(args.rules), examples=examples)


def pathway_folder(rules: str | None) -> Path:
    """`--rules`, else the bundled pathway. A folder that is not there is bad input (exit 2);
    one that is there but holds no pathway is a broken pathway (exit 3, from the loader)."""
    if rules is None:
        return default_pathway_dir()
    from .inputs import must_exist

    must_exist([rules])
    return Path(rules)


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .render import render
    from .service import check, now, read_document, referral_values

    pathway = chosen_pathway(args)
    doc = read_document(args.referral, args.encoding)
    values = referral_values(pathway, doc)
    at = args.now or now()
    report = check(pathway, values, at=at, engine=args.engine, cross=args.cross_check)
    fmt = args.format or (format_for(args.output) if args.output not in (None, "-") else "html")
    emit(render(report, fmt), args.output, out)
    if args.output not in (None, "-"):
        print(f"wrote {args.output} ({fmt}): referral {report.referral_id}, {report.summary.text}", file=sys.stderr)
    return 0


def cmd_form(args: argparse.Namespace, out: TextIO) -> int:
    from .render import render_form

    emit(render_form(chosen_pathway(args)), args.output, out)
    return 0


def _pathway_dirs(target: str | None) -> list[Path]:
    """A pathway folder, or a folder of pathway folders (default: the bundled rules).
    One that is not there is bad input (exit 2); one that holds no pathway, broken files (3)."""
    folder = pathway_folder(target) if target else rules_dir()
    if (folder / "pathway.yaml").is_file():
        return [folder]
    found = sorted(p.parent for p in folder.glob("*/pathway.yaml"))
    if not found:
        raise RulesError([Problem(str(folder), None, None, "no pathway here (a pathway folder holds pathway.yaml)",
                                  code=Code.NO_PATHWAY)])
    return found


def cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from .loader import load_pathway

    failed = 0
    for folder in _pathway_dirs(args.dir):
        try:
            p = load_pathway(folder)
        except ProblemsError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem, file=out)
            print(f"{folder}: {len(exc.problems)} problem(s)", file=out)
            continue
        print(f"{folder}: ok: {p.id} {p.version}, {len(p.fields)} fields, {len(p.items)} items, "
              f"{len(p.cases)} example cases, rules sha256:{p.rules_sha256}", file=out)
    return 3 if failed else 0


def cmd_test(args: argparse.Namespace, out: TextIO) -> int:
    from .backends import get_evaluator
    from .examples import run_cases, uncovered
    from .loader import load_pathway

    status = 0
    engines = list(BACKENDS) if args.cross_check else [args.engine]
    for folder in _pathway_dirs(args.dir):
        p = load_pathway(folder)
        for engine in engines:
            results = run_cases(p, get_evaluator(engine, p))
            failures = [r for r in results if not r.passed]
            for r in failures:
                print(f"FAIL {r.file}:{r.line}: {r.name} [{engine}]", file=out)
                for line in r.diff_lines():
                    print(f"    {line}", file=out)
            print(f"{folder}: {len(results) - len(failures)} passed, {len(failures)} failed [{engine}]", file=out)
            status = status or (1 if failures else 0)
        gaps = uncovered(p)
        for item_id, st in gaps:
            print(f"{folder}: no example case shows {item_id} as {st}", file=out)
        if gaps:
            status = status or 1
    return status


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    from .report import report_schema

    emit(report_schema(), args.output, out)
    return 0


# Front ends that add their own sub-commands: each module has
# `register(subparsers, rules_opt, engine_opts)` and sets `func(args, out) -> int`.
COMMAND_MODULES: tuple[str, ...] = ("pathway.web.command", "pathway.mdt.command", "pathway.audit.command",
                                    "pathway.interop.command")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pathway",
        description="An advisory checklist for intrathecal baclofen (ITB) referrals of children with cerebral palsy. "
                    "A discussion aid for the MDT: never an eligibility decision, prescription or recommendation.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def rules_opt(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rules", metavar="DIR", help="pathway folder (default: the bundled itb-cp pathway)")

    def engine_opts(p: argparse.ArgumentParser) -> None:
        p.add_argument("--engine", choices=BACKENDS, default="python", help="evaluation backend (default: python)")
        p.add_argument("--cross-check", action="store_true",
                       help="evaluate with both backends and refuse to report if they disagree")

    p = sub.add_parser("check", help="the checklist report for one referral (YAML or JSON)")
    p.add_argument("referral", help="referral file (.yaml, .yml or .json); - reads standard input")
    p.add_argument("-o", "--output", type=output_file(SUFFIXES),
                   help="output file; its suffix (.html, .md, .json) picks the format")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from -o, else html)")
    p.add_argument("--now", type=moment, metavar="TIME",
                   help="fixed report time, ISO 8601 (default: SOURCE_DATE_EPOCH or now)")
    reading_options(p, delimiters=False)
    rules_opt(p)
    engine_opts(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("form", help="a blank referral to fill in, with allowed values and help as comments")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    rules_opt(p)
    p.set_defaults(func=cmd_form)

    p = sub.add_parser("validate", help="check pathway files; every problem as file:line:col: message")
    p.add_argument("dir", nargs="?", help="a pathway folder or a folder of them (default: the bundled rules)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("test", help="run a pathway's own example cases; a diff for each failure")
    p.add_argument("dir", nargs="?", help="a pathway folder or a folder of them (default: the bundled rules)")
    engine_opts(p)
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("schema", help="the JSON Schema of the JSON report")
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.set_defaults(func=cmd_schema)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub, rules_opt, engine_opts)
    return parser


BRIEF_COMMANDS = frozenset({"check", "form", "validate", "test", "schema", "export"})
"""Commands that load a pathway, write their output and end: run without the cyclic garbage
collector when the entry point started them (`entry.main_entry`); the others turn it back on."""


OUTPUT_OPTIONS = (("output", "-o"), ("csv", "--csv"), ("rejects", "--rejects"))
"""The options, by argparse `dest`, that name files a command writes (- is standard output)."""
INPUT_ARGUMENTS = ("referral", "referrals", "inputs", "agenda")
"""The arguments, by `dest`, that name the files and folders a command reads (referrals, the meeting's agenda)."""


def refuse_overwriting_inputs(args: argparse.Namespace) -> None:
    """Whatever the command, its outputs must not name its inputs, its pathway folder or each
    other: refused (exit 2) before anything is read or written."""
    outputs = [(option, str(value)) for dest, option in OUTPUT_OPTIONS
               if (value := getattr(args, dest, None)) is not None and str(value) != "-"]
    if not outputs:
        return
    inputs: list[str] = []
    for dest in INPUT_ARGUMENTS:
        value = getattr(args, dest, None)
        inputs += [] if value is None else [value] if isinstance(value, str) else [str(v) for v in value]
    rules = (args.rules or default_pathway_dir()) if hasattr(args, "rules") else None
    refuse_clobbering(outputs, [i for i in inputs if i != "-"], rules)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run one command; bad input becomes a message and an exit code, never a traceback."""
    out = stdout or sys.stdout
    args = build_parser().parse_args(argv)
    if args.command not in BRIEF_COMMANDS:
        gc.enable()  # `serve`, `audit` and `mdt` run long
    try:
        refuse_overwriting_inputs(args)
        return int(args.func(args, out))
    except ProblemsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        what = "the pathway files are broken" if exc.exit_code == 3 else "nothing was produced"
        print(f"pathway: {len(exc.problems)} problem(s); {what}.", file=sys.stderr)
        return exc.exit_code
    except PathwayError as exc:
        print(f"pathway: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return interrupted()
    except BrokenPipeError:
        return 0
