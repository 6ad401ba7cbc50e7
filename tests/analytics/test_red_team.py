"""Red team: try to learn one employee's health value through the analytics API.

Every attempt must fail: refused (complement rule), suppressed (minimum group size and
complementary suppression), or noised beyond use and not re-drawable (differential privacy with
stored releases). Each test names the rule that stopped it. The victim always has an extreme
value (NRS 10) among colleagues at 2, so any leak would be obvious.

Plus who may call the API at all, and consent withdrawal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.analytics.test_measures import (
    add_months,
    checkin,
    days_until,
    department,
    enroll,
    last_year,
    pain,
    people,
    site,
    today,
    whole_last_year,
)
from wellness.analytics.grid import month_start
from wellness.analytics.privacy import EPSILON_PER_RELEASE, Group, RawCell, suppressed_cells
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.extensions import db as _db
from wellness.health.consent import withdraw_consent
from wellness.health.models import ConsentPurpose
from wellness.tenants.models import Employer

API = "/api/v1/analytics"
MONTH = f"{today():%Y-%m}"


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    """DP off unless a test is about noise: then the only defences are the deterministic
    rules, and a failing attack shows which one held."""
    return make_employer(dp_enabled=False, locale="en")


@pytest.fixture
def hr(employer: Employer, make_user: Callable[..., Any], client: Any, login: Any) -> Any:
    return login(client, make_user(Role.HR, employer=employer))


def get(client: Any, query: str) -> Any:
    return client.get(f"{API}/pain_mean?from={MONTH}&to={MONTH}&{query}")


def cells(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {cell["group"]["id"]: cell for cell in body["cells"]}


def test_department_versus_its_parent_is_refused_by_the_complement_rule(
    employer: Employer, hr: Any
) -> None:
    """Company = Team + the victim: "Company minus Team" would be the victim alone."""
    company = department(employer, "Company")
    team = department(employer, "Team", company)
    pain(people(employer, 10, team), 2)
    pain(people(employer, 1, company), 10)

    assert get(hr, f"department={company.id}").status_code == 200
    refused = get(hr, f"department={team.id}")

    assert refused.status_code == 422  # rule 3: complement rule
    assert "fewer than 10 people" in refused.get_json()["detail"]


def test_filter_combination_department_and_site_is_refused(employer: Employer, hr: Any) -> None:
    """Department x site: the victim is the only one of the department elsewhere."""
    sales = department(employer, "Sales")
    hamburg, berlin = site(employer, "Hamburg"), site(employer, "Berlin")
    pain(people(employer, 10, sales, hamburg), 2)
    pain(people(employer, 1, sales, berlin), 10)
    pain(people(employer, 10, None, berlin), 2)

    assert get(hr, f"department={sales.id}").status_code == 200
    # Sales at Hamburg vs Sales: the site filter leaves one person out (rule 3).
    assert get(hr, f"department={sales.id}&site={hamburg.id}").status_code == 422
    # Sales at Berlin is that one person; Berlin minus Sales is 10, but Sales minus it is 10 too:
    # the site filter within Sales leaves 10 out, the department filter within Berlin leaves 10
    # out, so it is not refused; the cell itself is under k (rule 1).
    alone = get(hr, f"department={sales.id}&site={berlin.id}").get_json()
    assert alone["total"]["suppressed"] is True
    assert alone["total"]["value"] is None


def test_people_in_neither_filter_cannot_be_worked_out_from_four_figures(
    employer: Employer, hr: Any
) -> None:
    """Company − Sales − Hamburg + Sales at Hamburg is whoever is in neither: here one person
    (IT at Berlin). Each filter alone leaves 10 out, so only the corner check stops it."""
    sales, it = department(employer, "Sales"), department(employer, "IT")
    hamburg, berlin = site(employer, "Hamburg"), site(employer, "Berlin")
    pain(people(employer, 10, sales, hamburg), 2)
    pain(people(employer, 10, sales, berlin), 2)
    pain(people(employer, 10, it, hamburg), 2)
    pain(people(employer, 1, it, berlin), 10)

    # By month: no department cells, so only the totals are compared.
    assert get(hr, f"group_by=month&department={sales.id}").status_code == 200
    assert get(hr, f"group_by=month&site={hamburg.id}").status_code == 200
    both = get(hr, f"group_by=month&department={sales.id}&site={hamburg.id}")
    assert both.status_code == 422, "the complement rule, with both filters relaxed"
    assert "fewer than 10 people" in both.get_json()["detail"]


def test_overlapping_sites_and_departments_cells_are_refused(employer: Employer, hr: Any) -> None:
    """Site cells inside a department compared with the company-wide site cells: Hamburg
    company-wide minus Hamburg within Sales would be the victim (complement rule per cell)."""
    sales, it = department(employer, "Sales"), department(employer, "IT")
    hamburg, berlin = site(employer, "Hamburg"), site(employer, "Berlin")
    pain(people(employer, 10, sales, hamburg), 2)
    pain(people(employer, 10, sales, berlin), 2)
    pain(people(employer, 1, it, hamburg), 10)
    pain(people(employer, 10, it, berlin), 2)

    assert get(hr, "group_by=site").status_code == 200
    refused = get(hr, f"group_by=site&department={sales.id}")

    assert refused.status_code == 422  # rule 3 applied to every cell, not just the total


def test_sums_of_suppressed_siblings_cannot_be_recomputed(employer: Employer, hr: Any) -> None:
    """Total minus the shown departments would give the small one: complementary suppression
    hides the next-smallest sibling too, and the people sitting directly in the parent form a
    cell of their own so they cannot hide in "total minus children"."""
    company = department(employer, "Company")
    big = department(employer, "Big", company)
    medium = department(employer, "Medium", company)
    pain(people(employer, 12, big), 2)
    pain(people(employer, 11, medium), 2)
    pain(people(employer, 1, company), 10)  # directly in Company, in no child

    body = get(hr, f"department={company.id}").get_json()

    shown = cells(body)
    assert shown[f"{company.id}-direct"]["suppressed"] is True  # rule 1
    assert shown[str(medium.id)]["suppressed"] is True  # rule 2: next-smallest hidden too
    assert shown[f"{company.id}-direct"]["value"] is None
    assert body["total"]["n"] == 24
    visible = sum(c["n"] for c in body["cells"] if not c["suppressed"])
    assert body["total"]["n"] - visible >= body["k"]  # the hidden rest is at least k people


def test_two_small_siblings_are_not_released_as_their_sum(employer: Employer, hr: Any) -> None:
    a, b, c = (department(employer, name) for name in ("A", "B", "C"))
    pain(people(employer, 20, a), 2)
    pain(people(employer, 1, b), 10)
    pain(people(employer, 1, c), 2)

    body = get(hr, "group_by=department").get_json()

    shown = cells(body)
    assert shown[str(b.id)]["suppressed"]
    assert shown[str(c.id)]["suppressed"]
    assert shown[str(a.id)]["suppressed"] is True  # rule 2: the rest (2 people) is under k


def test_repeated_identical_queries_return_the_stored_release(
    make_employer: Callable[..., Employer], make_user: Callable[..., Any], client: Any, login: Any
) -> None:
    """Averaging many noisy answers would cancel the noise: a repeat gets the same numbers."""
    employer = make_employer(locale="en")  # DP on (default)
    login(client, make_user(Role.HR, employer=employer))
    pain(people(employer, 11), 2)

    first = get(client, "").get_json()
    again = [get(client, "").get_json() for _ in range(3)]

    assert first["noisy"] is True
    assert first["reused"] is False
    assert first["epsilon"] == pytest.approx(EPSILON_PER_RELEASE)
    for body in again:  # rule 4: stored release, no fresh noise, no budget spent
        assert body["reused"] is True
        assert body["epsilon"] == 0
        assert body["total"] == first["total"]


def test_consecutive_months_around_a_joiner_are_noised_beyond_use(
    make_employer: Callable[..., Employer], make_user: Callable[..., Any], client: Any, login: Any
) -> None:
    """Month 1: ten people; month 2: the same ten plus a joiner. 11 x mean2 - 10 x mean1
    would be the joiner's NRS; with noise each month's interval spans most of the scale."""
    employer = make_employer(locale="en")  # DP on (default)
    login(client, make_user(Role.HR, employer=employer))
    second = month_start(today())
    first = add_months(second, -1)
    staff = people(employer, 10)
    pain(staff, 2, first)
    pain(staff, 2, second)
    pain(people(employer, 1), 10, second)

    body = client.get(f"{API}/pain_mean?group_by=month&from={first:%Y-%m}&to={second:%Y-%m}")
    months = cells(body.get_json())

    for cell in months.values():  # rule 4: differential privacy
        assert cell["ci"] is not None
        low, high = cell["ci"]
        # One person moves a month mean of 11 by at most 10/11; the noise interval is wider.
        assert high - low > 10 / 11


def test_a_leaver_does_not_show_as_a_difference_within_the_period(
    make_employer: Callable[..., Employer], make_user: Callable[..., Any], client: Any, login: Any
) -> None:
    """Ask, let the victim leave (pseudonymized), ask again: the answer does not change in the
    budget period, so the difference is zero, not the leaver's value (rule 4, stored release)."""
    employer = make_employer(locale="en")
    login(client, make_user(Role.HR, employer=employer))
    pain(people(employer, 11), 2)
    victim = people(employer, 1)[0]
    pain([victim], 10)

    before = get(client, "").get_json()
    victim.pseudonymized_at = utcnow()
    _db.session.commit()
    after = get(client, "").get_json()

    assert after["reused"] is True
    assert after["total"] == before["total"]


