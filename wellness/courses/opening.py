"""The employer side of the catalogue: which offerings are open to the employer's people, and
what the employer pays per participant.

Callers pass the employer id from the logged-in admin (never from request input). Services
flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, select

from wellness.audit.services import record
from wellness.courses.models import (
    Course,
    FieldOfAction,
    Offering,
    OfferingEmployer,
    OfferingStatus,
    Provider,
)
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.i18n import money

#: Filter values for "open for us".
OPEN, NOT_OPEN = "open", "not_open"


@dataclass(frozen=True)
class OfferingRow:
    offering: Offering
    course: Course
    provider: Provider
    #: This employer's decision, or ``None`` when the offering is not open for its people.
    link: OfferingEmployer | None

    @property
    def certified(self) -> bool:
        return self.course.certified_for(self.offering.starts_on, self.offering.ends_on)


def _rows(employer_id: int) -> Select[Offering, Course, Provider, OfferingEmployer]:
    """Offerings with course, provider and this employer's link (never another employer's)."""
    return (
        select(Offering, Course, Provider, OfferingEmployer)
        .join(Course, Course.id == Offering.course_id)
        .join(Provider, Provider.id == Course.provider_id)
        .outerjoin(
            OfferingEmployer,
            (OfferingEmployer.offering_id == Offering.id)
            & (OfferingEmployer.employer_id == employer_id),
        )
    )


def is_current(offering: Offering, today: date) -> bool:
    """Published and not over yet (future or running)."""
    return offering.status == OfferingStatus.PUBLISHED.value and offering.ends_on >= today


def list_offerings(
    employer_id: int,
    today: date,
    field_of_action: str | None = None,
    open_filter: str | None = None,
) -> list[OfferingRow]:
    """Published offerings of all providers that have not ended, with this employer's link.

    Offerings the employer opened stay listed while they run, so it can close them; other
    employers' links are never joined.
    """
    query = (
        _rows(employer_id)
        .where(Offering.status == OfferingStatus.PUBLISHED.value, Offering.ends_on >= today)
        .order_by(Offering.starts_on, Course.title, Offering.id)
    )
    if field_of_action in {f.value for f in FieldOfAction}:
        query = query.where(Course.field_of_action == field_of_action)
    if open_filter == OPEN:
        query = query.where(OfferingEmployer.employer_id.is_not(None))
    elif open_filter == NOT_OPEN:
        query = query.where(OfferingEmployer.employer_id.is_(None))
    return [OfferingRow(*row) for row in db.session.execute(query)]


def get_row(employer_id: int, offering_id: int, today: date) -> OfferingRow | None:
    """One offering as this employer sees it: current published offerings, and any offering
    the employer has opened (so it can still close it)."""
    row = db.session.execute(_rows(employer_id).where(Offering.id == offering_id)).first()
    if row is None:
        return None
    found = OfferingRow(*row)
    if found.link is None and not is_current(found.offering, today):
        return None
    return found


def _check_subsidy(offering: Offering, subsidy_cents: int) -> None:
    if subsidy_cents < 0:
        raise DomainError(_("The subsidy cannot be negative."))
    if subsidy_cents > offering.price_cents:
        raise DomainError(
            _(
                "The subsidy cannot be higher than the price of %(price)s per participant.",
                price=money(offering.price_cents),
            )
        )


def open_offering(
    employer_id: int, offering: Offering, subsidy_cents: int, today: date, actor_id: int | None
) -> OfferingEmployer:
    """Open the offering for the employer's people with a subsidy per participant."""
    if not is_current(offering, today):
        raise DomainError(
            _("Only published offerings that have not ended yet can be opened for employees.")
        )
    _check_subsidy(offering, subsidy_cents)
    existing = db.session.get(OfferingEmployer, (offering.id, employer_id))
    if existing is not None:
        change_subsidy(employer_id, offering, subsidy_cents, today, actor_id)
        return existing
    link = OfferingEmployer(
        offering_id=offering.id, employer_id=employer_id, subsidy_cents=subsidy_cents
    )
    db.session.add(link)
    db.session.flush()
    record(
        "admin.offering_opened",
        actor_id=actor_id,
        employer_id=employer_id,
        target_type="offering",
        target_id=offering.id,
        details={"subsidy_cents": subsidy_cents},
    )
    return link


def change_subsidy(
    employer_id: int, offering: Offering, subsidy_cents: int, today: date, actor_id: int | None
) -> bool:
    """Set a new subsidy for future enrollments; returns whether it changed."""
    link = db.session.get(OfferingEmployer, (offering.id, employer_id))
    if link is None:
        raise DomainError(_("This offering is not open for your employees."))
    if not is_current(offering, today):
        raise DomainError(
            _("This offering has ended or was cancelled; its subsidy can no longer be changed.")
        )
    _check_subsidy(offering, subsidy_cents)
    if link.subsidy_cents == subsidy_cents:
        return False
    previous = link.subsidy_cents
    link.subsidy_cents = subsidy_cents
    db.session.flush()
    record(
        "admin.subsidy_changed",
        actor_id=actor_id,
        employer_id=employer_id,
        target_type="offering",
        target_id=offering.id,
        details={"from_cents": previous, "to_cents": subsidy_cents},
    )
    return True


def close_offering(employer_id: int, offering: Offering, actor_id: int | None) -> None:
    """Stop new enrollments by the employer's people; existing enrollments stay."""
    link = db.session.get(OfferingEmployer, (offering.id, employer_id))
    if link is None:
        raise DomainError(_("This offering is not open for your employees."))
    db.session.delete(link)
    db.session.flush()
    record(
        "admin.offering_closed",
        actor_id=actor_id,
        employer_id=employer_id,
        target_type="offering",
        target_id=offering.id,
    )
