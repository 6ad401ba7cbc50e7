"""Attendance rates, completion and participation certificates.

An enrollment is completed when, after the offering's last session, the share of sessions
marked present reaches the course's threshold (default 80 %). Completion issues a certificate;
a later correction below the threshold revokes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from wellness.attendance.models import Attendance, AttendanceStatus
from wellness.courses.models import CourseSession
from wellness.extensions import db


@dataclass(frozen=True)
class Presence:
    """Sessions attended of all sessions of the offering."""

    attended: int
    total: int

    @property
    def rate(self) -> float:
        return self.attended / self.total if self.total else 0.0


def presence_by_enrollment(offering_id: int) -> dict[int, Presence]:
    """Per enrollment with at least one mark: sessions marked present, of all sessions."""
    total = db.session.scalar(
        select(func.count(CourseSession.id)).where(CourseSession.offering_id == offering_id)
    )
    rows = db.session.execute(
        select(
            Attendance.enrollment_id,
            func.sum(case((Attendance.status == AttendanceStatus.PRESENT.value, 1), else_=0)),
        )
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(CourseSession.offering_id == offering_id)
        .group_by(Attendance.enrollment_id)
    ).all()
    return {enrollment_id: Presence(int(n or 0), int(total or 0)) for enrollment_id, n in rows}
