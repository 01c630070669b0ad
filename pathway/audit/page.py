"""The audit page: one typed object built from the totals, rendered by `templates/audit.html`.

Completeness is the share of a referral's applicable items that are
documented (not missing): a measure of the referral's documentation, never
of the child. The page states counts and shares only, no verdict.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from ..definition import STATUSES, Pathway
from ..render import environment
from ..report import format_time
from .aggregate import Rejected, Totals
from .chart import documentation_chart
from .groups import NONE, By, Summary, by_key, quarter_of, summary
from .results import Entry


DUPLICATES = 50
"""Referral ids given more than once listed on the page (the status matrix has every record)."""


@dataclass(frozen=True)
class ItemRow:
    id: str
    title: str
    section: str
    met: int
    not_met: int
    missing: int
    not_applicable: int
    missing_rate: float | None   # missing ÷ referrals where the item is not "not applicable"

    @property
    def documented(self) -> int:
        """Referrals documenting the item, either way: its met and not-met answers are both documented."""
        return self.met + self.not_met


@dataclass(frozen=True)
class PeriodRow:
    """Completeness of the referrals of one month, quarter or group."""

    label: str
    summary: Summary
    least_item: str | None = None        # the item least often documented in the group
    least_rate: float | None = None      # its not-documented rate there


@dataclass(frozen=True)
class AuditPage:
    title: str
    pathway_id: str
    pathway_title: str
    version: str
    rules_sha256: str
    disclaimer: str
    generated_at: str
    inputs: tuple[str, ...]
    files: int
    records: int
    evaluated: int
    rejected: int
    items: tuple[ItemRow, ...]
    chart: Markup
    least: tuple[Entry, ...]
    least_more: int
    rejects: tuple[Rejected, ...]
    rejects_more: int
    matrix_file: str | None
    rejects_file: str | None
    median: float | None = None           # median completeness of the evaluated referrals
    complete: int = 0                     # referrals documenting every applicable item
    period: tuple[str, str] | None = None   # first and last month of referral_date
    undated: int = 0                      # evaluated referrals without a referral date
    period_unit: str = "month"            # "month", or "quarter" for a period over two years
    periods: tuple[PeriodRow, ...] = ()
    by: str | None = None                 # --by
    groups: tuple[PeriodRow, ...] = ()
    item_titles: Mapping[str, str] = field(default_factory=dict)
    period_chart: Markup = Markup("")
    group_chart: Markup = Markup("")
    skipped: int = 0     # REDCap rows of another event or form: read, not referrals
    notices: tuple[str, ...] = ()   # about the files: columns not used
    duplicates: tuple[tuple[str, int], ...] = ()   # referral ids given more than once (the first DUPLICATES)
    duplicate_ids: int = 0          # how many ids are given more than once
    duplicate_records: int = 0      # the records that give them
    rechecked: int = 0   # records the row validator decided (not shown: how, not what)
    status_labels: tuple[str, ...] = ()   # the pathway's words for the statuses, in STATUSES order

    def __post_init__(self) -> None:
        assert self.records == self.evaluated + self.rejected + self.skipped, \
            "records in = evaluated + rejected + skipped"


def build_page(pathway: Pathway, totals: Totals, *, inputs: Sequence[str], files: int, at: dt.datetime,
               matrix_file: str | None, rejects_file: str | None, by: By | None = None) -> AuditPage:
    """Pure: totals and a clock in, the page's content out."""
    sections = {s.id: s.title for s in pathway.sections}
    labels = {s: pathway.status_words[s].label for s in STATUSES}
    rows = [_item_row(item.id, item.title, sections[item.section], counts)
            for item, counts in zip(pathway.items, totals.counts)]
    overall = summary((d, a, n) for (_, _, d, a), n in totals.tally.items())
    months = by_key(totals.tally, lambda k: k[0])
    dated = [m for m in months if m != NONE]
    span = (int(dated[-1][:4]) * 12 + int(dated[-1][5:7])) - (int(dated[0][:4]) * 12 + int(dated[0][5:7])) if dated \
        else 0
    unit = "quarter" if span >= 24 else "month"
    periods = by_key(totals.tally, lambda k: quarter_of(k[0])) if unit == "quarter" else months
    period_rows = tuple(PeriodRow(_period_label(k, unit), v) for k, v in periods.items() if k != NONE)
    groups: tuple[PeriodRow, ...] = ()
    if by is not None:
        titles = {i.id: i.title for i in pathway.items}
        groups = tuple(_group_row(name, s, totals.group_counts.get(name, []), titles, pathway)
                       for name, s in by_key(totals.tally, lambda k: k[1]).items())
    return AuditPage(
        title=f"Referral documentation audit: {pathway.title}",
        pathway_id=pathway.id, pathway_title=pathway.title, version=pathway.version,
        rules_sha256=pathway.rules_sha256, disclaimer=pathway.disclaimer, generated_at=format_time(at),
        inputs=tuple(inputs), files=files, records=totals.records, evaluated=totals.evaluated,
        rejected=totals.rejected, items=tuple(rows),
        # drawn by chart.py, which escapes every label in it (the item titles and status words)
        chart=Markup(documentation_chart([(r.title, r.documented, r.missing) for r in rows], labels)),
        least=tuple(totals.least), least_more=max(0, totals.evaluated - len(totals.least)),
        rejects=tuple(totals.rejects),
        rejects_more=max(0, totals.rejected - len(totals.rejects)),
        matrix_file=matrix_file, rejects_file=rejects_file, rechecked=totals.rechecked, skipped=totals.skipped,
        notices=tuple(totals.notices), duplicates=tuple(totals.duplicates[:DUPLICATES]),
        duplicate_ids=len(totals.duplicates), duplicate_records=sum(n for _, n in totals.duplicates),
        status_labels=tuple(labels[s] for s in STATUSES),
        median=overall.median, complete=overall.complete,
        period=(dated[0], dated[-1]) if dated else None, undated=months[NONE].referrals if NONE in months else 0,
        period_unit=unit, periods=period_rows,
        by=by.name if by else None, groups=groups, item_titles={i.id: i.title for i in pathway.items},
        period_chart=_rows_chart(period_rows, labels, "period-caption"),
        group_chart=_rows_chart(groups, labels, "group-caption"),
    )


