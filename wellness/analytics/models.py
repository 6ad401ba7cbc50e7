"""Stored differentially private releases: a repeated query gets the same noisy answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wellness.db import Base, utcnow


class PrivacyRelease(Base):
    __tablename__ = "privacy_releases"
    __table_args__ = (
        UniqueConstraint("employer_id", "period", "query_key"),
        CheckConstraint("epsilon > 0", name="epsilon_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    #: Budget period the release is charged to, e.g. ``2026-Q4``.
    period: Mapped[str] = mapped_column(String(10))
    #: Canonical description of the query (measure, grid, filters).
    query_key: Mapped[str] = mapped_column(String(500))
    epsilon: Mapped[float]
    #: The released (noisy, suppressed) cells as JSON text.
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
