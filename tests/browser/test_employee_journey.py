"""The employee's course journey in a real browser against a real server, on the demo data, for
employee@musterfirma.example: her start page (/me) lists the courses open for her and her last
pain check-in; she searches, opens a "Neue Rückenschule" offering, enrolls through the
confirmation page, finds it under "My courses", downloads its calendar file and the
participation certificate of the course she finished, and downloads her personal data at
/me/privacy. Every page passes axe (WCAG 2.1 AA) in German, /me and /courses also in English,
and none scrolls sideways at 375 px, the width of a small phone. Takes the README screenshots
employee-home and employee-course.

Selectors use URLs, element ids and structure rather than visible text, so the test does not
depend on the translations (English text is checked only where English is what is under test).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.browser.journey import (
    PHONE_WIDTH,
    assert_accessible,
    assert_fits_phone,
    screenshot,
    sign_in,
)
from wellness.attendance.models import Certificate
from wellness.auth.models import User
from wellness.courses import catalog
from wellness.courses.models import Enrollment, EnrollmentStatus, Offering
from wellness.db import utcnow
from wellness.health.models import PainCheckin
from wellness.i18n import local_today
from wellness.tenants.models import Employee

EMPLOYEE = "employee@musterfirma.example"


def _sign_in(page: Any, base: str) -> None:
    sign_in(page, base, EMPLOYEE, "/me")


def _employee(db: Any) -> Employee:
    """Her employee record, read in a fresh transaction, so it sees what the server wrote."""
    db.session.commit()
    return db.session.scalars(
        select(Employee).join(User, User.id == Employee.user_id).where(User.email == EMPLOYEE)
    ).one()


def _search(page: Any, base: str, words: str) -> None:
    page.click('nav.main-nav a[href="/courses"]')
    page.wait_for_url(f"{base}/courses")
    assert_accessible(page)
    page.fill("#q", words)
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r"/courses\?"))
    assert_accessible(page)


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
    assert_accessible(page)  # her booking, with the cancel form
    page.click(f'main form[action="{booked}/cancel"] button[type=submit]')
    page.wait_for_url(f"{base}/me/courses")
    assert page.locator(".flash-success").count() == 1
    assert_accessible(page)
    page.goto(base + booked)
    assert page.locator(f'main a[href="{booked}/enroll"]').count() == 1
    return booked


def _check_start_page(page: Any, app: Any, db: Any) -> None:
    """/me lists the offerings she can still book and names the day of her last check-in."""
    employee = _employee(db)
    with app.test_request_context():
        bookable = [f"/courses/{entry.offering.id}" for entry in catalog.bookable(employee)]
    assert bookable, "the demo has no course open for her"
    cards = page.locator("#open-courses-title ~ ul .course-card .course-card-title a")
    shown = [cards.nth(i).get_attribute("href") for i in range(cards.count())]
    assert shown == bookable, "the start page lists the courses open for her, soonest first"
    last = db.session.scalar(
        select(func.max(PainCheckin.checked_on)).where(PainCheckin.employee_id == employee.id)
    )
    assert last is not None, "the demo employee has pain check-ins"
    assert page.locator(f'#last-checkin time[datetime="{last.isoformat()}"]').count() == 1
    upcoming = page.locator("#upcoming-title ~ ul .card")
    assert upcoming.count() >= 1, "her next sessions are listed"
    booked = db.session.execute(
        select(Enrollment.status, Offering.ends_on)
        .join(Offering, Offering.id == Enrollment.offering_id)
        .where(
            Enrollment.employee_id == employee.id,
            Enrollment.status != EnrollmentStatus.CANCELLED.value,
        )
    ).all()
    today = local_today(utcnow())
    finished = sum(ends_on < today for _status, ends_on in booked)
    assert finished >= 1, "the demo employee has finished a course"
    courses = page.locator("#enrollments-title ~ ul .card")
    assert courses.count() == len(booked)
    # A finished course is history: not badged "enrolled" like the ones still to come.
    assert courses.locator(".badge-muted").count() == finished
    assert courses.locator(".badge-success, .badge-warning").count() == len(booked) - finished


def _download_certificate(page: Any, db: Any) -> None:
    """The demo employee finished a Neue Rückenschule with every session: its certificate."""
    employee = _employee(db)
    certificate = db.session.scalars(
        select(Certificate)
        .join(Enrollment, Enrollment.id == Certificate.enrollment_id)
        .where(Enrollment.employee_id == employee.id)
    ).first()
    assert certificate is not None, "the demo employee has a participation certificate"
    href = f"/me/courses/{certificate.enrollment_id}/certificate.pdf"
    link = page.locator(f'#past-title ~ ul .my-course a[href="{href}"]')
    assert link.count() == 1, "the finished course offers its certificate"
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    data = download.path().read_bytes()
    assert data.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    text = re.sub(r"\s+", " ", text)
    assert employee.user.name in text
    assert certificate.verification_code in text


def _download_my_data(page: Any, base: str, db: Any) -> None:
    """Art. 15/20 export: a ZIP whose JSON files hold her account, check-ins and courses."""
    page.goto(f"{base}/me/privacy")
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.click('main form[action="/me/privacy/export"] button[type=submit]')
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(download.path().read_bytes()))
    assert archive.testzip() is None
    folders = {name.split("/", 1)[0] for name in archive.namelist()}
    assert len(folders) == 1, "everything sits in one folder"
    folder = folders.pop()
    names = set(archive.namelist())
    assert f"{folder}/README.txt" in names

    def rows(table: str) -> list[dict[str, Any]]:
        assert f"{folder}/json/{table}.json" in names, table
        assert f"{folder}/csv/{table}.csv" in names, table
        loaded = json.loads(archive.read(f"{folder}/json/{table}.json"))
        assert isinstance(loaded, list)
        return loaded

    employee = _employee(db)
    assert [row["email"] for row in rows("account")] == [EMPLOYEE]
    checkins = db.session.scalar(select(func.count()).where(PainCheckin.employee_id == employee.id))
    assert len(rows("pain_checkins")) == checkins > 0
    enrollments = rows("enrollments")
    assert {row["id"] for row in enrollments} == set(
        db.session.scalars(select(Enrollment.id).where(Enrollment.employee_id == employee.id))
    )
    assert any(row["status"] == EnrollmentStatus.ENROLLED.value for row in enrollments)
    assert len(rows("certificates")) >= 1


def _check_english(page: Any, base: str) -> None:
    page.goto(f"{base}/me")
    page.click("form.language-switch button[name=locale][value=en]")
    page.wait_for_url(f"{base}/me")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#open-courses-title").inner_text() == "Open for enrollment"
    assert_accessible(page)
    page.goto(f"{base}/courses")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text() == "Courses"
    assert_accessible(page)


def _check_phone(new_page: Any, base: str) -> None:
    """The journey's pages at 375 px, in German (its long compounds are the worst case)."""
    page = new_page(width=PHONE_WIDTH, height=800)
    _sign_in(page, base)
    page.goto(f"{base}/courses?q=R%C3%BCcken")
    first = page.locator(".course-card .course-card-title a").first.get_attribute("href")
    page.goto(f"{base}/me")
    bookable = page.locator("#open-courses-title ~ ul .course-card-title a").first
    confirm = bookable.get_attribute("href") + "/enroll"
    for path in (
        "/courses",
        "/courses?q=R%C3%BCcken",
        first,
        confirm,
        "/me/courses",
        "/me",
        "/me/privacy",
    ):
        page.goto(base + path)
        assert page.url == base + path, f"{path} redirected to {page.url}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{path} scrolls sideways at {PHONE_WIDTH} px: {width} px"
        assert_fits_phone(page)


