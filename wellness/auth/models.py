"""Accounts and what they may do.

A user belongs to at most one tenant scope: an employer (employee, hr, admin), a provider
(provider staff) or the platform (operator). The scope is fixed on the account, so every
tenant query can be derived from the logged-in user and never from request input.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellness.db import Base, utcnow
from wellness.modeltypes import one_of

if TYPE_CHECKING:
    from wellness.courses.models import Provider
    from wellness.tenants.models import Employee, Employer


class Role(StrEnum):
    EMPLOYEE = "employee"
    HR = "hr"
    ADMIN = "admin"
    PROVIDER = "provider"
    OPERATOR = "operator"


EMPLOYER_ROLES = frozenset({Role.EMPLOYEE, Role.HR, Role.ADMIN})


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("employer_id IS NULL OR provider_id IS NULL", name="one_scope"),
        CheckConstraint("failed_logins >= 0", name="failed_logins_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased; login compares lower-cased input.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: Werkzeug scrypt hash; NULL for accounts that sign in by SSO only.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: Preferred UI language; NULL means the employer's default.
    locale: Mapped[str | None] = mapped_column(String(5))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    employer_id: Mapped[int | None] = mapped_column(
        ForeignKey("employers.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), index=True
    )
    #: Subject identifier from the employer's OpenID provider.
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    #: Bumped on password change so old reset links and sessions stop working.
    password_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    employer: Mapped[Employer | None] = relationship()
    provider: Mapped[Provider | None] = relationship()
    employee: Mapped[Employee | None] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot log in
        return self.is_enabled

    def get_id(self) -> str:
        """Session id with the password generation: a password change ends other sessions."""
        changed = self.password_changed_at
        stamp = int(changed.timestamp() * 1_000_000) if changed else 0
        return f"{self.id}:{stamp}"

    @property
    def role_names(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.roles)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.role_names.intersection(roles))


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (one_of("role", Role),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)

    user: Mapped[User] = relationship(back_populates="roles")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, to recognise it in lists without revealing it.
    prefix: Mapped[str] = mapped_column(String(16))
    #: Space-separated scopes such as ``scim analytics:read``; empty means the user's own API.
    scopes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired``: the one rule for whether it still works."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
