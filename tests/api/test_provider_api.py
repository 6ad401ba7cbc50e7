"""The provider API: own offerings with counts and sessions, paging, roster files, access."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.attendance.test_roster import berlin_dates, enroll, mark, parse_csv
from wellness.auth.models import Role
from wellness.auth.services import create_api_token


@pytest.fixture
def employer(make_employer):
    return make_employer(locale="en")


@pytest.fixture
def provider(make_provider):
    return make_provider()


@pytest.fixture
def bearer(db, make_user):
    """Authorization headers for a new user with ``role`` (and ``provider``/``employer``)."""

    def build(role: Role = Role.PROVIDER, **fields):
        user = make_user(role, **fields)
        token = create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return build


@pytest.fixture
def trainer(bearer, provider):
    return bearer(provider=provider, locale="en")


def test_list_shows_own_offerings_with_counts_sessions_and_roster_links(
    client, employer, provider, make_offering, make_provider, make_user, make_employer, trainer
):
    mine = make_offering(employer, provider=provider, capacity=1, sessions=2)
    other_employer = make_offering(make_employer(), provider=provider, starts_in_days=30)
    make_offering(employer, provider=make_provider(), title="Fremder Kurs")
    enroll(make_user, employer, mine, "Anna Arnold")
    enroll(make_user, employer, mine, "Bert Brandt")  # waitlisted

    response = client.get("/api/v1/provider/offerings", headers=trainer)

    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [other_employer.id, mine.id]
    assert (body["total"], body["page"], body["pages"], body["per_page"]) == (2, 1, 1, 20)
    item = body["items"][1]
    assert item["course"]["title"] == "Neue Rückenschule"
    assert item["course"]["zpp_course_id"] == mine.course.zpp_course_id
    assert item["status"] == "published"
    assert (item["starts_on"], item["ends_on"]) == (
        mine.starts_on.isoformat(),
        mine.ends_on.isoformat(),
    )
    assert (item["participants"], item["waitlist_length"]) == (1, 1)
    assert [s["starts_at"] for s in item["sessions"]] == [
        s.starts_at.isoformat() for s in mine.sessions
    ]
    assert item["roster"] == {
        "csv": f"/api/v1/provider/offerings/{mine.id}/roster.csv",
        "xlsx": f"/api/v1/provider/offerings/{mine.id}/roster.xlsx",
    }
    assert (body["items"][0]["participants"], body["items"][0]["waitlist_length"]) == (0, 0)


def test_list_pages_through_offerings(client, provider, make_offering, trainer):
    for days in (10, 20, 30):
        make_offering(None, provider=provider, starts_in_days=days)
    first = client.get("/api/v1/provider/offerings?per_page=2", headers=trainer).get_json()
    second = client.get("/api/v1/provider/offerings?per_page=2&page=2", headers=trainer)
    body = second.get_json()
    assert (len(first["items"]), len(body["items"]), body["pages"], body["total"]) == (2, 1, 2, 3)
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in body["items"])
    past_end = client.get("/api/v1/provider/offerings?per_page=2&page=9", headers=trainer)
    assert past_end.get_json()["page"] == 2


@pytest.mark.parametrize("query", ["per_page=1000", "page=0", "page=two"])
def test_bad_paging_parameters_are_problems(client, trainer, query):
    response = client.get(f"/api/v1/provider/offerings?{query}", headers=trainer)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(("locale", "delimiter"), [("en", ","), ("de", ";")])
def test_roster_csv_in_the_token_users_language(
    client, db, employer, provider, make_offering, make_user, bearer, locale, delimiter
):
    offering = make_offering(employer, provider=provider, sessions=2)
    anna = enroll(make_user, employer, offering, '=HYPERLINK("http://evil")')
    mark(db, anna, offering.sessions[1], "present")

    response = client.get(
        f"/api/v1/provider/offerings/{offering.id}/roster.csv",
        headers=bearer(provider=provider, locale=locale),
    )

    assert response.status_code == 200
    table = parse_csv(response.data, delimiter)
    fmt, word = ("%Y-%m-%d", "present") if locale == "en" else ("%d.%m.%Y", "anwesend")
    assert table[0][2:] == berlin_dates(offering, fmt)
    assert table[1] == [anna.participant_code, '\'=HYPERLINK("http://evil")', "", word]


def test_roster_xlsx(client, employer, provider, make_offering, make_user, trainer):
    offering = make_offering(employer, provider=provider, sessions=2)
    anna = enroll(make_user, employer, offering, "+1")
    response = client.get(f"/api/v1/provider/offerings/{offering.id}/roster.xlsx", headers=trainer)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Participant code", "Name", *berlin_dates(offering, "%Y-%m-%d")]
    assert rows[1] == [anna.participant_code, "+1", None, None]
    assert sheet["B2"].data_type == "s"


@pytest.mark.parametrize("path", ["roster.csv", "roster.xlsx"])
def test_another_providers_offering_is_a_404_problem(
    client, employer, make_offering, make_provider, trainer, path
):
    foreign = make_offering(employer, provider=make_provider())
    response = client.get(f"/api/v1/provider/offerings/{foreign.id}/{path}", headers=trainer)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.HR, Role.ADMIN])
@pytest.mark.parametrize("path", ["", "/1/roster.csv", "/1/roster.xlsx"])
def test_only_providers_may_use_the_provider_api(client, bearer, employer, role, path):
    response = client.get(
        f"/api/v1/provider/offerings{path}", headers=bearer(role, employer=employer)
    )
    assert response.status_code == 403


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/provider/offerings").status_code == 401
