"""Employers and their organisation: the tenant boundary every query is scoped to."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellness.db import Base, utcnow

if TYPE_CHECKING:
    from wellness.auth.models import User

#: The smallest group any employer may configure; PRODUCT.md forbids anything below.
MIN_GROUP_SIZE = 5


class Employer(Base):
    __tablename__ = "employers"
    __table_args__ = (
        CheckConstraint(f"k_participation >= {MIN_GROUP_SIZE}", name="k_participation_min"),
        CheckConstraint(f"k_health >= {MIN_GROUP_SIZE}", name="k_health_min"),
        CheckConstraint("budget_per_employee_cents >= 0", name="budget_nonnegative"),
        CheckConstraint("retention_months >= 1", name="retention_positive"),
        CheckConstraint("locale IN ('de', 'en')", name="locale_valid"),
        CheckConstraint("dp_epsilon_per_period > 0", name="dp_epsilon_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL- and CLI-friendly identifier, e.g. ``musterfirma``.
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Default UI language for the employer's people.
    locale: Mapped[str] = mapped_column(String(5), default="de")
    timezone: Mapped[str] = mapped_column(String(60), default="Europe/Berlin")
    #: Minimum distinct people per cell for participation figures.
    k_participation: Mapped[int] = mapped_column(default=5)
    #: Minimum distinct people per cell for health figures (pain, checklists, training).
    k_health: Mapped[int] = mapped_column(default=10)
    dp_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Privacy budget (epsilon) HR may spend on health figures per calendar quarter.
    dp_epsilon_per_period: Mapped[float] = mapped_column(default=20.0)
    #: Tax-free limit per employee and calendar year (§3 Nr. 34 EStG: 600 EUR).
    budget_per_employee_cents: Mapped[int] = mapped_column(default=60000)
    #: Health data older than this is purged by the retention job.
    retention_months: Mapped[int] = mapped_column(default=36)
    password_login_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    oidc_issuer: Mapped[str | None] = mapped_column(String(300))
    oidc_client_id: Mapped[str | None] = mapped_column(String(200))
    oidc_client_secret: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    departments: Mapped[list[Department]] = relationship(back_populates="employer")
    sites: Mapped[list[Site]] = relationship(back_populates="employer")


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("employer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120))
    postal_code: Mapped[str | None] = mapped_column(String(10))

    employer: Mapped[Employer] = relationship(back_populates="sites")


class Department(Base):
    """A node in the employer's department tree; analytics aggregate over subtrees."""

    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("employer_id", "name"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    name: Mapped[str] = mapped_column(String(120))
    #: The identifier the employer's HR system or SCIM uses, if any.
    external_id: Mapped[str | None] = mapped_column(String(120))

    employer: Mapped[Employer] = relationship(back_populates="departments")
    parent: Mapped[Department | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Department]] = relationship(back_populates="parent")


class Employee(Base):
    """A person employed by an employer: the subject of enrollments and health data.

    Kept apart from :class:`~wellness.auth.models.User` so that erasing or deactivating an
    account can leave a pseudonymous record for accounting.
    """

    __tablename__ = "employees"
    __table_args__ = (
        UniqueConstraint("employer_id", "employee_number"),
        UniqueConstraint("employer_id", "external_id"),
        UniqueConstraint("employer_id", "user_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    employee_number: Mapped[str | None] = mapped_column(String(60))
    #: Identifier from the identity provider (SCIM ``externalId``).
    external_id: Mapped[str | None] = mapped_column(String(200))
    #: SCIM ``userName`` (unique per employer, compared case-insensitively); may differ from the
    #: login e-mail, and is set for people provisioned without an account.
    user_name: Mapped[str | None] = mapped_column(String(254))
    #: Names as the identity provider sends them (SCIM ``displayName``, ``name``).
    display_name: Mapped[str | None] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    #: Set when the identity provider deleted the person (SCIM DELETE): the row stays, inactive
    #: and without account, for their history; SCIM no longer shows it.
    deprovisioned_at: Mapped[datetime | None]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    hired_on: Mapped[date | None]
    #: Secret for the personal calendar feed URL; regenerate to revoke.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    pain_reminder_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set when the person erased their health data or left; the row stays for accounting.
    pseudonymized_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    employer: Mapped[Employer] = relationship()
    user: Mapped[User | None] = relationship(back_populates="employee")
    department: Mapped[Department | None] = relationship()
    site: Mapped[Site | None] = relationship()


class EmployeeImportDraft(Base):
    """An employee file between its preview and the admin's confirmation.

    ``plan_sha256`` fingerprints the changes the preview showed: the confirmation applies the
    file only while it would still make exactly those changes (see ``employee_import``).
    """

    __tablename__ = "employee_import_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(43), unique=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    plan_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
