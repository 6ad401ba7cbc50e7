"""Stored releases: a repeated query gets the same noisy answer (``privacy_releases``), and an
exact figure is not computed again until the data changes (``exact_releases``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
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


class ExactRelease(Base):
    """An exact release (no noise) as computed at one data version on one German day; see
    :mod:`wellness.analytics.exact_store`."""

    __tablename__ = "exact_releases"
    __table_args__ = (UniqueConstraint("employer_id", "query_key", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    #: The query's canonical key with the language of the group names.
    query_key: Mapped[str] = mapped_column(String(500))
    #: The German calendar day it was computed for (periods up to "now" depend on it).
    day: Mapped[date] = mapped_column(Date)
    #: :mod:`wellness.analytics.data_version` read before computing it.
    data_version: Mapped[int] = mapped_column(BigInteger)
    #: The released cells as JSON text (the format of ``privacy_releases``).
    result_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
