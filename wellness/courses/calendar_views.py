"""Calendar downloads and the personal subscription feed."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from wellness.auth.guards import allow, current_employee, public, user
from wellness.auth.models import Role
from wellness.courses import calendar
from wellness.courses.enrollment import ACTIVE, find_enrollment
from wellness.courses.models import Course, Offering, OfferingEmployer, OfferingStatus
from wellness.extensions import db
from wellness.i18n import current_language
from wellness.web import private

calendar_bp = Blueprint("calendar", __name__)


def _ics_response(body: bytes, filename: str | None = None) -> Response:
    response = Response(body, content_type=calendar.ICS_CONTENT_TYPE)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return private(response)


def _visible_offering(offering_id: int) -> Offering:
    """The offering if the caller may see it: its provider, employees of an employer it is
    open to (once published), or people enrolled in it (who keep their seat when their employer
    stops offering it). Anyone else gets 404, as if it did not exist."""
    me = user()
    offering = db.session.get(Offering, offering_id)
    if offering is None:
        abort(404)
    if me.has_role(Role.PROVIDER) and me.provider_id is not None:
        owner = db.session.scalar(select(Course.provider_id).where(Course.id == offering.course_id))
        if owner == me.provider_id:
            return offering
    if (
        me.has_role(Role.EMPLOYEE)
        and me.employer_id is not None
        and offering.status != OfferingStatus.DRAFT.value
    ):
        opened = db.session.scalar(
            select(OfferingEmployer.offering_id).where(
                OfferingEmployer.offering_id == offering.id,
                OfferingEmployer.employer_id == me.employer_id,
            )
        )
        if opened is not None:
            return offering
    mine = find_enrollment(me.employee, offering.id) if me.employee is not None else None
    if mine is not None and mine.status in ACTIVE:
        return offering
    abort(404)


@calendar_bp.route("/offerings/<int:offering_id>/calendar.ics")
@allow(Role.EMPLOYEE, Role.PROVIDER)
def offering_ics(offering_id: int) -> ResponseReturnValue:
    offering = _visible_offering(offering_id)
    body = calendar.offering_calendar(offering, current_language())
    return _ics_response(body, calendar.ics_filename(offering))


@calendar_bp.route("/calendar/<token>.ics")
@public
def feed(token: str) -> ResponseReturnValue:
    employee = calendar.employee_for_token(token)
    if employee is None:
        abort(404)
    response = _ics_response(calendar.personal_feed(employee))
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@calendar_bp.route("/me/calendar")
@allow(Role.EMPLOYEE)
def subscribe() -> ResponseReturnValue:
    employee = current_employee()
    token = calendar.calendar_token(employee)
    db.session.commit()
    feed_url = url_for("calendar.feed", token=token, _external=True)
    return render_template("calendar/subscribe.html", feed_url=feed_url)


@calendar_bp.route("/me/calendar/rotate", methods=["POST"])
@allow(Role.EMPLOYEE)
def rotate() -> ResponseReturnValue:
    employee = current_employee()
    calendar.rotate_calendar_token(employee)
    db.session.commit()
    flash(_("You have a new calendar address. The old one no longer works."), "success")
    return redirect(url_for("calendar.subscribe"))
