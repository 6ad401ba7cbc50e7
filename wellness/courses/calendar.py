"""Calendar files (RFC 5545): one offering's sessions, and an employee's personal feed.

The feed is read by calendar apps without a login, so its URL carries a secret token; rotating
the token is how an employee revokes a URL they shared or leaked.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, Timezone, vDuration
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wellness.audit.services import record
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
from wellness.i18n import DEFAULT_TIMEZONE, locale_for
from wellness.tenants.models import Employee

PRODID = "-//wellness//Course calendar//EN"
#: Sessions are held in Germany; calendar apps convert to the reader's zone themselves.
CALENDAR_TZID = DEFAULT_TIMEZONE
#: How often subscribed calendar apps should fetch the feed again.
FEED_REFRESH = timedelta(hours=6)
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
#: Content type of the mail attachment; ``method`` must match the calendar's METHOD.
ICS_ATTACHMENT_TYPE = "text/calendar; method=PUBLISH"
TOKEN_MAX_LENGTH = 64


def course_title(course: Course, locale: str | None = None) -> str:
    """The title in the reader's language where the provider gave an English one."""
    if locale == "en" and course.title_en:
        return course.title_en
    return course.title


def session_uid(session: CourseSession) -> str:
    """Stable per session, so re-importing a file or refreshing the feed updates, not duplicates."""
    return f"session-{session.id}@wellness"


def _place(session: CourseSession) -> str | None:
    offering = session.offering
    if session.location:
        return session.location
    place = ", ".join(p for p in (offering.location, offering.city) if p)
    if place:
        return place
    if session.online_url or offering.online_url:
        return "Online"
    return None


def _event(session: CourseSession, locale: str | None, stamp: datetime) -> Event:
    offering = session.offering
    course = offering.course
    zone = ZoneInfo(CALENDAR_TZID)
    event = Event()
    event.add("uid", session_uid(session))
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at.astimezone(zone))
    event.add("dtend", session.ends_at.astimezone(zone))
    event.add("summary", course_title(course, locale))
    place = _place(session)
    if place:
        event.add("location", place)
    online_url = session.online_url or offering.online_url
    lines = [course.provider.name]
    if offering.instructor_name:
        lines.append(_("Instructor: %(name)s", name=offering.instructor_name))
    if online_url:
        event.add("url", online_url)
        lines.append(_("Join online: %(url)s", url=online_url))
    event.add("description", "\n".join(lines))
    cancelled = offering.status == OfferingStatus.CANCELLED.value
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def _calendar(
    sessions: Sequence[CourseSession], locale: str | None, name: str | None = None
) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    if name:
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", CALENDAR_TZID)
        calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    calendar.add_component(_timezone(session.starts_at for session in sessions))
    stamp = utcnow().replace(microsecond=0)
    with force_locale(locale) if locale else nullcontext():
        for session in sessions:
            calendar.add_component(_event(session, locale, stamp))
    return calendar


def _timezone(starts: Iterable[datetime]) -> Timezone:
    """A VTIMEZONE for Europe/Berlin covering the sessions' years (always present, even empty)."""
    years = [start.astimezone(UTC).year for start in starts] or [utcnow().year]
    return Timezone.from_tzid(
        CALENDAR_TZID, first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1)
    )


#: Rendered offering calendars by everything they show. Every participant gets the same file,
#: and rendering one (icalendar, VTIMEZONE) costs more than the rest of an enrollment.
_rendered: dict[tuple[object, ...], bytes] = {}
RENDERED_MAX = 256


def _fingerprint(
    offering: Offering, sessions: Sequence[CourseSession], locale: str | None
) -> tuple[object, ...]:
    course = offering.course
    return (
        offering.id,
        offering.status,
        offering.location,
        offering.city,
        offering.online_url,
        offering.instructor_name,
        course.title,
        course.title_en,
        course.provider.name,
        locale,
        tuple((s.id, s.starts_at, s.ends_at, s.location, s.online_url) for s in sessions),
    )


def offering_calendar(offering: Offering, locale: str | None = None) -> bytes:
    """All sessions of one offering, for download or as a mail attachment."""
    sessions = list(offering.sessions)
    key = _fingerprint(offering, sessions, locale)
    rendered = _rendered.get(key)
    if rendered is None:
        if len(_rendered) >= RENDERED_MAX:
            _rendered.clear()
        rendered = _rendered[key] = _calendar(sessions, locale).to_ical()
    return rendered


def enrolled_sessions(employee: Employee) -> list[CourseSession]:
    """Sessions of the offerings the employee holds a seat in (not waitlisted or cancelled)."""
    return list(
        db.session.scalars(
            select(CourseSession)
            .join(Offering, Offering.id == CourseSession.offering_id)
            .join(Enrollment, Enrollment.offering_id == Offering.id)
            .where(
                Enrollment.employee_id == employee.id,
                Enrollment.status == EnrollmentStatus.ENROLLED.value,
                Offering.status != OfferingStatus.CANCELLED.value,
            )
            .options(
                selectinload(CourseSession.offering)
                .selectinload(Offering.course)
                .selectinload(Course.provider)
            )
            .order_by(CourseSession.starts_at, CourseSession.id)
        )
    )


def personal_feed(employee: Employee) -> bytes:
    """The employee's subscription feed: every session of their enrolled courses."""
    locale = locale_for(employee.user) if employee.user is not None else employee.employer.locale
    with force_locale(locale):
        name = _("wellness: my courses")
    return _calendar(enrolled_sessions(employee), locale, name=name).to_ical()


def calendar_token(employee: Employee) -> str:
    """The secret of the employee's feed URL, created on first use."""
    if employee.calendar_token is None:
        employee.calendar_token = secrets.token_urlsafe(32)
        db.session.flush()
    return employee.calendar_token


def rotate_calendar_token(employee: Employee) -> str:
    """Replace the secret: the old feed URL stops working at once."""
    employee.calendar_token = secrets.token_urlsafe(32)
    db.session.flush()
    record(
        "employee.calendar_token_rotated",
        actor_id=employee.user_id,
        employer_id=employee.employer_id,
        target_type="employee",
        target_id=employee.id,
    )
    return employee.calendar_token


def employee_for_token(token: str) -> Employee | None:
    """The active employee whose feed this token opens, or ``None``."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    employee = db.session.scalar(select(Employee).where(Employee.calendar_token == token))
    if employee is None or not employee.active or employee.pseudonymized_at is not None:
        return None
    return employee


def ics_filename(offering: Offering) -> str:
    """An ASCII file name safe in any header or file system, e.g. ``rueckenfit-2026-03-02.ics``."""
    title = offering.course.title.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    title = title.replace("Ü", "Ue").replace("Ö", "Oe").replace("Ä", "Ae").replace("ß", "ss")
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].strip("-")
    return f"{slug or 'course'}-{offering.starts_on.isoformat()}.ics"
