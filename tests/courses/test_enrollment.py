"""Enrollment rules: seats, waitlist, promotion, window, deadline, budget, double enrollment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from wellness.auth.models import Role
from wellness.courses import enrollment as service
from wellness.courses.budget import budget_used
from wellness.courses.models import Enrollment, Offering
from wellness.db import utcnow
from wellness.errors import Conflict, NotFound
from wellness.notifications.models import OutboundMail

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def employer(make_employer):
    return make_employer()


@pytest.fixture
def people(employer, make_user):
    """Employees of one employer, as many as a test needs."""

    def build(n: int):
        return [make_user(Role.EMPLOYEE, employer=employer).employee for _ in range(n)]

    return build


def _mail_kinds(db, employee) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboundMail.kind)
            .where(OutboundMail.user_id == employee.user_id)
            .order_by(OutboundMail.id)
        )
    )


def test_full_offering_puts_employee_on_waitlist_in_order(db, employer, people, make_offering):
    offering = make_offering(employer, capacity=2)
    a, b, c, d = people(4)
    results = [service.enroll(person, offering.id) for person in (a, b, c, d)]
    db.session.commit()
    assert [r.status for r in results] == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    assert [service.waitlist_rank(r) for r in results] == [None, None, 1, 2]
    db.session.refresh(offering)
    assert offering.seats_taken == 2


def test_cancellation_promotes_the_first_on_the_waitlist_and_mails_them(
    db, employer, people, make_offering
):
    offering = make_offering(employer, capacity=1)
    first, second, third = people(3)
    for person in (first, second, third):
        service.enroll(person, offering.id)
    db.session.commit()

    service.cancel(first, offering.id)
    db.session.commit()

    statuses = {
        e.employee_id: (e.status, service.waitlist_rank(e))
        for e in db.session.scalars(select(Enrollment))
    }
    assert statuses[first.id] == ("cancelled", None)
    assert statuses[second.id] == ("enrolled", None)
    assert statuses[third.id] == ("waitlisted", 1)
    assert "promoted" in _mail_kinds(db, second)
    assert db.session.get(Offering, offering.id).seats_taken == 1


def test_cancelling_a_waitlist_place_frees_no_seat(db, employer, people, make_offering):
    offering = make_offering(employer, capacity=1)
    first, second = people(2)
    service.enroll(first, offering.id)
    service.enroll(second, offering.id)
    service.cancel(second, offering.id)
    db.session.commit()
    assert db.session.get(Offering, offering.id).seats_taken == 1
    assert service.find_enrollment(first, offering.id).status == "enrolled"


def test_double_enrollment_is_refused_with_a_message(db, employer, people, make_offering):
    offering = make_offering(employer)
    (person,) = people(1)
    service.enroll(person, offering.id)
    with pytest.raises(Conflict, match="already enrolled"):
        service.enroll(person, offering.id)


def test_double_waitlisting_tells_the_position(db, employer, people, make_offering):
    offering = make_offering(employer, capacity=1)
    first, second = people(2)
    service.enroll(first, offering.id)
    service.enroll(second, offering.id)
    with pytest.raises(Conflict, match=r"waitlist \(position 1\)"):
        service.enroll(second, offering.id)


def test_re_enrolling_after_cancelling_is_allowed(db, employer, people, make_offering):
    offering = make_offering(employer)
    (person,) = people(1)
    service.enroll(person, offering.id)
    service.cancel(person, offering.id)
    again = service.enroll(person, offering.id)
    assert again.status == "enrolled"
    assert db.session.get(Offering, offering.id).seats_taken == 1


def test_offering_not_opened_to_the_employer_does_not_exist_for_them(
    employer, people, make_employer, make_offering
):
    offering = make_offering(make_employer())
    (person,) = people(1)
    with pytest.raises(NotFound, match="not offered to you"):
        service.enroll(person, offering.id)


def test_enrollment_before_the_window_opens_is_refused(db, employer, people, make_offering):
    offering = make_offering(employer, enrollment_opens_at=utcnow() + timedelta(days=2))
    (person,) = people(1)
    with pytest.raises(service.EnrollmentRefused, match="Enrollment opens on"):
        service.enroll(person, offering.id)


def test_enrollment_after_the_window_closed_is_refused(db, employer, people, make_offering):
    offering = make_offering(employer, enrollment_closes_at=utcnow() - timedelta(hours=1))
    (person,) = people(1)
    with pytest.raises(service.EnrollmentRefused, match="Enrollment closed on"):
        service.enroll(person, offering.id)


def test_enrollment_closes_when_the_first_session_starts(db, employer, people, make_offering):
    offering = make_offering(employer, starts_in_days=3)
    (person,) = people(1)
    later = utcnow() + timedelta(days=5)
    with pytest.raises(service.EnrollmentRefused, match="Enrollment closed on"):
        service.enroll(person, offering.id, now=later)


def test_draft_offering_is_not_open(db, employer, people, make_offering):
    offering = make_offering(employer, status="draft")
    (person,) = people(1)
    with pytest.raises(service.EnrollmentRefused, match="not open for enrollment"):
        service.enroll(person, offering.id)


def test_cancelling_after_the_deadline_is_refused_with_the_deadline(
    db, employer, people, make_offering
):
    deadline = utcnow() + timedelta(days=1)
    offering = make_offering(employer, cancellation_deadline=deadline)
    (person,) = people(1)
    service.enroll(person, offering.id)
    with pytest.raises(service.EnrollmentRefused, match="Cancellation was possible until"):
        service.cancel(person, offering.id, now=deadline + timedelta(minutes=1))
    assert service.find_enrollment(person, offering.id).status == "enrolled"


def test_cancelling_without_enrollment_is_not_found(employer, people, make_offering):
    offering = make_offering(employer)
    (person,) = people(1)
    with pytest.raises(NotFound, match="not enrolled"):
        service.cancel(person, offering.id)


def test_employer_pays_its_subsidy_and_the_employee_the_rest(employer, people, make_offering):
    offering = make_offering(employer, price_cents=15000, subsidy_cents=10000)
    (person,) = people(1)
    seat = service.enroll(person, offering.id)
    assert (seat.employer_share_cents, seat.employee_share_cents) == (10000, 5000)


def test_subsidy_is_capped_by_the_yearly_budget_and_the_quote_says_so(
    db, employer, people, make_offering
):
    employer.budget_per_employee_cents = 60000
    db.session.commit()
    (person,) = people(1)
    big = [make_offering(employer, price_cents=25000, subsidy_cents=25000) for _ in range(3)]
    for offering in big[:2]:
        service.enroll(person, offering.id)
    preview = service.preview(person, big[2].id)
    assert preview.capped
    assert (preview.employer_cents, preview.employee_cents) == (10000, 15000)
    assert preview.budget_left_cents == 10000
    third = service.enroll(person, big[2].id)
    assert (third.employer_share_cents, third.employee_share_cents) == (10000, 15000)
    assert budget_used(person.id, big[2].starts_on.year) == 60000


def test_cancelling_releases_the_budget(db, employer, people, make_offering):
    (person,) = people(1)
    offering = make_offering(employer, price_cents=20000, subsidy_cents=20000)
    service.enroll(person, offering.id)
    year = offering.starts_on.year
    assert budget_used(person.id, year) == 20000
    service.cancel(person, offering.id)
    assert budget_used(person.id, year) == 0


def test_waitlist_places_reserve_no_budget(db, employer, people, make_offering):
    offering = make_offering(employer, capacity=1, subsidy_cents=10000)
    first, second = people(2)
    service.enroll(first, offering.id)
    service.enroll(second, offering.id)
    assert budget_used(second.id, offering.starts_on.year) == 0


def test_inactive_employee_cannot_enroll(db, employer, people, make_offering):
    offering = make_offering(employer)
    (person,) = people(1)
    person.active = False
    with pytest.raises(service.EnrollmentRefused, match="not active"):
        service.enroll(person, offering.id)


def test_confirmation_and_waitlist_mails_are_queued(db, employer, people, make_offering):
    offering = make_offering(employer, capacity=1)
    first, second = people(2)
    service.enroll(first, offering.id)
    service.enroll(second, offering.id)
    db.session.commit()
    assert _mail_kinds(db, first) == ["enrollment_confirmed"]
    assert _mail_kinds(db, second) == ["waitlisted"]


def test_refusals_speak_the_employees_language(db, employer, people, make_offering):
    offering = make_offering(employer)
    (person,) = people(1)
    service.enroll(person, offering.id)
    with force_locale("de"), pytest.raises(Conflict, match="bereits angemeldet"):
        service.enroll(person, offering.id)
