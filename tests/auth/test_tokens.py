"""API tokens: created on the account page and shown once, scoped, expiring, revocable,
limited per token and per address, and never a way into another employer or an HTML page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from wellness.audit.models import AuditEvent
from wellness.auth.models import ApiToken, Role, User, UserRole
from wellness.auth.services import create_api_token
from wellness.db import utcnow
from wellness.extensions import db as _db
from wellness.tenants.models import Employer

TOKEN = re.compile(r"wl_[A-Za-z0-9_-]{20,}")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(user: User, *scopes: str, **kwargs: Any) -> str:
    token = create_api_token(user, "test", scopes or None, **kwargs)
    _db.session.commit()
    return token


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    return make_employer(locale="en")


# --- the account page ------------------------------------------------------------------------


def test_an_employee_creates_a_personal_token_shown_once(
    client: Any, login: Any, make_user: Callable[..., User], employer: Employer
) -> None:
    me = make_user(Role.EMPLOYEE, employer=employer)
    login(client, me)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert 'value="me"' in page  # the only scope an employee may hold
    assert 'value="scim"' not in page

    created = client.post(
        "/account/tokens", data={"name": "my script", "scopes": ["me"], "expires_in_days": "30"}
    )

    assert created.status_code == 201
    token = TOKEN.search(created.get_data(as_text=True))
    assert token is not None
    assert client.get("/api/v1/me/enrollments", headers=bearer(token.group())).status_code == 200
    again = client.get("/account/tokens").get_data(as_text=True)
    assert token.group() not in again  # shown once: only the hash is stored
    assert token.group()[:10] in again
    stored = _db.session.scalars(select(ApiToken).where(ApiToken.user_id == me.id)).one()
    assert stored.token_hash != token.group()
    assert stored.scope_set == {"me"}
    assert stored.expires_at is not None
    assert "auth.token_created" in {e.action for e in _db.session.scalars(select(AuditEvent))}


def test_a_scope_the_account_may_not_hold_is_refused_and_nothing_stored(
    client: Any, login: Any, make_user: Callable[..., User], employer: Employer, english: None
) -> None:
    login(client, make_user(Role.EMPLOYEE, employer=employer))

    refused = client.post(
        "/account/tokens", data={"name": "x", "scopes": ["scim"], "expires_in_days": "30"}
    )

    assert refused.status_code == 400
    assert TOKEN.search(refused.get_data(as_text=True)) is None
    assert _db.session.scalars(select(ApiToken)).first() is None
    with pytest.raises(Exception, match="Choose at least one scope"):
        create_api_token(make_user(Role.HR, employer=employer), "x", ["attendance:write"])


def test_revoking_a_token_ends_it_at_once(
    client: Any, login: Any, make_user: Callable[..., User], employer: Employer
) -> None:
    hr = make_user(Role.HR, employer=employer)
    token = new_token(hr, "analytics:read")
    assert client.get("/api/v1/analytics", headers=bearer(token)).status_code == 200
    login(client, hr)
    stored = _db.session.scalars(select(ApiToken)).one()

    response = client.post(f"/account/tokens/{stored.id}/revoke")

    assert response.status_code == 302
    client.post("/logout")
    assert client.get("/api/v1/analytics", headers=bearer(token)).status_code == 401
    assert "revoked" in login(client, hr).get("/account/tokens").get_data(as_text=True)


def test_nobody_revokes_another_users_token(
    client: Any, login: Any, make_user: Callable[..., User], employer: Employer
) -> None:
    owner = make_user(Role.HR, employer=employer)
    token = new_token(owner, "analytics:read")
    stored = _db.session.scalars(select(ApiToken)).one()
    login(client, make_user(Role.ADMIN, employer=employer))

    assert client.post(f"/account/tokens/{stored.id}/revoke").status_code == 404
    assert client.get("/api/v1/analytics", headers=bearer(token)).status_code == 200


def test_operators_hold_no_tokens(client: Any, login: Any, make_user: Callable[..., User]) -> None:
    login(client, make_user(Role.OPERATOR))

    assert client.get("/account/tokens").status_code == 403
    assert "/account/tokens" not in client.get("/account").get_data(as_text=True)


def test_every_token_expires_after_a_year_at_the_latest(
    make_user: Callable[..., User], employer: Employer, english: None
) -> None:
    hr = make_user(Role.HR, employer=employer)
    new_token(hr)  # no expiry asked for: the longest
    stored = _db.session.scalars(select(ApiToken)).one()
    expires = stored.expires_at
    assert expires is not None
    lifetime = expires.replace(tzinfo=None) - stored.created_at.replace(tzinfo=None)
    assert timedelta(days=364) < lifetime <= timedelta(days=365, seconds=5)

    with pytest.raises(Exception, match="between 1 and"):
        create_api_token(hr, "forever", expires_in=366 * 86400)


# --- what a token may reach ------------------------------------------------------------------


def test_expired_and_revoked_tokens_are_refused(
    client: Any, make_user: Callable[..., User], employer: Employer
) -> None:
    hr = make_user(Role.HR, employer=employer)
    expired, revoked = new_token(hr, expires_in=60), new_token(hr)
    rows = _db.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    rows[0].expires_at = utcnow() - timedelta(seconds=1)
    rows[1].revoked_at = utcnow()
    _db.session.commit()

    for token in (expired, revoked):
        assert client.get("/api/v1/analytics", headers=bearer(token)).status_code == 401


def test_a_token_reaches_only_its_scopes_endpoints(
    client: Any,
    make_user: Callable[..., User],
    make_provider: Callable[..., Any],
    make_offering: Callable[..., Any],
    employer: Employer,
) -> None:
    admin = make_user(Role.ADMIN, Role.EMPLOYEE, employer=employer)
    scim_only = new_token(admin, "scim")
    personal = new_token(admin, "me")

    refused = client.get("/api/v1/analytics", headers=bearer(scim_only))
    assert refused.status_code == 403
    assert "lacks the scope" in refused.get_json()["detail"]
    assert client.get("/api/v1/analytics", headers=bearer(personal)).status_code == 403
    assert client.get("/api/v1/me/enrollments", headers=bearer(personal)).status_code == 200

    provider = make_provider()
    staff = make_user(Role.PROVIDER, provider=provider)
    offering = make_offering(employer, provider=provider)
    reader = new_token(staff, "attendance:read")
    rosters = client.get(
        f"/api/v1/provider/offerings/{offering.id}/roster.csv", headers=bearer(reader)
    )
    assert rosters.status_code == 200
    upload = client.post(
        f"/api/v1/provider/offerings/{offering.id}/attendance",
        data=b"Name;Datum\n",
        headers=bearer(reader) | {"Content-Type": "text/csv"},
    )
    assert upload.status_code == 403


def test_no_token_opens_an_html_page_or_the_dashboard(
    app: Any, make_user: Callable[..., User], employer: Employer
) -> None:
    hr = make_user(Role.HR, Role.EMPLOYEE, employer=employer)
    token = new_token(hr)  # every scope the account may hold

    for url in ("/me", "/account", "/hr/", "/hr/_dash-layout"):
        response = app.test_client().get(url, headers=bearer(token))  # a script keeps no cookie
        assert response.status_code == 403, (url, response.headers.get("Location"))


def test_a_scope_stops_working_when_its_role_is_taken_away(
    client: Any, make_user: Callable[..., User], employer: Employer
) -> None:
    admin = make_user(Role.ADMIN, Role.HR, employer=employer)
    token = new_token(admin, "analytics:read")
    _db.session.execute(
        UserRole.__table__.delete().where(UserRole.user_id == admin.id, UserRole.role == "hr")
    )
    _db.session.commit()
    assert client.get("/api/v1/analytics", headers=bearer(token)).status_code == 200  # admin

    _db.session.execute(UserRole.__table__.delete().where(UserRole.user_id == admin.id))
    _db.session.add(UserRole(user_id=admin.id, role=Role.EMPLOYEE.value))
    _db.session.commit()

    assert client.get("/api/v1/analytics", headers=bearer(token)).status_code == 403


def test_a_token_of_one_employer_cannot_reach_another_employer(
    client: Any,
    make_user: Callable[..., User],
    make_employer: Callable[..., Employer],
    make_provider: Callable[..., Any],
    make_offering: Callable[..., Any],
    employer: Employer,
) -> None:
    theirs = make_offering(employer)
    other = make_employer(locale="en")
    outsider = new_token(make_user(Role.EMPLOYEE, employer=other), "me")

    assert client.get(f"/api/v1/offerings/{theirs.id}", headers=bearer(outsider)).status_code == 404
    enroll = client.post(f"/api/v1/offerings/{theirs.id}/enrollment", headers=bearer(outsider))
    assert enroll.status_code == 404
    foreign_provider = new_token(make_user(Role.PROVIDER, provider=make_provider()))
    roster = client.get(
        f"/api/v1/provider/offerings/{theirs.id}/roster.csv", headers=bearer(foreign_provider)
    )
    assert roster.status_code == 404


# --- rate limits -----------------------------------------------------------------------------


def test_api_calls_are_limited_per_token_and_per_address(
    make_app: Callable[..., Any], make_user: Callable[..., User], employer: Employer
) -> None:
    strict = make_app(
        RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute", API_ADDRESS_RATE_LIMIT="3 per minute"
    )
    client = strict.test_client()
    with strict.app_context():
        first, second = (new_token(make_user(Role.HR, employer=employer)) for _ in range(2))

    statuses = [
        client.get("/api/v1/analytics", headers=bearer(first)).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]  # the token's budget
    assert client.get("/api/v1/analytics", headers=bearer(second)).status_code == 200
    assert client.get("/api/v1/analytics", headers=bearer(second)).status_code == 429  # address
