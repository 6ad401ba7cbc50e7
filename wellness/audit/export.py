"""The employer's audit log as a spreadsheet file, for works councils and data protection
officers who review it outside the product. Same content as /admin/audit, every entry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from wellness.audit.labels import action_label
from wellness.audit.models import AuditEvent
from wellness.auth.models import User
from wellness.extensions import db
from wellness.spreadsheet import Cell

#: Rows fetched per round trip; the file is built as it streams out of the database.
BATCH = 1000


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL may hand back an aware time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def audit_rows(employer_id: int) -> Iterator[list[Cell]]:
    """A header and one row per event of this employer only, oldest first.

    The IP address stays out: the page does not show it either, and the file travels further.
    """
    yield [
        _("Time (UTC)"),
        _("Person"),
        _("Action"),
        _("Action code"),
        _("Affected"),
        _("Affected ID"),
        _("Details"),
    ]
    events = db.session.execute(
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.employer_id == employer_id)
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
        .execution_options(yield_per=BATCH)
    )
    for event, actor_name in events:
        yield [
            _utc(event.occurred_at).isoformat(timespec="seconds"),
            actor_name or _("System"),
            str(action_label(event.action)),
            event.action,
            event.target_type,
            event.target_id,
            event.details,
        ]
