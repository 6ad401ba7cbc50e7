"""Uploaded attendance files waiting for the provider's confirmation after the preview."""

from __future__ import annotations

from datetime import datetime
from typing import IO

from wellness.attendance.models import AttendanceDraft
from wellness.drafts import KEEP, DraftStore

__all__ = ["KEEP", "content", "discard", "find", "purge", "save"]

_store = DraftStore(AttendanceDraft)
content = _store.content
discard = _store.discard


def save(offering_id: int, user_id: int, filename: str, stream: IO[bytes]) -> str:
    """Keep the previewed file; returns the token the confirmation form sends back."""
    return _store.save(user_id, filename, stream, offering_id=offering_id)


def find(token: str, offering_id: int, user_id: int) -> AttendanceDraft | None:
    """The user's own draft for this offering; anybody else's token finds nothing."""
    return _store.find(token, user_id, offering_id=offering_id)


def purge(now: datetime) -> None:
    _store.purge(now)
