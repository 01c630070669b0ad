"""The MDT packet: one typed context for a meeting, built from per-referral reports.

Pure: no files, no clock, no rendering. The caller reads and checks the
referrals (see `gather.py`) and passes the reports, the records that could not
be read, and the time; the templates render what this module builds. Like the
single report, the packet carries no verdict: per-referral counts of what is
documented, sorted so the least documented referrals are discussed first.
"""
from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..definition import Citation, Pathway
from ..errors import Problem
from ..report import CitationOut, EvidenceOut, PathwayInfo, Report, format_time
from . import DEFAULT_TITLE
from .agenda import Agenda, AgendaEntry

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


@dataclass(frozen=True)
class Included:
    """A referral read from `source`: what it said, as `check` reported it."""

    source: str
    report: Report


@dataclass(frozen=True)
class NotIncluded:
    """A referral record that could not be read or checked, and every problem with it (in file order)."""

    source: str
    problems: tuple[Problem, ...]
    referral_id: str | None = None


@dataclass(frozen=True)
class Child:
    """One referral's row on the cover and its section, in cover order."""

    number: int
    """1-based place in the packet; also the anchor of the section (`child-N`)."""
    position: int
    """1-based place in the input order, so two referrals with the same id stay traceable."""
    source: str
    report: Report
    duplicate: bool
    """Another referral in this packet has the same referral id."""
    slot: AgendaEntry | None = None
    """Its line of the agenda (time, presenter), when the meeting has one and lists it."""

    @property
    def anchor(self) -> str:
        return f"child-{self.number}"

    @property
    def discussion_count(self) -> int:
        return len(self.report.discussion)


@dataclass(frozen=True)
class Unread:
    """A cover row for a referral that is not in the packet, with the reason."""

    source: str
    where: str
    """Where the first problem is: file, line and column when known."""
    reason: str
    referral_id: str | None
    problems: int


@dataclass(frozen=True)
class Cited:
    """One source the checklist cites (a quote or a reference), and the items that cite it: printed once
    for the packet, as the pathway's citations are the same for every referral."""

    citation: CitationOut
    items: tuple[str, ...]
    """The titles of the items citing it, in pathway order."""


@dataclass(frozen=True)
class Missing:
    """An agenda entry with no referral in the packet; `unread` when a record that could not be read
    claims its id (the cover lists that record under "not included")."""

    entry: AgendaEntry
    unread: bool
    near: str | None = None
    """An included referral's id close to this one (`r-003` for `R-003`): a likely typo on the agenda."""


@dataclass(frozen=True)
class Packet:
    """Everything the packet shows; HTML and PDF are renderings of this."""

    title: str
    meeting_date: str | None
    meeting_date_label: str | None
    generated_at: str
    pathway: PathwayInfo
    pathway_title: str
    disclaimer: str
    children: tuple[Child, ...]
    not_included: tuple[Unread, ...]
    duplicate_ids: tuple[str, ...]
    evidence_introduction: str
    evidence: tuple[EvidenceOut, ...]
    sources: tuple[Cited, ...] = ()
    """Every source the checklist cites, once, in pathway order: at the end, not in every referral's section."""
    agenda: Agenda | None = None
    agenda_missing: tuple[Missing, ...] = ()
    """Agenda entries no included referral answers to, in agenda order."""

    @property
    def times(self) -> bool:
        """The cover has a time column: the agenda gives a time for at least one referral."""
        return self.agenda is not None and self.agenda.has_times

    @property
    def presenters(self) -> bool:
        return self.agenda is not None and self.agenda.has_presenters

    @property
    def document_title(self) -> str:
        return f"{self.title}, {self.meeting_date}" if self.meeting_date else self.title


def long_date(day: dt.date) -> str:
    """'Thursday 3 December 2026': the same in every locale, so the bytes are too."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def reason(problems: Sequence[Problem]) -> str:
    """The first problem's message, and how many more there are (all are printed on stderr)."""
    first = problems[0].message if problems else "could not be read"
    more = len(problems) - 1
    return first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else "")


def _where(source: str, problems: Sequence[Problem]) -> str:
    if not problems:
        return source
    first = problems[0]
    return str(first).removesuffix(f": {first.message}")


