"""Reminders the day before a session: only tomorrow (Berlin), only seated people, only once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Flask
from sqlalchemy import select

from tests.notifications import builders
from tests.notifications.builders import berlin
from wellness.auth.models import Role, User
from wellness.courses.models import EnrollmentStatus, OfferingStatus, Provider
from wellness.health.checkins import record_checkin
from wellness.notifications.models import OutboundMail
from wellness.notifications.reminders import queue_reminders, tomorrow_window
from wellness.tenants.models import Employee, Employer

#: Monday evening in Berlin; "tomorrow" is Tuesday 24 March 2026 (CET, UTC+1).
NOW = berlin(2026, 3, 23, 20, 0)


def _employee(make_user: Callable[..., User], employer: Employer, **fields: object) -> Employee:
    employee = make_user(Role.EMPLOYEE, employer=employer, **fields).employee
    assert employee is not None
    return employee


def _reminders(db) -> list[OutboundMail]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(OutboundMail)
            .where(OutboundMail.kind == "session_reminder")
            .order_by(OutboundMail.id)
        )
    )


def test_tomorrow_is_the_next_calendar_day_in_berlin() -> None:
    start, end = tomorrow_window(berlin(2026, 3, 23, 23, 30))

    assert start == berlin(2026, 3, 24, 0, 0)
    assert end == berlin(2026, 3, 25, 0, 0)
    # Across the switch to summer time the day is 23 hours long.
    start, end = tomorrow_window(berlin(2026, 3, 28, 8, 0))
    assert (end - start).total_seconds() == 23 * 3600


def test_reminders_go_only_to_enrolled_people_of_tomorrows_sessions(
    db,
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employer = make_employer()
    provider = make_provider()
    tomorrow = builders.offering(
        provider,
        [employer],
        starts=[
            berlin(2026, 3, 23, 21, 0),  # later today: no
            berlin(2026, 3, 24, 0, 30),  # tomorrow just after midnight (still 23rd in UTC): yes
            berlin(2026, 3, 24, 18, 0),  # tomorrow evening: yes
            berlin(2026, 3, 25, 0, 30),  # the day after (still 24th in UTC): no
        ],
    )
    called_off = builders.offering(
        provider,
        [employer],
        starts=[berlin(2026, 3, 24, 18, 0)],
        status=OfferingStatus.CANCELLED.value,
    )
    seated = _employee(make_user, employer)
    builders.enroll(tomorrow, seated)
    builders.enroll(tomorrow, _employee(make_user, employer), EnrollmentStatus.WAITLISTED)
    builders.enroll(tomorrow, _employee(make_user, employer), EnrollmentStatus.CANCELLED)
    builders.enroll(called_off, _employee(make_user, employer))

    run = queue_reminders(NOW)
    db.session.commit()

    assert (run.sessions, run.queued, run.already_queued) == (2, 2, 0)
    mails = _reminders(db)
    assert {m.recipient for m in mails} == {seated.user.email}
    enrollment_id = tomorrow.enrollments[0].id
    assert {m.dedupe_key for m in mails} == {
        f"reminder:{enrollment_id}:{tomorrow.sessions[1].id}",
        f"reminder:{enrollment_id}:{tomorrow.sessions[2].id}",
    }
    bodies = sorted(m.body_text for m in mails)
    assert "00:30" in bodies[0] + bodies[1]
    assert "18:00" in bodies[0] + bodies[1]


def test_reminders_are_in_the_recipients_language(
    db,
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employer = make_employer()
    offering = builders.offering(
        make_provider(),
        [employer],
        starts=[berlin(2026, 3, 24, 18, 0)],
        title_en="New back school",
        online_url="https://meet.example/r",
    )
    builders.enroll(offering, _employee(make_user, employer, locale="en"))
    builders.enroll(offering, _employee(make_user, employer))

    queue_reminders(NOW)

    english, german = _reminders(db)
    assert english.subject == "Tomorrow: New back school"
    assert "Tue, Mar 24, 2026, 6:00\u202fPM" in english.body_text
    assert "https://meet.example/r" in english.body_text
    assert "Neue Rückenschule" in german.subject
    assert "Di., 24. März 2026, 18:00–19:00" in german.body_text


def test_send_reminders_twice_mails_nobody_twice(
    app: Flask,
    db,
    inbox,
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employer = make_employer()
    offering = builders.offering(make_provider(), [employer], starts=[berlin(2026, 3, 24, 18, 0)])
    builders.enroll(offering, _employee(make_user, employer))
    builders.enroll(offering, _employee(make_user, employer))
    runner = app.test_cli_runner()

    first = runner.invoke(args=["send-reminders", "--now", "2026-03-23T20:00"])
    second = runner.invoke(args=["send-reminders", "--now", "2026-03-23T20:00:00+01:00"])

    assert first.exit_code == 0, first.output
    assert "reminders queued: 2" in first.output
    assert "Sent 2 mails" in first.output
    assert second.exit_code == 0, second.output
    assert "reminders queued: 0; already queued before: 2" in second.output
    assert "Sent 0 mails" in second.output
    assert len(inbox.messages) == 2
    assert len(_reminders(db)) == 2


def test_send_reminders_without_mail_server_leaves_them_in_the_outbox(
    app: Flask,
    db,
    make_provider: Callable[..., Provider],
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employer = make_employer()
    offering = builders.offering(make_provider(), [employer], starts=[berlin(2026, 3, 24, 18, 0)])
    builders.enroll(offering, _employee(make_user, employer))

    result = app.test_cli_runner().invoke(args=["send-reminders", "--now", "2026-03-23T20:00"])

    assert result.exit_code == 0, result.output
    assert "MAIL_SERVER is not set" in result.output
    (mail,) = _reminders(db)
    assert mail.sent_at is None


def test_send_reminders_refuses_a_malformed_now(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["send-reminders", "--now", "tomorrow"])

    assert result.exit_code == 2
    assert "ISO 8601" in result.output


# --- Monthly pain check-in reminder -------------------------------------------------------


def _pain_reminders(db) -> list[OutboundMail]:  # type: ignore[no-untyped-def]
    return list(
        db.session.scalars(
            select(OutboundMail)
            .where(OutboundMail.kind == "pain_reminder")
            .order_by(OutboundMail.id)
        )
    )


def test_pain_reminder_goes_once_a_month_to_people_who_opted_in(
    db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employer = make_employer()
    wanted = _employee(make_user, employer, locale="en")
    wanted.pain_reminder_opt_in = True
    _employee(make_user, employer)  # did not opt in
    db.session.commit()

    first = queue_reminders(berlin(2026, 4, 1, 6, 0))
    second = queue_reminders(berlin(2026, 4, 2, 6, 0))
    next_month = queue_reminders(berlin(2026, 5, 1, 6, 0))
    db.session.commit()

    assert (first.queued, first.pain_queued, first.already_queued) == (1, 1, 0)
    assert (second.queued, second.already_queued) == (0, 1)
    assert next_month.pain_queued == 1
    april, may = _pain_reminders(db)
    assert {april.recipient, may.recipient} == {wanted.user.email}
    assert april.dedupe_key == f"pain-reminder:{wanted.id}:2026-04"
    assert may.dedupe_key == f"pain-reminder:{wanted.id}:2026-05"
    assert april.subject == "Your monthly pain check-in"
    assert "/me/pain\n" in april.body_text
    assert "switch it off" in april.body_text


def test_month_is_the_german_one(
    db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employee = _employee(make_user, make_employer())
    employee.pain_reminder_opt_in = True
    db.session.commit()

    # 30 April 23:30 UTC is already 1 May in Berlin.
    queue_reminders(berlin(2026, 5, 1, 1, 30))

    (mail,) = _pain_reminders(db)
    assert mail.dedupe_key.endswith(":2026-05")


def test_no_pain_reminder_after_a_checkin_this_month_or_to_disabled_accounts(
    db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employer = make_employer()
    checked_in = _employee(make_user, employer)
    disabled = _employee(make_user, employer)
    left = _employee(make_user, employer)
    for employee in (checked_in, disabled, left):
        employee.pain_reminder_opt_in = True
    disabled.user.is_enabled = False
    left.active = False
    record_checkin(checked_in, {"low_back": 3}, checked_on=date(2026, 4, 1), today=date(2026, 4, 9))
    db.session.commit()

    run = queue_reminders(berlin(2026, 4, 9, 6, 0))

    assert run.pain_queued == 0
    assert _pain_reminders(db) == []


def test_pain_reminder_carries_no_health_data_and_is_written_in_the_readers_language(
    db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employee = _employee(make_user, make_employer(), name="Anna Alpha")
    employee.pain_reminder_opt_in = True
    record_checkin(employee, {"low_back": 7}, checked_on=date(2026, 3, 20), today=date(2026, 3, 20))
    db.session.commit()

    queue_reminders(berlin(2026, 4, 1, 6, 0))

    (mail,) = _pain_reminders(db)
    text = "\n".join(line for line in mail.body_text.splitlines() if "http" not in line)
    assert not any(character.isdigit() for character in text)
    assert mail.body_text.startswith("Hallo ")  # German, as the employer and account say


def test_send_reminders_counts_pain_reminders_and_mails_them_once(
    app: Flask,
    db,
    inbox,
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
) -> None:
    employee = _employee(make_user, make_employer(), locale="en")
    employee.pain_reminder_opt_in = True
    db.session.commit()
    runner = app.test_cli_runner()

    first = runner.invoke(args=["send-reminders", "--now", "2026-04-01T06:00"])
    second = runner.invoke(args=["send-reminders", "--now", "2026-04-02T06:00"])

    assert first.exit_code == 0, first.output
    assert "reminders queued: 1" in first.output
    assert "reminders queued: 0; already queued before: 1" in second.output
    (message,) = inbox.messages
    assert message["Subject"] == "Your monthly pain check-in"
    assert message["To"] == employee.user.email
