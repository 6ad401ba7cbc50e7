"""The provider portal: a provider's own courses, offerings and sessions.

Every lookup is scoped to the logged-in provider; another provider's course or offering answers
404, as if it did not exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_time
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from wellness.attendance import roster
from wellness.auth.guards import allow, current_provider_id, user
from wellness.auth.models import Role
from wellness.courses import authoring
from wellness.courses.authoring import AuthoringError
from wellness.courses.forms import (
    CancelOfferingForm,
    CourseForm,
    GenerateSessionsForm,
    NewOfferingForm,
    OfferingForm,
    SeriesForm,
    SessionForm,
)
from wellness.courses.models import Course, Offering, OfferingStatus
from wellness.db import utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status, to_cents
from wellness.i18n import local_today

provider_bp = Blueprint("provider", __name__, url_prefix="/provider")


def _show_error(form: FlaskForm, exc: DomainError) -> None:
    """Put a service's message next to the field it concerns, or at the top of the page."""
    db.session.rollback()
    name = exc.field if isinstance(exc, AuthoringError) else None
    target = form._fields.get(name) if name else None
    if target is None:
        flash(exc.message, "error")
    else:
        target.errors = [*target.errors, exc.message]


def _course_or_404(course_id: int) -> Course:
    course = authoring.get_course(current_provider_id(), course_id)
    if course is None:
        abort(404)
    return course


def own_offering(offering_id: int) -> Offering:
    """The signed-in provider's offering; 404 for anyone else's, as if it did not exist."""
    offering = authoring.get_offering(current_provider_id(), offering_id)
    if offering is None:
        abort(404)
    return offering


@provider_bp.route("/")
@allow(Role.PROVIDER)
def index() -> ResponseReturnValue:
    provider_id = current_provider_id()
    courses = db.session.scalars(
        select(Course).where(Course.provider_id == provider_id).order_by(Course.title)
    ).all()
    offerings = db.session.scalars(
        select(Offering)
        .join(Course)
        .where(Course.provider_id == provider_id)
        .options(contains_eager(Offering.course))
        .order_by(Offering.starts_on.desc())
    ).all()
    today = local_today(utcnow())
    return render_template(
        "provider/index.html",
        courses=courses,
        offerings=offerings,
        expiry={c.id: authoring.certification_expires_in(c, today) for c in courses},
        counts=roster.enrollment_counts([o.id for o in offerings]),
        certified=authoring.offering_certified,
    )


# --- courses -------------------------------------------------------------------------------


def _course_data(form: CourseForm) -> authoring.CourseData:
    return authoring.CourseData(
        title=form.title.data or "",
        title_en=form.title_en.data,
        description=form.description.data or "",
        description_en=form.description_en.data,
        language=form.language.data or "",
        field_of_action=form.field_of_action.data or "",
        format=form.format.data or "",
        zpp_course_id=form.zpp_course_id.data,
        certified_from=form.certified_from.data,
        certified_until=form.certified_until.data,
        attendance_threshold_pct=int(form.attendance_threshold_pct.data or 0),
        default_capacity=int(form.default_capacity.data or 0),
        default_price_cents=to_cents(form.default_price_eur.data),
    )


@provider_bp.route("/courses/new", methods=["GET", "POST"])
@allow(Role.PROVIDER)
def course_new() -> ResponseReturnValue:
    form = CourseForm()
    if form.validate_on_submit():
        try:
            course = authoring.create_course(current_provider_id(), _course_data(form), user().id)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Course saved. Now add its first offering with dates."), "success")
            return redirect(url_for("provider.offering_new", course_id=course.id))
    return render_template("provider/course_form.html", form=form, course=None), form_status()


@provider_bp.route("/courses/<int:course_id>", methods=["GET", "POST"])
@allow(Role.PROVIDER)
def course_edit(course_id: int) -> ResponseReturnValue:
    course = _course_or_404(course_id)
    form = CourseForm(obj=course if request.method == "GET" else None)
    if request.method == "GET":
        form.default_price_eur.data = Decimal(course.default_price_cents) / 100
    if form.validate_on_submit():
        try:
            changed = authoring.update_course(course, _course_data(form), user().id)
        except DomainError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Course saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("provider.course_edit", course_id=course.id))
        course = _course_or_404(course_id)
    offerings = sorted(course.offerings, key=lambda o: (o.starts_on, o.id), reverse=True)
    return render_template(
        "provider/course_form.html",
        form=form,
        course=course,
        offerings=offerings,
        expires_in=authoring.certification_expires_in(course, local_today(utcnow())),
        certified=authoring.offering_certified,
    ), form_status()


# --- offerings -----------------------------------------------------------------------------


def _offering_data(form: OfferingForm) -> authoring.OfferingData:
    return authoring.OfferingData(
        capacity=int(form.capacity.data or 0),
        price_cents=to_cents(form.price_eur.data),
        format=form.format.data or "",
        instructor_name=form.instructor_name.data,
        location=form.location.data,
        city=form.city.data,
        online_url=form.online_url.data,
        enrollment_opens_at=form.enrollment_opens_at.data,
        enrollment_closes_at=form.enrollment_closes_at.data,
        cancellation_deadline=form.cancellation_deadline.data,
        status=form.status.data or "",
    )


