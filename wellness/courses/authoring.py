"""Course authoring for providers: courses, dated offerings and their sessions.

Callers pass the provider's rows (already scoped to the provider) and plain values; nothing
here reads the request. Services flush and never commit; broken rules raise
:class:`AuthoringError` with a message that says what to do and, where it helps, the form
field it belongs to.

Session times are wall-clock times in Germany (Europe/Berlin). They are converted to aware UTC
datetimes one by one with :mod:`zoneinfo`, so a weekly series keeps its local time across the
change to and from daylight saving time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from wellness.audit.services import record
from wellness.courses.enrollment import fill_from_waitlist
from wellness.courses.models import (
    Course,
    CourseFormat,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    FieldOfAction,
    Offering,
    OfferingStatus,
)
from wellness.db import apply_changes, utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.i18n import BERLIN
from wellness.notifications import course_mails

LANGUAGES = ("de", "en")
#: A ZPP certification is valid for three years (PRODUCT.md).
CERTIFICATION_YEARS = 3
#: Certifications ending within this many days are flagged.
EXPIRY_WARNING_DAYS = 90
#: Upper bound for a group; §20 courses have about 15 participants.
MAX_CAPACITY = 30
MAX_PRICE_CENTS = 1_000_000
MAX_SESSIONS = 52
#: Letters, digits and hyphens, as printed on the ZPP certificate (e.g. ``KU-BE-123456``).
ZPP_PATTERN = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]{2,38})[A-Z0-9]$")


class AuthoringError(DomainError):
    """A broken authoring rule; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- helpers -------------------------------------------------------------------------------


