"""The course provider's journey in a real browser on the demo data, as RückenFit's trainer:
start page, a finished offering, its participants, the roster as CSV and Excel, an attendance
upload with one bad row (refused as a whole, the row and column named), the corrected upload
(stored, a certificate issued) and the completion it shows.

Attendance is what the provider does every week and what certificates (and so reimbursement
by health insurers) hang on, so every step is checked against the database as well as on the
page. Also: axe on every page, English on the start and upload page, no sideways scrolling at
375 px. Selectors use URLs, ids and structure, not visible text.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.browser.journey import (
    PHONE_WIDTH,
    assert_accessible,
    assert_fits_phone,
    screenshot,
    sign_in,
)
from wellness.attendance.models import Attendance, AttendanceStatus, AttendanceUpload, Certificate
from wellness.attendance.roster import HEADERS, MARK_WORDS
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingStatus,
    Provider,
)
from wellness.db import utcnow
from wellness.i18n import local_today

TRAINER = "trainer@rueckenfit.example"
PRESENT_DE = MARK_WORDS["de"][AttendanceStatus.PRESENT.value]
NOT_A_MARK = "vielleicht"


@dataclass(frozen=True)
class Finished:
    """The demo's most recently finished RückenFit offering and one participant in it who
    missed too many sessions for a certificate."""

    offering_id: int
    codes: frozenset[str]
    sessions: int
    missing: str  # participant code without a certificate
    missing_enrollment: int

    @property
    def url(self) -> str:
        return f"/provider/offerings/{self.offering_id}"


def _finished_offering(db: Any) -> Finished:
    today = local_today(utcnow())
    offerings = db.session.scalars(
        select(Offering)
        .join(Course)
        .join(Provider)
        .where(
            Provider.slug == "rueckenfit",
            Offering.ends_on < today,
            Offering.status != OfferingStatus.CANCELLED.value,
        )
        .order_by(Offering.ends_on.desc())
    ).all()
    try:
        for offering in offerings:
            enrolled = db.session.execute(
                select(Enrollment.id, Enrollment.participant_code).where(
                    Enrollment.offering_id == offering.id,
                    Enrollment.status == EnrollmentStatus.ENROLLED.value,
                )
            ).all()
            certified = set(
                db.session.scalars(
                    select(Certificate.enrollment_id).where(
                        Certificate.enrollment_id.in_([e for e, _c in enrolled]),
                        Certificate.revoked_at.is_(None),
                    )
                )
            )
            missing = [(e, c) for e, c in enrolled if e not in certified]
            if missing:
                sessions = db.session.scalar(
                    select(func.count(CourseSession.id)).where(
                        CourseSession.offering_id == offering.id
                    )
                )
                return Finished(
                    offering.id,
                    frozenset(c for _e, c in enrolled),
                    int(sessions or 0),
                    missing[0][1],
                    missing[0][0],
                )
    finally:
        db.session.rollback()  # no open read transaction while the server writes
    raise AssertionError(
        "the demo has no finished offering with a participant lacking a certificate"
    )


@dataclass(frozen=True)
class Stored:
    uploads: int
    marks: int
    #: The participant's marks, by session id.
    statuses: dict[int, str]
    certificate: bool


def _stored(db: Any, finished: Finished) -> Stored:
    """What the database holds for the offering right now (read afresh, then released)."""
    try:
        uploads = db.session.scalar(
            select(func.count(AttendanceUpload.id)).where(
                AttendanceUpload.offering_id == finished.offering_id
            )
        )
        marks = db.session.scalar(
            select(func.count(Attendance.id))
            .join(Enrollment, Enrollment.id == Attendance.enrollment_id)
            .where(Enrollment.offering_id == finished.offering_id)
        )
        statuses = dict(
            db.session.execute(
                select(Attendance.session_id, Attendance.status).where(
                    Attendance.enrollment_id == finished.missing_enrollment
                )
            ).all()
        )
        certificate = db.session.scalar(
            select(Certificate.id).where(
                Certificate.enrollment_id == finished.missing_enrollment,
                Certificate.revoked_at.is_(None),
            )
        )
        return Stored(int(uploads or 0), int(marks or 0), statuses, certificate is not None)
    finally:
        db.session.rollback()


def _download(page: Any, href: str) -> bytes:
    with page.expect_download() as info:
        page.click(f'main a[href="{href}"]')
    download = info.value
    assert download.failure() is None
    with open(download.path(), "rb") as file:
        return file.read()


def _csv_bytes(table: list[list[str]]) -> bytes:
    """As German Excel saves it: semicolons, UTF-8 with a byte order mark."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(table)
    return buffer.getvalue().encode("utf-8-sig")


