"""The workstation checklist: shipped templates, scoring, answering, result, and who may read it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from wellness.auth.models import Role
from wellness.health.checklist_scoring import evaluate
from wellness.health.checklists import (
    current_template,
    load_shipped_templates,
    rules_for,
    submit_response,
)
from wellness.health.measures import MEASURE_KINDS
from wellness.health.models import ChecklistAnswer, ChecklistResponse, ChecklistTemplate
from wellness.health.templates_admin import copy_template, publish

pytestmark = pytest.mark.usefixtures("english")

AREAS = {
    "screen",
    "keyboard_mouse",
    "chair",
    "desk",
    "accessories",
    "lighting",
    "climate_noise",
    "breaks",
    "eyes",
    "home_office",
}


def valid_answers(template: ChecklistTemplate, **overrides: Any) -> dict[str, Any]:
    """A complete, valid set of answers: "yes" everywhere, a 24-inch screen at 95 cm."""
    numbers = {"screen_diagonal": 24, "viewing_distance": 95}
    answers: dict[str, Any] = {
        item.key: numbers[item.key] if item.answer_type == "number" else "yes"
        for item in template.items
    }
    return answers | overrides


def form_data(template: ChecklistTemplate, **overrides: Any) -> dict[str, str]:
    """The fill form as a browser posts it."""
    data = {f"answer-{k}": str(v) for k, v in valid_answers(template, **overrides).items()}
    return data | {"version": str(template.version), "workplace": "office"}


def stored(db: Any) -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(ChecklistResponse)),
        db.session.scalar(select(func.count()).select_from(ChecklistAnswer)),
    )


@pytest.fixture
def screen(db, employer) -> ChecklistTemplate:
    templates = {t.key: t for t in load_shipped_templates()}
    db.session.commit()
    return templates["screen-workstation"]


@pytest.fixture
def employee(make_user, employer):
    return make_user(Role.EMPLOYEE, employer=employer, name="Erika Muster")


@pytest.fixture
def signed_in(client, login, employee, screen):
    return login(client, employee)


# --- shipped data -------------------------------------------------------------------------


def test_shipped_templates_cover_every_area_in_german_and_english(db):
    templates = {t.key: t for t in load_shipped_templates()}
    assert set(templates) == {"screen-workstation", "home-office"}
    assert {i.area for i in templates["screen-workstation"].items} == AREAS
    assert {i.area for i in templates["home-office"].items} == AREAS
    for template in templates.values():
        assert template.title_de
        assert template.title_en
        for item in template.items:
            assert all((item.question_de, item.question_en, item.help_de, item.help_en))
            assert item.question_de != item.question_en
            assert item.suggested_measure is None or item.suggested_measure in MEASURE_KINDS
            if item.answer_type == "number":
                assert item.unit in {"cm", "inch"}


def test_home_office_template_is_for_home_and_checks_distance_against_screen(db):
    home = next(t for t in load_shipped_templates() if t.key == "home-office")
    rules = rules_for(home)
    assert rules.workplace == "home"
    distance = rules.item("viewing_distance").relative_to
    assert distance is not None
    assert distance.item == "screen_diagonal"
    assert "home_fixed_place" in {i.key for i in home.items}


@pytest.mark.parametrize(
    ("diagonal", "distance", "fine", "low", "high"),
    [
        (24, 70, 0.0, 73, 134),  # too close for 24 inches, although above 50 cm
        (24, 95, 1.0, 73, 134),
        (15.6, 60, 1.0, 50, 87),  # a laptop: the 50 cm minimum applies
        (32, 95, 0.0, 98, 179),
    ],
)
def test_viewing_distance_is_checked_against_the_screen_diagonal(
    db, screen, diagonal, distance, fine, low, high
):
    answered = [
        (item, None, {"screen_diagonal": diagonal, "viewing_distance": distance}[item.key])
        for item in screen.items
        if item.answer_type == "number"
    ]
    result = next(
        r
        for r in evaluate(answered, rules_for(screen).items).results
        if r.item.key == "viewing_distance"
    )
    assert result.fulfilment == fine
    assert (result.target.low, result.target.high) == (low, high)
    assert result.target.reference == diagonal


def test_partly_counts_half_not_applicable_not_at_all_and_worst_items_come_first(db, screen):
    by_key = {item.key: item for item in screen.items}
    answered = [
        (by_key["screen_height"], "partly", None),  # weight 3
        (by_key["chair_height"], "no", None),  # weight 3
        (by_key["mouse"], "no", None),  # weight 1
        (by_key["document_holder"], "na", None),
        (by_key["breaks"], "yes", None),  # weight 2
    ]
    evaluation = evaluate(answered, rules_for(screen).items)
    assert evaluation.score == round(100 * (1.5 + 0 + 0 + 2) / 9)
    assert [r.item.key for r in evaluation.to_fix] == ["chair_height", "screen_height", "mouse"]
    areas = {a.area: a.score for a in evaluation.areas}
    assert areas["accessories"] is None
    assert areas["screen"] == 50


# --- answering ----------------------------------------------------------------------------


def test_employee_fills_the_checklist_and_sees_scores_and_tips(client, signed_in, screen, db):
    page = client.get("/me/checklists")
    assert page.status_code == 200
    assert "Screen workstation: ergonomic self-check" in page.get_data(as_text=True)
    assert "Home office: ergonomic self-check" in page.get_data(as_text=True)

    form = client.get("/me/checklists/screen-workstation")
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "How large is your screen (screen diagonal in inches)?" in html
    assert 'name="version" value="1"' in html

    data = form_data(screen, chair_height="no", screen_height="partly", viewing_distance="70")
    response = client.post("/me/checklists/screen-workstation", data=data)
    assert response.status_code == 302
    saved = db.session.scalars(select(ChecklistResponse)).one()
    assert saved.template_id == screen.id
    assert saved.workplace == "office"
    assert 0 < saved.score < 100
    assert response.headers["Location"].endswith(f"/me/checklists/results/{saved.id}")

    result = client.get(response.headers["Location"])
    html = result.get_data(as_text=True)
    assert result.status_code == 200
    assert result.headers["Cache-Control"] == "private, no-store"
    assert "Score per area" in html
    assert "Fix these first" in html
    # The heaviest shortfalls first, each with its fix and a way to ask for a measure.
    assert html.index("Is the seat height set") < html.index("Is the top line of text")
    assert "Thighs roughly horizontal" in html
    assert "73 to 134 cm, ideally about 98 cm" in html
    assert "Request a measure: Office chair" in html


def test_german_questions_for_german_speakers(client, login, make_employer, make_user, db):
    load_shipped_templates()
    db.session.commit()
    employer = make_employer(locale="de")
    login(client, make_user(Role.EMPLOYEE, employer=employer))
    html = client.get("/me/checklists/screen-workstation").get_data(as_text=True)
    assert "Wie groß ist Ihr Bildschirm (Bildschirmdiagonale in Zoll)?" in html


@pytest.mark.parametrize(
    ("overrides", "item", "message"),
    [
        ({"viewing_distance": "5"}, "viewing_distance", "Enter a value between 20 and 250 cm."),
        ({"viewing_distance": "seventy"}, "viewing_distance", "Enter a number such as 65."),
        ({"screen_diagonal": "-3"}, "screen_diagonal", "Enter a number such as 65."),
        ({"screen_height": "na"}, "screen_height", "Choose one of: Yes (yes), Partly (partly)"),
        ({"document_holder": "maybe"}, "document_holder", "Choose one of:"),
        ({"chair_height": ""}, "chair_height", "Please answer this question."),
    ],
)
def test_invalid_answers_are_refused_with_a_clear_message_and_nothing_is_stored(
    client, signed_in, screen, db, overrides, item, message
):
    response = client.post("/me/checklists/screen-workstation", data=form_data(screen, **overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nothing was saved" in html
    assert message in html
    assert f'href="#q-{item}"' in html
    assert stored(db) == (0, 0)


def test_workplace_must_be_office_or_home(client, signed_in, screen, db):
    data = form_data(screen) | {"workplace": "garden"}
    response = client.post("/me/checklists/screen-workstation", data=data)
    assert response.status_code == 422
    assert "Choose where this workstation is" in response.get_data(as_text=True)
    assert stored(db) == (0, 0)


@pytest.mark.parametrize("version", ["2", "0", "x"])
def test_tampered_template_version_is_refused_and_nothing_is_stored(
    client, signed_in, screen, db, version
):
    data = form_data(screen) | {"version": version}
    response = client.post("/me/checklists/screen-workstation", data=data)
    assert response.status_code in {409, 422}
    html = response.get_data(as_text=True)
    assert "version" in html
    assert stored(db) == (0, 0)


def test_service_refuses_unknown_item_keys(db, screen, employee):
    from wellness.health.checklists import AnswersInvalid

    with pytest.raises(AnswersInvalid) as refused:
        submit_response(
            employee.employee, "screen-workstation", 1, "office", valid_answers(screen, bogus="yes")
        )
    assert refused.value.problems == {"bogus": "This checklist has no question with this key."}
    assert stored(db) == (0, 0)


def test_another_employers_copy_cannot_be_answered(
    client, signed_in, screen, db, make_employer, make_user
):
    other = make_employer()
    admin = make_user(Role.ADMIN, employer=other)
    copy = copy_template(other.id, screen.id, admin.id)
    publish(other.id, copy.id, admin.id)
    db.session.commit()
    assert client.get(f"/me/checklists/{copy.key}").status_code == 404
    data = form_data(copy)
    assert client.post(f"/me/checklists/{copy.key}", data=data).status_code == 404
    assert stored(db) == (0, 0)
    assert copy.key not in client.get("/me/checklists").get_data(as_text=True)


def test_a_response_keeps_the_version_it_answered(db, employer, employee, make_user, screen):
    from wellness.health.templates_admin import start_new_version

    admin = make_user(Role.ADMIN, employer=employer)
    copy = copy_template(employer.id, screen.id, admin.id)
    publish(employer.id, copy.id, admin.id)
    first = submit_response(employee.employee, copy.key, 1, "office", valid_answers(copy))
    draft = start_new_version(employer.id, copy.id, admin.id)
    publish(employer.id, draft.id, admin.id)
    db.session.commit()
    assert current_template(employer.id, copy.key).version == 2
    assert first.template.version == 1
    assert {a.item.template_id for a in first.answers} == {copy.id}


# --- who may read answers -----------------------------------------------------------------


def _response_of(db, employee, screen):
    response = submit_response(employee.employee, screen.key, 1, "office", valid_answers(screen))
    db.session.commit()
    return response


def test_another_employee_gets_404_for_a_result(
    client, login, db, employer, employee, make_user, screen
):
    response = _response_of(db, employee, screen)
    login(client, make_user(Role.EMPLOYEE, employer=employer))
    assert client.get(f"/me/checklists/results/{response.id}").status_code == 404
    assert (
        client.get(f"/me/checklists/results/{response.id}/items/mouse/measure").status_code == 404
    )
    assert "Your result" not in client.get("/me/checklists").get_data(as_text=True)


def test_admin_who_is_also_an_employee_sees_only_their_own_results(
    client, login, db, employer, employee, make_user, screen
):
    response = _response_of(db, employee, screen)
    login(client, make_user(Role.ADMIN, Role.EMPLOYEE, employer=employer))
    assert client.get(f"/me/checklists/results/{response.id}").status_code == 404


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admins_cannot_open_checklist_pages(
    client, login, db, employer, employee, make_user, screen, role
):
    response = _response_of(db, employee, screen)
    login(client, make_user(role, employer=employer))
    for path in (
        "/me/checklists",
        f"/me/checklists/results/{response.id}",
        "/me/checklists/measures",
        "/me/checklists/screen-workstation",
    ):
        assert client.get(path).status_code == 403, path


def test_provider_and_another_employers_employee_cannot_read_a_result(
    client, login, db, employee, make_user, make_provider, make_employer, screen
):
    response = _response_of(db, employee, screen)
    login(client, make_user(Role.PROVIDER, provider=make_provider()))
    assert client.get(f"/me/checklists/results/{response.id}").status_code == 403
    client.post("/logout")
    login(client, make_user(Role.EMPLOYEE, employer=make_employer()))
    assert client.get(f"/me/checklists/results/{response.id}").status_code == 404
