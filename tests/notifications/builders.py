"""Course data built with the ORM directly, for calendar, mail and reminder tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingEmployer,
    Provider,
)
from wellness.extensions import db
from wellness.tenants.models import Employee, Employer

BERLIN = ZoneInfo("Europe/Berlin")
_codes = itertools.count(1)

#: Two Tuesdays either side of the switch to summer time (29 March 2026).
AROUND_DST = (
    datetime(2026, 3, 24, 18, 0, tzinfo=BERLIN),
    datetime(2026, 3, 31, 18, 0, tzinfo=BERLIN),
)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def offering(
    provider: Provider,
    employers: Sequence[Employer] = (),
    *,
    starts: Sequence[datetime] = AROUND_DST,
    title: str = "Neue Rückenschule",
    minutes: int = 60,
    session_fields: dict[str, Any] | None = None,
    **fields: Any,
) -> Offering:
    course = Course(
        provider_id=provider.id,
        title=title,
        title_en=fields.pop("title_en", None),
        field_of_action="movement",
        zpp_course_id=f"KU-BE-{next(_codes):06d}",
    )
    db.session.add(course)
    db.session.flush()
    days = [start.astimezone(BERLIN).date() for start in starts] or [date(2026, 3, 24)]
    fields.setdefault("capacity", 10)
    fields.setdefault("price_cents", 15000)
    fields.setdefault("location", "Studio Nord, Hauptstraße 1")
    fields.setdefault("city", "Hamburg")
    row = Offering(course_id=course.id, starts_on=min(days), ends_on=max(days), **fields)
    db.session.add(row)
    db.session.flush()
    for start in starts:
        db.session.add(
            CourseSession(
                offering_id=row.id,
                starts_at=start,
                ends_at=start + timedelta(minutes=minutes),
                **(session_fields or {}),
            )
        )
    for employer in employers:
        db.session.add(
            OfferingEmployer(offering_id=row.id, employer_id=employer.id, subsidy_cents=10000)
        )
    db.session.commit()
    return row


def enroll(
    offering: Offering,
    employee: Employee,
    status: EnrollmentStatus = EnrollmentStatus.ENROLLED,
    *,
    employer_share_cents: int = 10000,
    employee_share_cents: int = 5000,
    waitlist_position: int | None = None,
    enrolled_at: datetime | None = None,
) -> Enrollment:
    if status == EnrollmentStatus.WAITLISTED and waitlist_position is None:
        offering.waitlist_seq += 1
        waitlist_position = offering.waitlist_seq
    row = Enrollment(
        offering_id=offering.id,
        employee_id=employee.id,
        status=status.value,
        waitlist_position=waitlist_position,
        participant_code=f"P{next(_codes):07d}",
        employer_share_cents=employer_share_cents,
        employee_share_cents=employee_share_cents,
        budget_year=offering.starts_on.year,
        enrolled_at=enrolled_at
        or (berlin(2026, 3, 1, 9, 0) if status == EnrollmentStatus.ENROLLED else None),
        cancelled_at=berlin(2026, 3, 2, 9, 0) if status == EnrollmentStatus.CANCELLED else None,
    )
    db.session.add(row)
    db.session.commit()
    return row
