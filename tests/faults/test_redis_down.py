"""Redis down: the product keeps serving, and rate limits fall back to each process's memory
(README, Configuration). Uses a throw-away redis-server of its own, never the shared one.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import _free_port
from tests.faults.conftest import require
from wellness.auth.models import Role, User
from wellness.auth.services import create_api_token

#: Low enough to reach in a test, per API token.
API_LIMIT = 5


class RedisServer:
    def __init__(self) -> None:
        binary = require("redis-server", "install Redis (apt-get install redis-server)")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(  # noqa: S603 - redis-server, our arguments
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.kill()
                    pytest.fail("redis-server did not start", pytrace=False)
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def employee(make_employer: Callable[..., object], make_user: Callable[..., User]) -> User:
    return make_user(Role.EMPLOYEE, employer=make_employer())


def _bearer(db: object, user: User) -> dict[str, str]:
    token = create_api_token(user, "redis-down", scopes=["me"])
    db.session.commit()  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def _app_on(make_app: Callable[..., Flask], url: str) -> Flask:
    """Rate limits on, kept in Redis at ``url``, as in production with REDIS_URL."""
    return make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=url,
        REDIS_URL=url,
        API_RATE_LIMIT=f"{API_LIMIT} per minute",
    )


def _serves_pages_and_api(
    client: FlaskClient, login: Callable[..., FlaskClient], user: User, headers: dict[str, str]
) -> None:
    assert client.get("/login").status_code == 200
    login(client, user)  # the sign-in form is rate limited too
    assert client.get("/", follow_redirects=True).status_code == 200
    assert client.get("/api/v1/offerings", headers=headers).status_code == 200
    checkin = client.post("/api/v1/me/checkins", json={"scores": {"low_back": 3}}, headers=headers)
    assert checkin.status_code == 201, checkin.get_json()


def test_redis_killed_while_serving_keeps_pages_and_api_up_and_limits_in_memory(
    db, make_app, login, employee, make_user, redis_server: RedisServer
) -> None:
    app = _app_on(make_app, redis_server.url)
    client = app.test_client()
    headers = _bearer(db, employee)
    assert client.get("/api/v1/offerings", headers=headers).status_code == 200
    assert redis_server.client.keys("LIMITS*"), "limits are not counted in Redis"

    redis_server.kill()

    _serves_pages_and_api(client, login, employee, headers)
    # The same limits still hold, now counted in this process's memory.
    other = _bearer(db, make_user(Role.EMPLOYEE, employer=employee.employer))
    statuses = [client.get("/api/v1/offerings", headers=other).status_code for _ in range(6)]
    assert statuses == [200] * API_LIMIT + [429]


def test_redis_never_reachable_the_product_still_serves(db, make_app, login, employee) -> None:
    closed = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    app = _app_on(make_app, closed)
    _serves_pages_and_api(app.test_client(), login, employee, _bearer(db, employee))


def test_enrollment_with_redis_down_is_acknowledged_and_stored(
    db, make_app, employee, make_offering
) -> None:
    """The confirmation mail cannot be queued on Redis; the enrollment must still succeed
    (the mail waits in the outbox for ``wellness send-mail``)."""
    from sqlalchemy import select

    from wellness.courses.models import Enrollment

    offering = make_offering(employee.employer)
    app = _app_on(make_app, f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    response = app.test_client().post(
        f"/api/v1/offerings/{offering.id}/enrollment", headers=_bearer(db, employee)
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    stored = db.session.scalars(
        select(Enrollment.employee_id).where(Enrollment.offering_id == offering.id)
    )
    assert list(stored) == [employee.employee.id]
