"""Provider pages: participants of an offering and the roster download.

Offerings are looked up within the logged-in provider's own courses; another provider's
offering answers 404, as if it did not exist. The JSON API reuses
:func:`send_roster`, so page and API serve the same file.
"""

from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file
from flask.typing import ResponseReturnValue

from wellness.attendance import roster
from wellness.auth.guards import allow
from wellness.auth.models import Role
from wellness.courses.models import Offering
from wellness.courses.views import own_offering

roster_bp = Blueprint("roster", __name__, url_prefix="/provider")


def send_roster(offering: Offering, kind: str) -> ResponseReturnValue:
    """The roster as a download in the request's language."""
    found = roster.roster_file(roster.build_roster(offering, roster.roster_language()), kind)
    return send_file(
        io.BytesIO(found.content),
        mimetype=found.mimetype,
        as_attachment=True,
        download_name=found.filename,
        max_age=0,
    )


@roster_bp.route("/offerings/<int:offering_id>/participants")
@allow(Role.PROVIDER)
def participants(offering_id: int) -> ResponseReturnValue:
    offering = own_offering(offering_id)
    built = roster.build_roster(offering, roster.roster_language())
    counts = roster.enrollment_counts([offering.id]).get(offering.id, roster.EnrollmentCounts())
    return render_template(
        "provider/participants.html",
        offering=offering,
        course=offering.course,
        roster=built,
        participants=roster.participants(built),
        waitlist=counts.waitlisted,
    )


@roster_bp.route("/offerings/<int:offering_id>/roster.csv")
@allow(Role.PROVIDER)
def roster_csv(offering_id: int) -> ResponseReturnValue:
    return send_roster(own_offering(offering_id), "csv")


@roster_bp.route("/offerings/<int:offering_id>/roster.xlsx")
@allow(Role.PROVIDER)
def roster_xlsx(offering_id: int) -> ResponseReturnValue:
    return send_roster(own_offering(offering_id), "xlsx")
