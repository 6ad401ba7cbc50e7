"""Catalog and enrollment endpoints for employees."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import Reply, operation
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.courses import catalog, enrollment
from wellness.courses.catalog import CatalogEntry, CatalogFilters
from wellness.courses.models import Enrollment
from wellness.extensions import db


def _money(cents: int) -> dict[str, Any]:
    return {"amount": f"{cents / 100:.2f}", "currency": "EUR"}


def offering_json(entry: CatalogEntry, *, with_sessions: bool = False) -> dict[str, Any]:
    offering, course = entry.offering, entry.course
    data: dict[str, Any] = {
        "id": offering.id,
        "course": {
            "id": course.id,
            "title": course.title,
            "title_en": course.title_en,
            "zpp_course_id": course.zpp_course_id,
            "field_of_action": course.field_of_action,
            "language": course.language,
            "certified": entry.certified,
            "certified_until": course.certified_until.isoformat()
            if course.certified_until
            else None,
            "provider": entry.provider.name,
        },
        "format": offering.format,
        "city": offering.city,
        "starts_on": offering.starts_on.isoformat(),
        "ends_on": offering.ends_on.isoformat(),
        "capacity": offering.capacity,
        "seats_left": entry.seats_left,
        "waitlist_length": entry.waitlist_length,
        "enrollment_open": entry.enrollment_open,
        "price": _money(offering.price_cents),
        "employer_subsidy": _money(entry.subsidy_cents),
        "my_status": entry.my_status,
        "calendar_url": url_for("calendar.offering_ics", offering_id=offering.id),
    }
    if with_sessions:
        data["sessions"] = [
            {
                "starts_at": session.starts_at.isoformat(),
                "ends_at": session.ends_at.isoformat(),
                "location": session.location or offering.location,
                "online_url": session.online_url or offering.online_url,
            }
            for session in offering.sessions
        ]
    return data


def enrollment_json(found: Enrollment) -> dict[str, Any]:
    return {
        "offering_id": found.offering_id,
        "status": found.status,
        "waitlist_position": enrollment.waitlist_rank(found),
        "employer_pays": _money(found.employer_share_cents),
        "you_pay": _money(found.employee_share_cents),
    }


@bp.get("/offerings")
@allow(Role.EMPLOYEE)
@operation(
    "Search the catalog",
    tag="catalog",
    query=s.OfferingQuery,
    responses={200: Reply("One page of offerings, soonest first.", s.Page[s.Offering])},
)
def list_offerings(query: s.OfferingQuery) -> ResponseReturnValue:
    """Offerings open to the employee's employer, with seats, subsidy and the employee's
    own enrollment status."""
    filters = CatalogFilters(
        text=query.q,
        field_of_action=query.field_of_action,
        format=query.format,
        city=query.city,
        starts_from=query.from_,
        starts_until=query.until,
        language=query.language,
        seats_left=query.seats_left,
    )
    page = catalog.search(current_employee(), filters, page=query.page, per_page=query.per_page)
    return jsonify(
        items=[offering_json(entry) for entry in page.entries],
        page=page.page,
        per_page=query.per_page,
        total=page.total,
        pages=page.pages,
    )


@bp.get("/offerings/<int:offering_id>")
@allow(Role.EMPLOYEE)
@operation(
    "One offering with its sessions",
    tag="catalog",
    responses={200: Reply("The offering.", s.OfferingDetail)},
)
def get_offering(offering_id: int) -> ResponseReturnValue:
    return jsonify(
        offering_json(catalog.entry(current_employee(), offering_id), with_sessions=True)
    )


@bp.post("/offerings/<int:offering_id>/enrollment")
@allow(Role.EMPLOYEE)
@operation(
    "Enroll (or join the waitlist)",
    tag="catalog",
    responses={201: Reply("The enrollment; `status` says seat or waitlist.", s.EnrollmentOut)},
    errors={
        409: "Already enrolled in this offering.",
        422: "Enrollment is not possible (closed, account inactive, ...): `detail` says why.",
    },
)
def enroll(offering_id: int) -> ResponseReturnValue:
    found = enrollment.enroll(current_employee(), offering_id)
    body = enrollment_json(found)
    db.session.commit()
    return jsonify(body), 201


@bp.delete("/offerings/<int:offering_id>/enrollment")
@allow(Role.EMPLOYEE)
@operation(
    "Cancel the enrollment",
    tag="catalog",
    responses={200: Reply("The cancelled enrollment.", s.EnrollmentOut)},
    errors={422: "The cancellation deadline has passed."},
)
def cancel(offering_id: int) -> ResponseReturnValue:
    found = enrollment.cancel(current_employee(), offering_id)
    body = enrollment_json(found)
    db.session.commit()
    return jsonify(body)


@bp.get("/me/enrollments")
@allow(Role.EMPLOYEE)
@operation(
    "Own enrollments",
    tag="me",
    query=s.Paging,
    responses={200: Reply("One page of enrollments, newest first.", s.Page[s.EnrollmentOut])},
)
def my_enrollments(query: s.Paging) -> ResponseReturnValue:
    mine = Enrollment.employee_id == current_employee().id
    total = db.session.scalar(select(func.count(Enrollment.id)).where(mine)) or 0
    pages = max(1, -(-total // query.per_page))
    page = min(query.page, pages)  # past the end: the last page, as every list
    found = db.session.scalars(
        select(Enrollment)
        .where(mine)
        .order_by(Enrollment.created_at.desc(), Enrollment.id.desc())
        .offset((page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return jsonify(
        items=[enrollment_json(item) for item in found],
        page=page,
        per_page=query.per_page,
        total=total,
        pages=pages,
    )
