"""Sign-in, lockout, logout, sessions and password reset through the real HTTP edge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from wellness.audit.models import AuditEvent
from wellness.auth import services
from wellness.auth.models import Role
from wellness.db import utcnow


def test_employee_login_lands_on_own_start_page(client, make_employer, make_user):
    employee = make_user(Role.EMPLOYEE, employer=make_employer())
    response = client.post("/login", data={"email": employee.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert client.get("/").headers["Location"].endswith("/me")
    assert client.get("/me").status_code == 200


@pytest.mark.parametrize(
    ("role", "start"),
    [
        (Role.HR, "/hr/"),
        (Role.ADMIN, "/admin/"),
        (Role.PROVIDER, "/provider/"),
        (Role.OPERATOR, "/operator/"),
    ],
)
def test_each_role_is_sent_to_its_start_page(
    client, login, make_employer, make_provider, make_user, role, start
):
    scope = {}
    if role in (Role.HR, Role.ADMIN):
        scope["employer"] = make_employer()
    if role is Role.PROVIDER:
        scope["provider"] = make_provider()
    login(client, make_user(role, **scope))
    assert client.get("/").headers["Location"].endswith(start)
    assert client.get(start).status_code == 200


def test_wrong_password_is_refused_without_saying_whether_the_account_exists(
    client, make_employer, make_user
):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user(employer=make_employer())
    wrong = client.post("/login", data={"email": user.email, "password": "not the password"})
    unknown = client.post("/login", data={"email": "nobody@example.test", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 401
    message = "E-mail address or password is not correct."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_five_failures_lock_the_account_even_for_the_right_password(
    client, db, make_employer, make_user
):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user(employer=make_employer())
    for _ in range(services.MAX_FAILED_LOGINS):
        client.post("/login", data={"email": user.email, "password": "wrong password"})
    locked = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert locked.status_code == 401
    assert "Too many failed attempts" in locked.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "auth.locked" in actions


def test_lock_expires_after_the_lockout_period(app, db, make_employer, make_user):
    user = make_user(employer=make_employer())
    user.locked_until = utcnow() + timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(services.LoginError):
        services.authenticate(user.email, PASSWORD)
    later = utcnow() + timedelta(minutes=2)
    assert services.authenticate(user.email, PASSWORD, now=later) is user


def test_disabled_account_cannot_sign_in_and_loses_its_session(
    client, db, login, make_employer, make_user
):
    user = make_user(employer=make_employer())
    login(client, user)
    user.is_enabled = False
    db.session.commit()
    assert client.get("/me").status_code == 302
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 401


def test_password_login_can_be_turned_off_per_employer(client, make_employer, make_user):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user(employer=make_employer(password_login_enabled=False))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 401
    assert "single sign-on" in response.get_data(as_text=True)


def test_logout_ends_the_session(client, login, make_employer, make_user):
    login(client, make_user(employer=make_employer()))
    assert client.post("/logout").status_code == 302
    assert client.get("/me").headers["Location"].startswith("/login")


def test_login_redirect_never_leaves_the_site(client, make_employer, make_user):
    user = make_user(employer=make_employer())
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"email": user.email, "password": PASSWORD},
        )
        assert response.headers["Location"] == "/"
        client.post("/logout")
    response = client.post(
        "/login",
        query_string={"next": "/account"},
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/account"


def test_password_reset_by_mail_over_smtp(client, db, inbox, make_employer, make_user):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user(employer=make_employer())
    response = client.post("/password/forgot", data={"email": user.email})
    assert response.status_code == 302
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == user.email
    # Written in the employer's language (German), whatever the requesting browser prefers.
    assert mail["Subject"] == "Ihr wellness-Passwort zurücksetzen"
    link = re.search(r"http://localhost(/password/reset/\S+)", mail.get_content()).group(1)

    new_password = "a brand new passphrase"
    response = client.post(link, data={"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert services.authenticate(user.email, new_password) is user

    reused = client.post(
        link, data={"password": "another new passphrase", "confirm": "another new passphrase"}
    )
    assert reused.status_code == 400
    assert "already used" in reused.get_data(as_text=True)


def test_reset_request_for_unknown_address_looks_the_same_and_sends_nothing(client, inbox):
    response = client.post("/password/forgot", data={"email": "nobody@example.test"})
    assert response.status_code == 302
    assert inbox.messages == []


def test_tampered_or_expired_reset_link_is_refused(app, client, make_employer, make_user):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user(employer=make_employer())
    token = services.make_reset_token(user)
    body = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    assert client.post(f"/password/reset/{token}x", data=body).status_code == 400
    services.RESET_TOKEN_MAX_AGE, saved = -1, services.RESET_TOKEN_MAX_AGE
    try:
        expired = client.post(f"/password/reset/{token}", data=body)
    finally:
        services.RESET_TOKEN_MAX_AGE = saved
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)


def test_password_change_ends_other_sessions(app, client, login, make_employer, make_user):
    user = make_user(employer=make_employer())
    other_device = app.test_client()
    login(other_device, user)
    login(client, user)
    new = "a brand new passphrase"
    response = client.post(
        "/account",
        data={
            "form": "password",
            "password-current": PASSWORD,
            "password-password": new,
            "password-confirm": new,
        },
    )
    assert response.status_code == 302
    assert client.get("/me").status_code == 200
    assert other_device.get("/me").status_code == 302


def test_short_password_is_refused_with_the_rule(client, login, make_employer, make_user):
    login(client, make_user(employer=make_employer()))
    response = client.post(
        "/account",
        data={
            "form": "password",
            "password-current": PASSWORD,
            "password-password": "short",
            "password-confirm": "short",
        },
    )
    assert response.status_code == 400
    assert "12" in response.get_data(as_text=True)


def test_language_choice_is_remembered_on_the_account(client, db, login, make_employer, make_user):
    user = make_user(employer=make_employer())
    login(client, user)
    client.post("/language", data={"locale": "en", "next": "/me"})
    db.session.refresh(user)
    assert user.locale == "en"
    assert 'lang="en"' in client.get("/me").get_data(as_text=True)
    client.post("/language", data={"locale": "de", "next": "/me"})
    assert 'lang="de"' in client.get("/me").get_data(as_text=True)


def test_german_is_the_default_for_a_german_employer(client, login, make_employer, make_user):
    login(client, make_user(employer=make_employer(locale="de")))
    page = client.get("/me", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="de"' in page


def test_sign_in_errors_speak_german_by_default(client, make_employer, make_user):
    user = make_user(employer=make_employer())
    response = client.post("/login", data={"email": user.email, "password": "wrong password"})
    assert "E-Mail-Adresse oder Passwort ist nicht korrekt." in response.get_data(as_text=True)


def test_login_page_is_german_by_default_and_english_on_request(client):
    assert 'lang="de"' in client.get("/login").get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in english.get_data(as_text=True)
