"""Where someone stands in an offering's waitlist."""

from __future__ import annotations

from sqlalchemy import func, select

from wellness.courses.models import Enrollment, EnrollmentStatus
from wellness.extensions import db


def waitlist_rank(enrollment: Enrollment) -> int | None:
    """1 for the next person to get a seat; ``None`` when not waitlisted."""
    if enrollment.waitlist_position is None:
        return None
    ahead = db.session.scalar(
        select(func.count()).where(
            Enrollment.offering_id == enrollment.offering_id,
            Enrollment.status == EnrollmentStatus.WAITLISTED.value,
            Enrollment.waitlist_position < enrollment.waitlist_position,
        )
    )
    return int(ahead or 0) + 1
