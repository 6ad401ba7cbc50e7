"""Attendance, workstation issues, ergonomic measures and the field-of-action grouping: exact
figures on small hand-built data, with the denials (consent, other employers, small groups)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.analytics.test_measures import (
    by_group,
    calendar_year,
    certify,
    days_until,
    enroll,
    last_year,
    people,
    spec,
    this_month,
    today,
    whole_last_year,
)
from wellness.analytics.grid import GroupBy, berlin_midnight, month_start
from wellness.analytics.measures import (
    MEASURES,
    default_grouping,
    groupings,
    run,
)
from wellness.attendance.models import Attendance, AttendanceStatus
from wellness.auth.models import Role
from wellness.courses.models import CourseSession, Enrollment, Offering
from wellness.db import utcnow
from wellness.extensions import db as _db
from wellness.health.checklists import evaluate_answers
from wellness.health.models import (
    AnswerType,
    ChecklistAnswer,
    ChecklistItem,
    ChecklistResponse,
    ChecklistTemplate,
    ErgonomicMeasure,
    MeasureStatus,
)
from wellness.tenants.models import Employee, Employer

PRESENT, ABSENT, EXCUSED = (s.value for s in AttendanceStatus)


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    """No noise, default thresholds: k = 5 for participation, 10 for health."""
    return make_employer(dp_enabled=False, locale="en")


def attend(employee: Employee, offering: Offering, marks: Sequence[str]) -> None:
    """Marks for the offering's first sessions, in order; later sessions stay unmarked."""
    seat = _db.session.scalars(
        select(Enrollment).where(
            Enrollment.employee_id == employee.id, Enrollment.offering_id == offering.id
        )
    ).one()
    sessions = _db.session.scalars(
        select(CourseSession)
        .where(CourseSession.offering_id == offering.id)
        .order_by(CourseSession.starts_at)
    ).all()
    for session, mark in zip(sessions, marks, strict=False):
        _db.session.add(Attendance(enrollment_id=seat.id, session_id=session.id, status=mark))
    _db.session.commit()


# --- attendance_rate -------------------------------------------------------------------------


def test_attendance_rate_is_sessions_present_of_all_sessions_per_participant(
    employer: Employer, make_employer: Callable[..., Employer], make_offering: Callable[..., Any]
) -> None:
    staff = people(employer, 6)
    finished = make_offering(employer, starts_in_days=-70, sessions=8)  # ended 3 weeks ago
    enroll(staff[:5], finished)
    attend(staff[0], finished, [PRESENT] * 8)
    attend(staff[1], finished, [PRESENT] * 6 + [ABSENT] * 2)
    attend(staff[2], finished, [PRESENT] * 4)  # four sessions never marked: missed
    attend(staff[3], finished, [PRESENT] * 7 + [EXCUSED])  # excused is not attended
    # staff[4] has no marks at all: 0
    running = make_offering(employer, starts_in_days=-7)
    enroll(staff[5:], running)  # not over yet: not counted
    attend(staff[5], running, [PRESENT])
    other = make_employer(dp_enabled=False)
    outsiders = people(other, 3)
    enroll(outsiders, finished)
    for outsider in outsiders:
        attend(outsider, finished, [PRESENT] * 8)

    released = run(employer, spec("attendance_rate", period=calendar_year(finished.ends_on)))

    assert released.total.n == 5
    assert released.total.value == pytest.approx((1 + 6 / 8 + 4 / 8 + 7 / 8 + 0) / 5)


def test_attendance_rate_pools_a_persons_offerings(
    employer: Employer, make_offering: Callable[..., Any]
) -> None:
    staff = people(employer, 5)
    long = make_offering(employer, starts_in_days=-90, sessions=10)
    short = make_offering(employer, starts_in_days=-60, sessions=4)
    enroll(staff, long)
    enroll(staff[:1], short)
    for employee in staff:
        attend(employee, long, [PRESENT] * 10)
    attend(staff[0], short, [ABSENT] * 4)

    released = run(employer, spec("attendance_rate", period=calendar_year(short.ends_on)))

    # staff[0]: 10 of 14 sessions; the others 10 of 10.
    assert released.total.value == pytest.approx((10 / 14 + 4) / 5)


