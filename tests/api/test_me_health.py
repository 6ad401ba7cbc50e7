"""The employee's own pain check-ins and training log over the API: list, create, problem
details that name the refused field, and no other role or person reaching any of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from wellness.auth.models import Role
from wellness.auth.scopes import allowed_scopes
from wellness.auth.services import create_api_token
from wellness.db import utcnow
from wellness.health.models import BodyRegion, ExerciseLog, PainCheckin, PainScore
from wellness.i18n import local_today


@pytest.fixture
def employer(make_employer):
    """English, so the asserted messages read as in the source; German is the default."""
    return make_employer(locale="en")


@pytest.fixture
def bearer(db, client, login, employer, make_user):
    """Authorization headers of a new user (an employee of ``employer`` by default); an
    operator, who cannot hold a token, is signed in with a browser session instead."""

    def build(role: Role = Role.EMPLOYEE, **kwargs):
        if role is not Role.OPERATOR and "provider" not in kwargs:
            kwargs.setdefault("employer", employer)
        user = make_user(role, **kwargs)
        if not allowed_scopes(user):
            login(client, user)
            return {}
        token = create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return build


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _today():
    return local_today(utcnow())


def test_checkin_is_created_then_replaced_the_same_day(client, db, bearer):
    headers = bearer()

    first = client.post(
        "/api/v1/me/checkins",
        json={"scores": {"low_back": 6, "neck": 2}, "prevented_activity": True},
        headers=headers,
    )
    again = client.post("/api/v1/me/checkins", json={"scores": {"low_back": 4}}, headers=headers)

    assert first.status_code == 201
    assert first.get_json() == {
        "checked_on": _today().isoformat(),
        "prevented_activity": True,
        "scores": {region.value: 0 for region in BodyRegion} | {"low_back": 6, "neck": 2},
    }
    assert again.status_code == 200
    assert again.get_json()["scores"]["low_back"] == 4
    assert again.get_json()["scores"]["neck"] == 0
    assert _count(db, PainCheckin) == 1
    assert first.headers["Cache-Control"] == "private, no-store"


def test_checkins_are_listed_newest_first_with_pages(client, bearer):
    headers = bearer()
    for days_ago, nrs in ((20, 7), (10, 5), (0, 3)):
        day = (_today() - timedelta(days=days_ago)).isoformat()
        response = client.post(
            "/api/v1/me/checkins",
            json={"checked_on": day, "scores": {"low_back": nrs}},
            headers=headers,
        )
        assert response.status_code == 201, response.get_json()

    body = client.get("/api/v1/me/checkins?per_page=2", headers=headers).get_json()

    assert [item["scores"]["low_back"] for item in body["items"]] == [3, 5]
    assert (body["total"], body["pages"], body["page"]) == (3, 2, 1)
    older = client.get("/api/v1/me/checkins?per_page=2&page=2", headers=headers).get_json()
    assert [item["scores"]["low_back"] for item in older["items"]] == [7]


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"scores": {"low_back": 11}}, "scores.low_back", "Low back: the pain score must be"),
        ({"scores": {"neck": -1}}, "scores.neck", "from 0 (no pain) to 10"),
        ({"scores": {"neck": 2.5}}, "scores.neck", "whole number"),
        ({"scores": {"lower_back": 3}}, "scores.lower_back", "is not a body region"),
        ({"scores": [3]}, "scores", "Send the scores as an object"),
        ({"scores": {"knees": 2}, "checked_on": "2999-01-01"}, "checked_on", "in the future"),
        ({"scores": {"knees": 2}, "checked_on": "2020-01-01"}, "checked_on", "at most 90 days"),
        ({"scores": {"knees": 2}, "checked_on": "yesterday"}, "checked_on", "a date like"),
        ({"scores": {"knees": 2}, "checked_on": 20260101}, "checked_on", "a date like"),
        ({"scores": {}, "prevented_activity": True}, "prevented_activity", "above 0"),
        ({"scores": {"knees": 2}, "prevented_activity": "yes"}, "prevented_activity", "Answer"),
    ],
)
def test_bad_checkins_answer_422_naming_the_field_and_store_nothing(
    client, db, bearer, body, field, detail
):
    response = client.post("/api/v1/me/checkins", json=body, headers=bearer())

    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422
    assert detail in problem["detail"]
    assert problem["invalid-params"] == [{"name": field, "reason": problem["detail"]}]
    assert _count(db, PainCheckin) == _count(db, PainScore) == 0


def test_a_body_that_is_not_json_is_refused(client, db, bearer):
    response = client.post(
        "/api/v1/me/checkins", data="low_back=3", headers=bearer(), content_type="text/plain"
    )

    assert response.status_code == 422
    assert response.get_json()["invalid-params"][0]["name"] == "body"
    assert _count(db, PainCheckin) == 0


def test_training_session_is_created_and_listed(client, db, bearer):
    headers = bearer()
    day = (_today() - timedelta(days=1)).isoformat()

    response = client.post(
        "/api/v1/me/training",
        json={
            "performed_on": day,
            "entries": [
                {"exercise": "bridge", "sets": 3, "reps": 12},
                {"exercise": "stretching", "minutes": 10},
            ],
        },
        headers=headers,
    )

    assert response.status_code == 201
    created = response.get_json()
    assert created["performed_on"] == day
    assert created["entries"] == [
        {"exercise": "bridge", "sets": 3, "reps": 12, "minutes": None},
        {"exercise": "stretching", "sets": None, "reps": None, "minutes": 10},
    ]
    listed = client.get("/api/v1/me/training", headers=headers).get_json()
    assert listed["items"] == [created]
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        ({"entries": []}, "entries", "Add at least one exercise"),
        ({"entries": "bridge"}, "entries", "must be a list"),
        ({}, "entries", "must be a list"),
        ({"entries": ["bridge"]}, "entries[0]", "Each entry must be an object"),
        ({"entries": [{"exercise": "burpee", "reps": 10}]}, "entries[0].exercise", "burpee"),
        ({"entries": [{"reps": 10}]}, "entries[0].exercise", "Name the exercise"),
        (
            {"entries": [{"exercise": "squat", "reps": 10}, {"exercise": "bridge", "reps": 999}]},
            "entries[1].reps",
            "Bridge: enter the repetitions per set",
        ),
        ({"entries": [{"exercise": "plank", "minutes": 0}]}, "entries[0].minutes", "Plank"),
        (
            {"entries": [{"exercise": "bridge", "reps": 10}], "performed_on": "2999-01-01"},
            "performed_on",
            "in the future",
        ),
    ],
)
def test_bad_training_sessions_answer_422_naming_the_field_and_store_nothing(
    client, db, bearer, body, field, detail
):
    response = client.post("/api/v1/me/training", json=body, headers=bearer())

    assert response.status_code == 422
    problem = response.get_json()
    assert detail in problem["detail"]
    assert problem["invalid-params"][0]["name"] == field
    assert _count(db, ExerciseLog) == 0


def test_each_employee_reads_only_their_own_records(client, bearer):
    anna, bert = bearer(), bearer()
    client.post("/api/v1/me/checkins", json={"scores": {"knees": 8}}, headers=anna)
    client.post(
        "/api/v1/me/training",
        json={"entries": [{"exercise": "squat", "reps": 10}]},
        headers=anna,
    )

    for url in ("/api/v1/me/checkins", "/api/v1/me/training"):
        body = client.get(url, headers=bert).get_json()
        assert body["items"] == []
        assert body["total"] == 0


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN, Role.PROVIDER, Role.OPERATOR])
def test_no_other_role_reaches_the_endpoints(client, db, bearer, make_provider, role):
    client.post("/api/v1/me/checkins", json={"scores": {"knees": 8}}, headers=bearer())
    kwargs = {"provider": make_provider()} if role is Role.PROVIDER else {}
    headers = bearer(role, **kwargs)

    for url in ("/api/v1/me/checkins", "/api/v1/me/training"):
        response = client.get(url, headers=headers)
        assert response.status_code == 403, (role, url)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "knees" not in response.get_data(as_text=True)
    refused = client.post("/api/v1/me/checkins", json={"scores": {"neck": 1}}, headers=headers)
    assert refused.status_code == 403
    assert _count(db, PainCheckin) == 1


def test_without_credentials_the_endpoints_answer_401(client):
    for url in ("/api/v1/me/checkins", "/api/v1/me/training"):
        assert client.get(url).status_code == 401
        assert client.post(url, json={}).status_code == 401
