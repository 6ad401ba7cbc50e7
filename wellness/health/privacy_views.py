"""Employee pages: consent, data export and erasure.

Every page acts on the signed-in person's own employee record and takes no person from the
request, so nobody (HR, admins, providers, operators, colleagues) can reach anyone else's
consent, export or erasure. The same services back the JSON API.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired

from wellness.auth.guards import allow, current_employee
from wellness.auth.models import Role
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status
from wellness.health import consent, personal_data
from wellness.i18n import current_language
from wellness.tenants.models import Employee
from wellness.web import private

privacy_bp = Blueprint("privacy", __name__, url_prefix="/me/privacy")


def send_personal_data(employee: Employee) -> Response:
    """The export as a download that no shared cache may keep."""
    export = personal_data.export_personal_data(employee)
    db.session.commit()
    response = make_response(export.content)
    response.headers["Content-Type"] = "application/zip"
    response.headers.set("Content-Disposition", "attachment", filename=export.filename)
    return private(response)


class ConsentForm(FlaskForm):
    #: The text version the person read; a changed text must be read again before agreeing.
    version = HiddenField(validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button: nothing but the CSRF token."""


class EraseForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that this deletes my health data for good and cannot be undone."),
        validators=[DataRequired(message=_l("Tick the box to confirm the erasure."))],
    )


@privacy_bp.get("")
@allow(Role.EMPLOYEE)
def index() -> ResponseReturnValue:
    return render_template(
        "health/privacy.html",
        states=consent.consent_states(current_employee()),
        locale=current_language(),
        text_version=consent.text_version,
        form=ActionForm(),
    )


@privacy_bp.post("/consents/<purpose>")
@allow(Role.EMPLOYEE)
def give(purpose: str) -> ResponseReturnValue:
    chosen = consent.parse_purpose(purpose)
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        consent.give_consent(current_employee(), chosen, form.version.data or "")
    except DomainError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("privacy.index"))
    db.session.commit()
    flash(
        _("Thank you. Your consent is recorded; you can withdraw it here at any time."), "success"
    )
    return redirect(url_for("privacy.index"))


@privacy_bp.post("/consents/<purpose>/withdraw")
@allow(Role.EMPLOYEE)
def withdraw(purpose: str) -> ResponseReturnValue:
    chosen = consent.parse_purpose(purpose)
    if not ActionForm().validate_on_submit():
        abort(400)
    consent.withdraw_consent(current_employee(), chosen)
    db.session.commit()
    flash(_("Your consent is withdrawn. From now on your data counts in no statistic."), "success")
    return redirect(url_for("privacy.index"))


@privacy_bp.post("/export")
@allow(Role.EMPLOYEE)
def export() -> ResponseReturnValue:
    if not ActionForm().validate_on_submit():
        abort(400)
    return send_personal_data(current_employee())


@privacy_bp.route("/erase", methods=["GET", "POST"])
@allow(Role.EMPLOYEE)
def erase() -> ResponseReturnValue:
    employee = current_employee()
    form = EraseForm()
    if form.validate_on_submit():
        personal_data.erase_health_data(employee)
        db.session.commit()
        flash(_("Your health data has been erased."), "success")
        return redirect(url_for("privacy.index"))
    stored = personal_data.count_health_data(personal_data.HealthRows.of(employee))
    return render_template("health/privacy_erase.html", form=form, stored=stored), form_status()
