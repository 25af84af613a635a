"""In Chromium: the jurisdiction shows beside the knowledge version on all four pages, and a switch on one
page holds on the others (the browser session keeps it)."""

from __future__ import annotations

import pytest

from tests.browser import idle, settle

pytestmark = pytest.mark.slow

PAGES = ("Consultation", "Explore", "Teaching", "Knowledge base")


def footer_text(page) -> str:
    return page.get_by_text("Knowledge version").last.inner_text()


def test_the_jurisdiction_shows_on_every_page(app_url, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(app_url)
        idle(page)
        page.get_by_text("Verdicts follow").first.wait_for()
        for name in PAGES:
            page.get_by_role("link", name=name).first.click()
            settle(page)
            page.get_by_role("heading", name=name, level=1).wait_for()
            assert "UK guidance" in footer_text(page), name
            # the switch, on every page: a radio group named for what it sets
            assert page.get_by_role("radio", name="UK guidance").get_attribute("aria-checked") == "true", name
        page.get_by_role("radio", name="USA guidance").click()
        settle(page)
        for name in PAGES:
            page.get_by_role("link", name=name).first.click()
            settle(page)
            page.get_by_role("heading", name=name, level=1).wait_for()
            assert "USA guidance" in footer_text(page), name
            assert page.get_by_role("radio", name="USA guidance").get_attribute("aria-checked") == "true", name
    finally:
        context.close()
