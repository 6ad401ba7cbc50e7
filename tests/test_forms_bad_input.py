"""Bad input on every form gives the form back with an error (4xx), never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from wellness.auth.models import Role, User
from wellness.courses.models import Provider
from wellness.tenants.models import Department, Employer, Site

#: (persona, url, hidden "form" value, a valid submission, fields that must have a type)
FORMS = [
    (None, "/login", None, {"email": "someone@example.com", "password": "x"}, {}),
    (None, "/password/forgot", None, {"email": "someone@example.com"}, {}),
    (None, "/password/reset/{token}", None, {"password": "p" * 12, "confirm": "p" * 12}, {}),
    (
        Role.EMPLOYEE,
        "/account",
        "profile",
        {"profile-name": "N", "profile-locale": "de"},
        {"profile-locale": "klingon"},
    ),
    (
        Role.EMPLOYEE,
        "/account",
        "password",
        {"password-current": PASSWORD, "password-password": "p" * 12, "password-confirm": "p" * 12},
        {},
    ),
    (
        Role.ADMIN,
        "/admin/organisation",
        "department",
        {"department-name": "D", "department-parent_id": "0"},
        {"department-parent_id": "not-a-number"},
    ),
    (Role.ADMIN, "/admin/organisation", "site", {"site-name": "S", "site-city": "C"}, {}),
    (
        Role.ADMIN,
        "/admin/settings",
        None,
        {
            "name": "N",
            "locale": "de",
            "k_participation": "5",
            "k_health": "10",
            "budget_eur": "600",
            "retention_months": "24",
        },
        {
            "k_participation": "many",
            "k_health": "1.5",
            "budget_eur": "lots",
            "retention_months": "-3",
            "locale": "xx",
        },
    ),
    (
        Role.OPERATOR,
        "/operator/",
        "employer",
        {"employer-slug": "new-co", "employer-name": "N", "employer-locale": "de"},
        {"employer-slug": "Not A Slug!", "employer-locale": "xx"},
    ),
    (
        Role.OPERATOR,
        "/operator/",
        "provider",
        {"provider-slug": "new-pro", "provider-name": "N", "provider-city": ""},
        {"provider-slug": "-"},
    ),
]


def _bad_variants(valid: dict[str, str], typed: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each variant breaks one thing in an otherwise valid submission."""
    required = [k for k, v in valid.items() if v]
    variants = {
        "missing": {k: v for k, v in valid.items() if k not in required},
        "empty": {**valid, **dict.fromkeys(required, "")},
        "overlong": {**valid, **dict.fromkeys(required, "x" * 5000)},
    }
    for key, wrong in typed.items():
        variants[f"wrong type {key}"] = {**valid, key: wrong}
    return variants


def _state(db) -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (User, Employer, Provider, Department, Site)
    ) + (db.session.scalar(select(Employer.name)),)


@pytest.mark.parametrize(
    ("persona", "url", "form_name", "valid", "typed"),
    FORMS,
    ids=[f"{url} {name or ''}" for _, url, name, _, _ in FORMS],
)
def test_bad_input_gives_a_form_error_and_changes_nothing(
    app, db, make_employer, make_user, persona, url, form_name, valid, typed
):
    from wellness.auth.services import make_reset_token

    employer = make_employer()
    scope = None if persona is Role.OPERATOR else employer
    user = make_user(persona or Role.EMPLOYEE, employer=scope)
    client = app.test_client()
    if persona is not None:
        login = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert login.status_code == 302
    url = url.format(token=make_reset_token(user))
    before = _state(db)
    hidden = {"form": form_name} if form_name else {}
    for name, payload in _bad_variants(valid, typed).items():
        response = client.post(url, data={**payload, **hidden})
        assert response.status_code in (400, 401), (name, response.status_code)
        page = response.get_data(as_text=True)
        assert "<form" in page, name
        assert 'aria-invalid="true"' in page, name
    for key in valid:
        response = client.post(url, data={**valid, key: "bad\x00value", **hidden})
        assert response.status_code == 400, ("control character", key)
    db.session.expire_all()
    assert _state(db) == before


def test_a_form_part_without_a_name_is_a_bad_request(client) -> None:
    """Found by schemathesis: werkzeug keys such a part as None, which was a 500."""
    body = b"--b\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--b--\r\n"
    response = client.post("/login", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400


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


def test_password_login_stays_on_until_single_sign_on_is_set_up(
    client, db, login, make_employer, make_user
):
    """Otherwise nobody of the employer could sign in any more."""
    employer = make_employer(locale="en")
    login(client, make_user(Role.ADMIN, employer=employer))
    settings = {
        "name": "X",
        "locale": "en",
        "k_participation": "5",
        "k_health": "10",
        "budget_eur": "600",
        "retention_months": "24",
    }  # the password login box unticked

    response = client.post("/admin/settings", data=settings)

    assert response.status_code == 400
    assert "single sign-on is set up" in response.get_data(as_text=True)
    db.session.refresh(employer)
    assert employer.password_login_enabled is True


def test_unknown_language_is_refused(client):
    assert client.post("/language", data={"locale": "xx"}).status_code == 400


@pytest.mark.parametrize(
    ("typed", "cents"), [("450,50", 45050), ("1.200,00", 120000), ("450.50", 45050)]
)
def test_amounts_are_read_as_german_people_type_them(
    client, db, login, make_employer, make_user, typed, cents
):
    employer = make_employer(locale="de")
    login(client, make_user(Role.ADMIN, employer=employer))
    settings = {
        "name": "X",
        "locale": "de",
        "k_participation": "5",
        "k_health": "10",
        "retention_months": "24",
        "password_login_enabled": "y",
    }
    response = client.post("/admin/settings", data={**settings, "budget_eur": typed})
    assert response.status_code == 302
    db.session.refresh(employer)
    assert employer.budget_per_employee_cents == cents
    page = client.get("/admin/settings").get_data(as_text=True)
    assert f'value="{cents // 100:,}'.replace(",", ".") + "," in page


@pytest.mark.parametrize("typed", ["NaN", "Infinity", "zwölf", "1,2,3"])
def test_nonsense_amounts_are_refused(client, login, make_employer, make_user, typed):
    login(client, make_user(Role.ADMIN, employer=make_employer()))
    response = client.post(
        "/admin/settings",
        data={
            "name": "X",
            "locale": "de",
            "k_participation": "5",
            "k_health": "10",
            "retention_months": "24",
            "budget_eur": typed,
        },
    )
    assert response.status_code == 400
    assert "600,00" in response.get_data(as_text=True)


def test_amount_fields_are_text_inputs_showing_the_locale_format(
    client, login, make_employer, make_user
):
    """``type=number`` inputs would refuse the German ``600,00``."""
    login(client, make_user(Role.ADMIN, employer=make_employer(locale="de")))
    page = client.get("/admin/settings").get_data(as_text=True)
    field = page[page.index('name="budget_eur"') - 200 : page.index('name="budget_eur"') + 200]
    assert 'type="text"' in field
    assert 'inputmode="decimal"' in field
    assert 'value="600,00"' in field
