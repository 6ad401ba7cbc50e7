"""Start pages: ``/`` sends everyone to their role's start page; ``/me`` is the employee's."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from wellness.auth.guards import allow, public, user
from wellness.auth.models import Role
from wellness.courses import catalog
from wellness.courses.models import CourseSession, Enrollment, EnrollmentStatus
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health import checkins
from wellness.navigation import start_url

bp = Blueprint("home", __name__)


@bp.route("/")
@public
def index() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(start_url(current_user.role_names))


@bp.route("/me")
@allow(Role.EMPLOYEE)
def employee() -> ResponseReturnValue:
    me = user()
    upcoming: list[CourseSession] = []
    enrollments: list[Enrollment] = []
    if me.employee is not None:
        enrollments = list(
            db.session.scalars(
                select(Enrollment)
                .where(
                    Enrollment.employee_id == me.employee.id,
                    Enrollment.status != EnrollmentStatus.CANCELLED.value,
                )
                .order_by(Enrollment.created_at.desc())
            )
        )
        upcoming = list(
            db.session.scalars(
                select(CourseSession)
                .join(Enrollment, Enrollment.offering_id == CourseSession.offering_id)
                .where(
                    Enrollment.employee_id == me.employee.id,
                    Enrollment.status == EnrollmentStatus.ENROLLED.value,
                    CourseSession.starts_at >= utcnow() - timedelta(hours=2),
                )
                .order_by(CourseSession.starts_at)
                .limit(5)
            )
        )
    open_courses = catalog.bookable(me.employee) if me.employee is not None else []
    last_checkin = checkins.history(me.employee, per_page=1).items if me.employee else []
    return render_template(
        "home/employee.html",
        enrollments=enrollments,
        upcoming=upcoming,
        open_courses=open_courses,
        last_checkin=last_checkin[0] if last_checkin else None,
    )
