"""Who attended which session, where each mark came from, and the certificates it earns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellness.courses.models import CourseSession, Enrollment, Offering
from wellness.db import Base, utcnow
from wellness.modeltypes import one_of


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    EXCUSED = "excused"


class AttendanceUpload(Base):
    """One committed attendance file; dry runs are not stored."""

    __tablename__ = "attendance_uploads"
    __table_args__ = (CheckConstraint("row_count >= 0", name="row_count_nonnegative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the file, to recognise repeated uploads of the same content.
    sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    changed_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    offering: Mapped[Offering] = relationship()


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "session_id"),
        one_of("status", AttendanceStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    upload_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_uploads.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    enrollment: Mapped[Enrollment] = relationship()
    session: Mapped[CourseSession] = relationship()


class AttendanceChange(Base):
    """The audit trail of attendance: every creation or correction, with old and new mark."""

    __tablename__ = "attendance_changes"
    __table_args__ = (
        CheckConstraint(
            "old_status IS NULL OR old_status IN ('present', 'absent', 'excused')",
            name="old_status_valid",
        ),
        one_of("new_status", AttendanceStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id", ondelete="CASCADE"))
    upload_id: Mapped[int | None] = mapped_column(
        ForeignKey("attendance_uploads.id", ondelete="SET NULL")
    )
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(Base):
    """A participation certificate (Teilnahmebescheinigung), verifiable by its code."""

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(
            "sessions_attended >= 0 AND sessions_attended <= sessions_total",
            name="sessions_attended_range",
        ),
        CheckConstraint("fee_cents >= 0", name="fee_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), unique=True
    )
    #: Public code printed on the certificate; anyone can verify it at /verify/<code>.
    verification_code: Mapped[str] = mapped_column(String(32), unique=True)
    sessions_attended: Mapped[int]
    sessions_total: Mapped[int]
    fee_cents: Mapped[int]
    fee_paid: Mapped[bool]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    enrollment: Mapped[Enrollment] = relationship()


class AttendanceDraft(Base):
    """An uploaded file between its preview and the provider's confirmation.

    Kept in the database, not on a local disk, so the confirmation may reach any app server.
    Confirmed or abandoned drafts are deleted (abandoned ones after a day).
    """

    __tablename__ = "attendance_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
