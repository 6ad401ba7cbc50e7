"""Measures: one value per distinct person per cell, consent and pseudonymization respected,
department subtrees, sites and months; and the analytics API contract."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from wellness.analytics import calendar_periods
from wellness.analytics.grid import GroupBy, Period, add_months, month_start
from wellness.analytics.measures import Spec, run
from wellness.analytics.privacy import PrivacyRefused, Release
from wellness.attendance.models import Certificate
from wellness.audit.models import AuditEvent
from wellness.auth.models import Role
from wellness.courses.models import Enrollment, EnrollmentStatus, Offering
from wellness.db import utcnow
from wellness.extensions import db as _db
from wellness.health.consent import current_text, give_consent
from wellness.health.models import (
    BodyRegion,
    ChecklistResponse,
    ChecklistTemplate,
    ConsentPurpose,
    ExerciseLog,
    PainCheckin,
    PainScore,
)
from wellness.i18n import local_today
from wellness.tenants.models import Department, Employee, Employer, Site

HEALTH = ConsentPurpose.HEALTH_AGGREGATES
_numbers = itertools.count(1)


def today() -> date:
    return local_today(utcnow())


def this_month() -> Period:
    start = month_start(today())
    return Period(start, start)


def calendar_year(day: date) -> Period:
    """The calendar year of ``day`` up to this month: exact figures are given for calendar
    periods only."""
    year = calendar_periods.year_of(day, today())
    assert year is not None
    return year


def last_autumn() -> Period:
    """October to December of last year: a whole calendar quarter, whatever today is."""
    return Period(date(today().year - 1, 10, 1), date(today().year - 1, 12, 1))


def whole_last_year() -> Period:
    return Period(date(today().year - 1, 1, 1), date(today().year - 1, 12, 1))


def days_until(day: date) -> int:
    """``make_offering``'s ``starts_in_days`` for an offering that starts on ``day``."""
    return (day - today()).days


def last_year(day: int = 1) -> date:
    """A day of last year: outside this year's calendar tree (exact figures are suppressed
    over their year's tree, so a lone person in another month of this year would hide it)."""
    return date(today().year - 1, 6, day)


def department(employer: Employer, name: str, parent: Department | None = None) -> Department:
    row = Department(employer_id=employer.id, name=name, parent_id=parent.id if parent else None)
    _db.session.add(row)
    _db.session.flush()
    return row


def site(employer: Employer, name: str) -> Site:
    row = Site(employer_id=employer.id, name=name, city="Hamburg")
    _db.session.add(row)
    _db.session.flush()
    return row


def people(
    employer: Employer,
    count: int,
    dept: Department | None = None,
    at: Site | None = None,
    *,
    consent: bool = True,
    hired_on: date | None = None,
) -> list[Employee]:
    """Employees without accounts (faster than users); consenting to health aggregates."""
    rows = [
        Employee(
            employer_id=employer.id,
            employee_number=f"P{next(_numbers):06d}",
            department_id=dept.id if dept else None,
            site_id=at.id if at else None,
            hired_on=hired_on,
        )
        for _ in range(count)
    ]
    _db.session.add_all(rows)
    _db.session.flush()
    if consent:
        version = current_text(HEALTH).version
        for row in rows:
            give_consent(row, HEALTH, version, now=utcnow() - timedelta(days=400))
    _db.session.commit()
    return rows


def checkin(
    employee: Employee,
    nrs: int,
    day: date | None = None,
    *,
    prevented: bool = False,
    region: BodyRegion = BodyRegion.LOW_BACK,
) -> None:
    row = PainCheckin(
        employee_id=employee.id, checked_on=day or today(), prevented_activity=prevented
    )
    row.scores.append(PainScore(region=region.value, nrs=nrs))
    _db.session.add(row)
    _db.session.flush()


def pain(employees: Iterable[Employee], nrs: int, day: date | None = None) -> None:
    for employee in employees:
        checkin(employee, nrs, day)
    _db.session.commit()


def enroll(employees: Iterable[Employee], offering: Offering, share_cents: int = 10000) -> None:
    for employee in employees:
        _db.session.add(
            Enrollment(
                offering_id=offering.id,
                employee_id=employee.id,
                status=EnrollmentStatus.ENROLLED.value,
                participant_code=f"C{next(_numbers):09d}",
                employer_share_cents=share_cents,
                budget_year=offering.starts_on.year,
            )
        )
    _db.session.commit()


