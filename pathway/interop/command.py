"""`pathway export questionnaire|redcap`: the pathway's form for an EHR or for REDCap.

Thin: loads the pathway, calls the pure exporter, writes the text (standard
output unless `-o`). Exit 3 when the pathway cannot be expressed in the
format (each field named).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from ..cli import chosen_pathway, emit


def cmd_questionnaire(args: argparse.Namespace, out: TextIO) -> int:
    from .fhir import questionnaire

    pathway = chosen_pathway(args)
    resource = questionnaire(pathway)
    emit(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", args.output, out)
    if args.output not in (None, "-"):
        print(f"wrote {args.output}: FHIR R4 Questionnaire {resource['url']}|{resource['version']},"
              f" {len(pathway.fields)} questions", file=sys.stderr)
    return 0


def cmd_redcap(args: argparse.Namespace, out: TextIO) -> int:
    from .redcap import data_dictionary

    pathway = chosen_pathway(args)
    emit(data_dictionary(pathway), args.output, out)
    if args.output not in (None, "-"):
        print(f"wrote {args.output}: REDCap data dictionary, {len(pathway.fields)} fields", file=sys.stderr)
    return 0


def register(sub: Any, rules_opt: Callable[[argparse.ArgumentParser], None], engine_opts: Any) -> None:
    p = sub.add_parser("export", help="the pathway's form for other systems: a FHIR Questionnaire or a REDCap"
                                      " data dictionary")
    formats = p.add_subparsers(dest="export_format", required=True, metavar="FORMAT")
    q = formats.add_parser("questionnaire", help="the form as a FHIR R4 Questionnaire (JSON)")
    q.add_argument("-o", "--output", help="output file (default: standard output)")
    rules_opt(q)
    q.set_defaults(func=cmd_questionnaire)
    r = formats.add_parser("redcap", help="the form as a REDCap data dictionary (CSV)")
    r.add_argument("-o", "--output", help="output file (default: standard output)")
    rules_opt(r)
    r.set_defaults(func=cmd_redcap)
