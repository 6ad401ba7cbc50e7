"""Provider endpoints: their offerings and rosters.

A provider's scripts read the same data as the provider portal: offerings of the provider's
own courses, for every employer, and the roster files the portal offers for download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, selectinload

from wellness.api import bp
from wellness.api import schemas as s
from wellness.api.openapi import Reply, operation
from wellness.attendance.roster import EnrollmentCounts, enrollment_counts
from wellness.attendance.roster_views import send_roster
from wellness.auth.guards import allow, current_provider_id
from wellness.auth.models import Role
from wellness.courses.models import Course, Offering
from wellness.courses.views import own_offering
from wellness.extensions import db


@dataclass(frozen=True)
class OfferingPage:
    offerings: list[Offering]
    counts: dict[int, EnrollmentCounts]
    total: int
    page: int
    pages: int


def offerings_page(provider_id: int, page: int, per_page: int) -> OfferingPage:
    """One page of the provider's offerings, latest start first; past the end: the last page."""
    mine = Course.provider_id == provider_id
    total = db.session.scalar(select(func.count(Offering.id)).join(Course).where(mine)) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    offerings = list(
        db.session.scalars(
            select(Offering)
            .join(Course)
            .where(mine)
            .options(contains_eager(Offering.course), selectinload(Offering.sessions))
            .order_by(Offering.starts_on.desc(), Offering.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    counts = enrollment_counts([offering.id for offering in offerings])
    return OfferingPage(offerings, counts, total, page, pages)


def provider_offering_json(offering: Offering, counts: EnrollmentCounts) -> dict[str, Any]:
    course = offering.course
    return {
        "id": offering.id,
        "course": {"id": course.id, "title": course.title, "zpp_course_id": course.zpp_course_id},
        "status": offering.status,
        "starts_on": offering.starts_on.isoformat(),
        "ends_on": offering.ends_on.isoformat(),
        "capacity": offering.capacity,
        "participants": counts.enrolled,
        "waitlist_length": counts.waitlisted,
        "sessions": [
            {"starts_at": session.starts_at.isoformat(), "ends_at": session.ends_at.isoformat()}
            for session in offering.sessions
        ],
        "roster": {
            "csv": url_for("api.provider_roster_csv", offering_id=offering.id),
            "xlsx": url_for("api.provider_roster_xlsx", offering_id=offering.id),
        },
    }


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/provider/offerings")
@allow(Role.PROVIDER)
@operation(
    "Own offerings",
    tag="provider",
    query=s.Paging,
    responses={
        200: Reply(
            "One page of the provider's offerings, latest start first.", s.Page[s.ProviderOffering]
        )
    },
)
def provider_offerings(query: s.Paging) -> ResponseReturnValue:
    """Offerings of the provider's own courses, for every employer, with counts and sessions."""
    per_page = query.per_page
    found = offerings_page(current_provider_id(), query.page, per_page)
    return jsonify(
        items=[
            provider_offering_json(offering, found.counts.get(offering.id, EnrollmentCounts()))
            for offering in found.offerings
        ],
        page=found.page,
        per_page=per_page,
        total=found.total,
        pages=found.pages,
    )


@bp.get("/provider/offerings/<int:offering_id>/roster.csv")
@allow(Role.PROVIDER)
@operation(
    "Roster as CSV",
    tag="provider",
    responses={200: Reply("The roster in the token user's language.", media_type="text/csv")},
)
def provider_roster_csv(offering_id: int) -> ResponseReturnValue:
    return send_roster(own_offering(offering_id), "csv")


@bp.get("/provider/offerings/<int:offering_id>/roster.xlsx")
@allow(Role.PROVIDER)
@operation(
    "Roster as Excel workbook",
    tag="provider",
    responses={200: Reply("The roster in the token user's language.", media_type=XLSX)},
)
def provider_roster_xlsx(offering_id: int) -> ResponseReturnValue:
    return send_roster(own_offering(offering_id), "xlsx")
