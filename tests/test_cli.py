"""The operator's command line: tokens, accounts and demo data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from wellness.auth.models import ApiToken, Role, User
from wellness.auth.services import user_for_token
from wellness.db import utcnow
from wellness.tenants.models import Employee, Employer

NEW_PASSWORD = "a long enough password"


def _invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def _count(db, model: type) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_token_create_prints_one_working_token_per_line_and_nothing_else(
    app: Flask, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employer = make_employer()
    alice = make_user(Role.EMPLOYEE, employer=employer, email="alice@example.test")
    bob = make_user(Role.HR, employer=employer, email="bob@example.test")

    result = _invoke(
        app, "token", "create", "--email", "alice@example.test", "--email", "BOB@example.test"
    )

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert result.stdout == "".join(f"{line}\n" for line in lines)
    owners = []
    for line in lines:
        found = user_for_token(line)
        assert found is not None, f"{line!r} does not authenticate"
        owners.append(found[0].id)
    assert owners == [alice.id, bob.id]


def test_token_create_stores_scope_and_expiry(
    app: Flask, db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMIN, employer=make_employer(), email="it@example.test")
    before = utcnow()

    result = _invoke(
        app, "token", "create", "--email", admin.email, "--scope", "scim", "--expires-in", "60"
    )

    assert result.exit_code == 0, result.output
    found = user_for_token(result.stdout.strip())
    assert found is not None
    _, token = found
    assert token.scope_set == {"scim"}
    assert token.expires_at is not None
    expires_at = token.expires_at
    if expires_at.tzinfo is None:  # SQLite hands back naive UTC
        expires_at = expires_at.replace(tzinfo=before.tzinfo)
    assert before + timedelta(seconds=59) <= expires_at <= utcnow() + timedelta(seconds=61)
    assert user_for_token(result.stdout.strip(), now=utcnow() + timedelta(seconds=61)) is None


def test_token_create_refuses_a_scope_the_account_may_not_hold(
    app: Flask, db, make_user: Callable[..., User], english: None
) -> None:
    operator = make_user(Role.OPERATOR, email="ops@example.test")

    result = _invoke(app, "token", "create", "--email", operator.email, "--scope", "scim")

    assert result.exit_code == 1
    assert "ops@example.test: Choose at least one scope this account may hold" in result.stderr
    assert result.stdout == ""
    assert _count(db, ApiToken) == 0


def test_token_create_for_unknown_email_fails_and_creates_no_token(
    app: Flask, db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    known = make_user(Role.EMPLOYEE, employer=make_employer(), email="erika@example.test")

    result = _invoke(
        app, "token", "create", "--email", known.email, "--email", "nobody@example.test"
    )

    assert result.exit_code != 0
    assert result.stdout == ""
    assert "no user with the e-mail address nobody@example.test" in result.stderr
    assert _count(db, ApiToken) == 0


def test_user_create_makes_an_employer_account_with_roles(
    app: Flask, db, make_employer: Callable[..., Employer]
) -> None:
    employer = make_employer(slug="acme")

    result = _invoke(
        app,
        *("user", "create", "--email", "New.Admin@Example.test", "--name", "New Admin"),
        *("--role", "admin", "--role", "employee", "--employer", "acme"),
        *("--password", NEW_PASSWORD),
    )

    assert result.exit_code == 0, result.output
    assert "Created new.admin@example.test (admin, employee)." in result.stdout
    created = db.session.scalar(select(User).where(User.email == "new.admin@example.test"))
    assert created is not None
    assert created.employer_id == employer.id
    assert created.role_names == {Role.ADMIN, Role.EMPLOYEE}
    assert db.session.scalar(select(Employee).where(Employee.user_id == created.id)) is not None
    login = app.test_client().post(
        "/login", data={"email": "new.admin@example.test", "password": NEW_PASSWORD}
    )
    assert login.status_code == 302


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ("--role", "hr", "--employer", "no-such-employer"),
            "no employer with the short name no-such-employer",
        ),
        (("--role", "provider"), "Provider users need a provider."),
        (("--role", "provider", "--employer", "acme"), "Provider users need a provider."),
        (("--role", "hr"), "Employee, HR and admin users need an employer."),
        (
            ("--role", "hr", "--employer", "acme", "--password", "short"),
            "Choose a password of at least 12 characters.",
        ),
    ],
    ids=[
        "unknown-employer",
        "provider-role-without-provider",
        "provider-role-with-employer",
        "employer-role-without-employer",
        "weak-password",
    ],
)
def test_user_create_refuses_with_a_clear_message(
    app: Flask,
    db,
    make_employer: Callable[..., Employer],
    extra: tuple[str, ...],
    message: str,
    english: None,
) -> None:
    make_employer(slug="acme")
    args = ["user", "create", "--email", "someone@example.test", "--name", "Someone", *extra]
    if "--password" not in extra:
        args += ["--password", NEW_PASSWORD]

    result = _invoke(app, *args)

    assert result.exit_code != 0
    assert result.stdout == ""
    assert f"Error: {message}" in result.stderr
    assert _count(db, User) == 0


def test_user_create_refuses_a_duplicate_email(
    app: Flask, db, make_employer: Callable[..., Employer], make_user: Callable[..., User]
) -> None:
    employer = make_employer(slug="acme")
    make_user(Role.EMPLOYEE, employer=employer, email="taken@example.test")

    result = _invoke(
        app,
        *("user", "create", "--email", "Taken@example.test", "--name", "Again"),
        *("--role", "employee", "--employer", "acme", "--password", NEW_PASSWORD),
    )

    assert result.exit_code != 0
    assert "already exists" in result.stderr
    assert "taken@example.test" in result.stderr
    assert _count(db, User) == 1


def test_user_create_refuses_an_unknown_role(app: Flask, db) -> None:
    result = _invoke(
        app,
        *("user", "create", "--email", "x@example.test", "--name", "X"),
        *("--role", "superuser", "--password", NEW_PASSWORD),
    )

    assert result.exit_code == 2
    assert "superuser" in result.stderr
    assert _count(db, User) == 0


def test_demo_prints_the_logins_and_changes_nothing_the_second_time(app: Flask, db) -> None:
    try:
        from wellness.demo import DEMO_LOGINS, DEMO_PASSWORD
    except ImportError:  # the demo seed is being written; this test starts working with it
        pytest.skip("wellness.demo has no seed yet")

    first = _invoke(app, "demo")
    assert first.exit_code == 0, first.output
    users_after_first = _count(db, User)
    second = _invoke(app, "demo")

    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.stdout
    assert _count(db, User) == users_after_first
    for result in (first, second):
        assert DEMO_PASSWORD in result.stdout
        for email, _role in DEMO_LOGINS:
            assert email in result.stdout