def test_attendance_rate_of_fewer_than_k_participants_is_suppressed(
    employer: Employer, make_offering: Callable[..., Any]
) -> None:
    staff = people(employer, 4)
    finished = make_offering(employer, starts_in_days=-70)
    enroll(staff, finished)
    for employee in staff:
        attend(employee, finished, [PRESENT] * 8)

    released = run(employer, spec("attendance_rate", period=calendar_year(finished.ends_on)))

    assert released.total.suppressed is True
    assert (released.total.n, released.total.value) == (None, None)


# --- open_issues_share -----------------------------------------------------------------------


def template(items: Iterable[tuple[str, int, AnswerType]]) -> ChecklistTemplate:
    """A checklist whose items are (key, weight, answer type); numbers must be 50 to 80."""
    row = ChecklistTemplate(key="test-workstation", title_de="T", title_en="T")
    for position, (key, weight, kind) in enumerate(items):
        row.items.append(
            ChecklistItem(
                key=key,
                area="desk",
                position=position,
                question_de=key,
                question_en=key,
                weight=weight,
                answer_type=kind.value,
                number_min=50 if kind is AnswerType.NUMBER else None,
                number_max=80 if kind is AnswerType.NUMBER else None,
            )
        )
    _db.session.add(row)
    _db.session.flush()
    return row


def respond(
    employee: Employee,
    form: ChecklistTemplate,
    score: int | None,
    answers: dict[str, str | float],
    at: datetime,
) -> None:
    by_key = {item.key: item for item in form.items}
    answered = [
        (by_key[key], value, None) if isinstance(value, str) else (by_key[key], None, value)
        for key, value in answers.items()
    ]
    _db.session.add(
        ChecklistResponse(
            employee_id=employee.id,
            template_id=form.id,
            score=score,
            # Counted as submitting counts them (the score is given: it may hide a shortfall).
            items_to_fix=len(evaluate_answers(form, answered).to_fix),
            submitted_at=at,
            answers=[
                ChecklistAnswer(item_id=item.id, choice=choice, number=number)
                for item, choice, number in answered
            ],
        )
    )
    _db.session.flush()


def month_instant(minutes: int) -> datetime:
    """``minutes`` after the start of this German month."""
    return berlin_midnight(month_start(today())) + timedelta(minutes=minutes)


def test_open_issues_share_counts_each_persons_latest_response(
    employer: Employer, make_employer: Callable[..., Employer]
) -> None:
    form = template([("chair", 1, AnswerType.CHOICE), ("distance", 1, AnswerType.NUMBER)])
    staff = people(employer, 10)
    for n, employee in enumerate(staff):
        # Everyone had issues at first; four of them still have (a chair "partly" fine, or a
        # screen too close), six have fixed everything.
        respond(employee, form, 50, {"chair": "no", "distance": 40}, month_instant(1))
        if n < 2:
            latest: dict[str, str | float] = {"chair": "partly", "distance": 60}
            score = 75
        elif n < 4:
            latest, score = {"chair": "yes", "distance": 40}, 50
        else:
            latest, score = {"chair": "yes", "distance": 60}, 100
        respond(employee, form, score, latest, month_instant(2))
    refusing = people(employer, 3, consent=False)
    for employee in refusing:
        respond(employee, form, 0, {"chair": "no", "distance": 10}, month_instant(2))
    unscored = people(employer, 1)[0]  # everything "not applicable": no score, not counted
    respond(unscored, form, None, {"chair": "na", "distance": 60}, month_instant(2))
    outsiders = people(make_employer(dp_enabled=False), 3)
    for employee in outsiders:
        respond(employee, form, 0, {"chair": "no", "distance": 10}, month_instant(2))
    _db.session.commit()

    released = run(employer, spec("open_issues_share"))

    assert (released.total.n, released.total.value) == (10, pytest.approx(0.4))


def test_open_issues_share_sees_a_shortfall_hidden_by_rounding(employer: Employer) -> None:
    """Eleven items of weight 10 and one of weight 1 answered "partly": 110.5 of 111 points
    rounds to a score of 100, yet that item still needs fixing."""
    heavy = [(f"item{i}", 10, AnswerType.CHOICE) for i in range(11)]
    form = template([*heavy, ("light", 1, AnswerType.CHOICE)])
    fine = {key: "yes" for key, _, _ in heavy}
    staff = people(employer, 10)
    for employee in staff[:3]:
        respond(employee, form, 100, {**fine, "light": "partly"}, month_instant(1))
    for employee in staff[3:]:
        respond(employee, form, 100, {**fine, "light": "yes"}, month_instant(1))
    _db.session.commit()

    released = run(employer, spec("open_issues_share"))

    assert (released.total.n, released.total.value) == (10, pytest.approx(0.3))


