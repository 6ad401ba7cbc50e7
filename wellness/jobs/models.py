"""Attendance imports that run as a background job, with their status for any app server."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from wellness.db import Base, utcnow
from wellness.modeltypes import one_of


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AttendanceImport(Base):
    """A large attendance file waiting for, or processed by, the import job.

    Kept in the database (not on a local disk or only in Redis) so the status page works on any
    app server and the file survives a worker that dies: the job can simply run again.
    """

    __tablename__ = "attendance_imports"
    __table_args__ = (one_of("state", ImportState),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    #: The uploaded file; dropped once the import is done or refused.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(default=0)
    state: Mapped[str] = mapped_column(String(20), default=ImportState.QUEUED)
    #: How often a worker started it (more than one: a worker died or RQ retried).
    attempts: Mapped[int] = mapped_column(default=0)
    #: The import report (as the API shows it) once done or refused.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    upload_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_uploads.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
