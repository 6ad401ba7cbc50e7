"""Mails about enrollments: confirmation, waitlist, promotion, cancellations, reminders and the
participation certificate.

The enrollment service calls these inside its transaction; they only queue (see
:func:`~wellness.notifications.mail.queue_mail`), so a mail problem can never undo or block an
enrollment. Each mail has a dedupe key: a retried request does not mail twice, but a later
re-enrollment (a new ``enrolled_at``) does. Mails are written in the recipient's language and
time zone, not the language of whoever triggered them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from wellness.auth.models import User
from wellness.courses.calendar import (
    ICS_ATTACHMENT_TYPE,
    course_title,
    ics_filename,
    offering_calendar,
)
from wellness.courses.models import CourseSession, Enrollment, Offering
from wellness.courses.waitlist import waitlist_rank
from wellness.i18n import DEFAULT_TIMEZONE, locale_for, money
from wellness.notifications.mail import Attachment, queue_mail
from wellness.notifications.models import OutboundMail

if TYPE_CHECKING:
    from wellness.attendance.models import Certificate
    from wellness.tenants.models import Employee


@dataclass(frozen=True)
class Reader:
    """Who a mail goes to, and how to write to them."""

    user: User
    locale: str
    zone: ZoneInfo


def reader_for(employee: Employee | None) -> Reader | None:
    """The employee's account, or ``None`` when there is nobody to write to."""
    account = employee.user if employee is not None else None
    if employee is None or account is None or not account.email or not account.is_enabled:
        return None
    try:
        zone = ZoneInfo(employee.employer.timezone or DEFAULT_TIMEZONE)
    except (KeyError, ValueError):
        zone = ZoneInfo(DEFAULT_TIMEZONE)
    return Reader(account, locale_for(account), zone)


@contextmanager
def _writing_to(reader: Reader) -> Iterator[None]:
    with force_locale(reader.locale):
        yield


def _stamp(value: datetime | None) -> str:
    """A dedupe-key part that changes when the event happens again."""
    return value.astimezone(UTC).isoformat() if value is not None else "none"


def link(endpoint: str, **values: Any) -> str | None:
    """An absolute URL on BASE_URL: the same inside a request and in ``wellness send-reminders``,
    and never built from a request's (spoofable) Host header."""
    try:
        base = urlsplit(current_app.config.get("BASE_URL") or "http://127.0.0.1:8000")
        adapter = current_app.url_map.bind(
            base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
        )
        return adapter.build(endpoint, values, force_external=True)
    except (BuildError, RuntimeError):
        return None


def session_when(session: CourseSession, reader: Reader) -> str:
    """``Mo., 2. März 2026, 18:00–19:00`` / ``Mon, Mar 2, 2026, 6:00 PM–7:00 PM``."""
    day = format_skeleton("yMMMEd", session.starts_at, tzinfo=reader.zone, locale=reader.locale)
    start = format_time(session.starts_at, "short", tzinfo=reader.zone, locale=reader.locale)
    end = format_time(session.ends_at, "short", tzinfo=reader.zone, locale=reader.locale)
    return f"{day}, {start}–{end}"


def _dates(offering: Offering, reader: Reader) -> str:
    start = format_date(offering.starts_on, "medium", locale=reader.locale)
    if offering.starts_on == offering.ends_on:
        return start
    end = format_date(offering.ends_on, "medium", locale=reader.locale)
    return _("%(start)s to %(end)s", start=start, end=end)


def session_place(session: CourseSession) -> list[str]:
    """Where to go: the session's room or the offering's address, and the online link."""
    offering = session.offering
    lines = []
    place = session.location or ", ".join(p for p in (offering.location, offering.city) if p)
    if place:
        lines.append(_("Place: %(place)s", place=place))
    online = session.online_url or offering.online_url
    if online:
        lines.append(_("Online: %(url)s", url=online))
    return lines


def _offering_place(offering: Offering) -> list[str]:
    lines = []
    place = ", ".join(p for p in (offering.location, offering.city) if p)
    if place:
        lines.append(_("Place: %(place)s", place=place))
    if offering.online_url:
        lines.append(_("Online: %(url)s", url=offering.online_url))
    return lines


