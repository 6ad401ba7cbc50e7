"""Enrolling, joining the waitlist, cancelling and promotion from the waitlist.

Capacity is guaranteed by the database, not by Python: a seat is claimed with one conditional
``UPDATE offerings SET seats_taken = seats_taken + 1 WHERE seats_taken < capacity``, and a
waitlist place with an ``UPDATE ... SET waitlist_seq = waitlist_seq + 1 RETURNING``. Both lock the
offering's row (PostgreSQL) or take the write lock (SQLite) until commit, so concurrent requests
are served one after the other in the order they reach the database, and the CHECK
``seats_taken <= capacity`` backs it up.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from wellness.courses.budget import Quote, quote
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingEmployer,
    OfferingStatus,
)
from wellness.courses.waitlist import waitlist_rank
from wellness.db import utcnow
from wellness.errors import Conflict, DomainError, NotFound
from wellness.extensions import db
from wellness.notifications import course_mails
from wellness.tenants.models import Employee

#: Characters of participant codes: no 0/O or 1/I, so codes survive being typed from paper.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ACTIVE = (EnrollmentStatus.ENROLLED.value, EnrollmentStatus.WAITLISTED.value)
#: The course and provider come with the offering: every mail and answer names them.
_WITH_COURSE = joinedload(Offering.course).joinedload(Course.provider)


class EnrollmentRefused(DomainError):
    """The rules do not allow this enrollment or cancellation (422 with the reason)."""

    status_code = 422


def open_link(employee: Employee, offering_id: int) -> tuple[Offering, OfferingEmployer]:
    """The offering and its opening for the employee's employer; 404 when not open to them."""
    row = db.session.execute(
        select(Offering, OfferingEmployer)
        .join(OfferingEmployer, OfferingEmployer.offering_id == Offering.id)
        .where(Offering.id == offering_id, OfferingEmployer.employer_id == employee.employer_id)
        .options(_WITH_COURSE)
    ).first()
    if row is None:
        raise NotFound(_("This course offering does not exist or is not offered to you."))
    return row[0], row[1]


def first_session_start(offering: Offering) -> datetime | None:
    return db.session.scalar(
        select(func.min(CourseSession.starts_at)).where(CourseSession.offering_id == offering.id)
    )


def _when(moment: datetime) -> str:
    return str(format_datetime(moment, "short"))


def enrollment_closed(
    offering: Offering, now: datetime, first_session: datetime | None = None
) -> tuple[str, datetime | None] | None:
    """``None`` while enrollment is open, else why: ``("unpublished" | "not_yet" | "closed",
    moment)``. Without an explicit closing time, enrollment closes when the first session
    starts."""
    if offering.status != OfferingStatus.PUBLISHED.value:
        return "unpublished", None
    if offering.enrollment_opens_at is not None and now < offering.enrollment_opens_at:
        return "not_yet", offering.enrollment_opens_at
    closes = offering.enrollment_closes_at or first_session or first_session_start(offering)
    if closes is not None and now >= closes:
        return "closed", closes
    return None


def enrollment_window_problem(
    offering: Offering, now: datetime, first_session: datetime | None = None
) -> str | None:
    """Why enrolling is not possible right now, for people; ``None`` when it is."""
    closed = enrollment_closed(offering, now, first_session)
    if closed is None:
        return None
    reason, moment = closed
    if reason == "not_yet" and moment is not None:
        return _("Enrollment opens on %(when)s.", when=_when(moment))
    if reason == "closed" and moment is not None:
        return _("Enrollment closed on %(when)s.", when=_when(moment))
    return _("This offering is not open for enrollment.")


def cancellation_deadline(offering: Offering) -> datetime | None:
    """Until when people may cancel: the offering's deadline, else the first session's start."""
    return offering.cancellation_deadline or first_session_start(offering)


def find_enrollment(employee: Employee, offering_id: int) -> Enrollment | None:
    return db.session.scalar(
        select(Enrollment)
        .where(Enrollment.offering_id == offering_id, Enrollment.employee_id == employee.id)
        .options(joinedload(Enrollment.offering).options(_WITH_COURSE))
    )


def preview(employee: Employee, offering_id: int) -> Quote:
    """What the employee would pay, shown before confirming."""
    offering, link = open_link(employee, offering_id)
    return quote(employee, offering, link.subsidy_cents)


def enroll(employee: Employee, offering_id: int, now: datetime | None = None) -> Enrollment:
    """Take a seat, or the next waitlist place when the offering is full."""
    now = now or utcnow()
    offering, link = open_link(employee, offering_id)
    if not employee.active:
        raise EnrollmentRefused(_("Your account is not active."))
    problem = enrollment_window_problem(offering, now)
    if problem:
        raise EnrollmentRefused(problem)
    existing = find_enrollment(employee, offering_id)
    if existing is not None and existing.status in ACTIVE:
        raise already_enrolled(existing)

    seated = _claim_seat(offering_id)
    enrollment = existing or Enrollment(
        offering_id=offering_id,
        employee_id=employee.id,
        participant_code=_new_participant_code(),
        budget_year=offering.starts_on.year,
    )
    enrollment.created_at = enrollment.created_at or now
    enrollment.cancelled_at = None
    enrollment.enrolled_at = now
    if seated:
        _seat(enrollment, employee, offering, link.subsidy_cents)
    else:
        position = _next_waitlist_position(offering_id)  # before touching the row: autoflush
        enrollment.status = EnrollmentStatus.WAITLISTED.value
        enrollment.waitlist_position = position
        _price(enrollment, quote(employee, offering, link.subsidy_cents, excluding=enrollment.id))
    db.session.add(enrollment)
    try:
        db.session.flush()
    except IntegrityError:
        # The same person enrolled in a parallel request: release the claimed seat with it.
        db.session.rollback()
        raise Conflict(_("You are already enrolled in this offering.")) from None
    # Mails are only queued here; the edge delivers them after commit, so a mail failure
    # never loses or blocks an enrollment.
    (course_mails.enrollment_confirmed if seated else course_mails.waitlisted)(enrollment)
    return enrollment


