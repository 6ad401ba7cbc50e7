"""Reminders queued by ``wellness send-reminders`` (daily cron): the day before each session,
and the monthly pain check-in reminder for people who opted in.

"Tomorrow" is the next calendar day in Europe/Berlin, where the sessions take place. Every
reminder has a dedupe key (``reminder:<enrollment>:<session>``,
``pain-reminder:<employee>:<YYYY-MM>``), so running the job twice (or from two machines) mails
nobody twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wellness.auth.models import User
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
from wellness.health.models import PainCheckin
from wellness.i18n import BERLIN, local_today
from wellness.notifications import course_mails, health_mails
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employee


@dataclass(frozen=True)
class ReminderRun:
    #: Sessions starting tomorrow that have enrolled participants.
    sessions: int
    #: Reminders queued by this run (session and pain check-in reminders).
    queued: int
    #: Reminders queued earlier (a second run the same day, or this month's pain reminders).
    already_queued: int
    #: Of ``queued``: monthly pain check-in reminders.
    pain_queued: int = 0


def tomorrow_window(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the calendar day after ``now`` in Europe/Berlin."""
    today = local_today(now)
    start = datetime.combine(today + timedelta(days=1), time(), tzinfo=BERLIN)
    end = datetime.combine(today + timedelta(days=2), time(), tzinfo=BERLIN)
    return start.astimezone(UTC), end.astimezone(UTC)


def queue_reminders(now: datetime | None = None) -> ReminderRun:
    """Queue one reminder per enrolled participant of every session starting tomorrow, and the
    monthly pain check-in reminders."""
    now = now or utcnow()
    start, end = tomorrow_window(now)
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
    pain_queued, pain_done = queue_pain_reminders(now)
    return ReminderRun(
        sessions=len({session.id for session, _enrollment in rows}),
        queued=queued + pain_queued,
        already_queued=len(done) + pain_done,
        pain_queued=pain_queued,
    )


def queue_pain_reminders(now: datetime) -> tuple[int, int]:
    """Remind people who opted in to check in this month, unless they already did.

    Runs daily, so a missed day or someone opting in mid-month is caught up on the next run;
    the key per person and month keeps it to one mail. Returns (queued, queued before).
    """
    month = local_today(now).replace(day=1)
    checked_in = select(PainCheckin.employee_id).where(PainCheckin.checked_on >= month)
    employees = db.session.scalars(
        select(Employee)
        .join(User, User.id == Employee.user_id)
        .where(
            Employee.pain_reminder_opt_in.is_(True),
            Employee.active.is_(True),
            User.is_enabled.is_(True),
            Employee.id.not_in(checked_in),
        )
        .options(selectinload(Employee.user), selectinload(Employee.employer))
        .order_by(Employee.id)
    ).all()
    done = set(
        db.session.scalars(
            select(OutboundMail.dedupe_key).where(
                OutboundMail.dedupe_key.like(health_mails.pain_reminder_key(month))
            )
        )
    )
    queued = earlier = 0
    for employee in employees:
        if health_mails.pain_reminder_key(month, employee.id) in done:
            earlier += 1
        elif health_mails.pain_reminder(employee, month) is not None:
            queued += 1
    return queued, earlier