def test_open_issues_share_of_responses_not_counted_falls_back_to_their_score(
    employer: Employer,
) -> None:
    """A response written without its count (an app process older than migration 0009, still
    running during a deploy) has issues when its score is under 100."""
    form = template([("chair", 1, AnswerType.CHOICE)])
    staff = people(employer, 10)
    for n, employee in enumerate(staff):
        respond(employee, form, 50 if n < 4 else 100, {"chair": "yes"}, month_instant(1))
    _db.session.flush()
    _db.session.execute(update(ChecklistResponse).values(items_to_fix=None))
    _db.session.commit()

    released = run(employer, spec("open_issues_share"))

    assert (released.total.n, released.total.value) == (10, pytest.approx(0.4))


def test_open_issues_share_of_fewer_than_k_is_suppressed(employer: Employer) -> None:
    form = template([("chair", 1, AnswerType.CHOICE)])
    for employee in people(employer, 9):
        respond(employee, form, 0, {"chair": "no"}, month_instant(1))
    _db.session.commit()

    released = run(employer, spec("open_issues_share"))

    assert released.total.suppressed is True
    assert (released.total.n, released.total.value) == (None, None)


# --- measures_done and measure_days_to_done -------------------------------------------------


def ask(
    employee: Employee,
    requested_at: datetime,
    done_at: datetime | None = None,
    status: MeasureStatus | None = None,
) -> None:
    _db.session.add(
        ErgonomicMeasure(
            employer_id=employee.employer_id,
            employee_id=employee.id,
            title="footrest",
            status=(status or (MeasureStatus.DONE if done_at else MeasureStatus.REQUESTED)).value,
            requested_at=requested_at,
            done_at=done_at,
        )
    )
    _db.session.flush()


def test_measures_done_is_each_requesters_share_done(
    employer: Employer, make_employer: Callable[..., Employer]
) -> None:
    staff = people(employer, 10)
    asked = month_instant(1)
    for employee in staff[:5]:  # one of two done: 0.5 each
        ask(employee, asked, done_at=month_instant(3))
        ask(employee, asked)
    for employee in staff[5:8]:  # done: 1
        ask(employee, asked, done_at=month_instant(3))
    ask(staff[8], asked, status=MeasureStatus.REJECTED)  # rejected is not done: 0
    ask(staff[9], asked, status=MeasureStatus.ORDERED)  # 0
    for employee in people(employer, 2, consent=False):
        ask(employee, asked)
    for employee in people(make_employer(dp_enabled=False), 2):
        ask(employee, asked)
    earlier = people(employer, 1)[0]  # asked last year: not in this month's figure
    ask(earlier, berlin_midnight(last_year()))
    _db.session.commit()

    released = run(employer, spec("measures_done"))

    assert (released.total.n, released.total.value) == (10, pytest.approx((5 * 0.5 + 3) / 10))


def test_measure_days_to_done_is_the_mean_of_calendar_days_per_person(
    employer: Employer, make_employer: Callable[..., Employer]
) -> None:
    first = month_start(today())
    start = berlin_midnight(first)
    staff = people(employer, 10)
    for n, employee in enumerate(staff):
        # Asked n days before the month at 17:00, done in this month at 9:00: n + 0 days.
        requested = berlin_midnight(first - timedelta(days=n)) + timedelta(hours=17)
        ask(employee, requested - timedelta(days=1), done_at=start + timedelta(minutes=5))
    # A second measure of the first person, asked two years ago: counts as 365 days.
    ask(staff[0], start - timedelta(days=730), done_at=start + timedelta(minutes=6))
    ask(staff[1], start - timedelta(days=3))  # not done: no days
    for employee in people(employer, 2, consent=False):
        ask(employee, start - timedelta(days=100), done_at=start + timedelta(minutes=5))
    for employee in people(make_employer(dp_enabled=False), 2):
        ask(employee, start - timedelta(days=100), done_at=start + timedelta(minutes=5))
    _db.session.commit()

    released = run(employer, spec("measure_days_to_done"))

    # Person n: asked on day -(n+1) at 17:00, done on day 0: n + 1 calendar days.
    days = [(1 + 365) / 2] + [n + 1 for n in range(1, 10)]
    assert released.total.n == 10
    assert released.total.value == pytest.approx(sum(days) / 10)


