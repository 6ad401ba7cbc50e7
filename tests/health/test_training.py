"""Home training: the catalogue, logging sessions with sane amounts, sessions per week, and
nobody but the employee reaching the log."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.demo.health import EXERCISES as DEMO_EXERCISES
from wellness.health import training
from wellness.health.checkins import InvalidEntry, Period
from wellness.health.models import ExerciseEntry, ExerciseLog
from wellness.health.training import EntryInput, ExerciseKind
from wellness.i18n import local_today

pytestmark = pytest.mark.usefixtures("english")

TODAY = date(2026, 3, 18)  # a Wednesday


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _log(employee, *entries, day=TODAY):
    return training.log_session(employee, list(entries), performed_on=day, today=TODAY)


# --- Catalogue ----------------------------------------------------------------------------


def test_catalogue_has_the_evidence_based_exercises_in_german_and_english():
    keys = {item.key for item in training.catalogue()}

    assert {"bridge", "bird_dog", "squat", "deadlift", "hip_hinge"} <= keys
    assert any(
        item.kind is ExerciseKind.MINUTES and "stretch" in item.key for item in training.catalogue()
    )
    for item in training.catalogue():
        assert item.name_de, item.key
        assert item.name_en, item.key
        assert len(item.instruction_de) > 60, item.key
        assert len(item.instruction_en) > 60, item.key
    assert "trainer" in training.exercise("deadlift").instruction_en


def test_every_exercise_the_demo_logs_is_in_the_catalogue():
    for key, kind, _low, _high in DEMO_EXERCISES:
        found = training.exercise(key)
        assert found is not None, key
        assert found.kind.value == kind, key


# --- Service ------------------------------------------------------------------------------


def test_a_session_stores_its_exercises(app, db, employee):
    log = _log(
        employee,
        EntryInput("bridge", sets=3, reps=12),
        EntryInput("squat", reps=15),
        EntryInput("hamstring_stretch", minutes=5),
    )
    db.session.commit()

    stored = {(e.exercise, e.sets, e.reps, e.minutes) for e in log.entries}
    assert stored == {
        ("bridge", 3, 12, None),
        ("squat", None, 15, None),
        ("hamstring_stretch", None, None, 5),
    }
    assert log.performed_on == TODAY
    assert log.employee_id == employee.id


@pytest.mark.parametrize(
    ("entries", "field", "message"),
    [
        ([], "entries", "Add at least one exercise"),
        ([EntryInput("burpee", reps=10)], "entries[0].exercise", "“burpee” is not an exercise"),
        ([EntryInput("", reps=10)], "entries[0].exercise", "Name the exercise"),
        (
            [EntryInput("squat", reps=10), EntryInput("bridge", reps=1000)],
            "entries[1].reps",
            "Bridge: enter the repetitions per set, a whole number from 1 to 100.",
        ),
        ([EntryInput("bridge", reps=0)], "entries[0].reps", "from 1 to 100"),
        ([EntryInput("bridge", sets=3)], "entries[0].reps", "enter the repetitions"),
        ([EntryInput("bridge", sets=99, reps=10)], "entries[0].sets", "sets must be a whole"),
        ([EntryInput("bridge", reps=10, minutes=5)], "entries[0].minutes", "not minutes"),
        ([EntryInput("plank", minutes=600)], "entries[0].minutes", "from 1 to 120"),
        ([EntryInput("plank", reps=10, minutes=2)], "entries[0].reps", "not repetitions"),
        ([EntryInput("squat", reps="10")], "entries[0].reps", "whole number"),  # type: ignore[arg-type]
        (
            [EntryInput("squat", reps=10), EntryInput("squat", reps=12)],
            "entries[1].exercise",
            "Squat is listed twice",
        ),
    ],
)
def test_bad_entries_are_refused_naming_the_field_and_store_nothing(
    app, db, employee, entries, field, message
):
    with pytest.raises(InvalidEntry) as refused:
        _log(employee, *entries)

    assert refused.value.field == field
    assert message in refused.value.message
    db.session.rollback()
    assert _count(db, ExerciseLog) == _count(db, ExerciseEntry) == 0


@pytest.mark.parametrize(
    ("day", "message"),
    [(TODAY + timedelta(days=1), "in the future"), (date(2025, 1, 1), "at most 90 days")],
)
def test_sessions_cannot_be_dated_in_the_future_or_long_ago(app, db, employee, day, message):
    with pytest.raises(InvalidEntry) as refused:
        _log(employee, EntryInput("bridge", reps=10), day=day)

    assert refused.value.field == "performed_on"
    assert message in refused.value.message
    assert _count(db, ExerciseLog) == 0


def test_frequency_counts_sessions_per_week_and_averages_months(app, db, employee):
    for day in (date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 16), date(2026, 2, 10)):
        _log(employee, EntryInput("bridge", reps=10), day=day)

    weeks = training.frequency(employee, Period.WEEK, count=3, today=TODAY)
    months = training.frequency(employee, Period.MONTH, count=2, today=TODAY)

    assert [(w.starts_on, w.sessions, w.per_week) for w in weeks] == [
        (date(2026, 3, 2), 2, 2.0),
        (date(2026, 3, 9), 0, 0.0),
        (date(2026, 3, 16), 1, 1.0),
    ]
    assert [(m.starts_on, m.sessions) for m in months] == [
        (date(2026, 2, 1), 1),
        (date(2026, 3, 1), 3),
    ]
    assert months[0].per_week == 0.2  # 1 session in 4 weeks
    assert months[1].per_week == 0.7  # 3 sessions in 31 days


def test_history_and_frequency_read_only_the_own_log(app, db, employee, employer, make_user):
    other = make_user(Role.EMPLOYEE, employer=employer).employee
    _log(other, EntryInput("bridge", reps=10))

    assert training.history(employee).total == 0
    assert all(w.sessions == 0 for w in training.frequency(employee, today=TODAY))


# --- Pages --------------------------------------------------------------------------------


def test_exercise_page_shows_every_instruction_in_the_readers_language(
    client, login, employee_user
):
    login(client, employee_user)

    page = client.get("/me/training/exercises").get_data(as_text=True)

    for item in training.catalogue():
        assert item.name_en in page
        assert item.instruction_en in page
    assert "Beckenheben" not in page


def test_logging_a_session_on_the_page(client, login, db, employee_user):
    login(client, employee_user)
    form = client.get("/me/training/new").get_data(as_text=True)
    assert 'id="training-log"' in form
    assert '<span class="visually-hidden">Bridge: </span>Sets</label>' in form
    assert 'name="plank_minutes"' in form
    assert "plank_sets" not in form

    response = client.post(
        "/me/training/new",
        data={
            "bridge_sets": "3",
            "bridge_reps": "12",
            "stretching_minutes": "10",
            "squat_reps": "",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/me/pain/trend?period=week"
    log = db.session.scalar(select(ExerciseLog))
    assert log.performed_on == local_today(utcnow())
    assert sorted((e.exercise, e.sets, e.reps, e.minutes) for e in log.entries) == [
        ("bridge", 3, 12, None),
        ("stretching", None, None, 10),
    ]
    page = client.get("/me/training").get_data(as_text=True)
    assert "Bridge:" in page
    assert "3 × 12" in page
    assert "10 min" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Add at least one exercise you did."),
        ({"bridge_sets": "3"}, "Bridge: enter the repetitions per set"),
        ({"squat_reps": "5000"}, "Squat: enter the repetitions per set, a whole number from 1"),
        ({"squat_reps": "many"}, "Not a valid integer value."),
        ({"plank_minutes": "0"}, "Plank: enter the minutes"),
        ({"squat_reps": "10", "performed_on": "2999-01-01"}, "in the future"),
    ],
)
def test_form_refuses_bad_amounts_and_stores_nothing(
    client, login, db, employee_user, data, message
):
    login(client, employee_user)

    response = client.post("/me/training/new", data=data)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(db, ExerciseLog) == 0


def test_an_own_session_can_be_deleted_but_not_someone_elses(
    client, login, db, employer, employee_user, employee, make_user
):
    mine = training.log_session(employee, [EntryInput("bridge", reps=10)])
    other = make_user(Role.EMPLOYEE, employer=employer).employee
    theirs = training.log_session(other, [EntryInput("squat", reps=10)])
    db.session.commit()
    mine_id, theirs_id = mine.id, theirs.id
    login(client, employee_user)

    assert client.post(f"/me/training/{theirs_id}/delete").status_code == 404
    assert client.post(f"/me/training/{mine_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(ExerciseLog, mine_id) is None
    assert db.session.get(ExerciseLog, theirs_id) is not None


def test_another_employee_never_sees_someone_elses_log(
    client, login, db, employer, employee, make_user
):
    training.log_session(employee, [EntryInput("deadlift", sets=2, reps=7)])
    db.session.commit()
    login(client, make_user(Role.EMPLOYEE, employer=employer))

    page = client.get("/me/training").get_data(as_text=True)

    assert "2 × 7" not in page
    assert "No training sessions yet" in page


PAGES = ["/me/training", "/me/training/exercises", "/me/training/new"]


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN, Role.PROVIDER, Role.OPERATOR])
def test_no_other_role_reaches_the_training_pages(
    client, login, db, employer, employee, make_provider, make_user, role
):
    log = training.log_session(employee, [EntryInput("bridge", reps=10)])
    db.session.commit()
    if role is Role.PROVIDER:
        someone = make_user(role, provider=make_provider())
    else:
        someone = make_user(role, employer=employer if role != Role.OPERATOR else None)
    login(client, someone)

    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/me/training/new", data={"bridge_reps": "5"}).status_code == 403
    assert client.post(f"/me/training/{log.id}/delete").status_code == 403
    assert _count(db, ExerciseLog) == 1
