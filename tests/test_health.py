"""Liveness and readiness probes: what the load balancer and ``.ci/run`` ask."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from wellness.extensions import db


def test_healthz_says_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_database_ok(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_readyz_is_503_without_a_stack_trace_when_the_database_is_unreachable(
    make_app: Callable[..., Flask], tmp_path: Path, backend: str
) -> None:
    unreachable = {
        # A file in a directory that does not exist: SQLite cannot open it.
        "sqlite": f"sqlite:///{tmp_path / 'missing' / 'wellness.sqlite'}",
        # Port 1 on loopback: nothing listens there, the connection is refused at once.
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/nope?connect_timeout=2",
    }[backend]
    app = make_app(SQLALCHEMY_DATABASE_URI=unreachable)
    try:
        response = app.test_client().get("/readyz")
        body = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.is_json
        assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
        for leak in ("Traceback", "OperationalError", "127.0.0.1", str(tmp_path)):
            assert leak not in body
    finally:
        with app.app_context():
            db.engine.dispose()
