"""Read the referrals for a meeting and check each one: the I/O around `build_packet`.

A referral that cannot be read or is not valid is kept as `NotIncluded` with
every problem, so the cover can say what is missing from the packet; it never
stops the others. A cross-check disagreement or an unavailable backend does
stop the packet: they put every report in doubt, not just one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..definition import Pathway
from ..errors import Code, InputError, Problem
from ..filekinds import ALL_SUFFIXES
from ..inputs import Record, iter_records, must_exist
from ..service import check, referral_values
from . import DEFAULT_TITLE
from ..csvlayout import AS_FOUND, Reading
from .agenda import Agenda
from .packet import Included, NotIncluded, Packet, build_packet


@dataclass(frozen=True)
class Gathered:
    """The referrals of one meeting, in input order."""

    included: tuple[Included, ...]
    not_included: tuple[NotIncluded, ...]
    notices: tuple[str, ...] = ()   # what the files hold that is not read: columns not used, REDCap rows skipped

    @property
    def records(self) -> int:
        return len(self.included) + len(self.not_included)


def _referral_id(record: Record) -> str | None:
    """The id a broken record claims, so the cover can name the child it concerns."""
    data = record.doc.data
    value = data.get("referral_id") if isinstance(data, dict) else None
    value = record.doc.written.get(("referral_id",), value)  # as written: `referral_id: 0012` is "0012"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip() or None


def gather(
    inputs: Iterable[str | Path], pathway: Pathway, *, at: dt.datetime, engine: str = "python", cross: bool = False,
    reading: Reading = AS_FOUND,
) -> Gathered:
    """Every referral of `inputs` (files, folders, JSONL, CSV exports) checked, or set aside with its problems;
    `reading`: the encoding and delimiter the person named."""
    included: list[Included] = []
    not_included: list[NotIncluded] = []
    notices: list[str] = []
    for record in iter_records(inputs, pathway, reading, notices):
        if record.problem is not None:
            not_included.append(NotIncluded(record.source, (record.problem,)))
            continue
        try:
            values = referral_values(pathway, record.doc)
        except InputError as exc:
            not_included.append(NotIncluded(record.source, tuple(exc.problems), _referral_id(record)))
            continue
        included.append(Included(record.source, check(pathway, values, at=at, engine=engine, cross=cross)))
    return Gathered(tuple(included), tuple(not_included), tuple(notices))


def make_packet(
    inputs: Sequence[str | Path], pathway: Pathway, *, at: dt.datetime, title: str = DEFAULT_TITLE,
    meeting_date: dt.date | None = None, engine: str = "python", cross: bool = False, agenda: Agenda | None = None,
    reading: Reading = AS_FOUND,
) -> tuple[Packet, Gathered]:
    """The packet for a meeting from its inputs, in `agenda` order when given (see `agenda.py`);
    `InputError` only when an input is not there (a typo in the meeting's list) or the inputs hold
    no referral at all."""
    must_exist(inputs)
    gathered = gather(inputs, pathway, at=at, engine=engine, cross=cross, reading=reading)
    if not gathered.records:
        raise InputError([Problem(str(i), None, None, f"no referral files here (looked for {', '.join(ALL_SUFFIXES)})",
                                  code=Code.NO_REFERRAL_FILES)
                          for i in inputs])
    packet = build_packet(pathway, gathered.included, gathered.not_included, generated_at=at, title=title,
                          meeting_date=meeting_date, agenda=agenda)
    return packet, gathered
