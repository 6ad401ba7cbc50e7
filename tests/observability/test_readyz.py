"""``/healthz`` and ``/readyz`` as the probes use them: Redis counts when it is configured."""

from __future__ import annotations

import socket


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends


def test_readyz_is_ok_without_redis_configured(make_app):
    response = make_app(REDIS_URL=None).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_readyz_is_503_naming_redis_when_redis_is_down(make_app):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "unreachable",
    }
    # Liveness does not depend on Redis: the process itself is fine.
    assert app.test_client().get("/healthz").status_code == 200


def test_readyz_is_ok_with_redis_up(make_app):
    response = make_app(REDIS_URL="redis://127.0.0.1:6379/0").test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["redis"] == "ok"


def test_readyz_is_503_naming_the_database_when_it_is_down(make_app, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "db.sqlite"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}", REDIS_URL=None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
