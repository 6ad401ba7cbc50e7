"""The employee's course journey: find a course, read its details, enroll or join the waitlist,
cancel, and see one's own courses.

The views only read the request and render: the catalog, the price split and every enrollment
rule come from :mod:`wellness.courses.catalog` and :mod:`wellness.courses.enrollment`, the
same services the JSON API uses, so the page and the API can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_time, to_user_timezone
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from wellness.attendance.completion import Presence, presence_of, valid_certificates
from wellness.attendance.models import Certificate
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.courses import catalog, enrollment
from wellness.courses.calendar import course_title
from wellness.courses.catalog import CatalogEntry, CatalogFilters
from wellness.courses.employee_forms import CatalogSearchForm
from wellness.courses.enrollment import EnrollmentRefused
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    EnrollmentStatus,
    Offering,
    OfferingStatus,
)
from wellness.db import utcnow
from wellness.errors import Conflict, DomainError
from wellness.extensions import db
from wellness.i18n import current_language
from wellness.tenants.models import Employee

bp = Blueprint("courses", __name__)

PER_PAGE = 20


def _title(course: Course) -> str:
    return course_title(course, current_language())


@dataclass(frozen=True)
class SessionRow:
    """One session as people read it: local day and times, where it takes place."""

    session: CourseSession
    weekday: str
    day: str
    start: str
    end: str
    #: The session's own room, or the offering's address (or city).
    place: str | None
    online_url: str | None
    #: Held somewhere else than the offering's usual place or link, so worth pointing out.
    elsewhere: bool
    over: bool


def _web_link(url: str | None) -> str | None:
    """Only web addresses become links (authoring checks this too; a page must not trust it)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def offering_place(offering: Offering) -> str | None:
    """The address, which normally names the city; the city alone when there is no address."""
    return offering.location or offering.city


def _session_rows(offering: Offering, now: datetime) -> list[SessionRow]:
    return [
        SessionRow(
            session=session,
            weekday=str(format_date(session.starts_at, "EEE")),
            day=str(format_date(session.starts_at, "medium")),
            start=str(format_time(session.starts_at, "short")),
            end=str(format_time(session.ends_at, "short")),
            place=session.location or offering_place(offering),
            online_url=_web_link(session.online_url or offering.online_url),
            elsewhere=bool(
                (session.location and session.location != offering.location)
                or (session.online_url and session.online_url != offering.online_url)
            ),
            over=session.ends_at <= now,
        )
        for session in offering.sessions
    ]


def _description(course: Course) -> str:
    if current_language() == "en" and course.description_en:
        return course.description_en
    return course.description


# --- Catalog ------------------------------------------------------------------------------


def _page_url(number: int) -> str:
    args: dict[str, Any] = {**request.args.to_dict(), "page": number}
    return url_for("courses.catalog_page", **args)


@bp.get("/courses")
@allow(Role.EMPLOYEE)
def catalog_page() -> ResponseReturnValue:
    employee = current_employee()
    form = CatalogSearchForm(formdata=request.args, cities=catalog.cities(employee))
    if not form.validate():
        return render_template("courses/catalog.html", form=form, page=None), 400
    filters = form.filters()
    page = catalog.search(employee, filters, page=form.page.data or 1, per_page=PER_PAGE)
    nothing_offered = page.total == 0 and (
        filters == CatalogFilters()
        or catalog.search(employee, CatalogFilters(), per_page=1).total == 0
    )
    return render_template(
        "courses/catalog.html",
        form=form,
        page=page,
        nothing_offered=nothing_offered,
        page_url=_page_url,
    )


# --- One offering -------------------------------------------------------------------------


def _my_enrollment(employee: Employee, offering_id: int) -> Enrollment | None:
    found = enrollment.find_enrollment(employee, offering_id)
    if found is None or found.status == EnrollmentStatus.CANCELLED.value:
        return None
    return found


@bp.get("/courses/<int:offering_id>")
@allow(Role.EMPLOYEE)
def offering(offering_id: int) -> ResponseReturnValue:
    employee = current_employee()
    entry = catalog.entry(employee, offering_id)
    now = utcnow()
    mine = _my_enrollment(employee, offering_id)
    deadline = enrollment.cancellation_deadline(entry.offering)
    return render_template(
        "courses/offering.html",
        entry=entry,
        description=_description(entry.course),
        sessions=_session_rows(entry.offering, now),
        mine=mine,
        rank=enrollment.waitlist_rank(mine) if mine else None,
        cancellation_deadline=deadline,
        # Shown instead of a button that could only fail; the service still decides.
        cancellation_over=deadline is not None and now > deadline,
    )


# --- Enrolling ----------------------------------------------------------------------------


def _refuse(entry: CatalogEntry) -> str | None:
    """Why the confirmation page cannot be shown, in the service's own words."""
    mine = _my_enrollment(current_employee(), entry.offering.id) if entry.my_status else None
    if mine is not None:
        return enrollment.already_enrolled(mine).message
    return entry.enrollment_problem


