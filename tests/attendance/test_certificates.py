"""Participation certificates: completion after the last session, corrections that revoke and
restore, the mail, the PDF (parsed back), the download and the public verification page.

Texts in the participant's or visitor's language are compared with ``gettext`` under that
locale, so the tests keep working once the German catalog is translated.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from pypdf import PdfReader
from sqlalchemy import func, select

from wellness.attendance import completion
from wellness.attendance.certificate_pdf import latin1, render_certificate
from wellness.attendance.completion import settle
from wellness.attendance.models import Attendance, AttendanceStatus, Certificate
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role, User
from wellness.courses.models import Enrollment, EnrollmentStatus, Offering
from wellness.db import utcnow
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employee, Employer

P, A, E = AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED
CODE = re.compile(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
_codes = iter(range(1, 10_000))


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    return make_employer(locale="en", name="Musterfirma GmbH")


@pytest.fixture
def finished(make_offering: Callable[..., Offering], make_provider, employer) -> Offering:
    """Ten weekly sessions, the last one a week ago."""
    return make_offering(
        employer,
        sessions=10,
        starts_in_days=-70,
        price_cents=15000,
        instructor_name="Kim Weber",
        provider=make_provider(name="Physio Nord"),
        title="Neue Rückenschule",
    )


def _person(make_user: Callable[..., User], employer: Employer, **fields: Any) -> Employee:
    account = make_user(Role.EMPLOYEE, employer=employer, **fields)
    assert account.employee is not None
    return account.employee


def _enroll(
    db: Any,
    offering: Offering,
    employee: Employee,
    status: EnrollmentStatus = EnrollmentStatus.ENROLLED,
    *,
    paid: bool = True,
) -> Enrollment:
    now = utcnow()
    row = Enrollment(
        offering_id=offering.id,
        employee_id=employee.id,
        status=status.value,
        participant_code=f"T{next(_codes):07d}",
        employer_share_cents=10000,
        employee_share_cents=5000,
        budget_year=offering.starts_on.year,
        enrolled_at=now,
        cancelled_at=now if status == EnrollmentStatus.CANCELLED else None,
        paid_at=now if paid else None,
    )
    db.session.add(row)
    db.session.commit()
    return row


def _mark(db: Any, enrollment: Enrollment, marks: list[AttendanceStatus]) -> None:
    """Set the marks of the first sessions in order (creating or correcting them)."""
    existing = {
        a.session_id: a
        for a in db.session.scalars(
            select(Attendance).where(Attendance.enrollment_id == enrollment.id)
        )
    }
    for session, status in zip(enrollment.offering.sessions, marks, strict=False):
        row = existing.get(session.id)
        if row is None:
            db.session.add(
                Attendance(enrollment_id=enrollment.id, session_id=session.id, status=status.value)
            )
        else:
            row.status = status.value
    db.session.flush()


def _certificate(db: Any, enrollment: Enrollment) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.enrollment_id == enrollment.id))


def _mails(db: Any, kind: str = "certificate_ready") -> list[OutboundMail]:
    return list(db.session.scalars(select(OutboundMail).where(OutboundMail.kind == kind)))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[ \t]+", " ", text)


@pytest.fixture
def completed(db, finished, employer, make_user) -> Certificate:
    """Anna attended 8 of 10 sessions: exactly the threshold."""
    anna = _person(make_user, employer, name="Anna Berg", email="anna@example.test")
    enrollment = _enroll(db, finished, anna)
    _mark(db, enrollment, [P] * 8 + [A, E])
    settle(finished.id)
    db.session.commit()
    certificate = _certificate(db, enrollment)
    assert certificate is not None
    return certificate


# --- Completion rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sessions", "present", "threshold", "issued"),
    [
        (10, 8, 80, True),  # exactly 80 %
        (10, 7, 80, False),  # 70 %
        (5, 4, 80, True),  # exactly 80 %
        (9, 7, 80, False),  # 77.8 %: just below
        (4, 3, 75, True),  # the course's own threshold
        (4, 2, 75, False),
    ],
)
def test_certificate_is_issued_from_the_threshold_on(
    db, make_offering, employer, make_user, sessions, present, threshold, issued
) -> None:
    offering = make_offering(employer, sessions=sessions, starts_in_days=-7 * sessions)
    offering.course.attendance_threshold_pct = threshold
    enrollment = _enroll(db, offering, _person(make_user, employer))
    _mark(db, enrollment, [P] * present + [A] * (sessions - present))

    settled = settle(offering.id)
    db.session.commit()

    certificate = _certificate(db, enrollment)
    assert (certificate is not None) is issued
    assert len(settled.issued) == int(issued)
    if certificate is not None:
        assert certificate.sessions_attended == present
        assert certificate.sessions_total == sessions
        assert certificate.fee_cents == offering.price_cents
        assert certificate.fee_paid is True
        assert certificate.revoked_at is None
        assert CODE.fullmatch(certificate.verification_code)


def test_nothing_is_settled_before_the_last_session_has_ended(
    db, finished, employer, make_user
) -> None:
    enrollment = _enroll(db, finished, _person(make_user, employer))
    _mark(db, enrollment, [P] * 10)
    last_end = finished.sessions[-1].ends_at

    early = settle(finished.id, now=last_end - timedelta(minutes=1))
    assert not early.changed
    assert _certificate(db, enrollment) is None

    settled = settle(finished.id, now=last_end)
    assert [c.enrollment_id for c in settled.issued] == [enrollment.id]
    assert _certificate(db, enrollment).issued_at == last_end


def test_excused_sessions_do_not_count_as_attended(db, finished, employer, make_user) -> None:
    enrollment = _enroll(db, finished, _person(make_user, employer))
    _mark(db, enrollment, [P] * 7 + [E] * 3)

    settle(finished.id)

    assert _certificate(db, enrollment) is None


def test_only_enrolled_participants_get_certificates(db, finished, employer, make_user) -> None:
    gone = _enroll(db, finished, _person(make_user, employer), EnrollmentStatus.CANCELLED)
    _mark(db, gone, [P] * 10)

    assert not settle(finished.id).changed
    assert _certificate(db, gone) is None


def test_an_unrecorded_payment_is_not_confirmed_nor_denied(db, finished, employer, make_user):
    enrollment = _enroll(db, finished, _person(make_user, employer), paid=False)
    _mark(db, enrollment, [P] * 10)

    settle(finished.id)

    certificate = _certificate(db, enrollment)
    assert certificate.fee_paid is False
    text = _pdf_text(render_certificate(certificate, "en"))
    assert "Course fee" in text
    assert "Fee paid" not in text, "a health insurer would read 'no' as unpaid"


def test_codes_are_unguessable_and_distinct(db, finished, employer, make_user) -> None:
    for _n in range(5):
        _mark(db, _enroll(db, finished, _person(make_user, employer)), [P] * 10)

    settled = settle(finished.id)

    codes = {c.verification_code for c in settled.issued}
    assert len(codes) == 5
    assert all(CODE.fullmatch(code) for code in codes)


def test_correction_below_threshold_revokes_and_restoring_revalidates(
    db, completed, finished
) -> None:
    enrollment = completed.enrollment
    code = completed.verification_code

    _mark(db, enrollment, [P] * 7 + [A])
    later = utcnow()
    settled = settle(finished.id, now=later)
    db.session.commit()

    assert settled.revoked == [completed]
    assert settled.updated == [completed]
    assert completed.revoked_at == later
    assert completed.sessions_attended == 7

    _mark(db, enrollment, [P] * 9)
    settled = settle(finished.id)
    db.session.commit()

    assert settled.restored == [completed]
    assert completed.revoked_at is None
    assert completed.sessions_attended == 9
    assert completed.verification_code == code, "the printed code stays valid"
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "certificate", AuditEvent.target_id == str(completed.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "attendance.certificate_issued",
        "attendance.certificate_revoked",
        "attendance.certificate_restored",
    ]


def test_corrected_figures_above_the_threshold_update_the_certificate(
    db, completed, finished
) -> None:
    _mark(db, completed.enrollment, [P] * 10)

    settled = settle(finished.id)

    assert settled.updated == [completed]
    assert not settled.revoked
    assert not settled.issued
    assert completed.sessions_attended == 10
    assert db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "attendance.certificate_updated")
    )


def test_settling_again_changes_nothing_and_mails_once(db, app, completed, finished) -> None:
    assert not settle(finished.id).changed
    _mark(db, completed.enrollment, [P] * 7 + [A])
    settle(finished.id)
    _mark(db, completed.enrollment, [P] * 8)
    settle(finished.id)
    db.session.commit()

    mails = _mails(db)
    assert len(mails) == 1
    mail = mails[0]
    assert mail.recipient == "anna@example.test"
    assert mail.subject == "Your participation certificate: Neue Rückenschule"
    assert "8 of 10 sessions" in mail.body_text
    assert f"{app.config['BASE_URL']}/me/courses" in mail.body_text
    assert completed.verification_code not in mail.body_text


def test_certificate_mail_is_written_in_the_participants_language(
    db, make_employer, make_offering, make_user
) -> None:
    german = make_employer(locale="de")
    offering = make_offering(german, sessions=2, starts_in_days=-14)
    enrollment = _enroll(db, offering, _person(make_user, german))
    _mark(db, enrollment, [P, P])

    settle(offering.id)

    (mail,) = _mails(db)
    with force_locale("de"):
        assert mail.subject == _(
            "Your participation certificate: %(course)s", course="Neue Rückenschule"
        )


# --- The PDF --------------------------------------------------------------------------------


def test_pdf_in_english_carries_the_figures(app, db, completed, finished) -> None:
    text = _pdf_text(render_certificate(completed))
    code = completed.verification_code

    assert "Certificate of participation" in text
    assert "Anna Berg" in text
    assert "Neue Rückenschule" in text
    assert finished.course.zpp_course_id in text
    assert "Physio Nord" in text
    assert "Kim Weber" in text
    assert format_date(finished.starts_on, "medium", locale="en") in text
    assert format_date(finished.ends_on, "medium", locale="en") in text
    assert "8 of 10" in text
    assert "150.00 EUR" in text
    assert "Fee paid" in text, "a recorded payment is confirmed"
    assert "100.00 EUR" in text, "employer subsidy"
    assert "50.00 EUR" in text, "own share"
    # The day in the employer's zone, as the certificate gives it (not UTC's: after 23:00 UTC
    # it is already the next day in Germany).
    zone = ZoneInfo(completed.enrollment.employee.employer.timezone)
    issued = completed.issued_at.astimezone(zone).date()
    assert format_date(issued, "medium", locale="en") in text
    assert code in text
    assert f"{app.config['BASE_URL']}/verify/{code}" in text
    assert "anna@example.test" not in text
    assert "Musterfirma" not in text


def test_pdf_in_german_carries_the_figures(app, db, make_employer, make_offering, make_user):
    german = make_employer(locale="de")
    offering = make_offering(german, sessions=10, starts_in_days=-70, price_cents=123450)
    enrollment = _enroll(db, offering, _person(make_user, german, name="Jürgen Weiß"))
    _mark(db, enrollment, [P] * 9 + [A])
    settle(offering.id)
    certificate = _certificate(db, enrollment)

    text = _pdf_text(render_certificate(certificate))

    with force_locale("de"):
        assert _("Certificate of participation") in text
        assert _("%(attended)d of %(total)d", attended=9, total=10) in text
        assert _("Employer subsidy") in text
    assert "Jürgen Weiß" in text
    assert offering.starts_on.strftime("%d.%m.%Y") in text
    assert offering.ends_on.strftime("%d.%m.%Y") in text
    assert "1.234,50 EUR" in text
    assert "100,00 EUR" in text
    assert "50,00 EUR" in text
    assert f"{app.config['BASE_URL']}/verify/{certificate.verification_code}" in text


def test_pdf_prints_names_outside_latin1(db, completed) -> None:
    completed.enrollment.employee.user.name = "Łukasz Nowak – Őri"
    completed.enrollment.offering.instructor_name = "Zoë “Coach” Müller"

    text = _pdf_text(render_certificate(completed, "en"))

    assert "ukasz Nowak - Ori" in text
    assert 'Zoë "Coach" Müller' in text


def test_latin1_keeps_german_and_simplifies_the_rest() -> None:
    assert latin1("Größe 5 € – „gut“") == 'Größe 5 EUR - "gut"'
    assert latin1("Łódź") == "?ódz", "ó is Latin-1, Ł has no base letter, ź has one"


# --- Download -------------------------------------------------------------------------------


def _download(enrollment: Enrollment) -> str:
    return f"/me/courses/{enrollment.id}/certificate.pdf"


def test_participant_downloads_the_certificate(client, login, completed) -> None:
    login(client, completed.enrollment.employee.user)

    response = client.get(_download(completed.enrollment))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"Certificate-of-participation-{completed.verification_code}.pdf" in disposition
    assert "no-store" in response.headers["Cache-Control"]
    assert "Anna Berg" in _pdf_text(response.data)


def test_revoked_certificate_cannot_be_downloaded(db, client, login, completed, finished) -> None:
    _mark(db, completed.enrollment, [P] * 5 + [A] * 5)
    settle(finished.id)
    login(client, completed.enrollment.employee.user)

    assert client.get(_download(completed.enrollment)).status_code == 404


def test_another_employee_cannot_download_it(client, login, completed, employer, make_user):
    login(client, make_user(Role.EMPLOYEE, employer=employer))

    assert client.get(_download(completed.enrollment)).status_code == 404


def test_no_certificate_is_404(db, client, login, finished, employer, make_user) -> None:
    account = make_user(Role.EMPLOYEE, employer=employer)
    enrollment = _enroll(db, finished, account.employee)
    login(client, account)

    assert client.get(_download(enrollment)).status_code == 404


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_employer_staff_cannot_download(client, login, completed, employer, make_user, role):
    login(client, make_user(role, employer=employer))

    assert client.get(_download(completed.enrollment)).status_code == 403


def test_provider_cannot_download(client, login, completed, finished, make_user) -> None:
    login(client, make_user(Role.PROVIDER, provider=finished.course.provider))

    assert client.get(_download(completed.enrollment)).status_code == 403


def test_anonymous_download_goes_to_sign_in(client, completed) -> None:
    response = client.get(_download(completed.enrollment))

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- My courses -----------------------------------------------------------------------------


def test_my_courses_shows_attendance_badge_and_download_link(client, login, completed) -> None:
    login(client, completed.enrollment.employee.user)

    page = client.get("/me/courses").get_data(as_text=True)

    assert "Attended 8 of 10 sessions." in page
    assert ">Completed<" in page
    assert _download(completed.enrollment) in page
    assert "Download certificate (PDF)" in page


def test_my_courses_without_certificate_shows_attendance_only(
    db, client, login, finished, employer, make_user
) -> None:
    account = make_user(Role.EMPLOYEE, employer=employer)
    enrollment = _enroll(db, finished, account.employee)
    _mark(db, enrollment, [P] * 6 + [A] * 4)
    settle(finished.id)
    login(client, account)

    page = client.get("/me/courses").get_data(as_text=True)

    assert "Attended 6 of 10 sessions." in page
    assert "at least 80 % of the sessions" in page
    assert ">Completed<" not in page
    assert "certificate.pdf" not in page


# --- Verification ---------------------------------------------------------------------------

ENGLISH = {"Accept-Language": "en"}


def test_verify_confirms_a_valid_certificate_with_what_it_states_only(
    client, completed, finished
) -> None:
    code = completed.verification_code

    response = client.get(f"/verify/{code}", headers=ENGLISH)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Valid." in page
    for stated in ("Anna Berg", "Neue Rückenschule", finished.course.zpp_course_id, code):
        assert stated in page
    assert "Physio Nord" in page
    assert "Kim Weber" in page
    assert "8 of 10" in page
    assert "anna@example.test" not in page
    assert "Musterfirma" not in page, "the employer is not on the certificate"
    assert completed.enrollment.participant_code not in page
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("typed", [str.lower, lambda c: c.replace("-", ""), lambda c: f" {c} "])
def test_verify_accepts_the_code_as_people_type_it(client, completed, typed) -> None:
    response = client.get(f"/verify/{typed(completed.verification_code)}", headers=ENGLISH)

    assert response.status_code == 200
    assert "Anna Berg" in response.get_data(as_text=True)


@pytest.mark.parametrize("forged", ["ABCD-EFGH-JKLM", "AAAA-0000-1111", "nonsense", "x" * 200])
def test_verify_rejects_a_forged_code(client, completed, forged) -> None:
    response = client.get(f"/verify/{forged}", headers=ENGLISH)

    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No certificate has this code." in page
    assert "Anna Berg" not in page


def test_verify_shows_a_revoked_certificate_as_revoked(db, client, completed, finished) -> None:
    _mark(db, completed.enrollment, [P] * 5 + [A] * 5)
    settle(finished.id)

    response = client.get(f"/verify/{completed.verification_code}", headers=ENGLISH)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Revoked." in page
    assert "Valid." not in page


def test_verify_form_redirects_to_the_code_page(client, completed) -> None:
    assert client.get("/verify", headers=ENGLISH).status_code == 200

    code = completed.verification_code
    response = client.get("/verify", query_string={"code": code.lower().replace("-", " ")})

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/verify/{code}")
    assert client.get("/verify", query_string={"code": ""}).status_code == 400


def test_verify_is_throttled_per_ip(make_app, completed) -> None:
    strict = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute")
    client = strict.test_client()

    answers = [client.get(f"/verify/AAAA-BBBB-CCC{n}").status_code for n in range(2, 6)]

    assert answers == [404, 404, 404, 429]


def test_normalise_code() -> None:
    assert completion.normalise_code("abcd efgh-jkLM") == "ABCD-EFGH-JKLM"
    assert completion.normalise_code("ABCD-EFGH-JKL0") is None, "0 is not in the alphabet"
    assert completion.normalise_code("ABCD-EFGH") is None
