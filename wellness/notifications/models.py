"""Every mail the product sends is recorded first; in development it stays in this outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wellness.db import Base, utcnow


class OutboundMail(Base):
    __tablename__ = "outbound_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Owner of the mail; the in-app outbox shows people their own mails only.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    #: Kind of mail, e.g. ``password_reset``; for metrics and tests, not content.
    kind: Mapped[str] = mapped_column(String(40))
    #: Makes queueing idempotent, e.g. ``reminder:<enrollment>:<session>``.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    #: One optional attachment, e.g. the offering's calendar file.
    attachment_filename: Mapped[str | None] = mapped_column(String(120))
    attachment_content_type: Mapped[str | None] = mapped_column(String(80))
    attachment_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    #: Failed delivery attempts so far; delivery retries with back-off until MAX_ATTEMPTS.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    #: Last delivery error (exception class only, never the message body).
    error: Mapped[str | None] = mapped_column(Text)
