"""Capacity holds under concurrency: many simultaneous enroll requests against a real gunicorn
server (several processes and threads) on the suite's database, SQLite or PostgreSQL."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import select

from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.courses.models import Enrollment, Offering

REQUESTS = 100
SEATS = 10


def _call(method: str, url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        url,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_simultaneous_requests_fill_exactly_the_seats_and_queue_the_rest(
    db, live_server, smtp_server, make_employer, make_user, make_offering
):
    employer = make_employer()
    offering = make_offering(employer, capacity=SEATS)
    users = [make_user(Role.EMPLOYEE, employer=employer) for _ in range(REQUESTS)]
    tokens = [create_api_token(u, "concurrency") for u in users]
    db.session.commit()
    url = f"{live_server}/api/v1/offerings/{offering.id}/enrollment"
    start = Barrier(REQUESTS)

    def enroll(token: str) -> tuple[int, dict]:
        start.wait()
        return _call("POST", url, token)

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        answers = list(pool.map(enroll, tokens))

    statuses = [status for status, _ in answers]
    assert statuses == [201] * REQUESTS, sorted(set(statuses))
    enrolled = [body for _, body in answers if body["status"] == "enrolled"]
    waitlisted = [body for _, body in answers if body["status"] == "waitlisted"]
    assert len(enrolled) == SEATS
    assert sorted(body["waitlist_position"] for body in waitlisted) == list(
        range(1, REQUESTS - SEATS + 1)
    )
    db.session.expire_all()
    assert db.session.get(Offering, offering.id).seats_taken == SEATS
    stored = db.session.scalars(select(Enrollment).where(Enrollment.offering_id == offering.id))
    positions = sorted(e.waitlist_position for e in stored if e.status == "waitlisted")
    assert positions == list(range(1, REQUESTS - SEATS + 1))

    # One cancellation: the first in line gets the seat and is told by mail.
    inbox = smtp_server[1]
    inbox.messages.clear()
    first_in_line = db.session.scalar(
        select(Enrollment).where(
            Enrollment.offering_id == offering.id, Enrollment.waitlist_position == 1
        )
    )
    leaving = next(i for i, (_, body) in enumerate(answers) if body["status"] == "enrolled")
    status, body = _call("DELETE", url, tokens[leaving])
    assert (status, body["status"]) == (200, "cancelled")
    db.session.expire_all()
    promoted = db.session.get(Enrollment, first_in_line.id)
    assert (promoted.status, promoted.waitlist_position) == ("enrolled", None)
    assert db.session.get(Offering, offering.id).seats_taken == SEATS
    recipients = [message["To"] for message in inbox.messages]
    assert promoted.employee.user.email in recipients
