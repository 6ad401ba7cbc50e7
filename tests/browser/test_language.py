"""German by default, English on request, and the choice sticks: for a visitor within the
browser session, for a signed-in person on the account (a new browser on another day speaks
their language). Dates, times and euro amounts follow the language, not just the words.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.journey import assert_accessible, sign_in

EMPLOYEE = "employee@musterfirma.example"
GERMAN_DATE = re.compile(r"\b\d{2}\.\d{2}\.\d{4}\b")
ENGLISH_DATE = re.compile(r"\b[A-Z][a-z]{2} \d{1,2}, \d{4}\b")
GERMAN_EURO = re.compile(r"^\d{1,3}(\.\d{3})*,\d{2}\s€$")
ENGLISH_EURO = re.compile(r"^€\d{1,3}(,\d{3})*\.\d{2}$")


def _choose(page: Any, code: str) -> None:
    page.click(f"form.language-switch button[name=locale][value={code}]")
    page.wait_for_selector(f"html[lang={code}]")


def _offering_facts(page: Any, base: str) -> tuple[str, str]:
    """The date line and the course fee of the first open course on the start page."""
    page.goto(f"{base}/me")
    page.click("#open-courses-title ~ ul .course-card-title a >> nth=0")
    page.wait_for_url(re.compile(r"/courses/\d+$"))
    return page.inner_text("main p.lead"), page.inner_text("main .price-facts dd >> nth=0")


def test_visitor_choice_lasts_the_browser_session(demo_site, new_page) -> None:
    page = new_page()
    page.goto(f"{demo_site}/login")
    assert page.get_attribute("html", "lang") == "de"
    _choose(page, "en")
    page.goto(f"{demo_site}/password/forgot")
    assert page.get_attribute("html", "lang") == "en"
    assert_accessible(page)


def test_account_language_formats_dates_and_money_and_is_remembered(demo_site, new_page) -> None:
    page = new_page()
    sign_in(page, demo_site, EMPLOYEE, "/me")
    assert page.get_attribute("html", "lang") == "de"
    dates, fee = _offering_facts(page, demo_site)
    assert GERMAN_DATE.search(dates), dates
    assert GERMAN_EURO.match(fee), fee

    _choose(page, "en")
    dates, fee = _offering_facts(page, demo_site)
    assert ENGLISH_DATE.search(dates), dates
    assert ENGLISH_EURO.match(fee), fee
    assert_accessible(page)

    # Another browser, German by its settings: the account's choice wins.
    elsewhere = new_page()
    sign_in(elsewhere, demo_site, EMPLOYEE, "/me")
    assert elsewhere.get_attribute("html", "lang") == "en"
    _choose(elsewhere, "de")
    assert elsewhere.get_attribute("html", "lang") == "de"
