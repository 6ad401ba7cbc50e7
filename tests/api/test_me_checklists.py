"""``/api/v1/me/checklists``: own responses with scores, templates to answer, submitting."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.health.test_checklists import valid_answers
from wellness.auth.models import Role
from wellness.auth.services import create_api_token
from wellness.health.checklists import load_shipped_templates
from wellness.health.models import ChecklistAnswer, ChecklistResponse, ChecklistTemplate
from wellness.health.templates_admin import copy_template, publish


@pytest.fixture
def employer(make_employer):
    """English, so the asserted messages read as in the source."""
    return make_employer(locale="en")


@pytest.fixture
def screen(db) -> ChecklistTemplate:
    templates = {t.key: t for t in load_shipped_templates()}
    db.session.commit()
    return templates["screen-workstation"]


@pytest.fixture
def bearer(db, employer, make_user):
    """Authorization headers of a new user (an employee of ``employer`` by default)."""

    def build(*roles: Role, **fields):
        user = make_user(*(roles or (Role.EMPLOYEE,)), **({"employer": employer} | fields))
        token = create_api_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return build


def _body(template: ChecklistTemplate, **answers) -> dict:
    return {
        "template": template.key,
        "version": template.version,
        "workplace": "office",
        "answers": valid_answers(template, **answers),
    }


def _stored(db) -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(ChecklistResponse)),
        db.session.scalar(select(func.count()).select_from(ChecklistAnswer)),
    )


def test_templates_list_what_to_send(client, bearer):
    answer = client.get("/api/v1/me/checklists/templates", headers=bearer())
    assert answer.status_code == 200
    templates = {t["key"]: t for t in answer.get_json()["items"]}
    assert set(templates) == {"screen-workstation", "home-office"}
    screen = templates["screen-workstation"]
    assert screen["version"] == 1
    assert screen["workplace"] == "office"
    assert templates["home-office"]["workplace"] == "home"
    items = {item["key"]: item for item in screen["items"]}
    assert items["screen_height"]["choices"] == ["yes", "partly", "no"]
    assert items["document_holder"]["choices"] == ["yes", "partly", "no", "na"]
    assert items["viewing_distance"] | {"question": "", "help": ""} == {
        "key": "viewing_distance",
        "area": "screen",
        "question": "",
        "help": "",
        "answer_type": "number",
        "weight": 2,
        "unit": "cm",
        "min": 20,
        "max": 250,
    }
    assert items["screen_height"]["question"].startswith("Is the top line of text")


def test_submit_and_list_own_responses_with_scores(client, bearer, screen, db):
    headers = bearer()
    body = _body(screen, chair_height="no", viewing_distance=70, screen_diagonal=24)
    created = client.post("/api/v1/me/checklists", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    response = created.get_json()
    assert response["template"] == {
        "key": "screen-workstation",
        "version": 1,
        "title": "Screen workstation: ergonomic self-check",
    }
    assert 0 < response["score"] < 100
    areas = {a["area"]: a["score"] for a in response["areas"]}
    assert areas["keyboard_mouse"] == 100
    assert areas["chair"] < 100
    assert response["to_fix"][:2] == ["chair_height", "viewing_distance"]
    assert response["answers"]["viewing_distance"] == 70
    assert response["answers"]["chair_height"] == "no"

    listed = client.get("/api/v1/me/checklists", headers=headers).get_json()["items"]
    assert [r["id"] for r in listed] == [response["id"]]
    assert listed[0]["score"] == response["score"]
    # Another employee of the same employer sees none of it.
    assert client.get("/api/v1/me/checklists", headers=bearer()).get_json() == {"items": []}


def test_workplace_defaults_to_the_templates_own(client, bearer, db):
    home = next(t for t in load_shipped_templates() if t.key == "home-office")
    db.session.commit()
    body = _body(home)
    del body["workplace"]
    created = client.post("/api/v1/me/checklists", json=body, headers=bearer())
    assert created.status_code == 201
    assert created.get_json()["workplace"] == "home"


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({"viewing_distance": 500}, {"viewing_distance": "Enter a value between 20 and 250 cm."}),
        ({"viewing_distance": True}, {"viewing_distance": "Enter a number such as 65."}),
        (
            {"screen_height": "na"},
            {"screen_height": "Choose one of: Yes (yes), Partly (partly), No (no)."},
        ),
        ({"mouse": 1}, {"mouse": "Choose one of: Yes (yes), Partly (partly), No (no)."}),
        ({"chair_height": None}, {"chair_height": "Please answer this question."}),
        ({"bogus": "yes"}, {"bogus": "This checklist has no question with this key."}),
    ],
)
def test_invalid_answers_give_a_problem_per_item_and_store_nothing(
    client, bearer, screen, db, answers, errors
):
    answer = client.post("/api/v1/me/checklists", json=_body(screen, **answers), headers=bearer())
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.get_json()
    assert problem["status"] == 422
    assert "nothing was saved" in problem["detail"]
    assert {e["item"]: e["detail"] for e in problem["errors"]} == errors
    assert _stored(db) == (0, 0)


def test_missing_answers_are_all_listed(client, bearer, screen, db):
    body = _body(screen)
    body["answers"] = {"screen_height": "yes"}
    problem = client.post("/api/v1/me/checklists", json=body, headers=bearer()).get_json()
    assert len(problem["errors"]) == len(screen.items) - 1
    assert _stored(db) == (0, 0)


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"version": 2}, 409, "you answered version 2, the current one is version 1"),
        ({"version": "1; drop"}, 422, "version"),
        ({"template": "nope"}, 404, "There is no checklist 'nope' for you."),
        ({"template": 7}, 400, "Name the checklist"),
        ({"answers": ["yes"]}, 400, "Send 'answers' as an object"),
        ({"workplace": "car"}, 422, "office or home"),
    ],
)
def test_tampered_or_malformed_submissions_are_refused(
    client, bearer, screen, db, change, status, detail
):
    answer = client.post("/api/v1/me/checklists", json=_body(screen) | change, headers=bearer())
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.get_json()
    assert detail in problem["detail"] + str(problem.get("errors", ""))
    assert _stored(db) == (0, 0)


def test_not_json_is_refused(client, bearer, db):
    answer = client.post("/api/v1/me/checklists", data="screen=yes", headers=bearer())
    assert answer.status_code == 400
    assert _stored(db) == (0, 0)


def test_another_employers_copy_is_not_available(
    client, bearer, screen, db, make_employer, make_user
):
    other = make_employer()
    admin = make_user(Role.ADMIN, employer=other)
    copy = copy_template(other.id, screen.id, admin.id)
    publish(other.id, copy.id, admin.id)
    db.session.commit()
    headers = bearer()
    keys = {
        t["key"]
        for t in client.get("/api/v1/me/checklists/templates", headers=headers).get_json()["items"]
    }
    assert copy.key not in keys
    answer = client.post("/api/v1/me/checklists", json=_body(copy), headers=headers)
    assert answer.status_code == 404
    assert _stored(db) == (0, 0)
    # The employer's own employees do see and answer it.
    own = bearer(employer=other)
    assert client.post("/api/v1/me/checklists", json=_body(copy), headers=own).status_code == 201


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_other_roles_of_the_employer_read_no_responses(client, bearer, screen, db, role):
    employee = bearer()
    client.post("/api/v1/me/checklists", json=_body(screen), headers=employee)
    for path in ("/api/v1/me/checklists", "/api/v1/me/checklists/templates"):
        assert client.get(path, headers=bearer(role)).status_code == 403
    assert (
        client.post("/api/v1/me/checklists", json=_body(screen), headers=bearer(role)).status_code
        == 403
    )


def test_providers_and_anonymous_callers_are_refused(client, bearer, make_provider, screen):
    provider = bearer(Role.PROVIDER, employer=None, provider=make_provider())
    assert client.get("/api/v1/me/checklists", headers=provider).status_code == 403
    assert client.get("/api/v1/me/checklists").status_code == 401
    assert client.post("/api/v1/me/checklists", json=_body(screen)).status_code == 401