def test_budget_spent_refuses_new_health_figures(
    make_employer: Callable[..., Employer], make_user: Callable[..., Any], client: Any, login: Any
) -> None:
    """Endless fresh variants of a query would add up to the truth: the budget caps them."""
    employer = make_employer(dp_epsilon_per_period=EPSILON_PER_RELEASE, locale="en")
    login(client, make_user(Role.HR, employer=employer))
    pain(people(employer, 11), 2)

    assert get(client, "group_by=department").status_code == 200
    refused = get(client, "group_by=site")

    assert refused.status_code == 422  # rule 4: privacy budget
    assert "budget" in refused.get_json()["detail"]


# --- fields of action and course participation -------------------------------------------------


def test_people_in_two_fields_cannot_be_worked_out_from_the_total(
    employer: Employer, hr: Any, make_offering: Callable[..., Any]
) -> None:
    """The victim and two colleagues hold seats in both a stress and an addiction course:
    six rows, three people. The privacy layer alone counts rows, so it would show the
    movement cell, and total minus movement would be the three people's budget. The measure
    sizes the hidden rest by people, so movement is hidden too (rule 2, by people)."""
    movers, three = people(employer, 10), people(employer, 3)
    enroll(movers, make_offering(employer, starts_in_days=0, field_of_action="movement"))
    for field in ("stress", "addiction"):
        enroll(three, make_offering(employer, starts_in_days=0, field_of_action=field), 50000)
    rows = {p.id: 100.0 for p in movers}
    cells_by_rows = [
        RawCell(Group("movement", ""), rows),
        RawCell(Group("stress", ""), {p.id: 500.0 for p in three}),
        RawCell(Group("addiction", ""), {p.id: 500.0 for p in three}),
    ]
    total_by_rows = RawCell(None, {**rows, **{p.id: 1000.0 for p in three}})
    assert suppressed_cells(5, total_by_rows, cells_by_rows) == (False, [False, True, True])

    body = hr.get(f"{API}/budget_used?group_by=field&from={MONTH}&to={MONTH}").get_json()

    assert [cell["group"]["id"] for cell in body["cells"]] == ["movement", "stress", "addiction"]
    assert all(cell["suppressed"] for cell in body["cells"])
    assert all(cell["value"] is None for cell in body["cells"])
    assert body["total"]["n"] == 13


