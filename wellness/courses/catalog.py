"""What employees can find: the published offerings their employer opened for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import contains_eager

from wellness.courses.enrollment import enrollment_closed, enrollment_window_problem
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingEmployer,
    OfferingStatus,
    Provider,
)
from wellness.db import utcnow
from wellness.errors import NotFound
from wellness.extensions import db
from wellness.i18n import local_today
from wellness.tenants.models import Employee


@dataclass(frozen=True)
class CatalogFilters:
    text: str = ""
    field_of_action: str | None = None
    format: str | None = None
    city: str | None = None
    starts_from: date | None = None
    starts_until: date | None = None
    language: str | None = None
    #: Only offerings with a free seat.
    seats_left: bool = False


@dataclass(frozen=True)
class CatalogEntry:
    offering: Offering
    subsidy_cents: int
    waitlist_length: int
    first_session_at: datetime | None
    #: The viewer's own enrollment status (``enrolled``/``waitlisted``), if any.
    my_status: str | None
    #: When the entry was read; enrollment is open or closed relative to this moment.
    now: datetime

    @property
    def course(self) -> Course:
        return self.offering.course

    @property
    def provider(self) -> Provider:
        return self.offering.course.provider

    @property
    def seats_left(self) -> int:
        return max(0, self.offering.capacity - self.offering.seats_taken)

    @property
    def certified(self) -> bool:
        return self.course.certified_for(self.offering.starts_on, self.offering.ends_on)

    @property
    def enrollment_open(self) -> bool:
        return enrollment_closed(self.offering, self.now, self.first_session_at) is None

    @property
    def enrollment_problem(self) -> str | None:
        """Why enrolling is not possible now, for people (formatted only when asked)."""
        return enrollment_window_problem(self.offering, self.now, self.first_session_at)

    @property
    def own_share_cents(self) -> int:
        """The co-payment before any yearly budget cap."""
        return max(0, self.offering.price_cents - self.subsidy_cents)


@dataclass(frozen=True)
class CatalogPage:
    entries: list[CatalogEntry]
    total: int
    page: int
    pages: int


CatalogRow = Row[Offering, int, int, datetime | None, str | None]
CatalogSelect = Select[Offering, int, int, datetime | None, str | None]


def _build_base(*, kept_by_enrollment: bool = False) -> CatalogSelect:
    """Published offerings opened to ``:employer_id``, with ``:employee_id``'s own status.

    With ``kept_by_enrollment``: offerings the employee holds a seat or waitlist place in, even
    when the employer has closed them since (the subsidy then reads 0). Built once: composing
    the subqueries costs more Python time than running the query.
    """
    waitlist = (
        select(func.count(Enrollment.id))
        .where(
            Enrollment.offering_id == Offering.id,
            Enrollment.status == EnrollmentStatus.WAITLISTED.value,
        )
        .correlate(Offering)
        .scalar_subquery()
    )
    first_session = (
        select(func.min(CourseSession.starts_at))
        .where(CourseSession.offering_id == Offering.id)
        .correlate(Offering)
        .scalar_subquery()
    )
    mine = (
        select(Enrollment.status)
        .where(
            Enrollment.offering_id == Offering.id,
            Enrollment.employee_id == bindparam("employee_id"),
            Enrollment.status != EnrollmentStatus.CANCELLED.value,
        )
        .correlate(Offering)
        .scalar_subquery()
    )
    subsidy = func.coalesce(OfferingEmployer.subsidy_cents, 0)
    query = (
        select(Offering, subsidy, waitlist, first_session, mine)
        .join(
            OfferingEmployer,
            and_(
                OfferingEmployer.offering_id == Offering.id,
                OfferingEmployer.employer_id == bindparam("employer_id"),
            ),
            isouter=kept_by_enrollment,
        )
        .join(Course, Course.id == Offering.course_id)
        .join(Provider, Provider.id == Course.provider_id)
        .options(contains_eager(Offering.course).contains_eager(Course.provider))
        .where(Offering.status == OfferingStatus.PUBLISHED.value)
    )
    return query.where(mine.is_not(None)) if kept_by_enrollment else query


_BASE = _build_base()
_KEPT_BY_ENROLLMENT = _build_base(kept_by_enrollment=True)


def _viewer(employee: Employee) -> dict[str, int]:
    """Values for the base statement's parameters."""
    return {"employee_id": employee.id, "employer_id": employee.employer_id}


