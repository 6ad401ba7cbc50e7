"""Pain check-ins: one per day, every region 0-10, refusals that store nothing, the own trend
next to training frequency, and nobody but the employee reaching any of it."""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import pytest
from sqlalchemy import func, select

from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.health import checkins, training
from wellness.health.checkin_views import trend_figure
from wellness.health.checkins import InvalidEntry, Period
from wellness.health.models import BodyRegion, ExerciseLog, PainCheckin, PainScore
from wellness.health.training import EntryInput
from wellness.i18n import local_today

pytestmark = pytest.mark.usefixtures("english")

TODAY = date(2026, 3, 18)  # a Wednesday


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _record(employee, scores, day=TODAY, **kwargs):
    return checkins.record_checkin(employee, scores, checked_on=day, today=TODAY, **kwargs)


# --- Service ------------------------------------------------------------------------------


def test_checkin_stores_every_region_and_zero_for_those_that_did_not_hurt(app, db, employee):
    recorded = _record(employee, {"low_back": 6, "neck": 3}, prevented_activity=True)
    db.session.commit()

    assert recorded.replaced is False
    stored = {s.region: (s.nrs, s.prevented_activity) for s in recorded.checkin.scores}
    assert set(stored) == {region.value for region in BodyRegion}
    assert stored["low_back"] == (6, True)
    assert stored["neck"] == (3, True)
    assert stored["knees"] == (0, False)
    assert recorded.checkin.prevented_activity is True
    assert recorded.checkin.checked_on == TODAY


def test_second_checkin_the_same_day_replaces_the_first(app, db, employee):
    _record(employee, {"low_back": 6, "knees": 2}, prevented_activity=True)
    db.session.commit()

    again = _record(employee, {"low_back": 4})
    db.session.commit()

    assert again.replaced is True
    assert _count(db, PainCheckin) == 1
    assert checkins.scores_of(again.checkin)[BodyRegion.LOW_BACK] == 4
    assert checkins.scores_of(again.checkin)[BodyRegion.KNEES] == 0
    assert again.checkin.prevented_activity is False
    assert _count(db, PainScore) == len(BodyRegion)


def test_a_past_day_is_its_own_checkin(app, db, employee):
    _record(employee, {"low_back": 6})
    _record(employee, {"low_back": 5}, day=TODAY - timedelta(days=30))

    assert _count(db, PainCheckin) == 2


@pytest.mark.parametrize(
    ("scores", "field", "message"),
    [
        ({"low_back": 11}, "scores.low_back", "Low back: the pain score must be a whole number"),
        ({"neck": -1}, "scores.neck", "Neck: the pain score must be a whole number from 0"),
        ({"knees": 4.5}, "scores.knees", "Knees: the pain score must be a whole number"),
        ({"knees": "4"}, "scores.knees", "Knees: the pain score"),
        ({"knees": True}, "scores.knees", "Knees: the pain score"),
        ({"lower_back": 3}, "scores.lower_back", "“lower_back” is not a body region"),
        (["low_back"], "scores", "Send the scores as an object"),
    ],
)
def test_invalid_scores_are_refused_naming_the_field_and_store_nothing(
    app, db, employee, scores, field, message
):
    with pytest.raises(InvalidEntry) as refused:
        _record(employee, {"shoulders": 2, **scores} if isinstance(scores, dict) else scores)

    assert refused.value.field == field
    assert message in refused.value.message
    assert refused.value.status_code == 422
    db.session.rollback()
    assert _count(db, PainCheckin) == _count(db, PainScore) == 0


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (TODAY + timedelta(days=1), "is in the future"),
        (TODAY - timedelta(days=checkins.BACKDATE_DAYS + 1), "at most 90 days"),
    ],
)
def test_dates_in_the_future_or_long_ago_are_refused(app, db, employee, day, message):
    with pytest.raises(InvalidEntry) as refused:
        _record(employee, {"low_back": 3}, day=day)

    assert refused.value.field == "checked_on"
    assert message in refused.value.message
    assert _count(db, PainCheckin) == 0


def test_the_oldest_allowed_day_is_accepted(app, db, employee):
    day = TODAY - timedelta(days=checkins.BACKDATE_DAYS)
    assert _record(employee, {"low_back": 3}, day=day).checkin.checked_on == day


def test_prevented_activity_needs_a_region_that_hurt(app, db, employee):
    with pytest.raises(InvalidEntry) as refused:
        _record(employee, {}, prevented_activity=True)

    assert refused.value.field == "prevented_activity"
    assert _count(db, PainCheckin) == 0


