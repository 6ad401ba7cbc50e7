"""The employee JSON API: catalog, enrollment, own enrollments; bearer token or session."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.db import utcnow


@pytest.fixture
def employer(make_employer):
    """English, so the asserted messages read as in the source; German is the default."""
    return make_employer(locale="en")


@pytest.fixture
def bearer(db, employer, make_user):
    """Authorization headers of a new employee of ``employer``."""

    def build(role: Role = Role.EMPLOYEE, of=None):
        user = make_user(role, employer=of or employer)
        token = create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return build


def test_catalog_lists_only_offerings_opened_to_the_employer(
    client, bearer, employer, make_employer, make_offering
):
    mine = make_offering(employer, title="Neue Rückenschule")
    make_offering(make_employer(), title="Fremder Kurs")
    response = client.get("/api/v1/offerings", headers=bearer())
    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [mine.id]
    assert body["total"] == 1
    assert body["page"] == 1
    item = body["items"][0]
    assert item["course"]["title"] == "Neue Rückenschule"
    assert item["course"]["certified"] is True
    assert item["course"]["zpp_course_id"].startswith("KU-BE-")
    assert item["course"]["field_of_action"] == "movement"
    assert item["seats_left"] == 10
    assert item["waitlist_length"] == 0
    assert item["enrollment_open"] is True
    assert item["price"] == {"amount": "150.00", "currency": "EUR"}
    assert item["employer_subsidy"] == {"amount": "100.00", "currency": "EUR"}
    assert item["calendar_url"] == f"/offerings/{mine.id}/calendar.ics"


def test_catalog_filters_and_paginates(client, bearer, employer, make_offering):
    make_offering(employer, title="Neue Rückenschule", city="Köln")
    make_offering(employer, title="Stressbewältigung", field_of_action="stress", city="Hamburg")
    make_offering(employer, title="Rückenkräftigung", city="Hamburg")
    headers = bearer()

    def titles(query: str) -> list[str]:
        items = client.get(f"/api/v1/offerings?{query}", headers=headers).get_json()["items"]
        return sorted(i["course"]["title"] for i in items)

    assert titles("q=rückenschule") == ["Neue Rückenschule"]
    assert titles("q=RÜCKENKRÄFTIGUNG") == ["Rückenkräftigung"]
    assert titles("field_of_action=stress") == ["Stressbewältigung"]
    assert titles("city=hamburg") == ["Rückenkräftigung", "Stressbewältigung"]
    page = client.get("/api/v1/offerings?per_page=2&page=2", headers=headers).get_json()
    assert (len(page["items"]), page["pages"], page["total"]) == (1, 2, 3)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page=zero", "page"),
        ("per_page=1000", "per_page"),
        ("from=31.03.2026", "from"),
        ("format=party", "format"),
    ],
)
def test_bad_parameters_are_problem_details_naming_the_parameter(client, bearer, query, parameter):
    response = client.get(f"/api/v1/offerings?{query}", headers=bearer())
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert f"'{parameter}'" in response.get_json()["detail"]


def test_offering_detail_has_sessions(client, bearer, employer, make_offering):
    offering = make_offering(employer, sessions=3)
    body = client.get(f"/api/v1/offerings/{offering.id}", headers=bearer()).get_json()
    assert len(body["sessions"]) == 3
    assert body["sessions"][0]["starts_at"].endswith("+00:00")


def test_offering_of_another_employer_is_not_found(client, bearer, make_employer, make_offering):
    foreign = make_offering(make_employer())
    response = client.get(f"/api/v1/offerings/{foreign.id}", headers=bearer())
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_enroll_waitlist_conflict_and_cancel(client, bearer, employer, make_offering):
    offering = make_offering(employer, capacity=1)
    first, second = bearer(), bearer()
    url = f"/api/v1/offerings/{offering.id}/enrollment"

    seated = client.post(url, headers=first)
    assert (seated.status_code, seated.get_json()["status"]) == (201, "enrolled")
    assert seated.get_json()["you_pay"] == {"amount": "50.00", "currency": "EUR"}
    queued = client.post(url, headers=second)
    assert queued.status_code == 201
    assert (queued.get_json()["status"], queued.get_json()["waitlist_position"]) == (
        "waitlisted",
        1,
    )
    again = client.post(url, headers=first)
    assert again.status_code == 409
    assert "already enrolled" in again.get_json()["detail"]

    cancelled = client.delete(url, headers=first)
    assert (cancelled.status_code, cancelled.get_json()["status"]) == (200, "cancelled")
    mine = client.get("/api/v1/me/enrollments", headers=second).get_json()["items"]
    assert mine == [
        {
            "offering_id": offering.id,
            "status": "enrolled",
            "waitlist_position": None,
            "employer_pays": {"amount": "100.00", "currency": "EUR"},
            "you_pay": {"amount": "50.00", "currency": "EUR"},
        }
    ]


def test_refusal_is_422_with_the_reason(client, bearer, employer, make_offering):
    offering = make_offering(employer, enrollment_closes_at=utcnow() - timedelta(hours=1))
    response = client.post(f"/api/v1/offerings/{offering.id}/enrollment", headers=bearer())
    assert response.status_code == 422
    assert response.get_json()["detail"].startswith("Enrollment closed on")


def test_api_needs_authentication(client):
    response = client.get("/api/v1/offerings")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("token", ["wl_not-a-token", ""])
def test_unknown_token_is_unauthorized(client, token):
    response = client.get("/api/v1/offerings", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_revoked_and_expired_tokens_are_unauthorized(db, client, employer, make_user):
    from wellness.auth.models import ApiToken

    user = make_user(employer=employer)
    revoked = create_api_token(user, "revoked")
    expired = create_api_token(user, "expired", expires_in=60)
    tokens = {t.name: t for t in db.session.query(ApiToken).all()}
    tokens["revoked"].revoked_at = utcnow()
    tokens["expired"].expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    for token in (revoked, expired):
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/offerings", headers=headers).status_code == 401


def test_hr_and_providers_cannot_enroll(client, bearer, employer, make_offering):
    offering = make_offering(employer)
    response = client.post(f"/api/v1/offerings/{offering.id}/enrollment", headers=bearer(Role.HR))
    assert response.status_code == 403


def test_session_clients_need_the_csrf_header_for_changes(
    make_app, db, employer, make_user, make_offering
):
    import re

    strict = make_app(WTF_CSRF_ENABLED=True)
    offering = make_offering(employer)
    user = make_user(employer=employer)
    client = strict.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post(
        "/login",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": token},
    )
    url = f"/api/v1/offerings/{offering.id}/enrollment"
    assert client.get("/api/v1/offerings").status_code == 200
    assert client.post(url).status_code == 400
    assert client.post(url, headers={"X-CSRFToken": token}).status_code == 201
