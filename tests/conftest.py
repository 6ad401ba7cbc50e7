"""Fixtures: one real database per test worker (SQLite by default, PostgreSQL when
``DATABASE_URL`` says so), migrated with Alembic, emptied after every test.

Factories return callables (indico's habit): ``make_employer()``, ``make_user(...)``.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from wellness import create_app
from wellness.auth.models import Role, User
from wellness.auth.services import NewUser, create_user
from wellness.courses.models import Provider
from wellness.extensions import db as _db
from wellness.tenants.models import Employee, Employer

PASSWORD = "correct horse battery"

#: Fast hashing and no CSRF/rate limits by default; tests of those build their own app.
TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "SERVER_NAME": "localhost",
    "MAIL_SERVER": None,
}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say loudly, at the end of ``make test``, when the browser tests could not run."""
    reasons = {
        str(report.longrepr[2])
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and "BROWSER TESTS NOT RUN" in report.longrepr[2]
    }
    if reasons:
        terminalreporter.write_sep("!", "browser tests skipped", red=True, bold=True)
        for reason in sorted(reasons):
            terminalreporter.write_line(reason.removeprefix("Skipped: "), red=True, bold=True)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this worker; PostgreSQL databases are dropped afterwards."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgresql"):
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        yield f"sqlite:///{path}"
        return
    url = make_url(configured)
    name = f"wellness_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class RequestIsolatingClient(FlaskClient):
    """Runs each request in its own app context, as a real server does.

    Tests hold an app context open for their database work; without this, requests would share
    its ``g`` (and so the logged-in user and language) and its database session. The test's
    session is committed before the request, so the request sees the test's data, and it
    starts a new transaction afterwards, so the test sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context() and _db.session.registry.has():
            _db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _dispose(app: Flask) -> None:
    """Close pooled connections now rather than when the app is garbage collected."""
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(scope="session")
def _build_app(database_url: str) -> Callable[..., Flask]:
    def build(**overrides: Any) -> Flask:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        app.test_client_class = RequestIsolatingClient
        return app

    return build


@pytest.fixture
def make_app(_build_app: Callable[..., Flask]) -> Iterator[Callable[..., Flask]]:
    """Build an app on the test database with extra config (e.g. CSRF switched on)."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        built.append(_build_app(**overrides))
        return built[-1]

    yield build
    for app in built:
        _dispose(app)


@pytest.fixture(scope="session")
def _migrated_app(_build_app: Callable[..., Flask]) -> Iterator[Flask]:
    from flask_migrate import upgrade

    app = _build_app()
    with app.app_context():
        upgrade()
    yield app
    _dispose(app)


def _empty_all_tables() -> None:
    tables = [t for t in reversed(_db.metadata.sorted_tables)]
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()


@pytest.fixture
def app(_migrated_app: Flask) -> Iterator[Flask]:
    with _migrated_app.app_context():
        yield _migrated_app
        _db.session.rollback()
        _empty_all_tables()
        _db.session.remove()


@pytest.fixture
def db(app: Flask) -> Any:
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_counter = itertools.count(1)


def _tenant_factory(model: type[Any], kind: str) -> Callable[..., Any]:
    """A factory for employers or providers: unique slug and name unless given."""

    def build(slug: str | None = None, **fields: Any) -> Any:
        n = next(_counter)
        fields.setdefault("name", f"{kind.title()} {n}")
        row = model(slug=slug or f"{kind}-{n}", **fields)
        _db.session.add(row)
        _db.session.commit()
        return row

    return build


