"""Health data (GDPR Art. 9). Only the employee sees rows; HR sees consented aggregates."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellness.db import Base, utcnow
from wellness.modeltypes import one_of
from wellness.tenants.models import Employee


class AnswerType(StrEnum):
    CHOICE = "choice"  # yes / partly / no / not applicable
    NUMBER = "number"  # e.g. viewing distance in cm


class Choice(StrEnum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"
    NOT_APPLICABLE = "na"


class MeasureStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    ORDERED = "ordered"
    DONE = "done"
    REJECTED = "rejected"


class BodyRegion(StrEnum):
    """Regions of the Nordic Musculoskeletal Questionnaire."""

    NECK = "neck"
    SHOULDERS = "shoulders"
    UPPER_BACK = "upper_back"
    ELBOWS = "elbows"
    LOW_BACK = "low_back"
    WRISTS_HANDS = "wrists_hands"
    HIPS_THIGHS = "hips_thighs"
    KNEES = "knees"
    ANKLES_FEET = "ankles_feet"


class ConsentPurpose(StrEnum):
    #: Pain, checklist and training data may count in anonymized employer aggregates.
    HEALTH_AGGREGATES = "health_aggregates"


class ChecklistTemplate(Base):
    """A versioned checklist; responses keep the version they answered."""

    __tablename__ = "checklist_templates"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable identifier across versions, e.g. ``screen-workstation``.
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(default=1)
    #: NULL for the templates shipped with the product; set for an employer's adapted copy.
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_templates.id"))
    title_de: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="template", order_by="ChecklistItem.position"
    )


class ChecklistItem(Base):
    __tablename__ = "checklist_items"
    __table_args__ = (
        UniqueConstraint("template_id", "position"),
        UniqueConstraint("template_id", "key"),
        one_of("answer_type", AnswerType),
        CheckConstraint("weight >= 0", name="weight_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_templates.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(80))
    #: Checklist area, e.g. ``screen``, ``chair``, ``lighting``.
    area: Mapped[str] = mapped_column(String(40))
    position: Mapped[int]
    question_de: Mapped[str] = mapped_column(Text)
    question_en: Mapped[str] = mapped_column(Text)
    help_de: Mapped[str] = mapped_column(Text, default="")
    help_en: Mapped[str] = mapped_column(Text, default="")
    answer_type: Mapped[str] = mapped_column(String(10), default=AnswerType.CHOICE.value)
    weight: Mapped[int] = mapped_column(default=1)
    #: For number items: acceptable range, as JSON-free min/max columns.
    number_min: Mapped[float | None]
    number_max: Mapped[float | None]
    unit: Mapped[str | None] = mapped_column(String(20))
    #: Measure suggested when the answer is not fine, e.g. ``footrest``.
    suggested_measure: Mapped[str | None] = mapped_column(String(80))

    template: Mapped[ChecklistTemplate] = relationship(back_populates="items")


class ChecklistResponse(Base):
    __tablename__ = "checklist_responses"
    __table_args__ = (
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint("workplace IN ('office', 'home')", name="workplace_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"))
    workplace: Mapped[str] = mapped_column(String(10), default="office")
    #: Weighted share of items answered fine, 0-100.
    score: Mapped[int | None]
    #: Items the answers leave to fix, counted on submission (migration 0009 counted the older
    #: ones): HR's share of workstations with open issues reads it rather than evaluating every
    #: response's answers again (a score of 100 can round away a small shortfall).
    items_to_fix: Mapped[int | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship()
    template: Mapped[ChecklistTemplate] = relationship()
    answers: Mapped[list[ChecklistAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class ChecklistAnswer(Base):
    __tablename__ = "checklist_answers"
    __table_args__ = (
        UniqueConstraint("response_id", "item_id"),
        CheckConstraint("(choice IS NULL) <> (number IS NULL)", name="exactly_one_value"),
        CheckConstraint(
            "choice IS NULL OR choice IN ('yes', 'partly', 'no', 'na')", name="choice_valid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_responses.id", ondelete="CASCADE")
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    choice: Mapped[str | None] = mapped_column(String(10))
    number: Mapped[float | None] = mapped_column(Numeric(8, 2, asdecimal=False))

    response: Mapped[ChecklistResponse] = relationship(back_populates="answers")
    item: Mapped[ChecklistItem] = relationship()


class ErgonomicMeasure(Base):
    """A workplace measure worked through to completion: the risk-assessment record."""

    __tablename__ = "ergonomic_measures"
    __table_args__ = (
        one_of("status", MeasureStatus),
        CheckConstraint("cost_cents IS NULL OR cost_cents >= 0", name="cost_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), index=True
    )
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"))
    #: What is to be done, e.g. ``footrest`` or a free text.
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=MeasureStatus.REQUESTED.value)
    note: Mapped[str | None] = mapped_column(Text)
    cost_cents: Mapped[int | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]
    ordered_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Consent(Base):
    """Explicit, purpose-bound consent; withdrawing sets ``withdrawn_at``, never deletes."""

    __tablename__ = "consents"
    __table_args__ = (
        one_of("purpose", ConsentPurpose),
        CheckConstraint(
            "withdrawn_at IS NULL OR withdrawn_at >= granted_at", name="withdrawn_after_granted"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(40))
    #: Version of the consent text the person agreed to, e.g. ``2026-01``.
    text_version: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class PainCheckin(Base):
    """At most one check-in per person and day; checking in again the same day updates it."""

    __tablename__ = "pain_checkins"
    __table_args__ = (UniqueConstraint("employee_id", "checked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    checked_on: Mapped[date]
    #: Whether any pain in the last 7 days prevented normal activity.
    prevented_activity: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    scores: Mapped[list[PainScore]] = relationship(
        back_populates="checkin", cascade="all, delete-orphan"
    )


class PainScore(Base):
    """Pain on the numeric rating scale for one body region in one check-in."""

    __tablename__ = "pain_scores"
    __table_args__ = (
        UniqueConstraint("checkin_id", "region"),
        one_of("region", BodyRegion),
        CheckConstraint("nrs BETWEEN 0 AND 10", name="nrs_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("pain_checkins.id", ondelete="CASCADE"))
    region: Mapped[str] = mapped_column(String(20))
    nrs: Mapped[int]
    prevented_activity: Mapped[bool] = mapped_column(Boolean, default=False)

    checkin: Mapped[PainCheckin] = relationship(back_populates="scores")


class PainMonth(Base):
    """One person's pain scores for one body region in one calendar month, summed: the rollup
    HR figures read instead of every score (a person checking in weekly has four or five
    scores a month). Sums, not means, so any run of months adds up to the person's exact mean
    over it; a row per person, so consent, pseudonymization and department moves apply at
    query time as they do to the scores. Derived data: kept current by
    :mod:`wellness.health.pain_months` on every write and erased with the scores.

    Keyed region first, then month: HR's figures read one region's months (or every region's)
    of all people, so the key serves them, and the rebuild writes the rows in its order, which
    keeps a region's month together on disk (a tenth of the pages to read). Writers find a
    person's months by the second index."""

    __tablename__ = "pain_months"
    __table_args__ = (
        PrimaryKeyConstraint("region", "month", "employee_id"),
        one_of("region", BodyRegion),
        CheckConstraint("scores > 0", name="scores_positive"),
        CheckConstraint("nrs_sum BETWEEN 0 AND 10 * scores", name="nrs_sum_range"),
        CheckConstraint("prevented BETWEEN 0 AND scores", name="prevented_range"),
        Index("ix_pain_months_employee_month", "employee_id", "month"),
    )

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    #: First day of the calendar month of the check-ins.
    month: Mapped[date]
    region: Mapped[str] = mapped_column(String(20))
    #: Check-ins of the month that scored the region.
    scores: Mapped[int]
    nrs_sum: Mapped[int]
    #: Of those check-ins, the ones in which pain prevented normal activity.
    prevented: Mapped[int]


class ExerciseLog(Base):
    """One home training session."""

    __tablename__ = "exercise_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employees.id", ondelete="CASCADE"), index=True
    )
    performed_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entries: Mapped[list[ExerciseEntry]] = relationship(
        back_populates="log", cascade="all, delete-orphan"
    )


class ExerciseEntry(Base):
    __tablename__ = "exercise_entries"
    __table_args__ = (
        CheckConstraint("sets IS NULL OR sets BETWEEN 1 AND 50", name="sets_range"),
        CheckConstraint("reps IS NULL OR reps BETWEEN 1 AND 500", name="reps_range"),
        CheckConstraint("minutes IS NULL OR minutes BETWEEN 1 AND 600", name="minutes_range"),
        CheckConstraint("reps IS NOT NULL OR minutes IS NOT NULL", name="reps_or_minutes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("exercise_logs.id", ondelete="CASCADE"))
    #: Exercise key from the shipped catalogue, e.g. ``bridge`` or ``bird_dog``.
    exercise: Mapped[str] = mapped_column(String(40))
    sets: Mapped[int | None]
    reps: Mapped[int | None]
    minutes: Mapped[int | None]

    log: Mapped[ExerciseLog] = relationship(back_populates="entries")