def _series(form: SeriesForm) -> authoring.SessionSeries:
    assert form.first_day.data is not None  # noqa: S101 - validated as required  # nosec B101
    assert form.start_time.data is not None  # noqa: S101 - validated as required  # nosec B101
    return authoring.SessionSeries(
        first_day=form.first_day.data,
        start=form.start_time.data,
        duration_minutes=int(form.duration_minutes.data or 0),
        count=int(form.session_count.data or 0),
    )


@provider_bp.route("/courses/<int:course_id>/offerings/new", methods=["GET", "POST"])
@allow(Role.PROVIDER)
def offering_new(course_id: int) -> ResponseReturnValue:
    course = _course_or_404(course_id)
    form = NewOfferingForm()
    if request.method == "GET":
        form.capacity.data = course.default_capacity
        form.price_eur.data = Decimal(course.default_price_cents) / 100
        form.format.data = course.format
        form.status.data = OfferingStatus.DRAFT.value
    if form.validate_on_submit():
        try:
            offering = authoring.create_offering(
                course, _offering_data(form), _series(form), user().id
            )
        except DomainError as exc:
            _show_error(form, exc)
            course = _course_or_404(course_id)
        else:
            db.session.commit()
            flash(_("Offering saved with its sessions."), "success")
            return redirect(url_for("provider.offering_edit", offering_id=offering.id))
    return render_template(
        "provider/offering_new.html",
        form=form,
        course=course,
        expires_in=authoring.certification_expires_in(course, local_today(utcnow())),
    ), form_status()


def _session_rows(offering: Offering) -> list[dict[str, Any]]:
    """Sessions with their local date and times, for the table."""
    return [
        {
            "session": session,
            "day": authoring.utc_to_local(session.starts_at).date(),
            "start": format_time(session.starts_at, "short"),
            "end": format_time(session.ends_at, "short"),
        }
        for session in offering.sessions
    ]


@provider_bp.route("/offerings/<int:offering_id>", methods=["GET", "POST"])
@allow(Role.PROVIDER)
def offering_edit(offering_id: int) -> ResponseReturnValue:
    """One page for an offering: details, sessions (series or single), cancellation."""
    offering = own_offering(offering_id)
    submitted = request.form.get("form") if request.method == "POST" else None
    details = OfferingForm(prefix="offering", obj=offering if submitted != "offering" else None)
    if submitted != "offering":
        details.price_eur.data = Decimal(offering.price_cents) / 100
    series = GenerateSessionsForm(prefix="series")
    single = SessionForm(prefix="session")
    cancel = CancelOfferingForm(prefix="cancel")
    actor = user().id
    try:
        if submitted == "offering" and details.validate_on_submit():
            changed = authoring.update_offering(offering, _offering_data(details), actor)
            db.session.commit()
            flash(_("Offering saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("provider.offering_edit", offering_id=offering.id))
        if submitted == "series" and series.validate_on_submit():
            added = authoring.generate_sessions(
                offering, _series(series), bool(series.replace_existing.data), actor
            )
            db.session.commit()
            flash(_("%(num)d sessions added.", num=len(added)), "success")
            return redirect(url_for("provider.offering_edit", offering_id=offering.id))
        if submitted == "session" and single.validate_on_submit():
            day, start, end = single.day.data, single.start_time.data, single.end_time.data
            if day is None or start is None or end is None:
                abort(400)  # validated as required; keeps the types narrow
            authoring.add_session(
                offering,
                day,
                start,
                end,
                single.location.data,
                single.online_url.data,
                actor,
            )
            db.session.commit()
            flash(_("Session added."), "success")
            return redirect(url_for("provider.offering_edit", offering_id=offering.id))
        if submitted == "remove":
            session_id = request.form.get("session_id", type=int)
            if session_id is None:
                abort(400)
            authoring.remove_session(offering, session_id, actor)
            db.session.commit()
            flash(_("Session removed."), "success")
            return redirect(url_for("provider.offering_edit", offering_id=offering.id))
        if submitted == "cancel" and cancel.validate_on_submit():
            count = authoring.cancel_offering(offering, actor)
            db.session.commit()
            flash(
                _(
                    "Offering cancelled. %(num)d enrollments were cancelled and the people "
                    "informed.",
                    num=count,
                ),
                "success",
            )
            return redirect(url_for("provider.offering_edit", offering_id=offering.id))
    except DomainError as exc:
        form = {"offering": details, "series": series, "session": single, "cancel": cancel}.get(
            submitted or "", details
        )
        _show_error(form, exc)
        offering = own_offering(offering_id)
    if submitted not in (None, "offering", "series", "session", "remove", "cancel"):
        abort(400)
    course = offering.course
    return render_template(
        "provider/offering.html",
        offering=offering,
        course=course,
        details=details,
        series=series,
        single=single,
        cancel=cancel,
        sessions=_session_rows(offering),
        certified=authoring.offering_certified(offering),
        editable=offering.status != OfferingStatus.CANCELLED.value,
    ), form_status()
