"""PostgreSQL restarts under load: requests fail cleanly with 503 while it is down, the app
recovers by itself, and no acknowledged enrollment is lost.

Runs gunicorn against a throw-away cluster of its own (tests/faults/conftest.py), so the
machine's shared PostgreSQL is never restarted.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import create_engine, select, text

from tests.conftest import PASSWORD, TEST_CONFIG
from tests.faults.conftest import Gunicorn, PostgresCluster, server_env

PEOPLE = 300
#: A request must be answered within this, database up or down.
ANSWER_WITHIN_S = 10.0


@dataclass
class Seeded:
    offering_id: int
    #: API token -> employee id
    employees: dict[str, int]
    login_email: str


def _seed(url: str) -> Seeded:
    """Migrate, then one employer with PEOPLE employees (API tokens) and an open offering."""
    from flask_migrate import upgrade

    from wellness import create_app
    from wellness.auth.models import Role
    from wellness.auth.services import NewUser, create_api_token, create_user
    from wellness.courses.models import (
        Course,
        CourseSession,
        Offering,
        OfferingEmployer,
        OfferingStatus,
        Provider,
    )
    from wellness.db import utcnow
    from wellness.extensions import db
    from wellness.i18n import local_today
    from wellness.tenants.models import Employee, Employer

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    berlin = ZoneInfo("Europe/Berlin")
    with app.app_context():
        upgrade()
        employer = Employer(slug="restart-gmbh", name="Restart GmbH")
        provider = Provider(slug="restart-studio", name="Restart Studio")
        db.session.add_all([employer, provider])
        db.session.flush()
        first = local_today(utcnow()) + timedelta(days=14)
        course = Course(
            provider_id=provider.id,
            title="Neue Rückenschule",
            description="Rückentraining in der Gruppe",
            field_of_action="movement",
            zpp_course_id="KU-RESTART-1",
            certified_from=first - timedelta(days=365),
            certified_until=first + timedelta(days=365),
        )
        db.session.add(course)
        db.session.flush()
        offering = Offering(
            course_id=course.id,
            starts_on=first,
            ends_on=first + timedelta(weeks=7),
            capacity=10_000,
            price_cents=15000,
            city="Berlin",
            status=OfferingStatus.PUBLISHED.value,
        )
        db.session.add(offering)
        db.session.flush()
        for week in range(8):
            at = datetime.combine(first + timedelta(weeks=week), clock(18), tzinfo=berlin)
            db.session.add(
                CourseSession(
                    offering_id=offering.id, starts_at=at, ends_at=at + timedelta(hours=1)
                )
            )
        db.session.add(
            OfferingEmployer(offering_id=offering.id, employer_id=employer.id, subsidy_cents=10000)
        )
        employees: dict[str, int] = {}
        for n in range(PEOPLE):
            user = create_user(
                NewUser(
                    email=f"person{n}@restart.example",
                    name=f"Person {n}",
                    roles=(Role.EMPLOYEE,),
                    employer_id=employer.id,
                    password=PASSWORD if n == 0 else None,
                )
            )
            employee = Employee(employer_id=employer.id, user_id=user.id, employee_number=f"R{n}")
            db.session.add(employee)
            db.session.flush()
            employees[create_api_token(user, "restart", scopes=["me"])] = employee.id
        db.session.commit()
        seeded = Seeded(offering.id, employees, "person0@restart.example")
        db.session.remove()
        db.engine.dispose()
    return seeded


@dataclass
class Attempt:
    token: str
    started: float
    ended: float
    status: int | str


class EnrollmentLoop:
    """Threads that enroll one employee after the other, as clients would: a 503 is retried
    with the same employee, a 201 moves on to the next."""

    def __init__(self, base: str, seeded: Seeded, threads: int = 2) -> None:
        self.url = f"{base}/api/v1/offerings/{seeded.offering_id}/enrollment"
        self.waiting = list(seeded.employees)
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _next(self) -> str | None:
        with self.lock:
            return self.waiting.pop() if self.waiting else None

    def _run(self) -> None:
        token = self._next()
        while token is not None and not self.stopping.is_set():
            started = time.monotonic()
            try:
                response = requests.post(
                    self.url,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=ANSWER_WITHIN_S,
                )
                status: int | str = response.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            with self.lock:
                self.attempts.append(Attempt(token, started, time.monotonic(), status))
            if status in (201, 409):  # 409: a 503'd attempt was stored after all
                token = self._next()
            time.sleep(0.03)

    def __enter__(self) -> EnrollmentLoop:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(ANSWER_WITHIN_S + 5)

    def acknowledged_since(self, moment: float) -> int:
        with self.lock:
            return sum(a.status == 201 and a.started > moment for a in self.attempts)


def _login(base: str, email: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/login", timeout=ANSWER_WITHIN_S)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    assert found, form.text[:500]
    answer = session.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": found.group(1)},
        allow_redirects=False,
        timeout=ANSWER_WITHIN_S,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def _wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_postgres_restart_gives_503_then_recovers_without_losing_enrollments(
    pg_cluster: PostgresCluster, tmp_path: Path
) -> None:
    admin = create_engine(pg_cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "wellness"'))
    admin.dispose()
    url = pg_cluster.url("wellness")
    seeded = _seed(url)
    server = Gunicorn(server_env(url), tmp_path / "gunicorn.log")
    try:
        browser = _login(server.base, seeded.login_email)
        any_token = next(iter(seeded.employees))
        api = {"Authorization": f"Bearer {any_token}"}
        assert browser.get(f"{server.base}/", timeout=ANSWER_WITHIN_S).status_code == 200

        with EnrollmentLoop(server.base, seeded) as load:
            assert _wait_for(lambda: load.acknowledged_since(0) >= 5, 15), server.tail()
            pg_cluster.stop("fast")
            down_at = time.monotonic()
            time.sleep(0.5)

            probes = {
                "api": requests.get(
                    f"{server.base}/api/v1/offerings", headers=api, timeout=ANSWER_WITHIN_S
                ),
                "page": browser.get(f"{server.base}/", timeout=ANSWER_WITHIN_S),
                "readyz": requests.get(f"{server.base}/readyz", timeout=ANSWER_WITHIN_S),
            }
            time.sleep(1.0)
            up_at = time.monotonic()
            pg_cluster.start()
            recovered = _wait_for(lambda: load.acknowledged_since(up_at) >= 10, 20)
        assert recovered, f"no enrollment succeeded after the restart:\n{server.tail()}"

        assert probes["api"].status_code == 503
        assert probes["api"].headers["Content-Type"] == "application/problem+json"
        assert probes["api"].headers["Retry-After"].isdigit()
        assert probes["api"].json()["status"] == 503
        assert probes["page"].status_code == 503
        assert probes["page"].headers["Content-Type"].startswith("text/html")
        assert "Retry-After" in probes["page"].headers
        assert probes["readyz"].status_code == 503
        for probe in probes.values():
            assert "Traceback" not in probe.text
            assert "OperationalError" not in probe.text
            assert str(pg_cluster.port) not in probe.text

        attempts = load.attempts
        statuses = {a.status for a in attempts}
        assert statuses <= {201, 409, 503}, f"unexpected answers {statuses}:\n{server.last_error()}"
        slowest = max(a.ended - a.started for a in attempts)
        assert slowest < ANSWER_WITHIN_S
        while_down = [a for a in attempts if a.started > down_at and a.ended < up_at]
        assert while_down, "no request was sent while the database was down"
        assert {a.status for a in while_down} == {503}
        # Back to normal by itself: everything sent a moment after the restart succeeds.
        settled = [a for a in attempts if a.started > up_at + 3]
        assert all(a.status in (201, 409) for a in settled), [a.status for a in settled]
        # The pages work again too, with the same signed-in session.
        assert browser.get(f"{server.base}/", timeout=ANSWER_WITHIN_S).status_code == 200
    finally:
        server.stop()

    from wellness.courses.models import Enrollment

    acknowledged = {seeded.employees[a.token] for a in attempts if a.status == 201}
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = set(
            conn.scalars(
                select(Enrollment.employee_id).where(Enrollment.offering_id == seeded.offering_id)
            )
        )
    engine.dispose()
    assert acknowledged, "no enrollment was acknowledged"
    assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)}"
