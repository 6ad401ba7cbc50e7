"""The issue's test: no log line contains a password, token, cookie or health value.

Real flows (sign-in, a failed sign-in, a password-reset link, API calls with a bearer token, pain
check-ins through the form and the API, a refused check-in, an attendance upload, an unhandled
error whose message carries secrets) run with the root logger at DEBUG. Two things are checked:

- the *raw* records, as any handler would get them, before our redaction: the first line of
  defence (nobody logs these values) for every flow except the deliberately leaking 500;
- the lines our handler actually writes to stderr: the second line (redaction) included.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from tests.attendance import corpus
from tests.observability.conftest import json_lines
from wellness.auth.guards import public
from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.extensions import db as _db

PASSWORD = "Lindenblüte-Sonnenuhr-83517"
WRONG_PASSWORD = "Falsches-Kennwort-66120-grün"
RESET_TOKEN = "Rst9QmZx-not-a-real-reset-token-55021"
BAD_SCORE = "elf-Komma-48213"
HEALTH_MARKERS = (
    # Region keys and field names only travel together with the values they hold.
    "low_back",
    "upper_back",
    "neck",
    "prevented_activity",
    "scores",
    BAD_SCORE,
)


class RawRecords(logging.Handler):
    """Everything a record carries, rendered before any filter of ours could touch it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        rendered = [record.getMessage(), repr(record.args), repr(vars(record))]
        if record.exc_info:
            rendered.append(logging.Formatter().formatException(record.exc_info))
        self.lines.append("\n".join(rendered))


@pytest.fixture
def raw() -> Iterator[RawRecords]:
    handler = RawRecords()
    root = logging.getLogger()
    # Alembic's fileConfig (migrations/env.py, run by the session fixture) leaves a console
    # handler on the root logger; a serving process never runs it. Out of the way, so stderr
    # holds what our handler writes.
    foreign = [h for h in root.handlers if type(h) is logging.StreamHandler]
    for other in foreign:
        root.removeHandler(other)
    root.handlers.insert(0, handler)  # before ours: sees records unredacted
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for other in foreign:
            root.addHandler(other)


@pytest.fixture
def leaky_app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    """A JSON-logging app with one route that fails with secrets in its exception."""
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="DEBUG")

    @public
    def boom() -> str:
        token = "wl_" + "Q" * 40
        try:
            # The driver's error message carries the bound value ([parameters: ...]).
            _db.session.execute(
                text("SELECT * FROM no_such_table WHERE x = :value"), {"value": BAD_SCORE}
            )
        except Exception as exc:
            raise RuntimeError(
                f"failed for password={PASSWORD} with Authorization: Bearer {token}"
            ) from exc
        return "unreachable"

    app.add_url_rule("/test/boom", "test_boom", boom)
    return app


def _flows(app: Flask, db, make_employer, make_user, make_provider) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    """Drive the flows; returns the secrets they handled and how many requests were made."""
    employer = make_employer(locale="en")
    user = make_user(Role.EMPLOYEE, employer=employer, password=PASSWORD)
    token = create_api_token(user, "observability")
    db.session.commit()
    secrets = [PASSWORD, WRONG_PASSWORD, RESET_TOKEN, token, token.removeprefix("wl_"), user.email]

    requests = 0
    browser = app.test_client()
    failed = browser.post("/login", data={"email": user.email, "password": WRONG_PASSWORD})
    assert failed.status_code in {200, 401}
    assert (
        browser.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    )
    requests += 2
    cookie = browser.get_cookie("session")
    assert cookie is not None
    secrets.append(cookie.value)
    form = {"low_back": "8", "neck": "9", "upper_back": "7", "prevented_activity": "y"}
    assert browser.post("/me/pain", data=form).status_code == 302
    assert browser.get("/me/pain/trend").status_code == 200
    browser.get(f"/password/reset/{RESET_TOKEN}")
    requests += 3

    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    body = {"scores": {"low_back": 8, "neck": 9}, "prevented_activity": True}
    assert api.post("/api/v1/me/checkins", json=body, headers=bearer).status_code in {200, 201}
    refused = api.post(
        "/api/v1/me/checkins", json={"scores": {"low_back": BAD_SCORE}}, headers=bearer
    )
    assert refused.status_code == 422
    assert api.get("/api/v1/me/checkins?per_page=5", headers=bearer).status_code == 200
    assert (
        api.get("/api/v1/me/checkins", headers={"Authorization": "Bearer wl_wrong"}).status_code
        == 401
    )
    requests += 4

    setting = corpus.build(db, make_employer, make_provider, make_user)
    provider_token = create_api_token(setting.provider_user, "import")
    db.session.commit()
    secrets.append(provider_token)
    upload = api.post(
        f"/api/v1/provider/offerings/{setting.offering.id}/attendance",
        data={"file": (io.BytesIO(b"Teilnehmercode;Datum;Anwesenheit\nNOPE;x;y\n"), "a.csv")},
        headers={"Authorization": f"Bearer {provider_token}"},
    )
    assert upload.status_code in {200, 422}
    requests += 1
    return secrets, requests


def _assert_clean(lines: list[str], secrets: list[str], markers: tuple[str, ...]) -> None:
    assert lines
    for line in lines:
        for value in (*secrets, *markers):
            assert value not in line, f"{value!r} in log line: {line[:300]}"


def test_no_log_line_contains_a_password_token_cookie_or_health_value(
    leaky_app, raw, capsys, db, make_employer, make_user, make_provider
):
    capsys.readouterr()
    secrets, requests = _flows(leaky_app, db, make_employer, make_user, make_provider)
    # First line of defence: nothing in the app or its libraries logged the values at all.
    _assert_clean(raw.lines, secrets, HEALTH_MARKERS)

    assert leaky_app.test_client().get("/test/boom").status_code == 500
    written = capsys.readouterr().err.splitlines()
    # Second line: what reaches stderr, the deliberately leaking error included.
    _assert_clean(written, [*secrets, "Q" * 40], HEALTH_MARKERS)

    entries = json_lines("\n".join(written))
    request_lines = [e for e in entries if e["logger"] == "wellness.request"]
    assert len(request_lines) == requests + 1
    failure = [e for e in entries if e.get("status") == 500 or "exception" in e]
    assert any("exception" in e and "no_such_table" in e["exception"] for e in failure), failure
    assert {e["request_id"] for e in failure if "exception" in e} <= {
        e["request_id"] for e in request_lines
    }
