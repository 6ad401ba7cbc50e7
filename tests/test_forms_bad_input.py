"""Bad input on every form gives the form back with an error (4xx), never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from wellness.auth.models import Role, User
from wellness.courses.models import Provider
from wellness.tenants.models import Department, Employer, Site

#: (persona, url, hidden "form" value or None, field names)
FORMS = [
    (None, "/login", None, ["email", "password", "remember"]),
    (None, "/password/forgot", None, ["email"]),
    (None, "/password/reset/{token}", None, ["password", "confirm"]),
    (Role.EMPLOYEE, "/account", "profile", ["profile-name", "profile-locale"]),
    (
        Role.EMPLOYEE,
        "/account",
        "password",
        ["password-current", "password-password", "password-confirm"],
    ),
    (Role.ADMIN, "/admin/organisation", "department", ["department-name", "department-parent_id"]),
    (Role.ADMIN, "/admin/organisation", "site", ["site-name", "site-city"]),
    (
        Role.ADMIN,
        "/admin/settings",
        None,
        [
            "name",
            "locale",
            "k_participation",
            "k_health",
            "dp_enabled",
            "budget_eur",
            "retention_months",
            "password_login_enabled",
        ],
    ),
    (
        Role.OPERATOR,
        "/operator/",
        "employer",
        ["employer-slug", "employer-name", "employer-locale"],
    ),
    (Role.OPERATOR, "/operator/", "provider", ["provider-slug", "provider-name", "provider-city"]),
]


def _payloads(fields: list[str]) -> dict[str, dict[str, str]]:
    return {
        "missing": {},
        "empty": dict.fromkeys(fields, ""),
        "overlong": dict.fromkeys(fields, "x" * 5000),
        "wrong types": dict.fromkeys(fields, "not-a-number"),
        "control characters": dict.fromkeys(fields, "\x00\x1f"),
    }


def _state(db) -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Employer, Provider, Department, Site)
    ) + (db.session.scalar(select(Employer.name)),)


@pytest.mark.parametrize(
    ("persona", "url", "form_name", "fields"), FORMS, ids=[f"{u} {f or ''}" for _, u, f, _ in FORMS]
)
def test_bad_input_gives_a_form_error_and_changes_nothing(
    app, db, make_employer, make_user, persona, url, form_name, fields
):
    from wellness.auth.services import make_reset_token

    employer = make_employer()
    user = make_user(
        persona or Role.EMPLOYEE, employer=None if persona is Role.OPERATOR else employer
    )
    client = app.test_client()
    if persona is not None:
        assert (
            client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code
            == 302
        )
    url = url.format(token=make_reset_token(user))
    before = _state(db)
    for name, payload in _payloads(fields).items():
        data = dict(payload)
        if form_name:
            data["form"] = form_name
        response = client.post(url, data=data)
        assert response.status_code in (400, 401), (name, response.status_code)
        page = response.get_data(as_text=True)
        assert "<form" in page, name
        assert 'aria-invalid="true"' in page, name
        assert "Traceback" not in page
    db.session.expire_all()
    assert _state(db) == before


def test_settings_refuse_group_sizes_below_five(client, db, login, make_employer, make_user):
    employer = make_employer()
    login(client, make_user(Role.ADMIN, employer=employer))
    response = client.post(
        "/admin/settings",
        data={
            "name": "X",
            "locale": "de",
            "k_participation": "4",
            "k_health": "3",
            "budget_eur": "600",
            "retention_months": "24",
        },
    )
    assert response.status_code == 400
    db.session.refresh(employer)
    assert (employer.k_participation, employer.k_health) == (5, 10)


def test_settings_are_saved_and_audited_without_values(client, db, login, make_employer, make_user):
    from wellness.audit.models import AuditEvent

    employer = make_employer()
    login(client, make_user(Role.ADMIN, employer=employer))
    response = client.post(
        "/admin/settings",
        data={
            "name": "Neuer Name GmbH",
            "locale": "en",
            "k_participation": "7",
            "k_health": "12",
            "budget_eur": "450.50",
            "retention_months": "24",
            "password_login_enabled": "y",
        },
    )
    assert response.status_code == 302
    db.session.refresh(employer)
    assert employer.name == "Neuer Name GmbH"
    assert employer.budget_per_employee_cents == 45050
    assert (employer.k_participation, employer.k_health) == (7, 12)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "admin.settings_changed")
    )
    assert "k_health" in event.details
    assert "Neuer Name" not in event.details


def test_unknown_language_is_refused(client):
    assert client.post("/language", data={"locale": "xx"}).status_code == 400
