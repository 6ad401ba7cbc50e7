"""The periodic jobs. Each runs in an app context, commits its own work, and returns what the
``wellness`` CLI command of the same name prints: cron and the worker run the same code."""

from __future__ import annotations

from datetime import datetime

from wellness.extensions import db
from wellness.health.retention import EmployerPurge
from wellness.notifications.reminders import ReminderRun


def send_mail() -> int:
    """Deliver due mails; returns how many went out.

    Safe to repeat and to run on several workers at once: each mail is claimed with a lease
    before it is sent, and a sent mail is never picked again. A worker killed between the SMTP
    hand-over and the commit sends that one mail again (at least once, never lost).
    """
    from wellness.notifications.mail import deliver_queued

    return deliver_queued()


def send_reminders(now: datetime | None = None) -> ReminderRun:
    """Queue reminders for tomorrow's sessions (and due pain check-ins) in the outbox.

    Safe to repeat: every reminder has a dedupe key, a second run queues nothing new. The mails
    go out with the next ``send_mail`` (the scheduler runs it every minute).
    """
    from wellness.notifications.reminders import queue_reminders

    run = queue_reminders(now)
    db.session.commit()
    return run


def purge_expired(now: datetime | None = None) -> list[EmployerPurge]:
    """Delete health data past each employer's retention period.

    Safe to repeat: what is deleted stays deleted; a second run finds nothing. One transaction,
    so a killed worker deletes nothing and the next run does it all.
    """
    from wellness.health.retention import purge_expired as purge

    results = purge(now)
    db.session.commit()
    return results


def rebuild_rollups() -> int:
    """Recompute the pain-month rollups from the raw check-ins; returns the number of rows.

    Safe to repeat: a full recomputation in one transaction, the same rows every time.
    """
    from wellness.health import pain_months

    rows = pain_months.rebuild()
    db.session.commit()
    return rows
