"""The audit page in Chromium, as an auditor reads it: on a phone nothing is wider than the screen,
and axe-core finds no serious problem."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .conftest import ROOT
from .test_browser import _axe, browser

__all__ = ["browser"]   # the module's Chromium, skipped (or failed under CI=true) as there

if TYPE_CHECKING:
    from playwright.sync_api import Browser

WIDER = "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)" \
        ".map(e => e.tagName + (e.className ? '.' + e.className : ''))"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pathway.cli import main

    out = tmp_path_factory.mktemp("audit") / "audit.html"
    assert main(["audit", str(ROOT / "examples" / "audit"), "-o", str(out), "--by", "site",
                 "--now", "2026-12-03T09:00:00Z"]) == 0
    return out


@pytest.mark.parametrize("width", [390, 1280])
def test_the_audit_page_fits_the_screen_and_is_accessible(browser: Browser, page_file: Path, width: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(page_file.as_uri())
    assert page.evaluate(WIDER) == []
    headline = page.locator(".headline p").all_inner_texts()
    assert [h.split("\n")[0] for h in headline] == ["200", "197", "77%", "2"]
    assert _axe(page) == []
    page.close()