def order_key(position: int, report: Report) -> tuple[float, str, int]:
    """Least complete first; ties by referral id, then input order."""
    return (report.summary.completeness, report.referral_id, position)


def cited(pathway: Pathway) -> tuple[Cited, ...]:
    """Each citation of the items and their discussion points once, with the items citing it."""
    items: dict[Citation, list[str]] = {}
    for item in pathway.items:
        for c in [*item.citations, *(c for point in item.discussion for c in point.citations)]:
            titles = items.setdefault(c, [])
            if item.title not in titles:
                titles.append(item.title)
    return tuple(Cited(CitationOut(source=c.source, title=c.title, quote=c.quote, reference=c.reference),
                       tuple(titles)) for c, titles in items.items())


def _near(rid: str, ids: Sequence[str]) -> str | None:
    """The id of a referral not on the agenda that this agenda id most likely means (case, spaces, a digit)."""
    folded = [i for i in ids if i.casefold().replace(" ", "") == rid.casefold().replace(" ", "")]
    close = folded or difflib.get_close_matches(rid, ids, n=1, cutoff=0.8)
    return close[0] if close else None


def ranked(included: Sequence[Included], agenda: Agenda | None = None) -> list[tuple[int, Included]]:
    """(input position, referral) in packet order: the agenda's order first, when there is one (two
    referrals with one id side by side at its place), then the rest least complete first."""
    after = len(agenda.entries) if agenda is not None else 0

    def key(pair: tuple[int, Included]) -> tuple[int, tuple[float, str, int]]:
        place = agenda.position(pair[1].report.referral_id) if agenda is not None else None
        return (after if place is None else place, order_key(pair[0], pair[1].report))

    return sorted(enumerate(included, start=1), key=key)


def build_packet(
    pathway: Pathway,
    included: Sequence[Included],
    not_included: Sequence[NotIncluded],
    *,
    generated_at: dt.datetime,
    title: str = DEFAULT_TITLE,
    meeting_date: dt.date | None = None,
    agenda: Agenda | None = None,
) -> Packet:
    """The packet for one meeting. `included` and `not_included` are in input order; `agenda`, when
    given, orders the referrals it names and gives their time and presenter."""
    counts = Counter(i.report.referral_id for i in included)
    duplicates = tuple(sorted(rid for rid, n in counts.items() if n > 1))
    children = tuple(
        Child(number=n, position=position, source=inc.source, report=inc.report,
              duplicate=inc.report.referral_id in duplicates,
              slot=agenda.entry(inc.report.referral_id) if agenda is not None else None)
        for n, (position, inc) in enumerate(ranked(included, agenda), start=1)
    )
    unread_ids = {n.referral_id for n in not_included}
    unplaced = [rid for rid in counts if agenda is None or agenda.position(rid) is None]
    missing = tuple(Missing(e, e.referral_id in unread_ids, _near(e.referral_id, unplaced))
                    for e in (agenda.entries if agenda else ()) if e.referral_id not in counts)
    unread = tuple(
        Unread(source=n.source, where=_where(n.source, n.problems), reason=reason(n.problems),
               referral_id=n.referral_id, problems=len(n.problems))
        for n in not_included
    )
    return Packet(
        title=" ".join(title.split()) or DEFAULT_TITLE,
        meeting_date=meeting_date.isoformat() if meeting_date else None,
        meeting_date_label=long_date(meeting_date) if meeting_date else None,
        generated_at=format_time(generated_at),
        pathway=PathwayInfo(id=pathway.id, title=pathway.title, version=pathway.version,
                            checklist=pathway.checklist, rules_sha256=pathway.rules_sha256),
        pathway_title=pathway.title,
        disclaimer=pathway.disclaimer,
        children=children,
        not_included=unread,
        duplicate_ids=duplicates,
        evidence_introduction=pathway.evidence_introduction,
        evidence=tuple(EvidenceOut(source=pathway.evidence_source.source, title=pathway.evidence_source.title,
                                   quote=q) for q in pathway.evidence),
        sources=cited(pathway),
        agenda=agenda,
        agenda_missing=missing,
    )