def cancel(employee: Employee, offering_id: int, now: datetime | None = None) -> Enrollment:
    """Cancel one's own seat or waitlist place; a freed seat goes to the first in line."""
    now = now or utcnow()
    # No check that the offering is still open to the employer: people keep their seat, and the
    # right to give it back, when the employer stops offering a course.
    enrollment = find_enrollment(employee, offering_id)
    if enrollment is None or enrollment.status not in ACTIVE:
        raise NotFound(_("You are not enrolled in this offering."))
    deadline = cancellation_deadline(enrollment.offering)
    if deadline is not None and now > deadline:
        raise EnrollmentRefused(
            _(
                "Cancellation was possible until %(when)s. Please contact the course provider.",
                when=_when(deadline),
            )
        )
    held_seat = enrollment.status == EnrollmentStatus.ENROLLED.value
    if held_seat:
        # Locks the offering row first, so promotions happen one at a time.
        db.session.execute(
            update(Offering)
            .where(Offering.id == offering_id, Offering.seats_taken > 0)
            .values(seats_taken=Offering.seats_taken - 1)
        )
    enrollment.status = EnrollmentStatus.CANCELLED.value
    enrollment.waitlist_position = None
    enrollment.cancelled_at = now
    db.session.flush()
    course_mails.cancelled(enrollment)
    if held_seat:
        fill_from_waitlist(offering_id, now)
    return enrollment


def fill_from_waitlist(offering_id: int, now: datetime | None = None) -> list[Enrollment]:
    """Give free seats to waitlisted people, first come first served (after a cancellation or
    a capacity increase)."""
    now = now or utcnow()
    promoted: list[Enrollment] = []
    while True:
        first = db.session.scalar(
            select(Enrollment)
            .where(
                Enrollment.offering_id == offering_id,
                Enrollment.status == EnrollmentStatus.WAITLISTED.value,
            )
            .order_by(Enrollment.waitlist_position)
            .limit(1)
        )
        if first is None or not _claim_seat(offering_id):
            return promoted
        subsidy = _current_subsidy(first)
        first.enrolled_at = now
        _seat(first, first.employee, first.offering, subsidy)
        db.session.flush()
        course_mails.promoted(first)
        promoted.append(first)


def _claim_seat(offering_id: int) -> bool:
    claimed = db.session.execute(
        update(Offering)
        .where(
            Offering.id == offering_id,
            Offering.status == OfferingStatus.PUBLISHED.value,
            Offering.seats_taken < Offering.capacity,
        )
        .values(seats_taken=Offering.seats_taken + 1)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _next_waitlist_position(offering_id: int) -> int:
    position = db.session.execute(
        update(Offering)
        .where(Offering.id == offering_id)
        .values(waitlist_seq=Offering.waitlist_seq + 1)
        .returning(Offering.waitlist_seq)
    ).scalar_one()
    return int(position)


def _current_subsidy(enrollment: Enrollment) -> int:
    """The employer's subsidy now; 0 if it has stopped offering the course since."""
    subsidy = db.session.scalar(
        select(OfferingEmployer.subsidy_cents).where(
            OfferingEmployer.offering_id == enrollment.offering_id,
            OfferingEmployer.employer_id == enrollment.employee.employer_id,
        )
    )
    return int(subsidy or 0)


def _seat(enrollment: Enrollment, employee: Employee, offering: Offering, subsidy: int) -> None:
    """Mark the enrollment as holding a seat and bind the employer's share to the budget."""
    # Serialise budget decisions per person (PostgreSQL row lock; SQLite holds the write lock).
    # No autoflush: the enrollment's changes are written once, with its new status.
    with db.session.no_autoflush:
        db.session.execute(select(Employee.id).where(Employee.id == employee.id).with_for_update())
    enrollment.status = EnrollmentStatus.ENROLLED.value
    enrollment.waitlist_position = None
    _price(enrollment, quote(employee, offering, subsidy, excluding=enrollment.id))


def _price(enrollment: Enrollment, split: Quote) -> None:
    enrollment.employer_share_cents = split.employer_cents
    enrollment.employee_share_cents = split.employee_cents
    enrollment.budget_year = split.budget_year


def already_enrolled(existing: Enrollment) -> Conflict:
    """The refusal for someone who already holds a seat or a waitlist place."""
    if existing.status == EnrollmentStatus.WAITLISTED.value:
        return Conflict(
            _("You are already on the waitlist (position %(n)d).", n=waitlist_rank(existing) or 0)
        )
    return Conflict(_("You are already enrolled in this offering."))


def _new_participant_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
