"""The employee's two main tasks with the keyboard alone, in a real browser on the demo data:
from her signed-in start page she skips to the content, searches the catalog, enrolls in a
course with a free seat, then does a pain check-in (arrow keys on the 0-10 scales, Space on the
checkbox). Nothing is clicked or filled: only Tab, Enter, Space, arrow keys and typing into the
field that has focus, as someone who cannot use a mouse works (WCAG 2.1.1). At every stop the
focused element must show a visible focus indicator (WCAG 2.4.7).

Selectors use URLs, element ids, names and values rather than visible text.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tests.browser.journey import assert_accessible, sign_in
from wellness.auth.models import User
from wellness.courses.models import Enrollment, EnrollmentStatus
from wellness.db import utcnow
from wellness.health.models import PainCheckin
from wellness.i18n import local_today
from wellness.tenants.models import Employee

EMPLOYEE = "employee@musterfirma.example"
#: Tab stops a page may need before the wanted element; more means a trap or a missing target.
MAX_STOPS = 80

#: What has focus and whether it shows: an outline or box shadow on the element, or, for a
#: control drawn invisible under its label (the 0-10 scale's radios), on that label.
FOCUS = """() => {
  const el = document.activeElement;
  const shows = node => {
    const style = getComputedStyle(node);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return outline || (style.boxShadow !== 'none' && style.boxShadow !== '');
  };
  const box = el.getBoundingClientRect();
  const hidden = parseFloat(getComputedStyle(el).opacity) === 0;
  const visible = hidden ? [...(el.labels || [])].some(shows) : shows(el);
  return {
    html: el.outerHTML.slice(0, 160),
    tag: el.tagName.toLowerCase(),
    id: el.id,
    name: el.getAttribute('name'),
    value: el.getAttribute('value'),
    type: el.getAttribute('type'),
    href: el.getAttribute('href'),
    checked: !!el.checked,
    form: el.form ? el.form.id || el.form.getAttribute('action') : null,
    inMain: !!el.closest('main'),
    shown: visible && box.width > 0 && box.height > 0,
  };
}"""


def _focused(page: Any) -> dict[str, Any]:
    return page.evaluate(FOCUS)


def _press(page: Any, key: str) -> dict[str, Any]:
    """Press a key and check that what then has focus shows it."""
    page.keyboard.press(key)
    focus = _focused(page)
    assert focus["tag"] != "body", f"{key} left focus nowhere on {page.url}"
    assert focus["shown"], f"focus is not visible after {key} on {page.url}: {focus}"
    return focus


def _tab_to(page: Any, wanted: Any, what: str) -> dict[str, Any]:
    """Tab forward, checking each stop, until ``wanted(focus)`` holds."""
    for _ in range(MAX_STOPS):
        focus = _press(page, "Tab")
        if wanted(focus):
            return focus
    raise AssertionError(f"{what} is not reachable with Tab on {page.url}")


def _enter(page: Any, url: Any) -> None:
    page.keyboard.press("Enter")
    page.wait_for_url(url)
    page.wait_for_load_state()


def _open_seat(page: Any) -> str:
    """A course on her start page that is open for her and has a free seat."""
    cards = page.locator("#open-courses-title ~ ul .course-card")
    for n in range(cards.count()):
        card = cards.nth(n)
        if card.locator(".course-card-seats strong").count() == 0:  # "full" is set in bold
            return card.locator(".course-card-title a").get_attribute("href")
    raise AssertionError("no course with a free seat is open for the demo employee")


def test_employee_enrolls_and_checks_in_with_the_keyboard_alone(db, demo_site, new_page):
    base = demo_site
    page = new_page()
    sign_in(page, base, EMPLOYEE, "/me")
    target = _open_seat(page)
    page.goto(f"{base}/me")  # a fresh page: focus starts at the top

    # The first stop is the skip link; it takes focus past the header to the content.
    skip = _press(page, "Tab")
    assert skip["href"] == "#main", f"the first Tab stop is not the skip link: {skip['html']}"
    assert page.locator("a.skip-link").bounding_box()["y"] >= 0, "the skip link shows on focus"
    page.keyboard.press("Enter")
    assert _focused(page)["id"] == "main", "the skip link moves focus to the main content"
    assert _press(page, "Tab")["inMain"], "after skipping, Tab continues inside the content"

    # Find the course through the catalog's search.
    page.goto(f"{base}/me")
    _tab_to(page, lambda f: f["href"] == "/courses" and not f["inMain"], "the Courses menu item")
    _enter(page, f"{base}/courses")
    _tab_to(page, lambda f: f["id"] == "q", "the search field")
    page.keyboard.type("Rücken")
    _enter(page, re.compile(r"/courses\?q=R"))
    assert page.locator(f'.course-card-title a[href="{target}"]').count() == 1, (
        "the search for 'Rücken' lists the course"
    )
    assert_accessible(page)
    _tab_to(page, lambda f: f["href"] == target, "the course's result card")
    _enter(page, f"{base}{target}")
    _tab_to(page, lambda f: f["href"] == f"{target}/enroll", "the Enroll button")
    _enter(page, f"{base}{target}/enroll")
    _tab_to(
        page,
        lambda f: f["tag"] == "button" and f["form"] == f"{target}/enroll",
        "the Enroll now button",
    )
    _enter(page, f"{base}/me/courses")
    assert page.locator(".flash-success").count() == 1
    db.session.commit()  # a fresh transaction sees what the server wrote
    employee = db.session.scalars(
        select(Employee).join(User, User.id == Employee.user_id).where(User.email == EMPLOYEE)
    ).one()
    offering_id = int(target.rsplit("/", 1)[1])
    status = db.session.scalar(
        select(Enrollment.status).where(
            Enrollment.employee_id == employee.id, Enrollment.offering_id == offering_id
        )
    )
    assert status == EnrollmentStatus.ENROLLED.value

    # Pain check-in: Tab into each 0-10 scale, arrow keys choose, Space ticks the box.
    _tab_to(page, lambda f: f["href"] == "/me/pain" and not f["inMain"], "the Pain menu item")
    _enter(page, f"{base}/me/pain")
    first = _tab_to(page, lambda f: f["name"] == "neck", "the neck scale")  # comes first
    assert first["value"] == "0", "Tab lands on the chosen value"
    assert first["checked"]
    for _ in range(3):
        focus = _press(page, "ArrowRight")
    assert (focus["name"], focus["value"], focus["checked"]) == ("neck", "3", True)
    assert _press(page, "Tab")["name"] != "neck", "one Tab stop per scale, not eleven"
    _tab_to(page, lambda f: f["name"] == "low_back", "the lower back scale")
    for _ in range(6):
        focus = _press(page, "ArrowRight")
    assert (focus["name"], focus["value"], focus["checked"]) == ("low_back", "6", True)
    _tab_to(page, lambda f: f["id"] == "prevented_activity", "the activity checkbox")
    page.keyboard.press("Space")
    assert _focused(page)["checked"]
    _tab_to(
        page,
        lambda f: f["tag"] == "button" and f["form"] == "pain-checkin",
        "the Save check-in button",
    )
    _enter(page, re.compile(r"/me/pain/trend"))
    assert page.locator(".flash-success").count() == 1

    db.session.commit()
    checkin = db.session.scalars(
        select(PainCheckin).where(
            PainCheckin.employee_id == employee.id,
            PainCheckin.checked_on == local_today(utcnow()),
        )
    ).one()
    scores = {score.region: score.nrs for score in checkin.scores}
    assert (scores["low_back"], scores["neck"]) == (6, 3)
    assert checkin.prevented_activity is True
