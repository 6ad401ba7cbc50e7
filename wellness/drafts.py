"""Uploaded files kept between their preview and the uploader's confirmation.

Every import with a preview (attendance, employees) keeps the previewed file in a draft table of
its own, scoped to what it imports into (an offering, an employer) and to the uploader. Kept in
the database, not on a local disk, so the confirmation may reach any app server. A draft is
found only by its random token together with the same scope and user, so a token that leaks to
somebody else finds nothing. Abandoned drafts are deleted after :data:`KEEP`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from io import BytesIO
from typing import IO, Any, Generic, Protocol, TypeVar

from sqlalchemy import delete, select

from wellness.db import utcnow
from wellness.extensions import db

#: Abandoned previews are deleted after this long.
KEEP = timedelta(days=1)


class _Draft(Protocol):
    token: Any
    user_id: Any
    filename: Any
    content: Any
    created_at: Any


D = TypeVar("D", bound=_Draft)


class DraftStore(Generic[D]):
    """Save, find and discard drafts of one model; ``scope`` names its tenant column(s)."""

    def __init__(self, model: type[D]) -> None:
        self.model = model

    def save(self, user_id: int, filename: str, stream: IO[bytes], **columns: object) -> str:
        """Keep the previewed file; ``columns`` give its scope (and anything else the model
        keeps). Returns the token the confirmation form sends back."""
        self.purge(utcnow())
        stream.seek(0)
        token = secrets.token_urlsafe(32)
        draft = self.model(  # type: ignore[call-arg]
            token=token, user_id=user_id, filename=filename[:255], content=stream.read(), **columns
        )
        db.session.add(draft)
        db.session.flush()
        return token

    def find(self, token: str, user_id: int, **scope: object) -> D | None:
        """The user's own draft in this scope; anybody else's token finds nothing."""
        model: Any = self.model
        query = select(model).where(
            model.token == token,
            model.user_id == user_id,
            model.created_at > utcnow() - KEEP,
            *(getattr(model, name) == value for name, value in scope.items()),
        )
        found: D | None = db.session.scalar(query)
        return found

    @staticmethod
    def content(draft: D) -> IO[bytes]:
        return BytesIO(draft.content)

    @staticmethod
    def discard(draft: D) -> None:
        db.session.delete(draft)
        db.session.flush()

    def purge(self, now: datetime) -> None:
        model: Any = self.model
        db.session.execute(delete(model).where(model.created_at < now - KEEP))