def years_later(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def local_to_utc(value: datetime, field: str | None = None) -> datetime:
    """A wall-clock time in Germany (naive, or aware in Europe/Berlin) as aware UTC.

    Times that do not exist (the hour skipped when clocks go forward) are refused rather than
    silently moved.
    """
    wall = value.replace(tzinfo=None)
    aware = wall.replace(tzinfo=BERLIN)
    in_utc = aware.astimezone(UTC)
    if in_utc.astimezone(BERLIN).replace(tzinfo=None) != wall:
        raise AuthoringError(
            _(
                "%(time)s does not exist on that day because the clocks go forward; "
                "choose another time.",
                time=wall.strftime("%H:%M"),
            ),
            field,
        )
    return in_utc


def utc_to_local(value: datetime) -> datetime:
    return value.astimezone(BERLIN)


def normalize_zpp_id(text: str | None) -> str | None:
    """Trimmed, upper-case, without inner spaces; ``None`` when empty."""
    if text is None:
        return None
    value = re.sub(r"\s+", "", text).upper()
    return value or None


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    value = text.strip()
    return value or None


def _check_url(url: str | None, field: str) -> str | None:
    url = _clean(url)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthoringError(_("Enter a web address starting with https:// (or http://)."), field)
    return url


def certification_expires_in(course: Course, today: date) -> int | None:
    """Days until the certification ends when that is within the warning period (negative
    when it has already ended); ``None`` when there is nothing to flag."""
    if course.zpp_course_id is None or course.certified_until is None:
        return None
    days = (course.certified_until - today).days
    return days if days <= EXPIRY_WARNING_DAYS else None


def offering_certified(offering: Offering) -> bool:
    return offering.course.certified_for(offering.starts_on, offering.ends_on)


def get_course(provider_id: int, course_id: int) -> Course | None:
    """The provider's own course; another provider's course does not exist for them."""
    return db.session.scalar(
        select(Course).where(Course.id == course_id, Course.provider_id == provider_id)
    )


def get_offering(provider_id: int, offering_id: int) -> Offering | None:
    return db.session.scalar(
        select(Offering)
        .join(Course)
        .where(Offering.id == offering_id, Course.provider_id == provider_id)
    )


# --- courses -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CourseData:
    title: str
    title_en: str | None
    description: str
    description_en: str | None
    language: str
    field_of_action: str
    format: str
    zpp_course_id: str | None
    certified_from: date | None
    certified_until: date | None
    attendance_threshold_pct: int
    default_capacity: int
    default_price_cents: int


def _checked_course(provider_id: int, data: CourseData, course_id: int | None) -> CourseData:
    title = (data.title or "").strip()
    if not title:
        raise AuthoringError(_("Enter the course title."), "title")
    if data.language not in LANGUAGES:
        raise AuthoringError(_("Choose German or English."), "language")
    if data.field_of_action not in {f.value for f in FieldOfAction}:
        raise AuthoringError(_("Choose one of the four fields of action."), "field_of_action")
    if data.format not in {f.value for f in CourseFormat}:
        raise AuthoringError(_("Choose in person, online or hybrid."), "format")
    if not 1 <= data.attendance_threshold_pct <= 100:
        raise AuthoringError(
            _("The attendance threshold is a percentage from 1 to 100."),
            "attendance_threshold_pct",
        )
    if not 1 <= data.default_capacity <= MAX_CAPACITY:
        raise AuthoringError(
            _("A group has 1 to %(max)d participants.", max=MAX_CAPACITY), "default_capacity"
        )
    if not 0 <= data.default_price_cents <= MAX_PRICE_CENTS:
        raise AuthoringError(_("Enter a price from 0 to 10,000 EUR."), "default_price_eur")
    zpp = normalize_zpp_id(data.zpp_course_id)
    if zpp is not None and not ZPP_PATTERN.match(zpp):
        raise AuthoringError(
            _(
                "Enter the ZPP course ID as printed on the certificate, e.g. KU-BE-123456 "
                "(letters, digits and hyphens)."
            ),
            "zpp_course_id",
        )
    start, end = data.certified_from, data.certified_until
    if (start is None) != (end is None):
        raise AuthoringError(
            _("Enter both the first and the last day of the certification, or neither."),
            "certified_until" if end is None else "certified_from",
        )
    if start is not None and end is not None:
        if end < start:
            raise AuthoringError(
                _("The certification cannot end before it starts."), "certified_until"
            )
        if end > years_later(start, CERTIFICATION_YEARS):
            raise AuthoringError(
                _(
                    "A ZPP certification is valid for at most %(years)d years; it would have "
                    "to end by %(date)s. Enter the dates from the certificate.",
                    years=CERTIFICATION_YEARS,
                    date=format_date(years_later(start, CERTIFICATION_YEARS)),
                ),
                "certified_until",
            )
        if zpp is None:
            raise AuthoringError(
                _("Enter the ZPP course ID that belongs to the certification dates."),
                "zpp_course_id",
            )
    elif zpp is not None:
        raise AuthoringError(
            _("Enter the dates of the certification for this ZPP course ID."), "certified_from"
        )
    if zpp is not None:
        duplicate = select(Course.id).where(
            Course.provider_id == provider_id, Course.zpp_course_id == zpp
        )
        if course_id is not None:
            duplicate = duplicate.where(Course.id != course_id)
        if db.session.scalar(duplicate) is not None:
            raise AuthoringError(
                _("Another of your courses already has the ZPP course ID %(id)s.", id=zpp),
                "zpp_course_id",
            )
    return CourseData(
        title=title,
        title_en=_clean(data.title_en),
        description=(data.description or "").strip(),
        description_en=_clean(data.description_en),
        language=data.language,
        field_of_action=data.field_of_action,
        format=data.format,
        zpp_course_id=zpp,
        certified_from=start,
        certified_until=end,
        attendance_threshold_pct=data.attendance_threshold_pct,
        default_capacity=data.default_capacity,
        default_price_cents=data.default_price_cents,
    )


def create_course(provider_id: int, data: CourseData, actor_id: int | None) -> Course:
    checked = _checked_course(provider_id, data, None)
    course = Course(provider_id=provider_id, **vars(checked))
    db.session.add(course)
    db.session.flush()
    record(
        "provider.course_created",
        actor_id=actor_id,
        provider_id=provider_id,
        target_type="course",
        target_id=course.id,
    )
    return course


def update_course(course: Course, data: CourseData, actor_id: int | None) -> list[str]:
    """Apply the changes; returns the names of the fields that changed (for the audit log)."""
    checked = _checked_course(course.provider_id, data, course.id)
    changed = apply_changes(course, vars(checked))
    if changed:
        db.session.flush()
        record(
            "provider.course_updated",
            actor_id=actor_id,
            provider_id=course.provider_id,
            target_type="course",
            target_id=course.id,
            details={"fields": changed},
        )
    return changed


# --- offerings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferingData:
    capacity: int
    price_cents: int
    format: str
    instructor_name: str | None
    location: str | None
    city: str | None
    online_url: str | None
    #: Aware datetimes (any zone) or naive Berlin wall-clock times.
    enrollment_opens_at: datetime | None
    enrollment_closes_at: datetime | None
    cancellation_deadline: datetime | None
    status: str


@dataclass(frozen=True)
class SessionSeries:
    """Weekly sessions at the same local time: the usual shape of a §20 course."""

    first_day: date
    start: time
    duration_minutes: int
    count: int


def series_times(series: SessionSeries) -> list[tuple[datetime, datetime]]:
    """Start and end (aware UTC) of each session; each week keeps the local start time."""
    if not 1 <= series.count <= MAX_SESSIONS:
        raise AuthoringError(
            _("A series has 1 to %(max)d sessions.", max=MAX_SESSIONS), "session_count"
        )
    if not 10 <= series.duration_minutes <= 480:
        raise AuthoringError(_("A session lasts 10 to 480 minutes."), "duration_minutes")
    times = []
    for week in range(series.count):
        day = series.first_day + timedelta(weeks=week)
        starts = local_to_utc(datetime.combine(day, series.start), "start_time")
        ends = local_to_utc(
            datetime.combine(day, series.start) + timedelta(minutes=series.duration_minutes),
            "duration_minutes",
        )
        times.append((starts, ends))
    return times


def _checked_offering(data: OfferingData, seats_taken: int) -> OfferingData:
    if data.format not in {f.value for f in CourseFormat}:
        raise AuthoringError(_("Choose in person, online or hybrid."), "format")
    if data.status not in (OfferingStatus.DRAFT.value, OfferingStatus.PUBLISHED.value):
        raise AuthoringError(_("Choose draft or published."), "status")
    if not 1 <= data.capacity <= MAX_CAPACITY:
        raise AuthoringError(
            _("A group has 1 to %(max)d participants.", max=MAX_CAPACITY), "capacity"
        )
    if data.capacity < seats_taken:
        raise AuthoringError(
            _(
                "%(taken)d people are already enrolled; the capacity cannot be lower.",
                taken=seats_taken,
            ),
            "capacity",
        )
    if not 0 <= data.price_cents <= MAX_PRICE_CENTS:
        raise AuthoringError(_("Enter a price from 0 to 10,000 EUR."), "price_eur")
    online_url = _check_url(data.online_url, "online_url")
    if data.format != CourseFormat.IN_PERSON.value and online_url is None:
        raise AuthoringError(
            _("Online and hybrid offerings need the link participants join with."),
            "online_url",
        )
    opens = (
        local_to_utc(data.enrollment_opens_at, "enrollment_opens_at")
        if data.enrollment_opens_at
        else None
    )
    closes = (
        local_to_utc(data.enrollment_closes_at, "enrollment_closes_at")
        if data.enrollment_closes_at
        else None
    )
    deadline = (
        local_to_utc(data.cancellation_deadline, "cancellation_deadline")
        if data.cancellation_deadline
        else None
    )
    if opens is not None and closes is not None and closes <= opens:
        raise AuthoringError(_("Enrollment must close after it opens."), "enrollment_closes_at")
    return OfferingData(
        capacity=data.capacity,
        price_cents=data.price_cents,
        format=data.format,
        instructor_name=_clean(data.instructor_name),
        location=_clean(data.location),
        city=_clean(data.city),
        online_url=online_url,
        enrollment_opens_at=opens,
        enrollment_closes_at=closes,
        cancellation_deadline=deadline,
        status=data.status,
    )


def _refuse_if_cancelled(offering: Offering) -> None:
    if offering.status == OfferingStatus.CANCELLED.value:
        raise AuthoringError(_("This offering is cancelled and can no longer be changed."))


def _active_enrollments(offering: Offering) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .where(
                Enrollment.offering_id == offering.id,
                Enrollment.status != EnrollmentStatus.CANCELLED.value,
            )
            .order_by(Enrollment.id)
        )
    )


