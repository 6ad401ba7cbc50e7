"""The employer's yearly budget per employee (§3 Nr. 34 EStG: 600 EUR by default).

The employer pays its subsidy for an offering out of that budget; what the budget cannot cover
is the employee's co-payment. Only seats held (status ``enrolled``) use budget, so a
cancellation releases it and a waitlist place reserves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from wellness.courses.models import Enrollment, EnrollmentStatus, Offering
from wellness.extensions import db
from wellness.tenants.models import Employee


@dataclass(frozen=True)
class Quote:
    """Who pays what for one seat, as shown before confirming and stored on the enrollment."""

    price_cents: int
    #: What the employer offers per participant for this offering.
    subsidy_cents: int
    #: What the employer actually pays: the subsidy, capped by the remaining yearly budget.
    employer_cents: int
    employee_cents: int
    budget_year: int
    budget_total_cents: int
    #: Budget already used in that year by other seats.
    budget_used_cents: int

    @property
    def capped(self) -> bool:
        """The employer pays less than its subsidy because the yearly budget is used up."""
        return self.employer_cents < min(self.subsidy_cents, self.price_cents)

    @property
    def budget_left_cents(self) -> int:
        return max(0, self.budget_total_cents - self.budget_used_cents)


def budget_used(employee_id: int, year: int, *, excluding: int | None = None) -> int:
    """Employer money already bound to this person's seats in ``year``."""
    query = select(func.coalesce(func.sum(Enrollment.employer_share_cents), 0)).where(
        Enrollment.employee_id == employee_id,
        Enrollment.budget_year == year,
        Enrollment.status == EnrollmentStatus.ENROLLED.value,
    )
    if excluding is not None:
        query = query.where(Enrollment.id != excluding)
    return int(db.session.scalar(query) or 0)


def quote(
    employee: Employee, offering: Offering, subsidy_cents: int, *, excluding: int | None = None
) -> Quote:
    """Split the price between employer and employee for the offering's calendar year."""
    year = offering.starts_on.year
    total = employee.employer.budget_per_employee_cents
    used = budget_used(employee.id, year, excluding=excluding)
    subsidy = min(subsidy_cents, offering.price_cents)
    employer_cents = max(0, min(subsidy, total - used))
    return Quote(
        price_cents=offering.price_cents,
        subsidy_cents=subsidy_cents,
        employer_cents=employer_cents,
        employee_cents=offering.price_cents - employer_cents,
        budget_year=year,
        budget_total_cents=total,
        budget_used_cents=used,
    )
