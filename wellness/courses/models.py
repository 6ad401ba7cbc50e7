"""The course catalogue: who offers what, when, for which employers, and who is enrolled."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellness.db import Base, utcnow
from wellness.modeltypes import one_of

if TYPE_CHECKING:
    from wellness.tenants.models import Employee, Employer


class FieldOfAction(StrEnum):
    """The four Handlungsfelder of §20 SGB V prevention."""

    MOVEMENT = "movement"
    NUTRITION = "nutrition"
    STRESS = "stress"
    ADDICTION = "addiction"


class CourseFormat(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class OfferingStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class EnrollmentStatus(StrEnum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Provider(Base):
    """A trainer, studio or physiotherapy practice; serves several employers."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    city: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    courses: Mapped[list[Course]] = relationship(back_populates="provider")


class Course(Base):
    """A course concept as checked by the Zentrale Prüfstelle Prävention (ZPP)."""

    __tablename__ = "courses"
    __table_args__ = (
        one_of("field_of_action", FieldOfAction),
        one_of("format", CourseFormat),
        CheckConstraint("language IN ('de', 'en')", name="language_valid"),
        CheckConstraint(
            "attendance_threshold_pct BETWEEN 1 AND 100", name="attendance_threshold_range"
        ),
        CheckConstraint(
            "certified_until IS NULL OR certified_from IS NULL "
            "OR certified_until >= certified_from",
            name="certification_dates_ordered",
        ),
        CheckConstraint("default_capacity > 0", name="default_capacity_positive"),
        CheckConstraint("default_price_cents >= 0", name="default_price_nonnegative"),
        UniqueConstraint("provider_id", "zpp_course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    #: English title where the provider gives one; the UI falls back to ``title``.
    title_en: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str | None] = mapped_column(Text)
    #: Language the course is held in.
    language: Mapped[str] = mapped_column(String(5), default="de")
    field_of_action: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(20), default=CourseFormat.IN_PERSON.value)
    #: ZPP course ID (Kurs-ID), e.g. ``KU-BE-123456``; NULL for uncertified courses.
    zpp_course_id: Mapped[str | None] = mapped_column(String(40))
    certified_from: Mapped[date | None]
    certified_until: Mapped[date | None]
    #: Share of sessions a participant must attend for the certificate (insurers: 80%).
    attendance_threshold_pct: Mapped[int] = mapped_column(default=80)
    default_capacity: Mapped[int] = mapped_column(default=12)
    default_price_cents: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider: Mapped[Provider] = relationship(back_populates="courses")
    offerings: Mapped[list[Offering]] = relationship(back_populates="course")

    def certified_for(self, starts_on: date, ends_on: date) -> bool:
        """A course counts as certified for an offering only if the validity covers its dates."""
        return (
            self.zpp_course_id is not None
            and self.certified_from is not None
            and self.certified_until is not None
            and self.certified_from <= starts_on
            and ends_on <= self.certified_until
        )


class Offering(Base):
    """One dated run of a course: a fixed group with fixed sessions."""

    __tablename__ = "offerings"
    __table_args__ = (
        one_of("status", OfferingStatus),
        one_of("format", CourseFormat),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"
        ),
        CheckConstraint("price_cents >= 0", name="price_nonnegative"),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint(
            "enrollment_closes_at IS NULL OR enrollment_opens_at IS NULL "
            "OR enrollment_closes_at > enrollment_opens_at",
            name="enrollment_window_ordered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    capacity: Mapped[int]
    price_cents: Mapped[int]
    format: Mapped[str] = mapped_column(String(20), default=CourseFormat.IN_PERSON.value)
    status: Mapped[str] = mapped_column(String(20), default=OfferingStatus.PUBLISHED.value)
    instructor_name: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    online_url: Mapped[str | None] = mapped_column(String(500))
    enrollment_opens_at: Mapped[datetime | None]
    enrollment_closes_at: Mapped[datetime | None]
    #: Until when enrolled people may cancel themselves.
    cancellation_deadline: Mapped[datetime | None]
    #: Number of enrolled seats; updated with a conditional UPDATE to keep capacity race-free.
    seats_taken: Mapped[int] = mapped_column(default=0)
    #: Last waitlist position handed out; incremented in the database so concurrent requests
    #: queue in the order they reach it.
    waitlist_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship(back_populates="offerings")
    sessions: Mapped[list[CourseSession]] = relationship(
        back_populates="offering", order_by="CourseSession.starts_at"
    )
    employer_links: Mapped[list[OfferingEmployer]] = relationship(back_populates="offering")
    enrollments: Mapped[list[Enrollment]] = relationship(back_populates="offering")


class OfferingEmployer(Base):
    """An employer's decision to open an offering to its employees, with its subsidy."""

    __tablename__ = "offering_employers"
    __table_args__ = (CheckConstraint("subsidy_cents >= 0", name="subsidy_nonnegative"),)

    offering_id: Mapped[int] = mapped_column(
        ForeignKey("offerings.id", ondelete="CASCADE"), primary_key=True
    )
    employer_id: Mapped[int] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), primary_key=True
    )
    #: What the employer pays per participant (capped by the yearly budget).
    subsidy_cents: Mapped[int] = mapped_column(default=0)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)

    offering: Mapped[Offering] = relationship(back_populates="employer_links")
    employer: Mapped[Employer] = relationship()


class CourseSession(Base):
    """One meeting of an offering (a 'session' in the domain, not a database session)."""

    __tablename__ = "course_sessions"
    __table_args__ = (
        UniqueConstraint("offering_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="times_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))

    offering: Mapped[Offering] = relationship(back_populates="sessions")


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("offering_id", "employee_id"),
        UniqueConstraint("offering_id", "waitlist_position"),
        one_of("status", EnrollmentStatus),
        CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name="waitlist_position_iff_waitlisted",
        ),
        CheckConstraint("employer_share_cents >= 0", name="employer_share_nonnegative"),
        CheckConstraint("employee_share_cents >= 0", name="employee_share_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("offerings.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    waitlist_position: Mapped[int | None]
    #: Stable code printed on rosters so providers can identify rows without e-mail addresses.
    participant_code: Mapped[str] = mapped_column(String(16), unique=True)
    employer_share_cents: Mapped[int] = mapped_column(default=0)
    employee_share_cents: Mapped[int] = mapped_column(default=0)
    #: Calendar year whose tax-free budget the employer share counts against.
    budget_year: Mapped[int]
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    offering: Mapped[Offering] = relationship(back_populates="enrollments")
    employee: Mapped[Employee] = relationship()
