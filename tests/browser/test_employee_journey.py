"""The employee's course journey in a real browser against a real server, on the demo data:
sign in, search, open a "Neue Rückenschule" offering, enroll through the confirmation page,
find it under "My courses" and download its calendar file. Also: no sideways scrolling at
375 px, the width of a small phone.

Selectors use URLs, element ids and structure rather than visible text, so the test does not
depend on the translations.
"""

from __future__ import annotations

import re
from typing import Any

from icalendar import Calendar

from wellness.demo import DEMO_PASSWORD, seed

EMPLOYEE = "employee@musterfirma.example"
PHONE_WIDTH = 375


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", EMPLOYEE)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/me")


def _search(page: Any, base: str, words: str) -> None:
    page.click('nav.main-nav a[href="/courses"]')
    page.wait_for_url(f"{base}/courses")
    page.fill("#q", words)
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r"/courses\?"))


def _offering_links(page: Any, title: str) -> list[str]:
    """Detail links of the result cards whose title is exactly ``title``."""
    links = page.locator(".course-card .course-card-title a")
    return [
        links.nth(i).get_attribute("href")
        for i in range(links.count())
        if links.nth(i).inner_text().strip() == title
    ]


def _choose_offering(page: Any, base: str, links: list[str]) -> str:
    """An offering she can enroll in; if she already holds the only open one, she cancels it
    first (the demo books her into the next Neue Rückenschule), then enrolls again."""
    booked = None
    for href in links:
        page.goto(base + href)
        if page.locator(f'main a[href="{href}/enroll"]').count():
            return href
        if page.locator(f'main form[action="{href}/cancel"]').count():
            booked = href
    assert booked is not None, "no Neue Rückenschule offering is open or booked in the demo"
    page.goto(base + booked)
    page.click(f'main form[action="{booked}/cancel"] button[type=submit]')
    page.wait_for_url(f"{base}/me/courses")
    assert page.locator(".flash-success").count() == 1
    page.goto(base + booked)
    assert page.locator(f'main a[href="{booked}/enroll"]').count() == 1
    return booked


def test_employee_finds_enrolls_and_gets_the_calendar(app, db, live_server, new_page):
    seed()
    db.session.commit()
    base = live_server
    page = new_page()
    _sign_in(page, base)
    assert page.locator("html").get_attribute("lang") == "de"

    _search(page, base, "Rücken")
    links = _offering_links(page, "Neue Rückenschule")
    assert links, "the search for 'Rücken' found no Neue Rückenschule"
    href = _choose_offering(page, base, links)
    offering_id = int(href.rsplit("/", 1)[1])

    page.goto(base + href)
    assert page.locator(".badge-certified").count() == 1
    page.click(f'main a[href="{href}/enroll"]')
    page.wait_for_url(f"{base}{href}/enroll")
    assert page.locator(".price-facts dd").count() == 3
    assert "€" in page.locator(".own-share").inner_text()
    page.click(f'main form[action="{href}/enroll"] button[type=submit]')
    page.wait_for_url(f"{base}/me/courses")
    assert page.locator(".flash-success").count() == 1

    ics_href = f"/offerings/{offering_id}/calendar.ics"
    card = page.locator(
        "#upcoming-title ~ ul .my-course", has=page.locator(f'a[href="{ics_href}"]')
    )
    assert card.count() == 1, "the booked offering is not under current and upcoming"
    ics_link = card.locator(f'a[href="{ics_href}"]')
    assert card.locator(".badge-success, .badge-warning").count() == 1
    card.locator("details summary").click()
    sessions = card.locator(".session-list li")
    assert sessions.count() == 10

    with page.expect_download() as download_info:
        ics_link.click()
    assert download_info.value.suggested_filename.endswith(".ics")
    response = page.context.request.get(f"{base}/offerings/{offering_id}/calendar.ics")
    assert response.ok
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.body())
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 10
    assert all("Neue Rückenschule" in str(event["SUMMARY"]) for event in events)


def test_course_pages_fit_a_small_phone(app, db, live_server, new_page):
    seed()
    db.session.commit()
    base = live_server
    page = new_page(width=PHONE_WIDTH, height=800)
    _sign_in(page, base)
    page.goto(f"{base}/courses?q=R%C3%BCcken")
    first = page.locator(".course-card .course-card-title a").first.get_attribute("href")
    for path in ("/courses", "/courses?q=R%C3%BCcken", first, "/me/courses", "/me"):
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} scrolls sideways at {PHONE_WIDTH} px: {width} px"
