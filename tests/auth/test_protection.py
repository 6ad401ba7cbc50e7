"""CSRF, throttling and session cookies, each with the protection switched on."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from wellness.auth.models import Role


@pytest.fixture
def strict_app(make_app, app):
    """The app as production runs it: CSRF and rate limits on."""
    return make_app(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_form_post_without_csrf_token_is_refused(strict_app, make_employer, make_user):
    user = make_user(employer=make_employer())
    client = strict_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True) or "Formular" in response.get_data(
        as_text=True
    )


def test_form_post_with_csrf_token_signs_in(strict_app, make_employer, make_user):
    user = make_user(employer=make_employer())
    client = strict_app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_logged_in_forms_need_the_token_too(strict_app, make_employer, make_user):
    user = make_user(Role.ADMIN, employer=make_employer())
    client = strict_app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout").status_code == 400
    assert (
        client.post(
            "/admin/organisation", data={"form": "site", "site-name": "X", "site-city": "Y"}
        ).status_code
        == 400
    )


def test_repeated_login_attempts_from_one_address_are_throttled(strict_app):
    client = strict_app.test_client()
    statuses = []
    for _ in range(5):
        token = _csrf(client.get("/login").get_data(as_text=True))
        statuses.append(
            client.post(
                "/login",
                data={"email": "x@example.test", "password": "y" * 12, "csrf_token": token},
            ).status_code
        )
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


def test_session_cookie_is_httponly_and_lax(client, make_employer, make_user):
    user = make_user(employer=make_employer())
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