def _sync_dates(offering: Offering) -> None:
    """``starts_on``/``ends_on`` are the local dates of the first and last session."""
    if offering.sessions:
        days = [utc_to_local(s.starts_at).date() for s in offering.sessions]
        offering.starts_on, offering.ends_on = min(days), max(days)


def _add_times(
    offering: Offering,
    times: Iterable[tuple[datetime, datetime]],
    location: str | None = None,
    online_url: str | None = None,
    field: str | None = None,
) -> list[CourseSession]:
    """Add sessions after checking order and overlaps (with each other and existing ones)."""
    taken = [(s.starts_at, s.ends_at) for s in offering.sessions]
    added = []
    for starts, ends in times:
        if ends <= starts:
            raise AuthoringError(_("A session must end after it starts."), field or "end_time")
        for other_start, other_end in taken:
            if starts < other_end and other_start < ends:
                raise AuthoringError(
                    _(
                        "This overlaps the session on %(date)s at %(time)s. Sessions of one "
                        "offering must not overlap.",
                        date=format_date(utc_to_local(other_start).date()),
                        time=utc_to_local(other_start).strftime("%H:%M"),
                    ),
                    field or "start_time",
                )
        taken.append((starts, ends))
        session = CourseSession(
            starts_at=starts, ends_at=ends, location=location, online_url=online_url
        )
        offering.sessions.append(session)
        added.append(session)
    if len(offering.sessions) > MAX_SESSIONS:
        raise AuthoringError(
            _("An offering has at most %(max)d sessions.", max=MAX_SESSIONS), field
        )
    offering.sessions.sort(key=lambda s: s.starts_at)
    _sync_dates(offering)
    return added


