"""Small helpers for model definitions: enumerations stored as checked strings."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


def one_of(column: str, values: type[StrEnum], name: str | None = None) -> CheckConstraint:
    """A named CHECK that keeps ``column`` inside the enumeration, in every database."""
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_valid")
