"""Reminders the day before each session, queued by ``wellness send-reminders`` (daily cron).

"Tomorrow" is the next calendar day in Europe/Berlin, where the sessions take place. Every
reminder has the dedupe key ``reminder:<enrollment>:<session>``, so running the job twice (or
from two machines) mails nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingStatus,
)
from wellness.db import utcnow
from wellness.extensions import db
from wellness.i18n import BERLIN, local_today
from wellness.notifications import course_mails
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employee


@dataclass(frozen=True)
class ReminderRun:
    #: Sessions starting tomorrow that have enrolled participants.
    sessions: int
    #: Reminders queued by this run.
    queued: int
    #: Reminders queued earlier (a second run the same day).
    already_queued: int


def tomorrow_window(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the calendar day after ``now`` in Europe/Berlin."""
    today = local_today(now)
    start = datetime.combine(today + timedelta(days=1), time(), tzinfo=BERLIN)
    end = datetime.combine(today + timedelta(days=2), time(), tzinfo=BERLIN)
    return start.astimezone(UTC), end.astimezone(UTC)


def queue_reminders(now: datetime | None = None) -> ReminderRun:
    """Queue one reminder per enrolled participant of every session starting tomorrow."""
    start, end = tomorrow_window(now or utcnow())
    rows = db.session.execute(
        select(CourseSession, Enrollment)
        .join(Offering, Offering.id == CourseSession.offering_id)
        .join(Enrollment, Enrollment.offering_id == Offering.id)
        .where(
            CourseSession.starts_at >= start,
            CourseSession.starts_at < end,
            Offering.status != OfferingStatus.CANCELLED.value,
            Enrollment.status == EnrollmentStatus.ENROLLED.value,
        )
        .options(
            selectinload(CourseSession.offering)
            .selectinload(Offering.course)
            .selectinload(Course.provider),
            selectinload(Enrollment.employee).selectinload(Employee.user),
            selectinload(Enrollment.employee).selectinload(Employee.employer),
        )
        .order_by(CourseSession.starts_at, CourseSession.id, Enrollment.id)
    ).all()
    keys = {f"reminder:{enrollment.id}:{session.id}" for session, enrollment in rows}
    done = set(
        db.session.scalars(select(OutboundMail.dedupe_key).where(OutboundMail.dedupe_key.in_(keys)))
        if keys
        else ()
    )
    queued = 0
    for session, enrollment in rows:
        if f"reminder:{enrollment.id}:{session.id}" in done:
            continue
        if course_mails.session_reminder(enrollment, session) is not None:
            queued += 1
    return ReminderRun(
        sessions=len({session.id for session, _enrollment in rows}),
        queued=queued,
        already_queued=len(done),
    )
