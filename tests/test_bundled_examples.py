"""The bundled examples the README tells a newcomer to try: each does what the README says."""
from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, Result

Run = Callable[..., Result]
AT = "2026-12-03T09:00:00Z"


@pytest.fixture(autouse=True)
def _in_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)   # the README's commands name the examples from the top of the checkout


def test_the_example_meeting_makes_a_packet_listing_the_referral_it_cannot_include(
    runner: Run, tmp_path: Path,
) -> None:
    r = runner("mdt", "examples/meeting", "-o", str(tmp_path / "packet.html"), "--meeting-date", "2026-12-03",
               "--now", AT)
    assert r.code == 0, r.err
    assert r.err == (
        "examples/meeting/R-005.yaml:5:12: field 'age_years': 91 is out of range; allowed: a number from 0 to 25 years\n"
        "examples/meeting/R-005.yaml:7:14: field 'gmfcs_level': 'VI' is not an allowed value;"
        " allowed: I, II, III, IV, V (or unknown)\n"
        f"wrote {tmp_path}/packet.html (html): 3 referrals included, 1 not included (listed on the cover)\n")
    html = (tmp_path / "packet.html").read_text(encoding="utf-8")
    rows = re.findall(r'<a href="#child-\d+"><strong>(R-\d+)</strong>', html)
    assert rows == ["R-003", "R-004", "R-002"]   # the cover: least completely documented first
    assert '<td class="where">examples/meeting/R-005.yaml:5:12</td>' in html   # not included: where, and why
    assert "field &#39;age_years&#39;: 91 is out of range" in html


def test_the_example_export_is_audited_with_every_record_accounted_for(runner: Run, tmp_path: Path) -> None:
    r = runner("audit", "examples/audit", "-o", str(tmp_path / "audit.html"), "--csv", str(tmp_path / "statuses.csv"),
               "--now", AT)
    assert r.code == 0, r.err
    assert r.err.startswith("audit: 200 records = 197 evaluated + 3 not evaluated")
    with (tmp_path / "statuses.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + 197 and rows[1][0] == "examples/audit/referrals-2026.csv:2"
    html = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert html.count('<td class="source" data-label="Source">examples/audit/referrals-2026.csv:') == 3 + 50
    assert "50 of 197 evaluated referrals listed, least complete first; the other 147 are in" in html