def _title(offering: Offering, reader: Reader) -> str:
    return course_title(offering.course, reader.locale)


def _greeting(reader: Reader) -> str:
    return _("Hello %(name)s,", name=reader.user.name)


def _seat_details(enrollment: Enrollment, reader: Reader) -> list[str]:
    """Sessions, place, costs and cancellation: what someone with a seat needs to know."""
    offering = enrollment.offering
    lines = [_("Sessions:")]
    lines += [f"- {session_when(s, reader)}" for s in offering.sessions]
    lines += _offering_place(offering)
    if offering.instructor_name:
        lines.append(_("Instructor: %(name)s", name=offering.instructor_name))
    lines += [
        "",
        _("Costs:"),
        _("- Course fee: %(amount)s", amount=money(offering.price_cents)),
        _("- Your employer pays: %(amount)s", amount=money(enrollment.employer_share_cents)),
        _("- You pay: %(amount)s", amount=money(enrollment.employee_share_cents)),
        "",
    ]
    overview = link("courses.mine")
    if offering.cancellation_deadline is not None:
        deadline = offering.cancellation_deadline
        lines.append(
            _(
                "You can cancel until %(date)s, %(time)s.",
                date=format_date(deadline.astimezone(reader.zone), "long", locale=reader.locale),
                time=format_time(deadline, "short", tzinfo=reader.zone, locale=reader.locale),
            )
        )
    if overview:
        lines.append(_("Your courses and cancellation: %(link)s", link=overview))
    return lines


def _calendar_attachment(offering: Offering, reader: Reader) -> Attachment:
    body = offering_calendar(offering, reader.locale).decode()
    return (ics_filename(offering), ICS_ATTACHMENT_TYPE, body)


def _signature() -> list[str]:
    return ["", _("Your wellness team")]


def letter(reader: Reader, lines: list[str]) -> str:
    """A mail body: greeting, ``lines``, signature. Call it in the reader's locale."""
    return "\n".join([_greeting(reader), "", *lines, *_signature()]) + "\n"


Compose = Callable[[Reader, str], tuple[str, list[str]]]


def _send(
    enrollment: Enrollment,
    kind: str,
    dedupe_key: str,
    compose: Compose,
    *,
    with_calendar: bool = False,
) -> OutboundMail | None:
    """Queue one mail to the enrollment's employee, written in their language and time zone.

    ``compose(reader, course_title)`` returns the subject and the lines after the greeting;
    ``None`` when there is nobody to write to.
    """
    reader = reader_for(enrollment.employee)
    if reader is None:
        return None
    offering = enrollment.offering
    with _writing_to(reader):
        subject, lines = compose(reader, _title(offering, reader))
        return queue_mail(
            reader.user.email,
            subject,
            letter(reader, lines),
            kind,
            reader.user.id,
            dedupe_key=dedupe_key,
            attachment=_calendar_attachment(offering, reader) if with_calendar else None,
        )


def enrollment_confirmed(enrollment: Enrollment) -> OutboundMail | None:
    """The seat is booked: dates, place, who pays what, the deadline, and the calendar file."""
    offering = enrollment.offering

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _(
                'you are enrolled in "%(course)s" by %(provider)s.',
                course=title,
                provider=offering.course.provider.name,
            ),
            "",
            *_seat_details(enrollment, reader),
            _("The attached calendar file adds all sessions to your calendar."),
        ]
        return _("You are enrolled: %(course)s", course=title), lines

    return _send(
        enrollment,
        "enrollment_confirmed",
        f"enrollment:{enrollment.id}:confirmed:{_stamp(enrollment.enrolled_at)}",
        compose,
        with_calendar=True,
    )


def waitlisted(enrollment: Enrollment) -> OutboundMail | None:
    offering = enrollment.offering

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _(
                '"%(course)s" (%(dates)s) is fully booked. You are number %(position)d on '
                "the waiting list.",
                course=title,
                dates=_dates(offering, reader),
                position=waitlist_rank(enrollment) or 0,
            ),
            _(
                "If a seat becomes free, it is yours automatically and we will write to you. "
                "You can leave the waiting list at any time."
            ),
        ]
        overview = link("courses.mine")
        if overview:
            lines.append(_("Your courses: %(link)s", link=overview))
        return _("You are on the waiting list: %(course)s", course=title), lines

    return _send(
        enrollment,
        "waitlisted",
        f"enrollment:{enrollment.id}:waitlisted:{enrollment.waitlist_position}",
        compose,
    )


