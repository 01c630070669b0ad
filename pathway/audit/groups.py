"""When and where: each evaluated referral's month (from `referral_date`) and group (`--by`).

The page breaks completeness down by month (or quarter) of referral and by a
group a person names: a field of the form (`gmfcs_level`, say) or a column the
export carries that is no field (`site`, `referrer`). Both engines take a
referral's month and group from here, so they agree; no Polars here (the row
engine imports it).
"""
from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..definition import FormField, Pathway
from ..errors import OptionError
from ..fieldkinds import FieldKind
from ..referral import Values
from .rowpath import Pending

GROUPABLE = (FieldKind.TEXT, FieldKind.TRISTATE, FieldKind.CHOICE)
"""Fields a breakdown can be by: one value per referral, written as the export writes it."""
NONE = ""
"""The group of a referral that does not say (no date; the field not documented; no such column)."""
WS = " \t"


@dataclass(frozen=True)
class By:
    """`--by`: a field of the form, or a column of CSV exports that is no field (lower case)."""

    name: str
    field: FormField | None = None


def by_option(pathway: Pathway, text: str | None) -> By | None:
    """`--by NAME`: a field id (one of the kinds `GROUPABLE`) or the name of a CSV column."""
    if text is None:
        return None
    name = text.strip().lower()
    field = pathway.fields.get(name)
    if field is not None and field.type not in GROUPABLE:
        kinds = ", ".join(k.value for k in GROUPABLE)
        raise OptionError(f"--by {name}: a breakdown is by a field of one of the kinds {kinds}, or a CSV column;"
                          f" '{name}' is a {field.type.value} field")
    if not name:
        raise OptionError("--by: name a field or a CSV column")
    return By(name, field)


def group_of(by: By | None, values: Values, pending: Pending) -> str:
    """The referral's group: its answer to the field, or its cell in the column, as written."""
    if by is None:
        return NONE
    if by.field is not None:
        value = values.get(by.name)
        return NONE if value is None else str(value)
    if pending.kind == "csv" and by.name in pending.header:
        return pending.cells[pending.header.index(by.name)].strip(WS)
    return NONE


def month_of(values: Values) -> str:
    """YYYY-MM of the referral date, or NONE."""
    date = values.get("referral_date")
    return str(date)[:7] if date else NONE


TallyKey = tuple[str, str, int, int]
Tally = dict[TallyKey, int]
"""(month, group, documented, applicable) → referrals: enough for every figure the page gives."""


def completeness(documented: int, applicable: int) -> float:
    return documented / applicable if applicable else 1.0


@dataclass(frozen=True)
class Summary:
    """Referrals, their median completeness, how many are fully documented, and their items."""

    referrals: int
    median: float | None
    complete: int
    documented: int = 0   # items documented, summed over the referrals (for the charts)
    applicable: int = 0   # items applicable, summed likewise


def summary(pairs: Iterable[tuple[int, int, int]]) -> Summary:
    """From (documented, applicable, referrals) triples: the median is exact, worked out from counts."""
    counted = [(d, a, n) for d, a, n in pairs if n]
    weighted = sorted((completeness(d, a), n, d == a) for d, a, n in counted)
    total = sum(n for _, n, _ in weighted)
    complete = sum(n for _, n, full in weighted if full)
    if not total:
        return Summary(0, None, 0)
    middle = [(total - 1) // 2, total // 2]   # the one or two middle places, 0-based
    found: list[float] = []
    seen = 0
    for ratio, n, _ in weighted:
        while len(found) < 2 and middle[len(found)] < seen + n:
            found.append(ratio)
        seen += n
    return Summary(total, statistics.fmean(found), complete, sum(d * n for d, _, n in counted),
                   sum(a * n for _, a, n in counted))


def by_key(tally: Mapping[TallyKey, int], key: Callable[[TallyKey], str]) -> dict[str, Summary]:
    """Summaries per key of the tally's entries (a month, a quarter, a group), in key order."""
    split: dict[str, list[tuple[int, int, int]]] = {}
    for k, n in tally.items():
        split.setdefault(key(k), []).append((k[2], k[3], n))
    return {name: summary(pairs) for name, pairs in sorted(split.items())}


def quarter_of(month: str) -> str:
    """2026-Q1 for 2026-01 to 2026-03 (NONE stays NONE)."""
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}" if month else NONE
