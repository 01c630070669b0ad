"""Option values checked as the command line is parsed: argparse `type=` functions.

A bad value is then argparse's own usage error, `error: argument --now: ...`,
exit 2, before any file is read or any worker started. Nothing heavy is
imported here: every command's options are built at start-up.
"""
from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from .outputs import in_place


def whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
    return value


def positive(text: str) -> int:
    """A count of workers or records: 1 or more."""
    return whole_number(text, 1)


def count(text: str) -> int:
    """How many to list: 0 or more."""
    return whole_number(text, 0)


def port(text: str) -> int:
    """A TCP port, 0 (pick a free one) to 65535."""
    value = whole_number(text, 0)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, not {value}")
    return value


def moment(text: str) -> dt.datetime:
    """--now: an ISO 8601 time, UTC when it gives no offset."""
    try:
        at = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO 8601 time such as 2026-12-03T09:00:00Z, not {text!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


def output_file(suffixes: Iterable[str]) -> Callable[[str], str]:
    """-o whose suffix picks the format: one of `suffixes`, or - for standard output, or what is
    written into rather than replaced (/dev/null, /dev/stdout, a FIFO), whatever its name."""
    allowed = tuple(suffixes)
    named = " or ".join(filter(None, (", ".join(allowed[:-1]), allowed[-1])))

    def output(text: str) -> str:
        if text != "-" and Path(text).suffix.lower() not in allowed and not in_place(text):
            raise argparse.ArgumentTypeError(f"must name a {named} file (or - for standard output), not {text!r}")
        return text

    output.__name__ = "output file"
    return output


def encoding(text: str) -> str:
    """--encoding: a text encoding Python knows (cp1252, latin-1, utf-16, …)."""
    import codecs

    try:
        return codecs.lookup(text.strip()).name
    except LookupError:
        raise argparse.ArgumentTypeError(f"not an encoding Python knows: {text!r} (Excel's \"CSV (Comma delimited)\""
                                         " is cp1252)") from None


DELIMITERS = {"comma": ",", ",": ",", "semicolon": ";", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t"}


def delimiter(text: str) -> str:
    """--delimiter: comma, semicolon or tab (or the character itself)."""
    try:
        return DELIMITERS[text.strip(" ").lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"must be comma, semicolon or tab, not {text!r}") from None


def reading_options(parser: argparse.ArgumentParser, delimiters: bool = True) -> None:
    """--encoding (and --delimiter) for a command that reads files people saved."""
    parser.add_argument("--encoding", type=encoding, metavar="NAME",
                        help="the encoding of files that are not UTF-8 (with or without a BOM) or UTF-16 with a BOM:"
                             " Excel's \"CSV (Comma delimited)\" is cp1252 (default: found from each file)")
    if delimiters:
        parser.add_argument("--delimiter", type=delimiter, metavar="CHAR",
                            help="the delimiter of CSV files: comma, semicolon or tab (default: found from each"
                                 " file's header line, or its sep= line)")
