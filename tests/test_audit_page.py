"""What the audit page says first (issue 19): the headline, when and where, the least complete,
duplicates, reasons without the file's name, and a page that fits a phone."""
from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pathway.audit.groups import By, Summary, by_option, summary
from pathway.definition import Pathway
from pathway.errors import OptionError

from .conftest import Result

Run = Callable[..., Result]
AT = "2026-12-03T09:00:00Z"
EXPORT = "examples/audit/referrals-2026.csv"


def audit(runner: Run, tmp_path: Path, *args: str) -> tuple[str, list[list[str]]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    r = runner("audit", "examples/audit", "-o", str(tmp_path / "a.html"), "--csv", str(tmp_path / "s.csv"),
               "--now", AT, *args)
    assert r.code == 0, r.err
    with (tmp_path / "s.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return (tmp_path / "a.html").read_text(encoding="utf-8"), rows


def figures(html: str) -> list[str]:
    return re.findall(r'<p><span class="figure">([^<]+)</span> ([^<]+)</p>', html)


def test_the_headline_of_the_bundled_audit(runner: Run, tmp_path: Path) -> None:
    html, rows = audit(runner, tmp_path)
    assert figures(html) == [("200", "records read"), ("197", "referrals evaluated"),
                             ("77%", "median completeness of their documentation"),
                             ("2", "fully documented (every applicable item)")]
    assert html.index('class="headline"') < html.index("<h2>")   # above everything else
    # the figures are the matrix's: every evaluated referral is a row
    ratios = sorted(float(r[5]) for r in rows[1:])
    assert len(ratios) == 197 and f"{ratios[98]:.0%}" == "77%"
    assert sum(r[3] == r[4] for r in rows[1:]) == 2
    assert "Referral dates: January 2026 to December 2026; 37 evaluated referrals have no referral date." in html


def test_completeness_by_month_and_by_site(runner: Run, tmp_path: Path) -> None:
    html, rows = audit(runner, tmp_path, "--by", "site")
    assert rows[0][:7] == ["source", "referral_id", "referral_date", "site", "documented", "applicable",
                           "completeness"]
    months = re.findall(r'<td data-label="Month">(\w+ 2026)</td><td class="n" data-label="Referrals">(\d+)</td>', html)
    assert [m for m, _ in months][:3] == ["January 2026", "February 2026", "March 2026"] and len(months) == 12
    assert sum(int(n) for _, n in months) == 197 - 37
    sites = dict(re.findall(r'<td data-label="site">(\w+)</td><td class="n" data-label="Referrals">(\d+)</td>', html))
    assert set(sites) == {"East", "North", "South"}
    by_csv = {s: sum(r[3] == s for r in rows[1:]) for s in sites}
    assert {s: int(n) for s, n in sites.items()} == by_csv and sum(by_csv.values()) == 197
    assert "column 'site' not used" not in html   # it is used: the breakdown
    html, _ = audit(runner, tmp_path, "--by", "gmfcs_level")
    levels = re.findall(r'<td data-label="gmfcs_level">([^<]+)</td>', html)
    assert levels == ["(not given)", "I", "II", "III", "IV", "V"]


def test_the_same_breakdown_from_both_engines(runner: Run, tmp_path: Path) -> None:
    row = audit(runner, tmp_path / "row", "--by", "site", "--engine", "row")
    columnar = audit(runner, tmp_path / "columnar", "--by", "site", "--engine", "columnar")
    assert row[1] == columnar[1]
    assert row[0].replace(str(tmp_path / "row"), "") == columnar[0].replace(str(tmp_path / "columnar"), "")


def test_by_refuses_a_field_that_cannot_group(pathway: Pathway) -> None:
    assert by_option(pathway, " Site ") == By("site")
    assert by_option(pathway, "gmfcs_level") == By("gmfcs_level", pathway.fields["gmfcs_level"])
    with pytest.raises(OptionError, match="'age_years' is a number field"):
        by_option(pathway, "age_years")


@pytest.mark.parametrize(("pairs", "expected"), [
    ([], Summary(0, None, 0)),
    ([(1, 2, 1)], Summary(1, 0.5, 0, 1, 2)),
    ([(1, 2, 1), (2, 2, 1)], Summary(2, 0.75, 1, 3, 4)),
    ([(0, 4, 2), (4, 4, 1), (1, 4, 3)], Summary(6, 0.25, 1, 7, 24)),
    ([(0, 0, 3), (1, 2, 1)], Summary(4, 1.0, 3, 1, 2)),   # nothing applicable: complete
])
def test_the_median_is_exact_from_counts(pairs: list[tuple[int, int, int]], expected: Summary) -> None:
    assert summary(pairs) == expected


def test_the_least_complete_50_by_default_and_reasons_without_the_file(runner: Run, tmp_path: Path) -> None:
    html, _ = audit(runner, tmp_path)
    assert html.count(f'<td class="source" data-label="Source">{EXPORT}:') == 3 + 50
    reasons = re.findall(r'<td data-label="Reason"><ul class="problems"><li>([^<]+)</li>', html)
    assert len(reasons) == 3 and all(r.startswith("line ") for r in reasons) and not any(EXPORT in r for r in reasons)
    html, _ = audit(runner, tmp_path, "--list", "5")
    assert "5 of 197 evaluated referrals listed" in html


def test_duplicate_referral_ids_are_counted_and_listed(pathway: Pathway, runner: Run, tmp_path: Path) -> None:
    f = tmp_path / "twice.csv"
    f.write_text("referral_id,age_years\nR-1,9\nR-2,8\nR-1,9\nR-3,7\nR-1,9\nR-3,7\n", encoding="utf-8")
    r = runner("audit", str(f), "-o", str(tmp_path / "a.html"), "--now", AT)
    assert r.code == 0
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert ("2 referral ids are given more than once</strong> (5 evaluated records): each record is counted on its"
            " own.") in html
    assert "<code>R-1</code> (3×), <code>R-3</code> (2×)." in html


def test_months_and_groups_are_charted_in_their_order_with_items_documented(runner: Run, tmp_path: Path) -> None:
    html, rows = audit(runner, tmp_path, "--by", "site")
    months = re.search(r'aria-labelledby="period-caption".*?</svg>', html, re.S)
    groups = re.search(r'aria-labelledby="group-caption".*?</svg>', html, re.S)
    assert months and groups
    bars = re.findall(r"<title>(\w+ 2026): documented, ([\d,]+) of ([\d,]+)", months.group(0))
    assert [m for m, _, _ in bars][:2] == ["January 2026", "February 2026"] and len(bars) == 12
    january = [r for r in rows[1:] if r[2].startswith("2026-01")]
    assert (int(bars[0][1]), int(bars[0][2])) == (sum(int(r[4]) for r in january), sum(int(r[5]) for r in january))
    assert re.findall(r"<title>(\w+): documented", groups.group(0)) == ["East", "North", "South"]


def test_a_period_over_two_years_is_given_by_quarter(pathway: Pathway) -> None:
    import datetime as dt

    from pathway.audit.aggregate import Totals
    from pathway.audit.page import build_page

    totals = Totals([i.id for i in pathway.items], 50, counts=[[0] * 4 for _ in pathway.items])
    totals.tally = {("2023-01", "", 10, 20): 2, ("2023-03", "", 20, 20): 1, ("2026-05", "", 20, 20): 1,
                    ("", "", 5, 20): 1}
    totals.records = totals.evaluated = 5
    page = build_page(pathway, totals, inputs=["x"], files=1, at=dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc),
                      matrix_file=None, rejects_file=None)
    assert page.period_unit == "quarter" and page.period == ("2023-01", "2026-05") and page.undated == 1
    assert [(r.label, r.summary) for r in page.periods] == [
        ("2023 Q1", Summary(3, 0.5, 1, 40, 60)), ("2026 Q2", Summary(1, 1.0, 1, 20, 20))]
