"""course_effect: change in pain from before to after a back course, participants next to
non-participants over the same months; exact figures on hand-built check-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.analytics.test_measures import (
    by_group,
    checkin,
    days_until,
    enroll,
    last_year,
    people,
    spec,
    today,
    whole_last_year,
)
from wellness.analytics.grid import GroupBy, Period, month_start
from wellness.analytics.measures import EFFECT_WINDOW_DAYS, MEASURES, run
from wellness.courses.models import Offering, OfferingStatus
from wellness.extensions import db as _db
from wellness.health.models import BodyRegion
from wellness.tenants.models import Employee, Employer


@pytest.fixture
def employer(make_employer: Callable[..., Employer]) -> Employer:
    """No noise, default thresholds: k = 10 for health measures."""
    return make_employer(dp_enabled=False, locale="en")


def effect(period: Period, **fields: Any) -> Any:
    return spec("course_effect", GroupBy.PARTICIPATION, period=period, **fields)


def before_after(
    employees: Iterable[Employee],
    offering: Offering,
    before: int | Iterable[int],
    after: int,
    region: BodyRegion = BodyRegion.LOW_BACK,
) -> None:
    """Check-ins a month before the offering starts (one per value, a month apart) and a month
    after it ends; a day later for other regions (one check-in per person and day)."""
    befores = [before] if isinstance(before, int) else list(before)
    shift = 0 if region is BodyRegion.LOW_BACK else 1
    for employee in employees:
        for n, nrs in enumerate(befores):
            day = offering.starts_on - timedelta(days=30 + 30 * n - shift)
            checkin(employee, nrs, day, region=region)
        checkin(employee, after, offering.ends_on + timedelta(days=30 + shift), region=region)
    _db.session.commit()


def since(day: date) -> Period:
    return Period(month_start(day), month_start(today()))


def test_course_effect_compares_participants_with_non_participants_over_the_same_months(
    employer: Employer,
    make_employer: Callable[..., Employer],
    make_offering: Callable[..., Offering],
) -> None:
    june, ten_days_on = days_until(last_year()), days_until(last_year(11))
    early = make_offering(employer, starts_in_days=june)  # movement: a back course
    late = make_offering(employer, starts_in_days=ten_days_on)
    period = whole_last_year()  # exact figures: a calendar period

    on_early, on_late = people(employer, 4), people(employer, 6)
    enroll(on_early, early)
    enroll(on_late, late)
    before_after(on_early, early, 6, 4)  # -2 each
    before_after(on_late, late, [6, 8], 3)  # mean of 6 and 8 before: 7 -> 3, -4 each
    before_after(on_early, early, 9, 7, region=BodyRegion.NECK)
    before_after(on_late, late, 9, 9, region=BodyRegion.NECK)

    only_before = people(employer, 1)
    enroll(only_before, early)
    checkin(only_before[0], 9, early.starts_on - timedelta(days=5))  # no check-in after
    refusing = people(employer, 2, consent=False)
    enroll(refusing, early)
    before_after(refusing, early, 10, 0)
    soon = people(employer, 1)
    enroll(soon, make_offering(employer, starts_in_days=-20))  # after the period
    checkin(soon[0], 9, today() - timedelta(days=25))

    # Non-participants are compared over the median participant's windows: the late offering
    # (six of ten participants). Nutrition courses and cancelled offerings are no back course.
    plain = people(employer, 8)
    nutrition = people(employer, 1)
    food = make_offering(employer, starts_in_days=ten_days_on, field_of_action="nutrition")
    enroll(nutrition, food)
    cancelled = make_offering(employer, starts_in_days=ten_days_on)
    cancelled.status = OfferingStatus.CANCELLED.value
    withdrawn = people(employer, 1)
    enroll(withdrawn, cancelled)
    before_after(plain[:5], late, 5, 5)  # 0 each
    before_after(plain[5:] + nutrition + withdrawn, late, 5, 4)  # -1 each
    # Only in the early offering's before window, outside the late one's: not counted.
    outside = people(employer, 1)[0]
    checkin(outside, 10, late.starts_on - timedelta(days=EFFECT_WINDOW_DAYS + 5))
    checkin(outside, 0, late.ends_on + timedelta(days=5))
    # A back course before the period: in neither group.
    veteran = people(employer, 1)
    enroll(veteran, make_offering(employer, starts_in_days=june - 200))
    before_after(veteran, late, 10, 0)
    # Another employer's participants and non-participants.
    other = make_employer(dp_enabled=False)
    theirs = make_offering(other, starts_in_days=ten_days_on)
    outsiders = people(other, 12)
    enroll(outsiders[:6], theirs)
    before_after(outsiders, theirs, 0, 10)
    _db.session.commit()

    released = run(employer, effect(period))

    cells = by_group(released)
    assert list(cells) == ["participants", "non-participants"]
    assert (cells["participants"].n, cells["participants"].value) == (10, pytest.approx(-3.2))
    assert (cells["non-participants"].n, cells["non-participants"].value) == (
        10,
        pytest.approx(-0.5),
    )
    assert (released.total.n, released.total.value) == (20, pytest.approx((-32 - 5) / 20))

    neck = run(employer, effect(period, region=BodyRegion.NECK))
    # Only the participants have neck check-ins: -2 early, 0 late. The empty non-participant
    # cell is hidden, and with it the participants (complementary suppression).
    assert (neck.total.n, neck.total.value) == (10, pytest.approx(-0.8))
    assert all(cell.suppressed for cell in neck.cells)


def test_course_effect_with_fewer_than_k_participants_is_suppressed(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    course = make_offering(employer, starts_in_days=days_until(last_year()))
    participants, others = people(employer, 3), people(employer, 12)
    enroll(participants, course)
    before_after(participants, course, 8, 2)
    before_after(others, course, 4, 4)

    released = run(employer, effect(whole_last_year()))

    cells = by_group(released)
    assert cells["participants"].suppressed is True
    assert (cells["participants"].n, cells["participants"].value) == (None, None)
    # Total minus non-participants would be the three: the non-participants are hidden too.
    assert cells["non-participants"].suppressed is True
    assert (released.total.n, released.total.value) == (15, pytest.approx(-18 / 15))


def test_course_effect_counts_only_consenting_people(
    employer: Employer, make_offering: Callable[..., Offering]
) -> None:
    course = make_offering(employer, starts_in_days=days_until(last_year()))
    participants = people(employer, 10)
    refusing = people(employer, 5, consent=False)
    enroll(participants + refusing, course)
    before_after(participants, course, 5, 3)
    before_after(refusing, course, 10, 0)
    before_after(people(employer, 10), course, 5, 5)

    released = run(employer, effect(whole_last_year()))

    cells = by_group(released)
    assert (cells["participants"].n, cells["participants"].value) == (10, -2.0)
    assert (released.total.n, released.total.value) == (20, -1.0)


def test_course_effect_label_says_observation_not_proof(english: None) -> None:
    label = str(MEASURES["course_effect"].label)

    assert "observation" in label
    assert "not proof" in label


def test_course_effect_with_noise_stays_within_the_bounds(
    make_employer: Callable[..., Employer], make_offering: Callable[..., Offering]
) -> None:
    """Differential privacy on a measure whose values can be negative: one person is in one
    cell, and every shown value and interval lies in [-10, 10]."""
    employer = make_employer(locale="en")  # DP on (default)
    course = make_offering(employer, starts_in_days=-150)
    participants, others = people(employer, 10), people(employer, 10)
    enroll(participants, course)
    before_after(participants, course, 10, 0)
    before_after(others, course, 0, 10)

    released = run(employer, effect(since(course.starts_on)))

    assert released.noisy is True
    for cell in [released.total, *released.cells]:
        assert cell.value is not None
        assert cell.ci is not None
        assert -10 <= cell.ci[0] <= cell.value <= cell.ci[1] <= 10
