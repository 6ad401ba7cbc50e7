"""Reading query parameters with problem-detail errors that name the parameter."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import gettext as _

from wellness.errors import DomainError

MAX_PER_PAGE = 100
#: No list has more pages; a larger number is a mistake, not a request (and overflows SQL).
MAX_PAGE = 100_000


def integer(name: str, default: int, minimum: int = 1, maximum: int = MAX_PAGE) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise DomainError(_("Parameter '%(name)s' must be a whole number.", name=name)) from None
    if not minimum <= value <= maximum:
        raise DomainError(
            _(
                "Parameter '%(name)s' must be between %(low)d and %(high)d.",
                name=name,
                low=minimum,
                high=maximum,
            )
        )
    return value


def page_number() -> int:
    """The ``page`` of a list on a web page: anything unusable shows the first or last page."""
    value = request.args.get("page", 1, type=int) or 1
    return min(max(1, value), MAX_PAGE)


def iso_date(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            _("Parameter '%(name)s' must be a date like 2026-03-31.", name=name)
        ) from None


def choice(name: str, allowed: set[str]) -> str | None:
    raw = request.args.get(name)
    if not raw:
        return None
    if raw not in allowed:
        raise DomainError(
            _(
                "Parameter '%(name)s' must be one of: %(allowed)s.",
                name=name,
                allowed=", ".join(sorted(allowed)),
            )
        )
    return raw


def flag(name: str) -> bool:
    return request.args.get(name, "").lower() in {"1", "true", "yes", "on"}