def certify(employees: Iterable[Employee], offering: Offering) -> None:
    for employee in employees:
        found = _db.session.scalar(
            select(Enrollment).where(
                Enrollment.employee_id == employee.id, Enrollment.offering_id == offering.id
            )
        )
        assert found is not None
        _db.session.add(
            Certificate(
                enrollment_id=found.id,
                verification_code=f"V{next(_numbers):09d}",
                sessions_attended=8,
                sessions_total=8,
                fee_cents=15000,
                fee_paid=True,
            )
        )
    _db.session.commit()


def by_group(release: Release) -> dict[str, Any]:
    return {cell.group.id: cell for cell in release.cells if cell.group is not None}


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    """Deterministic figures: no noise, the default thresholds (k=5 participation, 10 health)."""
    return make_employer(dp_enabled=False, locale="en")


def spec(measure: str, by: GroupBy = GroupBy.DEPARTMENT, **fields: Any) -> Spec:
    return Spec(measure, by, fields.pop("period", this_month()), **fields)


def test_participation_rate_counts_every_active_employee_once(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    sales, it = department(employer, "Sales"), department(employer, "IT")
    sellers, _admins = people(employer, 6, sales), people(employer, 6, it)
    people(employer, 1, sales)[0].active = False
    first, second = make_offering(employer, starts_in_days=-7), make_offering(employer)
    enroll(sellers[:3], first)
    enroll(sellers[:1], second)  # a second course does not count the person twice

    released = run(employer, spec("participation_rate"))

    cells = by_group(released)
    assert (cells[str(sales.id)].n, cells[str(sales.id)].value) == (6, 0.5)
    assert (cells[str(it.id)].n, cells[str(it.id)].value) == (6, 0.0)
    assert (released.total.n, released.total.value) == (12, 0.25)
    assert released.k == 5
    assert not released.noisy


def test_department_cell_counts_its_whole_subtree(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    company = department(employer, "Company")
    sales = department(employer, "Sales", company)
    north = department(employer, "North", sales)
    it = department(employer, "IT", company)
    people(employer, 5, sales), people(employer, 5, north), people(employer, 10, it)

    top = run(employer, spec("participation_rate"))
    assert [c.group.id for c in top.cells if c.group] == [str(company.id)]
    assert top.cells[0].n == 20

    below = run(employer, spec("participation_rate", department_id=company.id))
    cells = by_group(below)
    assert cells[str(sales.id)].n == 10  # Sales with North
    assert cells[str(it.id)].n == 10
    assert below.total.n == 20


def test_completion_rate_per_participant_of_finished_offerings(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    staff = people(employer, 8)
    finished = make_offering(employer, starts_in_days=-70)  # ended three weeks ago
    running = make_offering(employer, starts_in_days=-7)
    enroll(staff[:6], finished)
    enroll(staff[6:], running)  # cannot have completed yet: not counted
    certify(staff[:3], finished)
    released = run(employer, spec("completion_rate", period=calendar_year(finished.ends_on)))

    assert (released.total.n, released.total.value) == (6, 0.5)


def test_budget_used_is_the_employer_share_in_euro_per_participant(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    staff = people(employer, 6)
    offering = make_offering(employer, starts_in_days=0)
    enroll(staff[:3], offering, share_cents=10000)
    enroll(staff[3:], make_offering(employer, starts_in_days=0), share_cents=20000)
    enroll(staff[:1], make_offering(employer, starts_in_days=0), share_cents=5000)

    released = run(employer, spec("budget_used"))

    assert released.total.n == 6
    assert released.total.value == pytest.approx((100 * 3 + 200 * 3 + 50) / 6)


def test_pain_mean_counts_only_consenting_people_not_pseudonymized(employer: Employer) -> None:
    consenting = people(employer, 10)
    pain(consenting, 4)
    refusing = people(employer, 5, consent=False)
    pain(refusing, 10)
    gone = people(employer, 1)[0]
    pain([gone], 10)
    gone.pseudonymized_at = utcnow()
    _db.session.commit()

    released = run(employer, spec("pain_mean"))

    assert (released.total.n, released.total.value) == (10, 4.0)


def test_pain_mean_is_per_person_and_per_region(employer: Employer) -> None:
    staff = people(employer, 10)
    pain(staff[1:], 2)
    # Many check-ins of one person weigh like one: mean of 8 and 6 is 7.
    first = month_start(today())
    checkin(staff[0], 8, first)
    if today() != first:
        checkin(staff[0], 6, today())
    for employee in staff:
        checkin(employee, 9, first - timedelta(days=1), region=BodyRegion.NECK)
    _db.session.commit()

    low_back = run(employer, spec("pain_mean"))
    last_month = add_months(first, -1)
    neck = run(
        employer,
        spec("pain_mean", region=BodyRegion.NECK, period=Period(last_month, last_month)),
    )

    person0 = 7.0 if today() != first else 8.0
    assert low_back.total.value == pytest.approx((person0 + 2 * 9) / 10)
    assert (neck.total.n, neck.total.value) == (10, 9.0)


def test_pain_shares_high_and_limited(employer: Employer) -> None:
    staff = people(employer, 10)
    pain(staff[:6], 2)
    pain(staff[6:], 5)  # NRS 5 counts as high
    checkin_day = today()
    for employee in staff[:2]:
        row = _db.session.scalar(
            select(PainCheckin).where(
                PainCheckin.employee_id == employee.id, PainCheckin.checked_on == checkin_day
            )
        )
        assert row is not None
        row.prevented_activity = True
    _db.session.commit()

    assert run(employer, spec("pain_high_share")).total.value == pytest.approx(0.4)
    assert run(employer, spec("pain_limited_share")).total.value == pytest.approx(0.2)


def test_pain_limited_share_counts_each_person_once_whatever_the_regions(
    employer: Employer,
) -> None:
    """Any check-in of the month that prevented activity counts, whichever regions it scored,
    and a person with several check-ins and regions is one person (the regions' rollup rows
    are summed per person and month before they meet the cells)."""
    staff = people(employer, 11)
    month = add_months(month_start(today()), -1)
    for employee in staff[:10]:
        checkin(employee, 3, month)
    for employee in staff[:3]:
        checkin(employee, 6, month + timedelta(days=1), prevented=True, region=BodyRegion.NECK)
        checkin(employee, 4, month + timedelta(days=2), region=BodyRegion.KNEES)
    checkin(staff[10], 7, month, prevented=True, region=BodyRegion.WRISTS_HANDS)
    _db.session.commit()

    released = run(employer, spec("pain_limited_share", period=Period(month, month)))

    assert (released.total.n, released.total.value) == (11, pytest.approx(4 / 11))


def test_checklist_score_takes_each_persons_latest_response(employer: Employer) -> None:
    staff = people(employer, 10)
    template = ChecklistTemplate(key="screen-workstation", title_de="B", title_en="S")
    _db.session.add(template)
    _db.session.flush()
    start = datetime.combine(month_start(today()), datetime.min.time()).astimezone()
    for n, employee in enumerate(staff):
        _db.session.add_all(
            [
                ChecklistResponse(
                    employee_id=employee.id,
                    template_id=template.id,
                    score=10,
                    items_to_fix=3,
                    submitted_at=start + timedelta(hours=2),
                ),
                ChecklistResponse(
                    employee_id=employee.id,
                    template_id=template.id,
                    score=50 + n,
                    items_to_fix=2,
                    submitted_at=start + timedelta(hours=3),
                ),
            ]
        )
    _db.session.commit()

    released = run(employer, spec("checklist_score"))

    assert (released.total.n, released.total.value) == (10, pytest.approx(54.5))


def test_training_frequency_is_sessions_per_elapsed_week(employer: Employer) -> None:
    staff = people(employer, 10)
    previous = add_months(month_start(today()), -1)
    days_in_month = (month_start(today()) - previous).days
    for employee in staff:
        for day in (1, 8):
            _db.session.add(
                ExerciseLog(employee_id=employee.id, performed_on=previous.replace(day=day))
            )
    people(employer, 3)  # never logged: not counted
    _db.session.commit()

    released = run(employer, spec("training_frequency", period=Period(previous, previous)))

    assert released.total.n == 10
    assert released.total.value == pytest.approx(2 / (days_in_month / 7))


def test_month_grouping_gives_each_month_its_own_values(employer: Employer) -> None:
    staff = people(employer, 10)
    quarter = last_autumn()
    october, november, december = quarter.months()
    pain(staff, 6, october)
    pain(staff, 2, november)
    pain(staff, 4, december)

    released = run(employer, spec("pain_mean", GroupBy.MONTH, period=quarter))

    cells = by_group(released)
    assert cells[f"{october:%Y-%m}"].value == 6.0
    assert cells[f"{november:%Y-%m}"].value == 2.0
    assert cells[f"{december:%Y-%m}"].value == 4.0
    assert (released.total.n, released.total.value) == (10, 4.0)


def test_participation_month_population_starts_at_hiring(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    quarter = last_autumn()
    first, second, _third = quarter.months()
    people(employer, 5, hired_on=first - timedelta(days=100))
    people(employer, 5, hired_on=second)

    released = run(employer, spec("participation_rate", GroupBy.MONTH, period=quarter))

    cells = by_group(released)
    assert cells[f"{first:%Y-%m}"].n == 5
    assert cells[f"{second:%Y-%m}"].n == 10


def test_site_grouping_and_filter(employer: Employer) -> None:
    hamburg, berlin = site(employer, "Hamburg"), site(employer, "Berlin")
    pain(people(employer, 10, at=hamburg), 3)
    pain(people(employer, 10, at=berlin), 7)

    by_site = by_group(run(employer, spec("pain_mean", GroupBy.SITE)))
    assert (by_site[str(hamburg.id)].value, by_site[str(berlin.id)].value) == (3.0, 7.0)
    filtered = run(employer, spec("pain_mean", GroupBy.SITE, site_id=berlin.id))
    assert (filtered.total.n, filtered.total.value) == (10, 7.0)


def test_filter_with_small_complement_is_refused(employer: Employer) -> None:
    company = department(employer, "Company")
    team = department(employer, "Team", company)
    pain(people(employer, 10, team), 3)
    pain(people(employer, 2, company), 9)

    with pytest.raises(PrivacyRefused):
        run(employer, spec("pain_mean", department_id=team.id))


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def hr_client(employer: Employer, make_user: Callable[..., Any], client: Any, login: Any) -> Any:
    return login(client, make_user(Role.HR, employer=employer))


def test_api_lists_the_measures(hr_client: Any) -> None:
    response = hr_client.get("/api/v1/analytics")
    assert response.status_code == 200
    names = {m["name"]: m for m in response.get_json()["measures"]}
    assert names["pain_mean"]["health"] is True
    participation = names["participation_rate"]
    assert (participation["health"], participation["unit"]) == (False, "share")
    assert participation["label"]  # translated, so only its presence is checked
    assert set(names) >= {"completion_rate", "budget_used", "checklist_score"}
    assert names["course_effect"]["group_by"] == ["participation"]
    assert names["pain_mean"]["region"] is True
    assert participation["default_group_by"] == "department"
    assert "field" in participation["group_by"]


def test_api_returns_the_release_and_audits_the_query(employer: Employer, hr_client: Any) -> None:
    sales = department(employer, "Sales")
    pain(people(employer, 10, sales), 4)
    month = f"{today():%Y-%m}"

    response = hr_client.get(
        f"/api/v1/analytics/pain_mean?group_by=department&from={month}&to={month}"
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["measure"] == "pain_mean"
    assert body["k"] == 10
    assert body["noisy"] is False
    assert body["total"] == {"group": None, "n": 10, "value": 4.0, "suppressed": False, "ci": None}
    assert {"id": str(sales.id), "name": "Sales"} in [c["group"] for c in body["cells"]]
    event = _db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "hr.analytics_viewed")
    ).one()
    assert event.employer_id == employer.id
    details = json.loads(event.details or "{}")
    assert details == {
        "measure": "pain_mean",
        "group_by": "department",
        "period": details["period"],
        "channel": "api",
    }


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("group_by=team", "group_by"),
        ("from=2026-13", "from"),
        ("from=2026-03&to=2026-01", "from"),
        ("from=2020-01&to=2026-01", "to"),
        ("department=abc", "department"),
        ("site=-1", "site"),
        ("region=tail", "region"),
    ],
)
def test_api_bad_parameter_is_a_problem_naming_it(hr_client: Any, query: str, param: str) -> None:
    response = hr_client.get(f"/api/v1/analytics/pain_mean?{query}")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert response.get_json()["invalid-params"][0]["name"] == param


def test_api_region_only_for_pain_and_unknown_measure_404(hr_client: Any) -> None:
    response = hr_client.get("/api/v1/analytics/budget_used?region=neck")
    assert response.status_code == 400
    assert hr_client.get("/api/v1/analytics/salary").status_code == 404


def test_api_privacy_refusal_is_422_with_the_reason(employer: Employer, hr_client: Any) -> None:
    company = department(employer, "Company")
    team = department(employer, "Team", company)
    pain(people(employer, 10, team), 3)
    pain(people(employer, 2, company), 9)

    response = hr_client.get(f"/api/v1/analytics/pain_mean?department={team.id}")

    assert response.status_code == 422
    assert "fewer than 10 people" in response.get_json()["detail"]
    event = _db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "hr.analytics_viewed")
    ).one()
    assert json.loads(event.details or "{}")["refused"] is True