def test_participants_cannot_be_worked_out_as_total_minus_non_participants(
    employer: Employer, hr: Any, make_offering: Callable[..., Any]
) -> None:
    """The victim (NRS 10 to 0) and two colleagues took the back course; twelve did not. Total
    minus non-participants would be the three: the participant cell is under k (rule 1) and
    the non-participant cell goes with it (rule 2)."""
    course = make_offering(employer, starts_in_days=days_until(last_year()))
    victim, colleagues, others = people(employer, 1), people(employer, 2), people(employer, 12)
    enroll(victim + colleagues, course)
    for employee, before, after in [(victim[0], 10, 0)] + [(c, 2, 2) for c in colleagues + others]:
        checkin(employee, before, course.starts_on - timedelta(days=20))
        checkin(employee, after, course.ends_on + timedelta(days=20))
    _db.session.commit()
    year = whole_last_year()

    response = hr.get(f"{API}/course_effect?from={year.first:%Y-%m}&to={year.last:%Y-%m}")

    body = response.get_json()
    shown = cells(body)
    assert shown["participants"]["suppressed"] is True
    assert shown["non-participants"]["suppressed"] is True
    assert shown["non-participants"]["value"] is None
    assert body["total"]["n"] == 15


# --- exact figures over periods ----------------------------------------------------------------


def budget_seats(employer: Employer, make_offering: Callable[..., Any], day: date, n: int) -> None:
    """``n`` new people with a seat in an offering that starts on ``day`` (budget counts it
    in that month)."""
    enroll(people(employer, n), make_offering(employer, starts_in_days=days_until(day)))