def _filtered(query: CatalogSelect, filters: CatalogFilters, today: date) -> CatalogSelect:
    if filters.starts_from is None:
        # By default only what can still be booked: courses that have not started yet.
        query = query.where(Offering.starts_on >= today)
    else:
        query = query.where(Offering.ends_on >= filters.starts_from)
    if filters.text.strip():
        pattern = f"%{filters.text.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Course.title).like(pattern),
                func.lower(func.coalesce(Course.title_en, "")).like(pattern),
                func.lower(Course.description).like(pattern),
                func.lower(func.coalesce(Course.description_en, "")).like(pattern),
                func.lower(Provider.name).like(pattern),
            )
        )
    if filters.field_of_action:
        query = query.where(Course.field_of_action == filters.field_of_action)
    if filters.format:
        query = query.where(Offering.format == filters.format)
    if filters.city:
        query = query.where(func.lower(Offering.city) == filters.city.strip().lower())
    if filters.starts_until:
        query = query.where(Offering.starts_on <= filters.starts_until)
    if filters.language:
        query = query.where(Course.language == filters.language)
    if filters.seats_left:
        query = query.where(Offering.seats_taken < Offering.capacity)
    return query


def _entry(
    row: tuple[Offering, int, int, datetime | None, str | None], now: datetime
) -> CatalogEntry:
    offering, subsidy, waitlist, first_session, mine = row
    return CatalogEntry(
        offering=offering,
        subsidy_cents=subsidy,
        waitlist_length=int(waitlist or 0),
        first_session_at=first_session,
        my_status=mine,
        now=now,
    )


def search(
    employee: Employee,
    filters: CatalogFilters,
    page: int = 1,
    per_page: int = 20,
    now: datetime | None = None,
) -> CatalogPage:
    """One page of matching offerings, soonest first."""
    now = now or utcnow()
    query = _filtered(_BASE, filters, local_today(now))
    viewer = _viewer(employee)
    page = max(1, page)
    rows = _page(query, viewer, page, per_page)
    if not rows and page > 1:  # past the end: show the last page
        total = db.session.scalar(select(func.count()).select_from(query.subquery()), viewer) or 0
        page = max(1, -(-total // per_page))
        rows = _page(query, viewer, page, per_page)
    total = rows[0][-1] if rows else 0
    return CatalogPage(
        entries=[_entry(row[:-1], now) for row in rows],  # type: ignore[arg-type]
        total=total,
        page=page,
        pages=max(1, -(-total // per_page)),
    )


def _page(query: CatalogSelect, viewer: dict[str, int], page: int, per_page: int) -> list[Row[Any]]:
    """One page of rows, each with the total match count (a window function: one query)."""
    return list(
        db.session.execute(
            query.add_columns(func.count().over())
            .order_by(Offering.starts_on, Offering.id)
            .offset((page - 1) * per_page)
            .limit(per_page),
            viewer,
        ).all()
    )


def entry(employee: Employee, offering_id: int, now: datetime | None = None) -> CatalogEntry:
    """One offering as the employee sees it; 404 when it is not offered to them."""
    viewer = _viewer(employee)
    row = db.session.execute(_BASE.where(Offering.id == offering_id), viewer).first()
    if row is None:  # closed by the employer since: still theirs to see and cancel
        row = db.session.execute(
            _KEPT_BY_ENROLLMENT.where(Offering.id == offering_id), viewer
        ).first()
    if row is None:
        raise NotFound(_("This course offering does not exist or is not offered to you."))
    return _entry(row, now or utcnow())


def cities(employee: Employee) -> list[str]:
    """Cities with offerings for this employee, for the filter's choices."""
    found = db.session.scalars(
        select(Offering.city)
        .join(OfferingEmployer, OfferingEmployer.offering_id == Offering.id)
        .where(
            OfferingEmployer.employer_id == employee.employer_id,
            Offering.status == OfferingStatus.PUBLISHED.value,
            Offering.city.is_not(None),
        )
        .distinct()
    )
    return sorted(city for city in found if city)


def bookable(employee: Employee, limit: int = 3) -> list[CatalogEntry]:
    """A few offerings the employee can still book, soonest first (for the start page)."""
    page = search(employee, CatalogFilters(), per_page=limit * 3)
    return [entry for entry in page.entries if entry.enrollment_open and not entry.my_status][
        :limit
    ]
