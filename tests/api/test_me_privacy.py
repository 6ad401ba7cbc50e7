"""The privacy API: consents, export and erasure of one's own data, and nobody else's."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from tests.health.test_personal_data import HEALTH_TABLES, add_health_data, stored
from wellness.auth.models import Role
from wellness.auth.scopes import allowed_scopes
from wellness.auth.services import create_api_token
from wellness.health import consent
from wellness.health.models import Consent, ConsentPurpose

PURPOSE = ConsentPurpose.HEALTH_AGGREGATES.value


@pytest.fixture
def employer(make_employer):
    return make_employer(locale="en")


@pytest.fixture
def token_for(db, client, login):
    def build(user):
        if not allowed_scopes(user):  # operators cannot hold tokens: their browser session
            login(client, user)
            return {}
        token = create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return build


@pytest.fixture
def me(db, employer, make_user):
    user = make_user(Role.EMPLOYEE, employer=employer)
    add_health_data(db, user.employee, date.today() - timedelta(days=2))
    return user


@pytest.fixture
def auth(me, token_for):
    return token_for(me)


def _version() -> str:
    return consent.current_text(ConsentPurpose.HEALTH_AGGREGATES).version


def test_consent_round_trip(db, client, auth, me):
    listed = client.get("/api/v1/me/consents", headers=auth)
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert item["purpose"] == PURPOSE
    assert item["given"] is False
    assert item["text"]["version"] == _version()
    assert item["text"]["paragraphs"]
    assert item["history"] == []

    given = client.post(
        "/api/v1/me/consents", json={"purpose": PURPOSE, "version": _version()}, headers=auth
    )
    assert given.status_code == 200
    assert given.get_json()["given"] is True
    assert given.get_json()["given_version"] == _version()

    withdrawn = client.delete(f"/api/v1/me/consents/{PURPOSE}", headers=auth)
    assert withdrawn.status_code == 200
    body = withdrawn.get_json()
    assert body["given"] is False
    assert len(body["history"]) == 1
    assert body["history"][0]["withdrawn_at"] is not None
    # Withdrawing again is fine and changes nothing.
    assert client.delete(f"/api/v1/me/consents/{PURPOSE}", headers=auth).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"purpose": PURPOSE, "version": "1999-01"}, 409),
        ({"purpose": "marketing", "version": "2026-01"}, 404),
        ({"purpose": PURPOSE}, 400),
        ({"purpose": PURPOSE, "version": 2026}, 400),
        (["not", "an", "object"], 400),
    ],
)
def test_invalid_consent_requests_are_problems_and_store_nothing(db, client, auth, body, status):
    response = client.post("/api/v1/me/consents", json=body, headers=auth)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert response.get_json()["detail"]
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 0


def test_unknown_purpose_cannot_be_withdrawn(client, auth):
    assert client.delete("/api/v1/me/consents/marketing", headers=auth).status_code == 404


def test_export_is_the_zip_of_my_data(client, auth, me):
    response = client.get("/api/v1/me/export", headers=auth)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        checkins = next(n for n in names if n.endswith("json/pain_checkins.json"))
        rows = json.loads(archive.read(checkins))
    assert [row["employee_id"] for row in rows] == [me.employee.id]


def test_delete_health_data_erases_mine_only(db, client, auth, me, employer, make_user):
    colleague = make_user(Role.EMPLOYEE, employer=employer).employee
    add_health_data(db, colleague, date.today())
    theirs = stored(db, colleague.id)

    response = client.delete("/api/v1/me/health-data", headers=auth)

    assert response.status_code == 200
    body = response.get_json()
    assert body["deleted"]["pain_checkins"] == 1
    assert body["deleted"]["pain_scores"] == 2
    assert body["measures_unlinked"] == 1
    assert body["enrollments_pseudonymized"] == 0
    assert all(stored(db, me.employee.id)[table] == 0 for table in HEALTH_TABLES)
    assert stored(db, colleague.id) == theirs


ENDPOINTS = [
    ("get", "/api/v1/me/consents", None),
    ("post", "/api/v1/me/consents", {"purpose": PURPOSE, "version": "2026-01"}),
    ("delete", f"/api/v1/me/consents/{PURPOSE}", None),
    ("get", "/api/v1/me/export", None),
    ("delete", "/api/v1/me/health-data", None),
]


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN, Role.PROVIDER, Role.OPERATOR])
def test_no_other_role_reaches_these_endpoints(
    db, client, token_for, me, employer, make_provider, make_user, role
):
    if role == Role.PROVIDER:
        other = make_user(role, provider=make_provider())
    elif role == Role.OPERATOR:
        other = make_user(role)
    else:
        other = make_user(role, employer=employer)  # has an employee record, still refused
    headers = token_for(other)
    before = stored(db, me.employee.id)
    for method, path, body in ENDPOINTS:
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 403, (method, path)
        assert response.content_type == "application/problem+json"
    assert stored(db, me.employee.id) == before


def test_anonymous_callers_get_401(client):
    for method, path, body in ENDPOINTS:
        assert getattr(client, method)(path, json=body).status_code == 401, (method, path)


def test_cookie_sessions_need_the_csrf_header_to_erase(db, make_app, me):
    strict = make_app(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login", data={"email": me.email, "password": PASSWORD, "csrf_token": token})

    assert client.delete("/api/v1/me/health-data").status_code == 400
    assert stored(db, me.employee.id)["pain_checkins"] == 1
    response = client.delete("/api/v1/me/health-data", headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert stored(db, me.employee.id)["pain_checkins"] == 0