def test_employee_finds_enrolls_and_gets_the_calendar(app, db, demo_site, new_page):
    base = demo_site
    page = new_page()
    _sign_in(page, base)
    assert page.locator("html").get_attribute("lang") == "de"
    assert_accessible(page)
    _check_start_page(page, app, db)
    screenshot(page, "employee-home")

    _search(page, base, "Rücken")
    links = _offering_links(page, "Neue Rückenschule")
    assert links, "the search for 'Rücken' found no Neue Rückenschule"
    href = _choose_offering(page, base, links)
    offering_id = int(href.rsplit("/", 1)[1])

    page.goto(base + href)
    assert page.locator(".badge-certified").count() == 1
    assert_accessible(page)
    screenshot(page, "employee-course")
    page.click(f'main a[href="{href}/enroll"]')
    page.wait_for_url(f"{base}{href}/enroll")
    assert page.locator(".price-facts dd").count() == 3
    assert "€" in page.locator(".own-share").inner_text()
    assert_accessible(page)
    page.click(f'main form[action="{href}/enroll"] button[type=submit]')
    page.wait_for_url(f"{base}/me/courses")
    assert page.locator(".flash-success").count() == 1
    assert_accessible(page)

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
    assert_accessible(page)  # with the list of sessions open

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

    _download_certificate(page, db)
    _download_my_data(page, base, db)
    _check_phone(new_page, base)  # one server for both: each start seeds the demo again
    _check_english(page, base)
