"""The audit page: one typed object built from the totals, rendered by `templates/audit.html`.

Completeness is the share of a referral's applicable items that are
documented (not missing): a measure of the referral's documentation, never
of the child. The page states counts and shares only, no verdict.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from ..definition import STATUSES, Pathway
from ..render import environment
from ..report import format_time
from .aggregate import Least, Rejected, Totals
from .chart import status_chart


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
    least: tuple[Least, ...]
    least_more: int
    rejects: tuple[Rejected, ...]
    rejects_more: int
    matrix_file: str | None
    rejects_file: str | None
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
               matrix_file: str | None, rejects_file: str | None) -> AuditPage:
    """Pure: totals and a clock in, the page's content out."""
    sections = {s.id: s.title for s in pathway.sections}
    labels = {s: pathway.status_words[s].label for s in STATUSES}
    rows = []
    for item, counts in zip(pathway.items, totals.counts):
        by = dict(zip(STATUSES, counts))
        considered = by["met"] + by["not_met"] + by["missing"]
        rows.append(ItemRow(item.id, item.title, sections[item.section], by["met"], by["not_met"], by["missing"],
                            by["not_applicable"], by["missing"] / considered if considered else None))
    return AuditPage(
        title=f"Referral documentation audit: {pathway.title}",
        pathway_id=pathway.id, pathway_title=pathway.title, version=pathway.version,
        rules_sha256=pathway.rules_sha256, disclaimer=pathway.disclaimer, generated_at=format_time(at),
        inputs=tuple(inputs), files=files, records=totals.records, evaluated=totals.evaluated,
        rejected=totals.rejected, items=tuple(rows),
        # drawn by chart.py, which escapes every label in it (the item ids and status words)
        chart=Markup(status_chart([i.id for i in pathway.items], totals.counts, labels)),
        least=tuple(totals.least), least_more=max(0, totals.evaluated - len(totals.least)),
        rejects=tuple(totals.rejects), rejects_more=max(0, totals.rejected - len(totals.rejects)),
        matrix_file=matrix_file, rejects_file=rejects_file, rechecked=totals.rechecked, skipped=totals.skipped,
        notices=tuple(totals.notices), duplicates=tuple(totals.duplicates[:DUPLICATES]),
        duplicate_ids=len(totals.duplicates), duplicate_records=sum(n for _, n in totals.duplicates),
        status_labels=tuple(labels[s] for s in STATUSES),
    )


def render_page(page: AuditPage) -> str:
    return environment().get_template("audit.html").render(page=page)
