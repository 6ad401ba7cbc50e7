"""Mails about the employee's own health tools.

They never contain health data: a mail passes through servers and inboxes outside our
control, so it only points back to the page behind the sign-in.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from wellness.notifications.course_mails import letter, link, reader_for
from wellness.notifications.mail import queue_mail
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Employee


def pain_reminder_key(month: date, employee_id: int | None = None) -> str:
    """One reminder per person and month, however often the daily job runs. Without a person:
    the LIKE pattern matching the month's reminders to everybody."""
    person = "%" if employee_id is None else str(employee_id)
    return f"pain-reminder:{person}:{month:%Y-%m}"


def pain_reminder(employee: Employee, month: date) -> OutboundMail | None:
    """The monthly nudge to check in, for people who asked for it; ``None`` when there is
    nobody to write to."""
    reader = reader_for(employee)
    if reader is None:
        return None
    with force_locale(reader.locale):
        lines = [
            _("it is time for your monthly pain check-in. It takes less than a minute."),
            _("Only you can see your answers and your trend."),
        ]
        page = link("checkins.checkin")
        if page:
            lines += ["", _("Check in: %(link)s", link=page)]
        lines += [
            "",
            _(
                "You receive this mail because you asked for a monthly reminder. You can "
                "switch it off on the check-in page."
            ),
        ]
        return queue_mail(
            reader.user.email,
            _("Your monthly pain check-in"),
            letter(reader, lines),
            "pain_reminder",
            reader.user.id,
            dedupe_key=pain_reminder_key(month, employee.id),
        )