@bp.route("/courses/<int:offering_id>/enroll", methods=["GET", "POST"])
@allow(Role.EMPLOYEE)
def enroll(offering_id: int) -> ResponseReturnValue:
    employee = current_employee()
    entry = catalog.entry(employee, offering_id)
    if request.method == "GET":
        problem = _refuse(entry)
        if problem:
            flash(problem, "error")
            return redirect(url_for("courses.offering", offering_id=offering_id))
        return render_template(
            "courses/confirm.html",
            entry=entry,
            quote=enrollment.preview(employee, offering_id),
            waitlist=entry.seats_left == 0,
        )

    title = _title(entry.course)
    try:
        found = enrollment.enroll(employee, offering_id)
    except (EnrollmentRefused, Conflict) as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("courses.offering", offering_id=offering_id))
    seated = found.status == EnrollmentStatus.ENROLLED.value
    rank = None if seated else enrollment.waitlist_rank(found)
    db.session.commit()
    if seated:
        flash(_("You are enrolled in “%(title)s”.", title=title), "success")
    else:
        flash(
            _(
                "“%(title)s” is full. You are number %(n)d on the waitlist; we will e-mail you "
                "when you get a seat.",
                title=title,
                n=rank or 0,
            ),
            "success",
        )
    return redirect(url_for("courses.mine"))


@bp.post("/courses/<int:offering_id>/cancel")
@allow(Role.EMPLOYEE)
def cancel(offering_id: int) -> ResponseReturnValue:
    employee = current_employee()
    before = _my_enrollment(employee, offering_id)
    # Read now: the service changes this very object.
    was_waitlisted = before is not None and before.status == EnrollmentStatus.WAITLISTED.value
    try:
        found = enrollment.cancel(employee, offering_id)
    except DomainError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("courses.mine"))
    title = _title(found.offering.course)
    db.session.commit()
    if was_waitlisted:
        flash(_("You have left the waitlist for “%(title)s”.", title=title), "success")
    else:
        flash(_("You have cancelled your seat in “%(title)s”.", title=title), "success")
    return redirect(url_for("courses.mine"))


# --- My courses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MyCourse:
    enrollment: Enrollment
    #: Place on the waitlist (1 = next to get a seat), for waitlisted enrollments.
    rank: int | None
    sessions: list[SessionRow]
    #: Sessions attended of all, once the provider has recorded any attendance.
    presence: Presence | None = None
    #: The participation certificate, when issued and not revoked.
    certificate: Certificate | None = None

    @property
    def offering(self) -> Offering:
        return self.enrollment.offering

    @property
    def next_session(self) -> SessionRow | None:
        return next((row for row in self.sessions if not row.over), None)

    @property
    def offering_cancelled(self) -> bool:
        return self.offering.status == OfferingStatus.CANCELLED.value


def _today() -> date:
    return to_user_timezone(utcnow()).date()


@bp.get("/me/courses")
@allow(Role.EMPLOYEE)
def mine() -> ResponseReturnValue:
    employee = current_employee()
    now, today = utcnow(), _today()
    found = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.employee_id == employee.id)
        .options(
            selectinload(Enrollment.offering).selectinload(Offering.sessions),
            selectinload(Enrollment.offering)
            .selectinload(Offering.course)
            .selectinload(Course.provider),
        )
    ).all()
    seated = [
        item.id
        for item in found
        if item.status == EnrollmentStatus.ENROLLED.value and item.offering.starts_on <= today
    ]
    presence, certificates = presence_of(seated), valid_certificates(seated)
    rows = [
        MyCourse(
            enrollment=item,
            rank=enrollment.waitlist_rank(item),
            sessions=_session_rows(item.offering, now),
            presence=presence.get(item.id),
            certificate=certificates.get(item.id),
        )
        for item in found
    ]

    def starts(row: MyCourse) -> tuple[date, int]:
        return (row.offering.starts_on, row.offering.id)

    active = [r for r in rows if r.enrollment.status != EnrollmentStatus.CANCELLED.value]
    upcoming = sorted((r for r in active if r.offering.ends_on >= today), key=starts)
    past = sorted((r for r in active if r.offering.ends_on < today), key=starts, reverse=True)
    cancelled = sorted(
        (
            r
            for r in rows
            if r.enrollment.status == EnrollmentStatus.CANCELLED.value
            and r.offering.ends_on >= today
        ),
        key=starts,
    )
    return render_template("courses/mine.html", upcoming=upcoming, past=past, cancelled=cancelled)


# --- For templates -------------------------------------------------------------------------


@bp.app_template_global()
def my_waitlist_rank(found: Enrollment) -> int | None:
    return enrollment.waitlist_rank(found)


@bp.app_template_global()
def offering_over(offering: Offering) -> bool:
    """Its last day has passed (in Germany): a booking for it is history, not a plan."""
    return offering.ends_on < _today()
