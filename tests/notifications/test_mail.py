"""Mail delivery over real SMTP: attachments, retries with back-off, idempotent queueing."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select, text

from wellness.auth.models import Role, User
from wellness.db import utcnow
from wellness.notifications.mail import (
    BACKOFF,
    MAX_ATTEMPTS,
    deliver_queued,
    outbox_state,
    queue_mail,
)
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employer

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:session-1@wellness\r\nDTSTAMP:20260301T090000Z\r\n"
    "DTSTART:20260324T170000Z\r\nSUMMARY:Neue Rückenschule\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def closed_port(app: Flask):  # type: ignore[no-untyped-def]
    """Point mail at a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield port
    app.config.update(MAIL_SERVER=None)


def _count(db) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(OutboundMail))


def test_mail_with_calendar_attachment_arrives_over_smtp(db, inbox) -> None:
    queued = queue_mail(
        "anna@example.test",
        "Sie sind angemeldet",
        "Hallo Anna,\n\nbis bald.\n",
        "enrollment_confirmed",
        attachment=("neue-rueckenschule.ics", "text/calendar; method=PUBLISH", ICS),
    )
    db.session.commit()

    assert deliver_queued() == 1

    (message,) = inbox.messages
    assert message["To"] == "anna@example.test"
    assert message["Subject"] == "Sie sind angemeldet"
    assert message["Message-ID"]
    assert "bis bald" in message.get_body(("plain",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "neue-rueckenschule.ics"
    parsed = Calendar.from_ical(attachment.get_content())
    assert [str(e["SUMMARY"]) for e in parsed.walk("VEVENT")] == ["Neue Rückenschule"]
    db.session.refresh(queued)
    assert queued.sent_at is not None
    assert queued.attempts == 0
    assert queued.error is None


def test_failing_smtp_keeps_the_mail_queued_for_a_retry_and_does_not_raise(
    db, closed_port: int
) -> None:
    queued = queue_mail("anna@example.test", "Betreff", "Text", "test")
    db.session.commit()
    now = utcnow()

    assert deliver_queued(now) == 0

    db.session.refresh(queued)
    assert queued.sent_at is None
    assert queued.attempts == 1
    assert queued.error == "ConnectionRefusedError"
    assert queued.next_attempt_at == now + BACKOFF[0]


def test_a_later_delivery_retries_and_sends(db, app: Flask, closed_port: int, inbox) -> None:
    # ``inbox`` routed mail to the SMTP server; break it for the first attempt.
    working_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = closed_port
    queued = queue_mail("anna@example.test", "Betreff", "Text", "test")
    db.session.commit()
    now = utcnow()
    assert deliver_queued(now) == 0
    app.config["MAIL_PORT"] = working_port

    assert deliver_queued(now + timedelta(seconds=30)) == 0, "not due yet: back-off"
    assert inbox.messages == []
    assert deliver_queued(now + BACKOFF[0]) == 1

    assert len(inbox.messages) == 1
    db.session.refresh(queued)
    assert queued.sent_at is not None
    assert queued.attempts == 1
    assert queued.next_attempt_at is None
    assert queued.error is None


def test_back_off_grows_and_delivery_gives_up_after_max_attempts(db, closed_port: int) -> None:
    queued = queue_mail("anna@example.test", "Betreff", "Text", "test")
    db.session.commit()
    now = utcnow()
    waits = []

    for _attempt in range(MAX_ATTEMPTS):
        deliver_queued(now)
        db.session.refresh(queued)
        if queued.next_attempt_at is not None:
            waits.append(queued.next_attempt_at - now)
            now = queued.next_attempt_at

    assert waits == list(BACKOFF)
    assert queued.attempts == MAX_ATTEMPTS
    assert queued.next_attempt_at is None
    assert queued.sent_at is None
    deliver_queued(now + timedelta(days=30))
    db.session.refresh(queued)
    assert queued.attempts == MAX_ATTEMPTS, "given up: not tried again"
    assert outbox_state().failed == 1
    assert outbox_state().waiting == 0


def test_without_a_mail_server_mails_stay_in_the_outbox(db) -> None:
    queued = queue_mail("anna@example.test", "Betreff", "Text", "test")
    db.session.commit()

    assert deliver_queued() == 0

    db.session.refresh(queued)
    assert queued.sent_at is None
    assert queued.attempts == 0


def test_same_dedupe_key_queues_one_mail(db) -> None:
    first = queue_mail("anna@example.test", "Eins", "Text", "test", dedupe_key="k:1")
    db.session.commit()

    again = queue_mail("anna@example.test", "Zwei", "Text", "test", dedupe_key="k:1")
    other = queue_mail("anna@example.test", "Drei", "Text", "test", dedupe_key="k:2")
    db.session.commit()

    assert again.id == first.id
    assert again.subject == "Eins"
    assert other.id != first.id
    assert _count(db) == 2


def test_losing_the_dedupe_race_returns_the_winner_and_keeps_the_transaction(
    db, make_employer: Callable[..., Employer]
) -> None:
    # Another transaction commits the same key after this one checked nothing.
    with db.engine.begin() as other:
        other.execute(
            text(
                "INSERT INTO outbound_mails (recipient, subject, body_text, kind, dedupe_key, "
                "created_at, attempts) VALUES ('a@example.test', 'Winner', 'x', 'test', 'k:race', "
                ":now, 0)"
            ),
            {"now": utcnow()},
        )
    employer = make_employer()
    employer.name = "Changed in the same transaction"

    found = queue_mail("a@example.test", "Loser", "y", "test", dedupe_key="k:race")
    db.session.commit()

    assert found.subject == "Winner"
    assert _count(db) == 1
    db.session.refresh(employer)
    assert employer.name == "Changed in the same transaction"


def test_send_mail_command_reports_sent_and_waiting(app: Flask, db, inbox) -> None:
    queue_mail("anna@example.test", "Betreff", "Text", "test")
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["send-mail"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "Sent 1 mails; 0 waiting; 0 failed for good.\n"
    assert len(inbox.messages) == 1


def test_send_mail_command_counts_failures(app: Flask, db, closed_port: int) -> None:
    queue_mail("anna@example.test", "Betreff", "Text", "test")
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["send-mail"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "Sent 0 mails; 1 waiting; 0 failed for good.\n"


def test_outbox_shows_attachment_and_delivery_state(
    client: FlaskClient,
    db,
    closed_port: int,
    make_employer: Callable[..., Employer],
    make_user: Callable[..., User],
    login: Callable[[FlaskClient, User], FlaskClient],
) -> None:
    someone = make_user(Role.EMPLOYEE, employer=make_employer(), locale="en")
    queue_mail(
        someone.email,
        "You are enrolled",
        "Text",
        "test",
        someone.id,
        attachment=("kurs.ics", "text/calendar; method=PUBLISH", ICS),
    )
    db.session.commit()
    deliver_queued()
    login(client, someone)

    page = client.get("/outbox").get_data(as_text=True)

    assert "kurs.ics" in page
    assert "next try" in page