def test_measure_days_to_done_of_fewer_than_k_is_suppressed(employer: Employer) -> None:
    start = berlin_midnight(month_start(today()))
    for employee in people(employer, 9):
        ask(employee, start - timedelta(days=5), done_at=start + timedelta(minutes=5))
    _db.session.commit()

    released = run(employer, spec("measure_days_to_done"))

    assert (released.total.suppressed, released.total.value) == (True, None)


# --- the field-of-action grouping -------------------------------------------------------------


def test_groupings_of_the_measures() -> None:
    assert GroupBy.FIELD in groupings("participation_rate")
    assert GroupBy.FIELD in groupings("attendance_rate")
    assert GroupBy.FIELD not in groupings("pain_mean")
    assert groupings("course_effect") == (GroupBy.PARTICIPATION,)
    assert default_grouping("course_effect") is GroupBy.PARTICIPATION
    assert default_grouping("budget_used") is GroupBy.DEPARTMENT
    for measure in MEASURES.values():
        if measure.health:
            assert GroupBy.FIELD not in measure.groupings, measure.name


def test_participation_by_field_counts_everyone_in_every_field(
    employer: Employer, make_offering: Callable[..., Any]
) -> None:
    staff = people(employer, 10)
    enroll(staff[:4], make_offering(employer, starts_in_days=0, field_of_action="movement"))
    enroll(staff[:1], make_offering(employer, starts_in_days=0, field_of_action="movement"))
    enroll(
        [staff[0], staff[4]], make_offering(employer, starts_in_days=0, field_of_action="stress")
    )
    make_offering(employer, starts_in_days=0, field_of_action="addiction")  # nobody booked it

    released = run(employer, spec("participation_rate", GroupBy.FIELD))

    cells = by_group(released)
    # One cell per field with offerings opened to the employer; nutrition was never offered.
    assert list(cells) == ["movement", "stress", "addiction"]
    assert (cells["movement"].n, cells["movement"].value) == (10, pytest.approx(0.4))
    assert (cells["stress"].n, cells["stress"].value) == (10, pytest.approx(0.2))
    assert (cells["addiction"].n, cells["addiction"].value) == (10, 0.0)
    assert (released.total.n, released.total.value) == (10, pytest.approx(0.5))


def test_budget_and_completion_by_field_count_only_that_fields_seats(
    employer: Employer, make_offering: Callable[..., Any]
) -> None:
    staff = people(employer, 12)
    september = days_until(last_year().replace(month=9))  # ended, and in one calendar year
    movement = make_offering(employer, starts_in_days=september, field_of_action="movement")
    stress = make_offering(employer, starts_in_days=september, field_of_action="stress")
    enroll(staff[:6], movement, share_cents=10000)
    enroll(staff[:2] + staff[6:12], stress, share_cents=5000)
    certify(staff[:3], movement)
    certify(staff[6:12], stress)
    period = whole_last_year()

    budget = run(employer, spec("budget_used", GroupBy.FIELD, period=period))
    completion = run(employer, spec("completion_rate", GroupBy.FIELD, period=period))

    cells = by_group(budget)
    assert (cells["movement"].n, cells["movement"].value) == (6, 100.0)
    assert (cells["stress"].n, cells["stress"].value) == (8, 50.0)
    assert budget.total.n == 12
    assert budget.total.value == pytest.approx((2 * 150 + 4 * 100 + 6 * 50) / 12)
    done = by_group(completion)
    assert done["movement"].value == pytest.approx(0.5)
    assert done["stress"].value == pytest.approx(6 / 8)
    # Total: one value per person over all their seats (a certificate for either counts).
    assert completion.total.value == pytest.approx((3 + 6) / 12)


def test_field_cells_sharing_people_are_suppressed_by_people_not_rows(
    employer: Employer, make_offering: Callable[..., Any]
) -> None:
    """Three people with stress and addiction seats are six rows but three people; total minus
    the shown movement cell would be their budget, so movement is hidden too."""
    movers, both = people(employer, 10), people(employer, 3)
    enroll(movers, make_offering(employer, starts_in_days=0, field_of_action="movement"))
    enroll(both, make_offering(employer, starts_in_days=0, field_of_action="stress"))
    enroll(both, make_offering(employer, starts_in_days=0, field_of_action="addiction"))

    released = run(employer, spec("budget_used", GroupBy.FIELD))

    assert [c.group.id for c in released.cells if c.group] == ["movement", "stress", "addiction"]
    assert all(cell.suppressed for cell in released.cells)
    assert (released.total.n, released.total.value) == (13, pytest.approx((1000 + 600) / 13))