@pytest.fixture
def english(app: Flask) -> Iterator[None]:
    """Service messages in English for tests that assert them: outside a request services speak
    the default, German. Use with ``pytestmark = pytest.mark.usefixtures("english")``."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def make_employer(app: Flask) -> Callable[..., Employer]:
    return _tenant_factory(Employer, "employer")


@pytest.fixture
def make_provider(app: Flask) -> Callable[..., Provider]:
    return _tenant_factory(Provider, "provider")


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """``make_user(Role.HR, employer=e)``; employer roles also get an employee record."""

    def build(
        *roles: Role,
        employer: Employer | None = None,
        provider: Provider | None = None,
        email: str | None = None,
        password: str = PASSWORD,
        **fields: Any,
    ) -> User:
        n = next(_counter)
        user = create_user(
            NewUser(
                email=email or f"user{n}@example.test",
                name=fields.pop("name", f"User {n}"),
                roles=roles or (Role.EMPLOYEE,),
                employer_id=employer.id if employer else None,
                provider_id=provider.id if provider else None,
                password=password,
            )
        )
        if employer is not None:
            _db.session.add(
                Employee(employer_id=employer.id, user_id=user.id, employee_number=f"E{n:05d}")
            )
        for key, value in fields.items():
            setattr(user, key, value)
        _db.session.commit()
        return user

    return build


@pytest.fixture
def login(app: Flask) -> Callable[[FlaskClient, User], FlaskClient]:
    """Sign a client in through the real login form."""

    def do(client: FlaskClient, user: User, password: str = PASSWORD) -> FlaskClient:
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do


ROOT = Path(__file__).resolve().parent.parent


class _Inbox:
    """Collects messages received by the local SMTP server."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    import logging

    from aiosmtpd.controller import Controller

    # The test server's own chatter (every SMTP line at INFO) is not the app's log.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    port = _free_port()
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[int, _Inbox], app: Flask) -> Iterator[_Inbox]:
    """Route the app's mail to the local SMTP server for one test."""
    port, box = smtp_server
    box.messages.clear()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield box
    finally:
        app.config.update(MAIL_SERVER=None)


@pytest.fixture
def make_offering(app: Flask, make_provider: Callable[..., Provider]) -> Callable[..., Any]:
    """``make_offering(employer, capacity=10, price_cents=15000, subsidy_cents=10000)``: a
    published, certified weekly course opened to ``employer`` (or to nobody when None)."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from wellness.courses.models import Course, CourseSession, Offering, OfferingEmployer
    from wellness.db import utcnow
    from wellness.i18n import local_today

    berlin = ZoneInfo("Europe/Berlin")

    def build(
        employer: Employer | None,
        *,
        capacity: int = 10,
        price_cents: int = 15000,
        subsidy_cents: int = 10000,
        starts_in_days: int = 14,
        sessions: int = 8,
        title: str = "Neue Rückenschule",
        **fields: Any,
    ) -> Offering:
        provider = fields.pop("provider", None) or make_provider()
        # German today, as the product counts it (UTC's date is a day behind before 1 am).
        first = local_today(utcnow()) + timedelta(days=starts_in_days)
        course = Course(
            provider_id=provider.id,
            title=title,
            description="Rückentraining in der Gruppe",
            field_of_action=fields.pop("field_of_action", "movement"),
            zpp_course_id=f"KU-BE-{next(_counter):06d}",
            certified_from=first - timedelta(days=365),
            certified_until=first + timedelta(days=365),
        )
        _db.session.add(course)
        _db.session.flush()
        offering = Offering(
            course_id=course.id,
            starts_on=first,
            ends_on=first + timedelta(weeks=sessions - 1),
            capacity=capacity,
            price_cents=price_cents,
            city=fields.pop("city", "Hamburg"),
            **fields,
        )
        _db.session.add(offering)
        _db.session.flush()
        for week in range(sessions):
            start = datetime.combine(first + timedelta(weeks=week), time(18), tzinfo=berlin)
            _db.session.add(
                CourseSession(
                    offering_id=offering.id, starts_at=start, ends_at=start + timedelta(hours=1)
                )
            )
        if employer is not None:
            _db.session.add(
                OfferingEmployer(
                    offering_id=offering.id, employer_id=employer.id, subsidy_cents=subsidy_cents
                )
            )
        _db.session.commit()
        return offering

    return build


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_server(app: Flask, database_url: str, smtp_server: tuple[int, _Inbox]) -> Iterator[str]:
    """A real gunicorn (3 processes x 8 threads) serving the app on the test database and
    mailing to the local SMTP server; yields its base URL. Data must be committed first."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "concurrency-test-secret-key-of-enough-length",
        "WELLNESS_ENV": "development",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server[0]),
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "3",
            "--threads",
            "8",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wellness:create_app()",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
