"""One JSON line per request with its id, route template, status and duration; the id
round-trips through ``X-Request-ID``."""

from __future__ import annotations

import logging

from tests.observability.conftest import json_lines
from wellness.observability.logs import JsonFormatter, TextFormatter, redact


def _request_lines(err: str) -> list[dict]:
    return [line for line in json_lines(err) if line["logger"] == "wellness.request"]


def test_a_request_writes_one_json_line_with_its_context(json_app, capsys):
    capsys.readouterr()
    response = json_app.test_client().get("/healthz")
    lines = _request_lines(capsys.readouterr().err)

    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float)
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert len(line["request_id"]) == 32
    assert line["time"].endswith("+00:00")
    assert "user_id" not in line


def test_the_route_template_is_logged_not_the_url_or_its_query(json_app, capsys):
    capsys.readouterr()
    json_app.test_client().get("/api/v1/offerings/987654?q=Bandscheibe-privat-4711")
    json_app.test_client().get("/no/such/page/Bandscheibe-privat-4711")
    err = capsys.readouterr().err

    lines = _request_lines(err)
    assert [line["path"] for line in lines] == [
        "/api/v1/offerings/<int:offering_id>",
        "<unmatched>",
    ], lines
    assert "987654" not in err
    assert "Bandscheibe-privat-4711" not in err


def test_a_sane_incoming_request_id_is_kept_and_echoed(json_app, capsys):
    capsys.readouterr()
    response = json_app.test_client().get("/healthz", headers={"X-Request-ID": "lb-7f3a.91:2"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.91:2"
    assert _request_lines(capsys.readouterr().err)[0]["request_id"] == "lb-7f3a.91:2"


def test_an_insane_incoming_request_id_is_replaced(json_app, capsys):
    for bad in ("a b", "x" * 200, '"}{"level":"CRITICAL', "\u00e4\u00f6\u00fc"):
        capsys.readouterr()
        response = json_app.test_client().get("/healthz", headers={"X-Request-ID": bad})
        echoed = response.headers["X-Request-ID"]
        assert echoed != bad
        assert len(echoed) == 32
        assert _request_lines(capsys.readouterr().err)[0]["request_id"] == echoed


def test_signed_in_requests_log_the_user_and_employer_as_numbers(
    json_app, capsys, make_employer, make_user, login
):
    employer = make_employer()
    user = make_user(employer=employer)
    client = json_app.test_client()
    login(client, user)
    capsys.readouterr()
    client.get("/me/pain")
    line = _request_lines(capsys.readouterr().err)[-1]
    assert line["user_id"] == user.id
    assert line["employer_id"] == employer.id
    assert user.email not in str(line)


def test_denied_and_failed_requests_are_logged_with_their_status(json_app, capsys):
    capsys.readouterr()
    json_app.test_client().get("/api/v1/me/checkins")
    line = _request_lines(capsys.readouterr().err)[0]
    assert line["status"] == 401
    assert line["path"] == "/api/v1/me/checkins"


def test_redaction_masks_tokens_bearer_headers_passwords_and_sql_parameters():
    text = (
        "token wl_AbC123xyz_-987 sent as Authorization: Bearer abc.def-ghi, "
        'form password=hunter2-long&next=/ and {"new_password": "s3cr3t pass"} '
        "(sqlite3.OperationalError) no such table [SQL: SELECT ?] [parameters: ('NRS 8',)]"
    )
    masked = redact(text)
    for secret in ("AbC123xyz", "abc.def-ghi", "hunter2-long", "s3cr3t pass", "NRS 8"):
        assert secret not in masked, masked
    assert "no such table" in masked
    assert "next=/" in masked


def test_development_format_is_a_readable_line():
    record = logging.LogRecord(
        "wellness.request", logging.INFO, __file__, 1, "GET %s", ("/x",), None
    )
    record.request_id = "abc"
    record.status = 200
    assert TextFormatter().format(record).endswith("GET /x [request_id=abc status=200]")
    assert '"message": "GET /x"' in JsonFormatter().format(record)