def test_period_starts_are_mondays_and_first_days(app):
    assert checkins.period_starts(Period.WEEK, 3, TODAY) == [
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
    ]
    assert checkins.period_starts(Period.MONTH, 3, TODAY) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


def test_trend_averages_each_month_and_leaves_months_without_checkin_empty(app, db, employee):
    _record(employee, {"low_back": 6, "neck": 2}, day=date(2026, 1, 10))
    _record(employee, {"low_back": 5}, day=date(2026, 1, 24))
    _record(employee, {"low_back": 3}, day=date(2026, 3, 2))
    # Older data (the demo's) has rows only for some regions: the others had no pain.
    db.session.add(
        PainCheckin(
            employee_id=employee.id,
            checked_on=date(2025, 12, 5),
            scores=[PainScore(region="low_back", nrs=7)],
        )
    )
    db.session.commit()

    trend = checkins.pain_trend(employee, Period.MONTH, count=4, today=TODAY)

    assert [p.starts_on for p in trend.points] == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert trend.regions == [BodyRegion.NECK, BodyRegion.LOW_BACK]
    assert [p.scores[BodyRegion.LOW_BACK] for p in trend.points] == [7.0, 5.5, None, 3.0]
    assert [p.scores[BodyRegion.NECK] for p in trend.points] == [0.0, 1.0, None, 0.0]
    assert [p.checkins for p in trend.points] == [1, 2, 0, 1]


def test_trend_reads_only_the_employees_own_checkins(app, db, employee, employer, make_user):
    other = make_user(Role.EMPLOYEE, employer=employer).employee
    checkins.record_checkin(other, {"knees": 9}, today=TODAY, checked_on=TODAY)

    trend = checkins.pain_trend(employee, today=TODAY)

    assert trend.regions == []
    assert all(point.checkins == 0 for point in trend.points)


def test_trend_figure_is_a_valid_plotly_figure_with_training_bars(app, db, employee):
    _record(employee, {"low_back": 5, "neck": 2}, day=date(2026, 3, 2))
    training.log_session(
        employee, [EntryInput("bridge", sets=3, reps=12)], performed_on=TODAY, today=TODAY
    )
    pain = checkins.pain_trend(employee, Period.WEEK, count=3, today=TODAY)
    sessions = training.frequency(employee, Period.WEEK, count=3, today=TODAY)

    with app.test_request_context():
        figure = trend_figure(pain, sessions, ["Mar 2", "Mar 9", "Mar 16"])

    validated = go.Figure(figure)  # raises on anything Plotly does not know
    bars, *lines = validated.data
    assert bars.type == "bar"
    assert list(bars.y) == [0, 0, 1]
    assert [line.name for line in lines] == ["Neck", "Low back"]
    assert list(lines[1].y) == [5.0, None, None]


# --- Pages --------------------------------------------------------------------------------


def _today() -> date:
    return local_today(utcnow())


def test_checkin_form_lists_every_region_with_no_pain_preselected(client, login, employee_user):
    login(client, employee_user)

    response = client.get("/me/pain")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Pain check-in" in page
    for region in ("Neck", "Low back", "Wrists and hands", "Ankles and feet"):
        assert f"<legend>{region}</legend>" in page
    assert '<input checked id="low_back-0" name="low_back" type="radio" value="0">' in page
    assert '<input id="low_back-5" name="low_back" type="radio" value="5">' in page
    assert '<label for="low_back-10">10' in page
    assert "(no pain)" in page
    assert "Pain kept me from my normal activities" in page
    assert response.headers["Cache-Control"] == "private, no-store"