def test_field_cells_sharing_people_do_not_hide_more_than_needed(
    employer: Employer, make_offering: Callable[..., Any]
) -> None:
    """Three stress participants who also move are three people in the hidden rest; with the
    eight in nutrition it holds eleven, so the movement cell stays."""
    movers, eaters = people(employer, 12), people(employer, 8)
    enroll(movers, make_offering(employer, starts_in_days=0, field_of_action="movement"))
    enroll(eaters, make_offering(employer, starts_in_days=0, field_of_action="nutrition"))
    enroll(movers[:3], make_offering(employer, starts_in_days=0, field_of_action="stress"))

    released = run(employer, spec("budget_used", GroupBy.FIELD))

    cells = by_group(released)
    assert set(cells) == {"movement", "nutrition", "stress"}  # no addiction course offered
    assert (cells["movement"].n, cells["movement"].value) == (12, 100.0)
    assert cells["nutrition"].suppressed
    assert cells["stress"].suppressed


def test_field_grouping_is_refused_for_health_measures(employer: Employer) -> None:
    with pytest.raises(ValueError, match="pain_mean"):
        run(employer, spec("pain_mean", GroupBy.FIELD))
    with pytest.raises(ValueError, match="course_effect"):
        run(employer, spec("course_effect", GroupBy.DEPARTMENT))


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def hr_client(employer: Employer, make_user: Callable[..., Any], client: Any, login: Any) -> Any:
    return login(client, make_user(Role.HR, employer=employer))


def test_api_lists_the_new_measures(hr_client: Any) -> None:
    names = {m["name"]: m for m in hr_client.get("/api/v1/analytics").get_json()["measures"]}

    assert set(names) >= {
        "attendance_rate",
        "open_issues_share",
        "measures_done",
        "measure_days_to_done",
        "course_effect",
    }
    assert names["measures_done"]["health"] is True
    assert names["attendance_rate"]["health"] is False


@pytest.mark.parametrize(
    ("measure", "group_by"),
    [
        ("pain_mean", "field"),
        ("measures_done", "field"),
        ("pain_mean", "participation"),
        ("budget_used", "participation"),
        ("course_effect", "department"),
        ("course_effect", "month"),
        ("course_effect", "field"),
    ],
)
def test_api_refuses_groupings_a_measure_has_not(
    hr_client: Any, measure: str, group_by: str
) -> None:
    response = hr_client.get(f"/api/v1/analytics/{measure}?group_by={group_by}")

    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert response.get_json()["invalid-params"][0]["name"] == "group_by"


def test_api_groups_by_field_and_course_effect_defaults_to_participation(
    employer: Employer, hr_client: Any, make_offering: Callable[..., Any]
) -> None:
    staff = people(employer, 6)
    enroll(staff, make_offering(employer, starts_in_days=0, field_of_action="stress"))
    month = f"{this_month().first:%Y-%m}"

    by_field = hr_client.get(
        f"/api/v1/analytics/participation_rate?group_by=field&from={month}&to={month}"
    )
    effect = hr_client.get("/api/v1/analytics/course_effect")

    assert by_field.status_code == 200
    cells = {c["group"]["id"]: c for c in by_field.get_json()["cells"]}
    # The HR user is an employee too: seven people, six of them in the stress course.
    assert (cells["stress"]["n"], cells["stress"]["value"]) == (7, pytest.approx(6 / 7))
    assert effect.status_code == 200
    groups = [c["group"]["id"] for c in effect.get_json()["cells"]]
    assert groups == ["participants", "non-participants"]


def test_measure_rows_of_pseudonymized_people_never_count(employer: Employer) -> None:
    staff = people(employer, 10)
    start = berlin_midnight(month_start(today()))
    for employee in staff:
        ask(employee, start - timedelta(days=2), done_at=start + timedelta(minutes=5))
    staff[0].pseudonymized_at = utcnow()
    _db.session.commit()

    released = run(employer, spec("measure_days_to_done"))

    assert released.total.suppressed is True  # nine left, under k = 10