def promoted(enrollment: Enrollment) -> OutboundMail | None:
    """Moved from the waiting list to a seat: the same details as a confirmation."""
    offering = enrollment.offering

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _(
                'good news: a seat in "%(course)s" by %(provider)s became free, and it is now '
                "yours. You are enrolled.",
                course=title,
                provider=offering.course.provider.name,
            ),
            "",
            *_seat_details(enrollment, reader),
            _("The attached calendar file adds all sessions to your calendar."),
        ]
        return _("A seat is free for you: %(course)s", course=title), lines

    return _send(
        enrollment,
        "promoted",
        f"enrollment:{enrollment.id}:promoted:{_stamp(enrollment.enrolled_at)}",
        compose,
        with_calendar=True,
    )


def cancelled(enrollment: Enrollment) -> OutboundMail | None:
    """Confirms the employee's own cancellation (of a seat or a waiting-list place)."""
    offering = enrollment.offering

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _(
                'your enrollment in "%(course)s" (%(dates)s) is cancelled, as you asked.',
                course=title,
                dates=_dates(offering, reader),
            ),
            _("If you added the sessions to your calendar, please remove them there."),
        ]
        return _("Enrollment cancelled: %(course)s", course=title), lines

    return _send(
        enrollment,
        "cancelled",
        f"enrollment:{enrollment.id}:cancelled:{_stamp(enrollment.cancelled_at)}",
        compose,
    )


def offering_cancelled(enrollment: Enrollment) -> OutboundMail | None:
    """The provider called off the whole offering."""
    offering = enrollment.offering

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _(
                '%(provider)s has cancelled "%(course)s" (%(dates)s). We are sorry. '
                "Your enrollment has ended.",
                provider=offering.course.provider.name,
                course=title,
                dates=_dates(offering, reader),
            ),
            _("If you added the sessions to your calendar, please remove them there."),
        ]
        overview = link("courses.mine")
        if overview:
            lines.append(_("Your courses: %(link)s", link=overview))
        return _("Course cancelled: %(course)s", course=title), lines

    return _send(
        enrollment, "offering_cancelled", f"enrollment:{enrollment.id}:offering_cancelled", compose
    )


def session_reminder(enrollment: Enrollment, session: CourseSession) -> OutboundMail | None:
    """The day before a session: when and where."""

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _('a reminder: "%(course)s" meets tomorrow.', course=title),
            "",
            _("When: %(when)s", when=session_when(session, reader)),
            *session_place(session),
        ]
        overview = link("courses.mine")
        if overview:
            lines += ["", _("Your courses: %(link)s", link=overview)]
        return _("Tomorrow: %(course)s", course=title), lines

    return _send(enrollment, "session_reminder", f"reminder:{enrollment.id}:{session.id}", compose)


def certificate_ready(certificate: Certificate) -> OutboundMail | None:
    """The course is completed: where to download the certificate. Once per certificate, even
    when a correction revokes and restores it; the PDF itself stays behind the sign-in."""
    enrollment = certificate.enrollment

    def compose(reader: Reader, title: str) -> tuple[str, list[str]]:
        lines = [
            _(
                'you have completed "%(course)s": you attended %(attended)d of %(total)d '
                "sessions. Your participation certificate is ready.",
                course=title,
                attended=certificate.sessions_attended,
                total=certificate.sessions_total,
            ),
            _(
                "Many statutory health insurers reimburse part of the course fee when you send "
                "them the certificate."
            ),
        ]
        overview = link("courses.mine")
        if overview:
            lines += ["", _("Download it under My courses: %(link)s", link=overview)]
        return _("Your participation certificate: %(course)s", course=title), lines

    return _send(enrollment, "certificate_ready", f"certificate:{certificate.id}:ready", compose)
