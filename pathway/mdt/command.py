"""`pathway mdt`: one packet for an MDT meeting, PDF or HTML, from files, folders and JSONL.

Thin: parses options, calls `make_packet`, renders, writes atomically. Exit 0
when the packet was written, even if some referrals are not included (the
cover lists them, stderr names every problem); 2 when an option value is bad,
the agenda has problems (each named with its file and line), an input is not
there or the inputs hold no referral file at all (nothing is written), or no
referral could be included (the packet is written, listing what was not
included).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..options import moment, reading_options
from ..outputs import in_place, write_atomic
from . import DEFAULT_TITLE

if TYPE_CHECKING:   # the command line loads the packet's machinery only for `mdt` itself
    from .packet import Packet

SUFFIXES = {".pdf": "pdf", ".html": "html", ".htm": "html"}


def meeting_date(text: str) -> dt.date:
    """--meeting-date: an ISO calendar date, checked before any referral is read."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date as YYYY-MM-DD, such as 2026-12-03, not {text!r}") from None


def output_path(text: str) -> Path:
    """-o: the packet file; its suffix picks PDF or HTML (HTML for what is written into, such as
    /dev/stdout, whatever its name)."""
    path = Path(text)
    if path.suffix.lower() not in SUFFIXES and not in_place(path):
        raise argparse.ArgumentTypeError(f"must name a .pdf or .html file, not {text!r}")
    return path


def _warn_duplicates(packet: Packet) -> None:
    counts = Counter(c.report.referral_id for c in packet.children)
    for rid in packet.duplicate_ids:
        sources = ", ".join(c.source for c in packet.children if c.report.referral_id == rid)
        print(f"pathway mdt: referral id {rid} appears {counts[rid]} times ({sources}): each has its own section, "
              "flagged on the cover; check each against its file", file=sys.stderr)


def _warn_missing(packet: Packet, agenda: str | None) -> None:
    if packet.agenda_missing:
        ids = ", ".join(m.entry.referral_id + (f" (did you mean {m.near}?)" if m.near else "")
                        for m in packet.agenda_missing)
        print(f"pathway mdt: on the agenda ({agenda}) but not in the packet: {ids}; listed on the cover",
              file=sys.stderr)


def cmd_mdt(args: argparse.Namespace, out: TextIO) -> int:
    from ..cli import chosen_pathway
    from ..csvlayout import Reading
    from ..service import now
    from .gather import make_packet
    from .pdf import packet_to_pdf
    from .render import render_html

    pathway = chosen_pathway(args)
    agenda = None
    if args.agenda is not None:
        from .agenda import read_agenda
        agenda = read_agenda(args.agenda)   # a bad agenda: every problem, exit 2, nothing written
    at = args.now or now()
    packet, gathered = make_packet(args.referrals, pathway, at=at, title=args.title, meeting_date=args.meeting_date,
                                   engine=args.engine, cross=args.cross_check, agenda=agenda,
                                   reading=Reading(args.encoding, args.delimiter))
    for notice in gathered.notices:
        print(notice, file=sys.stderr)
    for record in gathered.not_included:
        for problem in record.problems:
            print(problem, file=sys.stderr)
    _warn_duplicates(packet)
    _warn_missing(packet, args.agenda)
    fmt = SUFFIXES.get(args.output.suffix.lower(), "html")
    if fmt == "pdf":
        printed = packet_to_pdf(packet)
        data, what = printed.data, f"pdf, {printed.pages} page{'s' if printed.pages != 1 else ''}"
    else:
        data, what = render_html(packet).encode("utf-8"), "html"
    write_atomic(args.output, data)
    included, missing = len(packet.children), len(packet.not_included)
    print(f"wrote {args.output} ({what}): {included} referral{'s' if included != 1 else ''} included, "
          f"{missing} not included" + (" (listed on the cover)" if missing else ""), file=sys.stderr)
    if not packet.children:
        print("pathway mdt: no referral could be included; the packet lists why", file=sys.stderr)
        return 2
    return 0


def register(sub: Any, rules_opt: Any, engine_opts: Any) -> None:
    """Add `pathway mdt` to the CLI."""
    p = sub.add_parser(
        "mdt", help="one packet for an MDT meeting (PDF or HTML): a cover, a section per referral, the evidence once",
        description="Make one packet for an MDT meeting: a cover listing every referral (in the agenda's order, "
                    "else least completely documented first) and any that could not be read, then one section per "
                    "referral, then the evidence summary. A discussion aid: never an eligibility decision or a "
                    "recommendation.",
    )
    p.add_argument("referrals", nargs="+", metavar="REFERRALS",
                   help="referral files (.yaml, .yml, .json), folders of them, JSONL files (one referral a line), or"
                        " CSV exports (one referral a row, such as REDCap's raw data)")
    p.add_argument("-o", "--output", required=True, type=output_path, metavar="FILE",
                   help="the packet: packet.pdf or packet.html (the suffix picks the format)")
    p.add_argument("--meeting-date", type=meeting_date, metavar="YYYY-MM-DD", help="the meeting's date, on the cover")
    p.add_argument("--agenda", metavar="FILE",
                   help="the meeting's order: a CSV file with the header referral_id,time,presenter (time and "
                        "presenter optional), or a YAML/JSON list of the same keys; referrals not on it follow, "
                        "least completely documented first")
    p.add_argument("--title", default=DEFAULT_TITLE, help=f"the meeting's title (default: {DEFAULT_TITLE!r})")
    p.add_argument("--now", type=moment, metavar="TIME",
                   help="fixed generation time, ISO 8601 (default: SOURCE_DATE_EPOCH or now)")
    reading_options(p)
    rules_opt(p)
    engine_opts(p)
    p.set_defaults(func=cmd_mdt)