def create_offering(
    course: Course, data: OfferingData, series: SessionSeries, actor_id: int | None
) -> Offering:
    """A new offering with its weekly series of sessions."""
    checked = _checked_offering(data, 0)
    times = series_times(series)
    offering = Offering(
        course=course,
        starts_on=series.first_day,
        ends_on=series.first_day,
        seats_taken=0,
        sessions=[],
        **vars(checked),
    )
    db.session.add(offering)
    _add_times(offering, times, field="start_time")
    db.session.flush()
    record(
        "provider.offering_created",
        actor_id=actor_id,
        provider_id=course.provider_id,
        target_type="offering",
        target_id=offering.id,
        details={"sessions": len(times), "status": offering.status},
    )
    return offering


def update_offering(offering: Offering, data: OfferingData, actor_id: int | None) -> list[str]:
    """Apply changed details; returns the names of the changed fields."""
    _refuse_if_cancelled(offering)
    checked = _checked_offering(data, offering.seats_taken)
    if checked.status == OfferingStatus.PUBLISHED.value and not offering.sessions:
        raise AuthoringError(_("Add at least one session before publishing."), "status")
    if (
        checked.status == OfferingStatus.DRAFT.value
        and offering.status == OfferingStatus.PUBLISHED.value
        and _active_enrollments(offering)
    ):
        raise AuthoringError(
            _(
                "People have already enrolled, so the offering cannot go back to draft. "
                "Cancel it instead if it will not take place."
            ),
            "status",
        )
    changed = [
        f.name for f in fields(checked) if getattr(offering, f.name) != getattr(checked, f.name)
    ]
    for name in changed:
        if name != "capacity":
            setattr(offering, name, getattr(checked, name))
    db.session.flush()
    if "capacity" in changed:
        # Conditional UPDATE: an enrollment committed meanwhile cannot end up above capacity.
        result = db.session.execute(
            update(Offering)
            .where(Offering.id == offering.id, Offering.seats_taken <= checked.capacity)
            .values(capacity=checked.capacity)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            db.session.refresh(offering)
            raise AuthoringError(
                _(
                    "%(taken)d people are already enrolled; the capacity cannot be lower.",
                    taken=offering.seats_taken,
                ),
                "capacity",
            )
        # More seats: the waitlist moves up, first come first served.
        fill_from_waitlist(offering.id)
        db.session.refresh(offering, ["capacity", "seats_taken"])
    if changed:
        record(
            "provider.offering_updated",
            actor_id=actor_id,
            provider_id=offering.course.provider_id,
            target_type="offering",
            target_id=offering.id,
            details={"fields": changed},
        )
    return changed


def _audit_sessions(offering: Offering, actor_id: int | None, **counts: int) -> None:
    record(
        "provider.offering_updated",
        actor_id=actor_id,
        provider_id=offering.course.provider_id,
        target_type="offering",
        target_id=offering.id,
        details=counts,
    )


def add_session(
    offering: Offering,
    day: date,
    start: time,
    end: time,
    location: str | None,
    online_url: str | None,
    actor_id: int | None,
) -> CourseSession:
    """One extra session (e.g. a make-up date), with its own place or link if it differs."""
    _refuse_if_cancelled(offering)
    url = _check_url(online_url, "online_url")
    if end <= start:
        raise AuthoringError(_("A session must end after it starts."), "end_time")
    starts = local_to_utc(datetime.combine(day, start), "start_time")
    ends = local_to_utc(datetime.combine(day, end), "end_time")
    (session,) = _add_times(offering, [(starts, ends)], _clean(location), url)
    db.session.flush()
    _audit_sessions(offering, actor_id, sessions_added=1)
    return session


def _has_attendance(offering: Offering) -> bool:
    from wellness.attendance.models import Attendance

    query = select(
        exists().where(
            Attendance.session_id == CourseSession.id, CourseSession.offering_id == offering.id
        )
    )
    return bool(db.session.scalar(query))


def _refuse_removal(offering: Offering) -> None:
    if _has_attendance(offering):
        raise AuthoringError(
            _(
                "Attendance has already been recorded for this offering, so sessions can no "
                "longer be removed."
            )
        )


def generate_sessions(
    offering: Offering, series: SessionSeries, replace: bool, actor_id: int | None
) -> list[CourseSession]:
    """Add a weekly series; with ``replace`` the existing sessions go first."""
    _refuse_if_cancelled(offering)
    times = series_times(series)
    removed = 0
    if replace and offering.sessions:
        _refuse_removal(offering)
        removed = len(offering.sessions)
        for session in list(offering.sessions):
            offering.sessions.remove(session)
            db.session.delete(session)
        db.session.flush()
    added = _add_times(offering, times, field="first_day")
    db.session.flush()
    _audit_sessions(offering, actor_id, sessions_added=len(added), sessions_removed=removed)
    return added


def remove_session(offering: Offering, session_id: int, actor_id: int | None) -> None:
    _refuse_if_cancelled(offering)
    session = next((s for s in offering.sessions if s.id == session_id), None)
    if session is None:
        raise AuthoringError(_("This session does not exist (any more)."))
    _refuse_removal(offering)
    if len(offering.sessions) == 1 and offering.status == OfferingStatus.PUBLISHED.value:
        raise AuthoringError(
            _(
                "A published offering needs at least one session. Add another session first, "
                "or set the offering to draft."
            )
        )
    offering.sessions.remove(session)
    db.session.delete(session)
    _sync_dates(offering)
    db.session.flush()
    _audit_sessions(offering, actor_id, sessions_removed=1)


def cancel_offering(offering: Offering, actor_id: int | None) -> int:
    """Cancel the offering: everyone enrolled or waiting is cancelled and informed, and the
    seats are released. Returns the number of enrollments cancelled."""
    _refuse_if_cancelled(offering)
    # Lock the offering row (PostgreSQL) so no enrollment slips in while we cancel.
    db.session.execute(select(Offering.id).where(Offering.id == offering.id).with_for_update())
    db.session.refresh(offering)
    now = utcnow()
    enrollments = _active_enrollments(offering)
    for enrollment in enrollments:
        enrollment.status = EnrollmentStatus.CANCELLED.value
        enrollment.waitlist_position = None
        enrollment.cancelled_at = now
    offering.status = OfferingStatus.CANCELLED.value
    offering.seats_taken = 0
    db.session.flush()
    for enrollment in enrollments:
        course_mails.offering_cancelled(enrollment)
    record(
        "provider.offering_cancelled",
        actor_id=actor_id,
        provider_id=offering.course.provider_id,
        target_type="offering",
        target_id=offering.id,
        details={"enrollments_cancelled": len(enrollments)},
    )
    return len(enrollments)