def test_checking_in_on_the_page_saves_and_shows_the_trend(client, login, db, employee_user):
    login(client, employee_user)

    response = client.post(
        "/me/pain", data={"low_back": "5", "neck": "2", "prevented_activity": "y"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/me/pain/trend"
    checkin = db.session.scalar(select(PainCheckin))
    assert checkin.checked_on == _today()
    assert checkin.prevented_activity is True
    assert checkins.scores_of(checkin)[BodyRegion.LOW_BACK] == 5
    trend = client.get("/me/pain/trend")
    page = trend.get_data(as_text=True)
    assert "Check-in saved" in page
    assert 'id="pain-trend-chart"' in page
    assert 'role="img"' in page
    assert "The table below has the same numbers" in page
    assert ">Low back</th>" in page
    assert ">5</td>" in page
    assert "/me/pain/plotly.min.js?v=" in page
    assert "js/pain-trend.js" in page


def test_checking_in_again_today_shows_and_replaces_the_earlier_answers(
    client, login, db, employee_user
):
    login(client, employee_user)
    client.post("/me/pain", data={"low_back": "5"})

    page = client.get("/me/pain").get_data(as_text=True)
    assert "You have already checked in today" in page
    assert '<input checked id="low_back-5" name="low_back" type="radio" value="5">' in page
    assert '<input id="low_back-0" name="low_back" type="radio" value="0">' in page
    client.post("/me/pain", data={"low_back": "3"})

    assert db.session.scalar(select(func.count()).select_from(PainCheckin)) == 1
    checkin = db.session.scalar(select(PainCheckin))
    assert checkins.scores_of(checkin)[BodyRegion.LOW_BACK] == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"low_back": "11"}, "Low back: the pain score must be a whole number from 0"),
        ({"knees": "-1"}, "Knees: the pain score must be a whole number from 0"),
        ({"knees": "a lot"}, "Choose a number from 0 to 10."),
        ({"low_back": "3", "checked_on": "2999-01-01"}, "is in the future"),
        ({"low_back": "3", "checked_on": "2020-01-01"}, "at most 90 days"),
        ({"prevented_activity": "y"}, "give the region that hurt a score above 0"),
    ],
)
def test_form_refuses_bad_answers_next_to_the_field_and_stores_nothing(
    client, login, db, employee_user, data, message
):
    login(client, employee_user)

    response = client.post("/me/pain", data=data)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'role="alert"' in page
    assert db.session.scalar(select(func.count()).select_from(PainCheckin)) == 0


def test_trend_page_without_data_says_how_to_start(client, login, employee_user):
    login(client, employee_user)

    page = client.get("/me/pain/trend?period=week").get_data(as_text=True)

    assert "No check-ins or training sessions in this time yet" in page
    assert "pain-trend-chart" not in page
    assert "plotly.min.js" not in page


def test_trend_by_week_shows_training_sessions_next_to_pain(
    client, login, db, employee_user, employee
):
    checkins.record_checkin(employee, {"shoulders": 4})
    training.log_session(employee, [EntryInput("squat", reps=10)])
    db.session.commit()
    login(client, employee_user)

    response = client.get("/me/pain/trend?period=week")

    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Week starting" in page
    assert ">Shoulders</th>" in page
    assert "Training sessions per week" in page
    assert '"type": "bar"' in page


def test_plotly_is_served_from_the_installed_package(client, login, employee_user):
    login(client, employee_user)

    response = client.get("/me/pain/plotly.min.js?v=1")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert b"plotly" in response.get_data()[:2000].lower()
    response.close()


def test_reminder_can_be_switched_on_and_off(client, login, db, employee_user, employee):
    login(client, employee_user)

    response = client.post("/me/pain/reminder", data={"reminder": "on"})

    assert response.status_code == 302
    db.session.refresh(employee)
    assert employee.pain_reminder_opt_in is True
    assert "Switch the reminder off" in client.get("/me/pain").get_data(as_text=True)
    client.post("/me/pain/reminder", data={"reminder": "off"})
    db.session.refresh(employee)
    assert employee.pain_reminder_opt_in is False
    assert client.post("/me/pain/reminder", data={"reminder": "maybe"}).status_code == 400


PAGES = ["/me/pain", "/me/pain/trend", "/me/pain/plotly.min.js"]


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN, Role.OPERATOR])
def test_no_other_role_reaches_the_pain_pages(client, login, employer, make_user, role):
    login(client, make_user(role, employer=employer if role != Role.OPERATOR else None))

    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/me/pain", data={"low_back": "3"}).status_code == 403
    assert client.post("/me/pain/reminder", data={"reminder": "on"}).status_code == 403


def test_a_provider_does_not_reach_the_pain_pages(client, login, make_provider, make_user):
    login(client, make_user(Role.PROVIDER, provider=make_provider()))

    for url in PAGES:
        assert client.get(url).status_code == 403, url


def test_signed_out_visitors_are_sent_to_the_login(client):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_another_employee_never_sees_someone_elses_checkins(
    client, login, db, employer, employee, make_user
):
    checkins.record_checkin(employee, {"hips_thighs": 9}, prevented_activity=True)
    db.session.commit()
    login(client, make_user(Role.EMPLOYEE, employer=employer))

    for url in ("/me/pain", "/me/pain/trend", "/me/pain/trend?period=week"):
        page = client.get(url).get_data(as_text=True)
        assert "Hips and thighs: 9" not in page
        assert ">9</td>" not in page
        assert "already checked in today" not in page
    assert "You have not checked in yet" in client.get("/me/pain/trend").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ExerciseLog)) == 0
