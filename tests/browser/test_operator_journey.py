"""The platform operator's journey in a real browser on the demo data.

The operator lands on /operator/, the overview of every employer and course provider, and
onboards a new employer and a new course provider through its two forms: each appears in its
table, a malformed or taken short name is refused at the field and adds nothing. The page
and its error states pass axe in German and in English and fit a 375 px phone.

Selectors use URLs, ids and structure rather than visible text, so the test does not depend
on the translations.
"""

from __future__ import annotations

from typing import Any

from tests.browser.journey import (
    PHONE_WIDTH,
    assert_accessible,
    assert_fits_phone,
    screenshot,
    sign_in,
)

OPERATOR = "operator@wellness.example"
EMPLOYERS = "section[aria-labelledby=employers-title] table tbody tr"
PROVIDERS = "section[aria-labelledby=providers-title] table tbody tr"
ADD_EMPLOYER = "main form:has(input[name=form][value=employer]) button[type=submit]"
ADD_PROVIDER = "main form:has(input[name=form][value=provider]) button[type=submit]"


def _row(page: Any, table: str, slug: str) -> Any:
    return page.locator(table, has=page.locator("code", has_text=slug))


def _add_employer(page: Any, slug: str, name: str, locale: str) -> None:
    page.fill("#employer-slug", slug)
    page.fill("#employer-name", name)
    page.select_option("#employer-locale", locale)
    page.click(ADD_EMPLOYER)
    page.wait_for_load_state()


def _add_provider(page: Any, slug: str, name: str, city: str) -> None:
    page.fill("#provider-slug", slug)
    page.fill("#provider-name", name)
    page.fill("#provider-city", city)
    page.click(ADD_PROVIDER)
    page.wait_for_load_state()


def test_operator_onboards_an_employer_and_a_provider(demo_site, new_page) -> None:
    base = demo_site
    page = new_page()
    sign_in(page, base, OPERATOR, "/operator/")
    assert page.locator("html").get_attribute("lang") == "de"
    employers = page.locator(EMPLOYERS).count()
    providers = page.locator(PROVIDERS).count()
    # The demo has two employers (Musterfirma and Beispiel) and course providers.
    assert employers >= 2
    assert _row(page, EMPLOYERS, "musterfirma").count() == 1
    assert providers >= 1
    assert_accessible(page)
    screenshot(page, "operator")

    _add_employer(page, "nordlicht-logistik", "Nordlicht Logistik GmbH", "en")
    assert page.url == f"{base}/operator/"
    assert page.locator(".flash-success").count() == 1
    assert page.locator(EMPLOYERS).count() == employers + 1
    added = _row(page, EMPLOYERS, "nordlicht-logistik")
    assert added.count() == 1
    cells = added.locator("td").all_inner_texts()
    assert cells[0] == "Nordlicht Logistik GmbH"
    assert cells[2] == "EN"
    assert cells[3] == "0"
    assert page.locator("#employer-slug").input_value() == ""
    assert_accessible(page)

    # A malformed short name is refused at the field, nothing is added, the input is kept.
    _add_employer(page, "Nord Licht!", "Nordlicht Zwei", "de")
    assert page.locator(".flash-success").count() == 0
    assert page.locator("#employer-slug[aria-invalid=true]").count() == 1
    assert page.locator("#employer-slug-errors li").count() == 1
    assert page.locator("#employer-name").input_value() == "Nordlicht Zwei"
    assert page.locator(EMPLOYERS).count() == employers + 1
    assert_accessible(page)

    # A short name that is taken is refused too.
    _add_employer(page, "musterfirma", "Musterfirma Kopie", "de")
    assert page.locator("#employer-slug[aria-invalid=true]").count() == 1
    assert page.locator("#employer-slug-errors").count() == 1
    assert page.locator(EMPLOYERS).count() == employers + 1
    assert_accessible(page)

    page.goto(f"{base}/operator/")
    _add_provider(page, "physio-am-hafen", "Physio am Hafen", "Hamburg")
    assert page.locator(".flash-success").count() == 1
    assert page.locator(PROVIDERS).count() == providers + 1
    cells = _row(page, PROVIDERS, "physio-am-hafen").locator("td").all_inner_texts()
    assert cells == ["Physio am Hafen", "physio-am-hafen", "Hamburg"]
    assert_accessible(page)

    _add_provider(page, "physio-am-hafen", "Physio am Hafen Zwei", "Kiel")
    assert page.locator("#provider-slug[aria-invalid=true]").count() == 1
    assert page.locator(PROVIDERS).count() == providers + 1
    assert_accessible(page)

    # What was added is still there on a fresh visit.
    page.goto(f"{base}/operator/")
    assert _row(page, EMPLOYERS, "nordlicht-logistik").count() == 1
    assert _row(page, PROVIDERS, "physio-am-hafen").count() == 1


def test_operator_page_fits_a_phone_and_reads_in_english(demo_site, new_page) -> None:
    base = demo_site
    page = new_page(width=PHONE_WIDTH, height=800)
    sign_in(page, base, OPERATOR, "/operator/")
    assert_fits_phone(page)
    _add_employer(page, "X", "", "de")
    assert page.locator("#employer-slug[aria-invalid=true]").count() == 1
    assert page.locator("#employer-name[aria-invalid=true]").count() == 1
    assert_fits_phone(page)

    page.goto(f"{base}/operator/")
    page.click("form.language-switch button[name=locale][value=en]")
    page.wait_for_url(f"{base}/operator/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text().strip() == "Platform"
    assert page.locator("#employers-title").inner_text().strip() == "Employers"
    assert page.locator("#providers-title").inner_text().strip() == "Course providers"
    assert_accessible(page)
    assert_fits_phone(page)

    _add_provider(page, "no", "", "")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "lower-case letters" in page.locator("#provider-slug-errors").inner_text()
    assert page.locator("#provider-name[aria-invalid=true]").count() == 1
    assert_accessible(page)
    assert_fits_phone(page)