def test_overlapping_free_periods_are_refused_for_exact_figures(
    employer: Employer, hr: Any, make_offering: Callable[..., Any]
) -> None:
    """Total(March..November) minus total(March..October) would be November's two people,
    whatever the month grid hides: exact figures are given for calendar periods only."""
    year = last_year().year
    budget_seats(employer, make_offering, date(year, 3, 10), 12)
    budget_seats(employer, make_offering, date(year, 11, 10), 2)

    for to in ("10", "11"):
        refused = hr.get(f"{API}/budget_used?from={year}-03&to={year}-{to}")
        assert refused.status_code == 422
        assert "calendar year, quarter or month" in refused.get_json()["detail"]
    whole = hr.get(f"{API}/budget_used?from={year}-01&to={year}-12&group_by=month").get_json()
    months = cells(whole)
    assert months[f"{year}-11"]["suppressed"] is True  # rule 1
    assert whole["total"]["n"] == 14


def test_a_month_hidden_in_the_year_does_not_come_back_from_its_quarter(
    employer: Employer, hr: Any, make_offering: Callable[..., Any]
) -> None:
    """The year by month hides November (two people) and, as the next-smallest, January; the
    quarter October..December by month would hide November and October. Together they would
    show October, December and the quarter, so November = quarter - October - December. One
    suppression pattern over the year's calendar tree hides October in both."""
    year = last_year().year
    budget_seats(employer, make_offering, date(year, 1, 10), 5)
    budget_seats(employer, make_offering, date(year, 10, 10), 6)
    budget_seats(employer, make_offering, date(year, 11, 10), 2)
    budget_seats(employer, make_offering, date(year, 12, 10), 6)

    def months(first: str, last: str) -> dict[str, dict[str, Any]]:
        query = f"from={year}-{first}&to={year}-{last}&group_by=month"
        body = hr.get(f"{API}/budget_used?{query}").get_json()
        return cells(body) | {"total": body["total"]}

    by_year, by_quarter = months("01", "12"), months("10", "12")

    assert by_quarter["total"]["suppressed"] is False
    autumn = [f"{year}-{m}" for m in ("10", "11", "12")]
    shown = {m for m in autumn for grid in (by_year, by_quarter) if not grid[m]["suppressed"]}
    assert len(shown) <= 1  # the quarter minus what is shown leaves two months or more
    assert by_year[f"{year}-11"]["suppressed"]
    assert by_quarter[f"{year}-11"]["suppressed"]


# --- consent ---------------------------------------------------------------------------------


def test_withdrawn_consent_removes_the_person_from_the_next_release(
    employer: Employer, hr: Any
) -> None:
    staff = people(employer, 11)
    pain(staff, 2)
    checkin(staff[0], 10, last_year())  # before this year: no lone month in its tree
    _db.session.commit()
    assert get(hr, "").get_json()["total"]["n"] == 11

    withdraw_consent(staff[0], ConsentPurpose.HEALTH_AGGREGATES)
    _db.session.commit()

    assert get(hr, "").get_json()["total"]["n"] == 10
    assert get(hr, "group_by=month").get_json()["total"]["n"] == 10


# --- who may ask -------------------------------------------------------------------------------


def test_anonymous_gets_401(client: Any) -> None:
    assert client.get(API).status_code == 401
    assert client.get(f"{API}/pain_mean").status_code == 401


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.PROVIDER, Role.OPERATOR])
def test_other_roles_get_403(
    role: Role,
    employer: Employer,
    make_user: Callable[..., Any],
    make_provider: Callable[..., Any],
    client: Any,
    login: Any,
) -> None:
    scope: dict[str, Any] = {}
    if role is Role.EMPLOYEE:
        scope["employer"] = employer
    elif role is Role.PROVIDER:
        scope["provider"] = make_provider()
    login(client, make_user(role, **scope))
    assert client.get(API).status_code == 403
    assert client.get(f"{API}/pain_mean").status_code == 403


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admin_of_the_employer_get_200(
    role: Role, employer: Employer, make_user: Callable[..., Any], client: Any, login: Any
) -> None:
    pain(people(employer, 10), 2)
    login(client, make_user(role, employer=employer))
    assert client.get(API).status_code == 200
    response = get(client, "")
    assert response.status_code == 200
    assert response.get_json()["total"]["n"] == 10


def test_hr_of_another_employer_gets_nothing_of_ours(
    employer: Employer,
    make_employer: Callable[..., Employer],
    make_user: Callable[..., Any],
    client: Any,
    login: Any,
) -> None:
    ours = department(employer, "Ours")
    our_site = site(employer, "Our site")
    pain(people(employer, 10, ours, our_site), 9)
    other = make_employer(dp_enabled=False, locale="en")
    pain(people(other, 12), 1)
    login(client, make_user(Role.HR, employer=other))

    assert get(client, f"department={ours.id}").status_code == 404
    assert get(client, f"site={our_site.id}").status_code == 404
    theirs = get(client, "").get_json()
    assert (theirs["total"]["n"], theirs["total"]["value"]) == (12, 1.0)
    assert "Ours" not in {cell["group"]["name"] for cell in theirs["cells"]}
