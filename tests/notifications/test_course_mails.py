"""Mails about enrollments: the recipient's language, contents, calendar file, no duplicates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar
from sqlalchemy import func, select

from tests.notifications import builders
from tests.notifications.builders import berlin
from wellness.auth.models import Role, User
from wellness.courses.models import Enrollment, EnrollmentStatus, Offering, Provider
from wellness.notifications import course_mails
from wellness.notifications.mail import deliver_queued
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employee, Employer


@pytest.fixture
def world(
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
) -> tuple[Employer, Offering]:
    employer = make_employer(locale="de")
    offering = builders.offering(
        make_provider(name="Physio Nord"),
        [employer],
        title_en="New back school",
        instructor_name="Kim Weber",
        cancellation_deadline=berlin(2026, 3, 20, 12, 0),
    )
    return employer, offering


def _employee(make_user: Callable[..., User], employer: Employer, **fields: object) -> Employee:
    account = make_user(Role.EMPLOYEE, employer=employer, name="Anna Berg", **fields)
    assert account.employee is not None
    return account.employee


def _mails(db) -> list[OutboundMail]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(select(OutboundMail).order_by(OutboundMail.id)))


def test_confirmation_is_german_for_a_german_employers_user_with_costs_dates_and_ics(
    app, db, inbox, world, make_user: Callable[..., User]
) -> None:
    employer, offering = world
    employee = _employee(make_user, employer)
    enrollment = builders.enroll(
        offering, employee, employer_share_cents=10000, employee_share_cents=5000
    )

    mail = course_mails.enrollment_confirmed(enrollment)
    db.session.commit()

    assert mail is not None
    with force_locale("de"):
        assert mail.subject == _("You are enrolled: %(course)s", course="Neue Rückenschule")
    body = mail.body_text
    assert "Anna Berg" in body
    assert "Di., 24. März 2026, 18:00–19:00" in body
    assert "Di., 31. März 2026, 18:00–19:00" in body, "summer time: still 18:00 local"
    assert "Studio Nord, Hauptstraße 1, Hamburg" in body
    assert "Kim Weber" in body
    assert "150,00\xa0€" in body
    assert "100,00\xa0€" in body
    assert "50,00\xa0€" in body
    assert "20. März 2026" in body, "the cancellation deadline"
    assert "12:00" in body
    assert f"{app.config['BASE_URL']}/me" in body
    assert mail.user_id == employee.user_id
    assert mail.kind == "enrollment_confirmed"

    assert deliver_queued() == 1
    (message,) = inbox.messages
    assert message["To"] == employee.user.email
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "neue-rueckenschule-2026-03-24.ics"
    events = Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert len(events) == 2
    assert {str(e["SUMMARY"]) for e in events} == {"Neue Rückenschule"}


def test_confirmation_is_english_for_a_user_with_locale_en(
    db, world, make_user: Callable[..., User]
) -> None:
    employer, offering = world
    employee = _employee(make_user, employer, locale="en")
    enrollment = builders.enroll(offering, employee)

    mail = course_mails.enrollment_confirmed(enrollment)

    assert mail is not None
    assert mail.subject == "You are enrolled: New back school"
    assert "Tue, Mar 24, 2026, 6:00\u202fPM–7:00\u202fPM" in mail.body_text
    assert "€100.00" in mail.body_text
    assert "€50.00" in mail.body_text
    assert "Your employer pays" in mail.body_text
    assert "SUMMARY:New back school" in (mail.attachment_body or "")


def test_confirmation_is_queued_once_per_enrollment_but_again_after_re_enrolling(
    db, world, make_user: Callable[..., User]
) -> None:
    employer, offering = world
    enrollment = builders.enroll(offering, _employee(make_user, employer))

    first = course_mails.enrollment_confirmed(enrollment)
    retried = course_mails.enrollment_confirmed(enrollment)
    db.session.commit()
    assert first is not None
    assert retried is not None
    assert retried.id == first.id

    enrollment.status = EnrollmentStatus.CANCELLED.value
    enrollment.cancelled_at = berlin(2026, 3, 2, 10, 0)
    course_mails.cancelled(enrollment)
    enrollment.status = EnrollmentStatus.ENROLLED.value
    enrollment.enrolled_at = (enrollment.enrolled_at or berlin(2026, 3, 2)) + timedelta(days=1)
    again = course_mails.enrollment_confirmed(enrollment)
    db.session.commit()

    assert again is not None
    assert again.id != first.id
    assert [m.kind for m in _mails(db)] == [
        "enrollment_confirmed",
        "cancelled",
        "enrollment_confirmed",
    ]


def test_waitlist_mail_says_the_place_in_the_queue(
    db, world, make_user: Callable[..., User]
) -> None:
    employer, offering = world
    builders.enroll(offering, _employee(make_user, employer), EnrollmentStatus.WAITLISTED)
    second = builders.enroll(
        offering, _employee(make_user, employer, locale="en"), EnrollmentStatus.WAITLISTED
    )

    mail = course_mails.waitlisted(second)

    assert mail is not None
    assert mail.kind == "waitlisted"
    assert "number 2 on the waiting list" in mail.body_text
    assert mail.attachment_filename is None


def test_promotion_mail_has_the_calendar_file(db, world, make_user: Callable[..., User]) -> None:
    employer, offering = world
    enrollment = builders.enroll(offering, _employee(make_user, employer, locale="en"))

    mail = course_mails.promoted(enrollment)

    assert mail is not None
    assert mail.kind == "promoted"
    assert "seat" in mail.body_text
    assert mail.attachment_content_type == "text/calendar; method=PUBLISH"
    assert mail.attachment_body is not None
    assert len(Calendar.from_ical(mail.attachment_body).walk("VEVENT")) == 2


def test_cancellation_and_offering_cancelled_mails(
    db, world, make_user: Callable[..., User]
) -> None:
    employer, offering = world
    own = builders.enroll(
        offering, _employee(make_user, employer, locale="en"), EnrollmentStatus.CANCELLED
    )
    seated = builders.enroll(offering, _employee(make_user, employer, locale="en"))

    cancelled = course_mails.cancelled(own)
    called_off = course_mails.offering_cancelled(seated)
    course_mails.offering_cancelled(seated)
    db.session.commit()

    assert cancelled is not None
    assert called_off is not None
    assert "is cancelled, as you asked" in cancelled.body_text
    assert "Physio Nord has cancelled" in called_off.body_text
    assert [m.kind for m in _mails(db)] == ["cancelled", "offering_cancelled"]


def test_employee_without_an_account_gets_no_mail(db, world) -> None:
    employer, offering = world
    nobody = Employee(employer_id=employer.id)
    db.session.add(nobody)
    db.session.commit()
    enrollment = builders.enroll(offering, nobody)

    for compose in (
        course_mails.enrollment_confirmed,
        course_mails.promoted,
        course_mails.cancelled,
        course_mails.offering_cancelled,
    ):
        assert compose(enrollment) is None
    assert db.session.scalar(select(func.count()).select_from(OutboundMail)) == 0


def test_mail_goes_out_in_the_recipients_language_whoever_triggers_it(
    db, app, world, make_user: Callable[..., User]
) -> None:
    employer, offering = world
    enrollment: Enrollment = builders.enroll(offering, _employee(make_user, employer))

    with (
        app.test_request_context(headers={"Accept-Language": "en", "Host": "evil.example"}),
        force_locale("en"),
    ):
        mail = course_mails.enrollment_confirmed(enrollment)

    assert mail is not None
    assert "150,00\xa0€" in mail.body_text
    assert f"{app.config['BASE_URL']}/me" in mail.body_text, "links never from the Host header"
