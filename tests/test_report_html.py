"""The HTML report as a clinician reads it: times in words, internal ids and the rules hash kept but
quiet, no sentence that says "not documented" twice, and the case profile with what was answered."""
from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from pathway.definition import Pathway
from pathway.render import environment, render, when
from pathway.service import check, read_document, referral_values

from .conftest import EXAMPLE, FIXED


@pytest.fixture
def page(pathway: Pathway) -> str:
    values = referral_values(pathway, read_document(EXAMPLE))
    return render(check(pathway, values, at=FIXED), "html")


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.parametrize(("stamp", "shown"), [
    ("2026-12-01T19:55:02Z", "1 December 2026, 19:55 UTC"),
    ("2026-01-09T00:00:00Z", "9 January 2026, 00:00 UTC"),
    ("2026-12-01T19:55:02+01:00", "1 December 2026, 18:55 UTC"),
    ("2026-12-01T19:55:02", "2026-12-01T19:55:02"),  # no zone: not guessed, shown as given
    ("not a time", "not a time"),
])
def test_a_time_reads_as_a_date_and_a_time(stamp: str, shown: str) -> None:
    assert when(stamp) == shown
    assert environment().from_string("{{ t | when }}").render(t=stamp) == shown


def test_the_report_gives_its_time_in_words_and_exactly_for_machines(page: str) -> None:
    assert '<dt>Generated</dt><dd><time datetime="2026-12-03T09:00:00Z">3 December 2026, 09:00 UTC</time></dd>' in page
    assert 'generated <time datetime="2026-12-03T09:00:00Z">3 December 2026, 09:00 UTC</time>' in page
    assert ">2026-12-03T09:00:00Z<" not in page


def test_same_referral_and_clock_give_the_same_bytes(pathway: Pathway, page: str) -> None:
    values = referral_values(pathway, read_document(EXAMPLE))
    assert render(check(pathway, values, at=FIXED), "html") == page
    later = render(check(pathway, values, at=FIXED + dt.timedelta(minutes=1)), "html")
    assert later.replace("09:01", "09:00") == page


def test_the_case_profile_shows_the_referral_date_and_gmfcs_level(page: str) -> None:
    profile = page[page.index('<dl class="profile"'):page.index("</dl>", page.index('<dl class="profile"'))]
    assert "<div><dt>Referral date</dt><dd>2026-10-14</dd></div>" in profile
    assert "<div><dt>GMFCS level</dt><dd>IV: self-mobility with limitations; may use powered mobility</dd></div>" in profile
    assert "<div><dt>Age</dt><dd>9 years</dd></div>" in profile


def test_internal_ids_and_the_rules_hash_stay_but_quietly(pathway: Pathway, page: str) -> None:
    head = page[page.index("<main>"):page.index('<section class="summary"')]
    assert "sha256" not in head and "Rules hash" not in head
    # The hash: in the closing footer and the printed pages' running footer (a safety mitigation), nowhere else.
    assert page.count(f"sha256:{pathway.rules_sha256}") == 2
    assert f'<span class="hash">rules sha256:{pathway.rules_sha256}</span></footer>' in page
    discussion = page[page.index('<ul class="discussion-all">'):page.index('<section aria-labelledby="sec-')]
    assert not re.search(r"\(\w+\.\w+\)", text_of(discussion)), "no (trial.done) in the lists a team reads first"
    assert '<li data-item="trial.done">The trial is scheduled but not yet done' in discussion
    assert '<li data-item="therapy.orthotics"><a href="#item-R-001-therapy.orthotics">' in discussion
    assert '<h3>Has a trial of intrathecal baclofen been done before implant?</h3>' in page
    assert '<p class="item-id">Item trial.done</p>\n  </article>' in page


def test_no_sentence_says_not_documented_twice(page: str) -> None:
    whys = [text_of(w) for w in re.findall(r'<p class="why">(.*?)</p>', page)]
    assert len(whys) == 24
    for why in whys:
        assert len(re.findall(r"not (yet )?documented", why, re.IGNORECASE)) <= 1, why
    assert ("A review of orthotic use is not yet documented. Not answered in the referral: Orthotic use reviewed or "
            "planned.") in whys


def test_printed_pages_carry_their_number(page: str) -> None:
    assert '@bottom-right { content: "Page " counter(page) " of " counter(pages);' in page
    assert '<div class="closing">\n<p class="disclaimer" role="note">' in page  # the footer never stands alone
