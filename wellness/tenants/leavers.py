"""Employees who leave (or come back): access ends, open enrollments end, history stays.

One way for every source of the news: SCIM (``active=false``, DELETE) and the employee import
(a leaving date, "Aktiv: nein"). The employee row is kept, not pseudonymized, and keeps
counting in aggregates for the months they were there; ``via`` tells the audit log who said so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from wellness.audit.services import record
from wellness.auth.models import User
from wellness.courses import enrollment as enrollments
from wellness.courses.models import Enrollment, Offering
from wellness.db import utcnow
from wellness.extensions import db
from wellness.i18n import local_today
from wellness.tenants.models import Employee


def _end_sessions(account: User, now: datetime) -> None:
    """Disable the account: no sign-in, no token; bumping the password generation ends the
    sessions it already has (see ``User.get_id``)."""
    account.is_enabled = False
    account.password_changed_at = now


@dataclass(frozen=True)
class Deactivation:
    cancelled: int
    #: Seats kept because their cancellation deadline has passed (a running, paid course).
    kept: int


def deactivate(
    employee: Employee, now: datetime | None = None, actor_id: int | None = None, via: str = "scim"
) -> Deactivation:
    """End access and open enrollments; keep the person and their history (module docstring).

    Enrollments end through the normal cancellation, so seats go to the waitlist and mails go
    out as for anyone who cancels; a seat past its cancellation deadline (the course is
    running, the fee is due) is kept, with its attendance, as history."""
    now = now or utcnow()
    employee.active = False
    if employee.user is not None:
        _end_sessions(employee.user, now)
    db.session.flush()
    open_ids = list(
        db.session.scalars(
            select(Enrollment.offering_id)
            .join(Offering, Offering.id == Enrollment.offering_id)
            .where(
                Enrollment.employee_id == employee.id,
                Enrollment.status.in_(enrollments.ACTIVE),
                Offering.ends_on >= local_today(now),
            )
        )
    )
    cancelled = kept = 0
    for offering_id in open_ids:
        try:
            enrollments.cancel(employee, offering_id, now)
            cancelled += 1
        except enrollments.EnrollmentRefused:
            kept += 1
    record(
        "employee.deactivated",
        actor_id=actor_id,
        employer_id=employee.employer_id,
        target_type="employee",
        target_id=employee.id,
        details={"via": via, "enrollments_cancelled": cancelled, "enrollments_kept": kept},
    )
    return Deactivation(cancelled, kept)


def reactivate(employee: Employee, actor_id: int | None = None, via: str = "scim") -> None:
    employee.active = True
    if employee.user is not None:
        employee.user.is_enabled = True
    record(
        "employee.reactivated",
        actor_id=actor_id,
        employer_id=employee.employer_id,
        target_type="employee",
        target_id=employee.id,
        details={"via": via},
    )
