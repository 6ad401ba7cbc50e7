"""Catalog and enrollment endpoints for employees."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from wellness.api import bp, params
from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.courses import catalog, enrollment
from wellness.courses.catalog import CatalogEntry, CatalogFilters
from wellness.courses.models import CourseFormat, Enrollment, FieldOfAction
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
def list_offerings() -> ResponseReturnValue:
    filters = CatalogFilters(
        text=request.args.get("q", "")[:100],
        field_of_action=params.choice("field_of_action", {f.value for f in FieldOfAction}),
        format=params.choice("format", {f.value for f in CourseFormat}),
        city=request.args.get("city") or None,
        starts_from=params.iso_date("from"),
        starts_until=params.iso_date("until"),
        language=params.choice("language", {"de", "en"}),
        seats_left=params.flag("seats_left"),
    )
    per_page = params.integer("per_page", 20, maximum=params.MAX_PER_PAGE)
    page = catalog.search(
        current_employee(), filters, page=params.integer("page", 1), per_page=per_page
    )
    return jsonify(
        items=[offering_json(entry) for entry in page.entries],
        page=page.page,
        per_page=per_page,
        total=page.total,
        pages=page.pages,
    )


@bp.get("/offerings/<int:offering_id>")
@allow(Role.EMPLOYEE)
def get_offering(offering_id: int) -> ResponseReturnValue:
    return jsonify(
        offering_json(catalog.entry(current_employee(), offering_id), with_sessions=True)
    )


@bp.post("/offerings/<int:offering_id>/enrollment")
@allow(Role.EMPLOYEE)
def enroll(offering_id: int) -> ResponseReturnValue:
    found = enrollment.enroll(current_employee(), offering_id)
    body = enrollment_json(found)
    db.session.commit()
    return jsonify(body), 201


@bp.delete("/offerings/<int:offering_id>/enrollment")
@allow(Role.EMPLOYEE)
def cancel(offering_id: int) -> ResponseReturnValue:
    found = enrollment.cancel(current_employee(), offering_id)
    body = enrollment_json(found)
    db.session.commit()
    return jsonify(body)


@bp.get("/me/enrollments")
@allow(Role.EMPLOYEE)
def my_enrollments() -> ResponseReturnValue:
    found = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.employee_id == current_employee().id)
        .order_by(Enrollment.created_at.desc())
    ).all()
    return jsonify(items=[enrollment_json(item) for item in found])
