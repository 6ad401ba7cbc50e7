"""One person's simultaneous enrollments (several tabs, a double click) on a real gunicorn
server: each is answered, none waits for the others into a deadlock, one seat per offering."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import select

from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.courses.models import Enrollment

from .test_enrollment_concurrency import _call

OFFERINGS = 6


def test_one_persons_simultaneous_enrollments_are_all_answered(
    db, live_server, smtp_server, make_employer, make_user, make_offering
):
    employer = make_employer()
    offerings = [make_offering(employer, capacity=5) for _ in range(OFFERINGS)]
    user = make_user(Role.EMPLOYEE, employer=employer)
    token = create_api_token(user, "several tabs")
    db.session.commit()
    # Every offering twice: a double click in each of six tabs.
    urls = [f"{live_server}/api/v1/offerings/{o.id}/enrollment" for o in offerings] * 2
    start = Barrier(len(urls))

    def enroll(url: str) -> int:
        start.wait()
        return _call("POST", url, token)[0]

    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        statuses = list(pool.map(enroll, urls))

    # One enrollment per offering; its twin is told it is already enrolled.
    assert sorted(statuses) == [201] * OFFERINGS + [409] * OFFERINGS, statuses
    mine = Enrollment.employee_id == user.employee.id
    stored = db.session.scalars(select(Enrollment).where(mine))
    assert sorted(e.offering_id for e in stored) == sorted(o.id for o in offerings)
