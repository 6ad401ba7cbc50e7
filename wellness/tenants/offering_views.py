"""Employer administration of the course catalogue: which offerings the employer's people may
enrol in, and the subsidy the employer pays per participant."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_time
from flask_babel import gettext as _

from wellness.auth.guards import allow, current_employer_id, user
from wellness.auth.models import Role
from wellness.courses import opening
from wellness.courses.authoring import utc_to_local
from wellness.courses.forms import FIELDS_OF_ACTION, CloseOfferingForm, SubsidyForm
from wellness.db import utcnow
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status, to_cents
from wellness.i18n import local_today

bp = Blueprint("admin_offerings", __name__, url_prefix="/admin/offerings")


@bp.route("/")
@allow(Role.ADMIN)
def index() -> ResponseReturnValue:
    field = request.args.get("field", "")[:20]
    shown = request.args.get("open", "")[:20]
    rows = opening.list_offerings(
        current_employer_id(),
        local_today(utcnow()),
        field_of_action=field or None,
        open_filter=shown or None,
    )
    return render_template(
        "admin/offerings.html",
        rows=rows,
        field=field,
        shown=shown,
        fields_of_action=FIELDS_OF_ACTION,
    )


@bp.route("/<int:offering_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def detail(offering_id: int) -> ResponseReturnValue:
    employer_id = current_employer_id()
    today = local_today(utcnow())
    row = opening.get_row(employer_id, offering_id, today)
    if row is None:
        abort(404)
    form = SubsidyForm(prefix="subsidy")
    close_form = CloseOfferingForm(prefix="close")
    if request.method == "GET" and row.link is not None:
        form.subsidy_eur.data = Decimal(row.link.subsidy_cents) / 100
    submitted = request.form.get("form") if request.method == "POST" else None
    try:
        if submitted == "subsidy" and form.validate_on_submit():
            cents = to_cents(form.subsidy_eur.data)
            if row.link is None:
                opening.open_offering(employer_id, row.offering, cents, today, user().id)
                message = _("The offering is now open for your employees.")
            else:
                opening.change_subsidy(employer_id, row.offering, cents, today, user().id)
                message = _("Subsidy saved.")
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("admin_offerings.detail", offering_id=offering_id))
        if submitted == "close" and close_form.validate_on_submit():
            opening.close_offering(employer_id, row.offering, user().id)
            db.session.commit()
            flash(
                _(
                    "The offering is closed for new enrollments. People already enrolled keep "
                    "their places."
                ),
                "success",
            )
            return redirect(url_for("admin_offerings.detail", offering_id=offering_id))
    except DomainError as exc:
        db.session.rollback()
        row = opening.get_row(employer_id, offering_id, today)
        if row is None:
            abort(404)
        if submitted == "subsidy" and opening.is_current(row.offering, today):
            form.subsidy_eur.errors = [*form.subsidy_eur.errors, exc.message]
        else:
            flash(exc.message, "error")
    if submitted not in (None, "subsidy", "close"):
        abort(400)
    sessions = [
        {
            "day": utc_to_local(s.starts_at).date(),
            "start": format_time(s.starts_at, "short"),
            "end": format_time(s.ends_at, "short"),
        }
        for s in row.offering.sessions
    ]
    return render_template(
        "admin/offerings_detail.html",
        row=row,
        form=form,
        close_form=close_form,
        sessions=sessions,
        can_open=opening.is_current(row.offering, today),
    ), form_status()