def _rows_chart(rows: Sequence[PeriodRow], labels: Mapping[str, str], caption: str) -> Markup:
    """The documentation chart of months or groups, in their order: the share of applicable items documented."""
    if len(rows) < 2:
        return Markup("")
    return Markup(documentation_chart([(r.label, r.summary.documented, r.summary.applicable - r.summary.documented)
                                       for r in rows], labels,
                                      worst_first=False, labelled_by=caption, unit=" applicable items"))


def _item_row(item: str, title: str, section: str, counts: Sequence[int]) -> ItemRow:
    by = dict(zip(STATUSES, counts))
    considered = by["met"] + by["not_met"] + by["missing"]
    return ItemRow(item, title, section, by["met"], by["not_met"], by["missing"], by["not_applicable"],
                   by["missing"] / considered if considered else None)


def _group_row(name: str, s: Summary, counts: Sequence[Sequence[int]], titles: dict[str, str],
               pathway: Pathway) -> PeriodRow:
    """A group's completeness, and the item it leaves undocumented most often (pathway order breaks ties)."""
    worst: tuple[float, str] | None = None
    for item, row in zip(pathway.items, counts):
        rate = _item_row(item.id, "", "", row).missing_rate
        if rate is not None and rate > 0 and (worst is None or rate > worst[0]):
            worst = (rate, titles[item.id])
    return PeriodRow(name if name != NONE else "(not given)", s, worst[1] if worst else None,
                     worst[0] if worst else None)


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _period_label(key: str, unit: str) -> str:
    if unit == "quarter":
        return f"{key[:4]} {key[5:]}"
    return f"{MONTHS[int(key[5:7]) - 1]} {key[:4]}"


def month_label(key: str) -> str:
    return _period_label(key, "month")


def render_page(page: AuditPage) -> str:
    return environment().get_template("audit.html").render(page=page, month_label=month_label)