def _upload(page: Any, name: str, content: bytes) -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    with page.expect_navigation():
        page.click("main form[enctype] button[name=step][value=preview]")


def _row_of(page: Any, code: str) -> Any:
    row = page.locator(
        "#participants-title ~ .table-wrap tbody tr", has=page.locator(f"code:text-is('{code}')")
    )
    assert row.count() == 1, f"{code} is not listed once"
    return row


def test_provider_downloads_roster_uploads_attendance_and_sees_completion(
    demo_site, db, new_page
) -> None:
    base = demo_site
    finished = _finished_offering(db)
    before = _stored(db, finished)
    assert not before.certificate
    page = new_page()

    # Start page: courses, offerings, what to do next, a way to every offering's attendance.
    sign_in(page, base, TRAINER, "/provider/")
    assert page.get_attribute("html", "lang") == "de"
    assert page.locator("#steps-title ~ ol li").count() == 3
    assert page.locator("#courses-title ~ .table-wrap tbody tr").count() == 3
    offerings = page.locator("#offerings-title ~ .table-wrap tbody tr")
    assert offerings.count() >= 10
    row = offerings.filter(has=page.locator(f'a[href="{finished.url}"]'))
    assert row.locator(f'a[href="{finished.url}/participants"]').count() == 1
    assert row.locator(f'a[href="{finished.url}/attendance"]').count() == 1
    assert_accessible(page)
    screenshot(page, "provider-home")

    # The offering, then its participants with their completion.
    row.locator(f'a[href="{finished.url}"]').click()
    page.wait_for_url(base + finished.url)
    assert_accessible(page)
    page.click(f'main a[href="{finished.url}/participants"]')
    page.wait_for_url(f"{base}{finished.url}/participants")
    listed = page.locator("#participants-title ~ .table-wrap tbody tr code")
    assert set(listed.all_inner_texts()) == finished.codes
    assert (
        page.locator("#participants-title ~ .table-wrap thead th").count() == 4 + finished.sessions
    )
    issued_before = int(page.inner_text("#certificates-issued").split()[0])
    assert issued_before < len(finished.codes)  # the participant we follow has none
    missing_row = _row_of(page, finished.missing)
    assert missing_row.locator(".completion .badge-success").count() == 0
    assert_accessible(page)

    # The roster as CSV and as Excel: the same table, every enrolled participant once.
    csv_file = _download(page, f"{finished.url}/roster.csv")
    table = list(csv.reader(io.StringIO(csv_file.decode("utf-8-sig")), delimiter=";"))
    header, rows = table[0], table[1:]
    assert tuple(header[:2]) == HEADERS["de"]
    assert len(header) == 2 + finished.sessions
    assert {row[0] for row in rows} == finished.codes
    assert len(rows) == len(finished.codes)
    assert all(row[1] for row in rows), "a participant without a name in the roster"
    xlsx_file = _download(page, f"{finished.url}/roster.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx_file), read_only=True).active
    workbook_rows = [
        ["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)
    ]
    assert workbook_rows == table

    # Upload with one bad row: refused as a whole, the row, column and reason named.
    page.click(f'main a[href="{finished.url}/attendance"]')
    page.wait_for_url(f"{base}{finished.url}/attendance")
    assert page.locator("#file").count() == 1
    assert_accessible(page)

    edited = [list(row) for row in table]
    target = next(i for i, row in enumerate(edited) if row[0] == finished.missing)
    for column in range(2, len(header)):
        edited[target][column] = PRESENT_DE
    bad = next(i for i in range(1, len(edited)) if i != target)
    original = edited[bad][2]
    edited[bad][2] = NOT_A_MARK
    _upload(page, "anwesenheit.csv", _csv_bytes(edited))
    problems = page.locator(".panel-error tbody tr")
    assert problems.count() == 1
    cells = problems.first.locator("td").all_inner_texts()
    assert cells[0] == str(bad + 1)  # spreadsheet rows: the header is row 1
    assert cells[1] == header[2]
    assert f'"{NOT_A_MARK}"' in cells[2]
    assert "anwesenheit.csv" in page.inner_text("#errors-title")
    assert page.locator("main button[name=step][value=confirm]").count() == 0
    assert _stored(db, finished) == before, "a refused file changed the stored attendance"
    assert_accessible(page)
    screenshot(page, "provider-attendance-error")

    # Corrected: a preview listing the participant's changes, then stored on confirmation.
    edited[bad][2] = original
    _upload(page, "anwesenheit.csv", _csv_bytes(edited))
    assert page.locator(".panel-error").count() == 0
    changes = page.locator("#preview-title ~ .table-wrap tbody tr")
    corrections = sum(1 for s in before.statuses.values() if s != AttendanceStatus.PRESENT.value)
    assert corrections > 0
    assert changes.count() == corrections
    assert set(changes.locator("code").all_inner_texts()) == {finished.missing}
    assert _stored(db, finished) == before, "the preview stored something"
    assert_accessible(page)
    with page.expect_navigation():
        page.click("main button[name=step][value=confirm]")
    page.wait_for_url(f"{base}{finished.url}/participants")
    assert page.locator(".flash-success").count() == 1

    after = _stored(db, finished)
    assert after.uploads == before.uploads + 1
    assert after.marks == before.marks  # corrections, no new marks
    assert set(after.statuses) == set(before.statuses)
    assert set(after.statuses.values()) == {AttendanceStatus.PRESENT.value}
    assert after.certificate

    # Completion: the participant attended every session and now holds a certificate.
    missing_row = _row_of(page, finished.missing)
    attended = missing_row.locator("td.num").inner_text()
    assert re.fullmatch(rf"{finished.sessions}\D+{finished.sessions}", attended.strip())
    assert missing_row.locator(".completion .badge-success").count() == 1
    assert int(page.inner_text("#certificates-issued").split()[0]) == issued_before + 1
    assert_accessible(page)
    screenshot(page, "provider-offering")

    # The upload is in the offering's history.
    page.click(f'main a[href="{finished.url}/attendance"]')
    page.wait_for_url(f"{base}{finished.url}/attendance")
    history = page.locator("#history-title ~ .table-wrap tbody tr")
    assert "anwesenheit.csv" in history.first.inner_text()


def test_provider_pages_fit_a_phone_and_read_in_english(demo_site, db, new_page) -> None:
    base = demo_site
    finished = _finished_offering(db)
    page = new_page(width=PHONE_WIDTH, height=800)
    sign_in(page, base, TRAINER, "/provider/")
    for path in ("/provider/", finished.url, f"{finished.url}/participants"):
        page.goto(base + path)
        assert_fits_phone(page)
    page.goto(f"{base}{finished.url}/attendance")
    assert_fits_phone(page)
    _upload(
        page,
        "anwesenheit.csv",
        _csv_bytes([["Teilnehmercode", "01.01.2000"], [finished.missing, "x"]]),
    )
    assert page.locator(".panel-error tbody tr").count() >= 1
    assert_fits_phone(page)

    # English: the start page and the upload page (with its error) read in English.
    page.click("form.language-switch button[name=locale][value=en]")
    page.wait_for_selector("html[lang=en]")
    page.goto(f"{base}/provider/")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("#offerings-title").inner_text() == "Offerings"
    assert_accessible(page)
    assert_fits_phone(page)
    page.goto(f"{base}{finished.url}/attendance")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("#upload-title").inner_text() == "Upload a file"
    assert_accessible(page)
    _upload(
        page,
        "attendance.csv",
        _csv_bytes([["Participant code", "2000-01-01"], [finished.missing, "x"]]),
    )
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator(".panel-error tbody tr").count() >= 1
    assert_accessible(page)
    assert_fits_phone(page)
