"""Uploaded attendance files waiting for the provider's confirmation after the preview."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from io import BytesIO
from typing import IO

from sqlalchemy import delete, select

from wellness.attendance.models import AttendanceDraft
from wellness.db import utcnow
from wellness.extensions import db

#: Abandoned previews are deleted after this long.
KEEP = timedelta(days=1)


def save(offering_id: int, user_id: int, filename: str, stream: IO[bytes]) -> str:
    """Keep the previewed file; returns the token the confirmation form sends back."""
    purge(utcnow())
    stream.seek(0)
    token = secrets.token_urlsafe(32)
    db.session.add(
        AttendanceDraft(
            token=token,
            offering_id=offering_id,
            user_id=user_id,
            filename=filename[:255],
            content=stream.read(),
        )
    )
    db.session.flush()
    return token


def find(token: str, offering_id: int, user_id: int) -> AttendanceDraft | None:
    """The user's own draft for this offering; anybody else's token finds nothing."""
    return db.session.scalar(
        select(AttendanceDraft).where(
            AttendanceDraft.token == token,
            AttendanceDraft.offering_id == offering_id,
            AttendanceDraft.user_id == user_id,
            AttendanceDraft.created_at > utcnow() - KEEP,
        )
    )


def content(draft: AttendanceDraft) -> IO[bytes]:
    return BytesIO(draft.content)


def discard(draft: AttendanceDraft) -> None:
    db.session.delete(draft)
    db.session.flush()


def purge(now: datetime) -> None:
    db.session.execute(delete(AttendanceDraft).where(AttendanceDraft.created_at < now - KEEP))
