"""Certificate download for the participant and public verification by code.

Verification is public on purpose: an insurer checks a certificate without an account. It shows
what the paper shows and nothing else, and it is throttled per IP (see
:mod:`wellness.ratelimit`) because the code is the only secret.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from wellness.attendance import completion
from wellness.attendance.certificate_pdf import (
    certificate_filename,
    facts,
    participant_locale,
    render_certificate,
)
from wellness.auth.guards import allow, current_employee, public
from wellness.auth.models import Role
from wellness.i18n import current_language
from wellness.web import private

certificates_bp = Blueprint("certificates", __name__)

#: Nobody types more than this; longer input is not a code.
MAX_CODE_INPUT = 40


class VerifyForm(FlaskForm):
    """A GET form without CSRF token: it changes nothing, and the code arrives as a link."""

    class Meta:
        csrf = False

    code = StringField(
        _l("Verification code"),
        validators=[DataRequired(), Length(max=MAX_CODE_INPUT)],
        description=_l("As printed on the certificate, e.g. ABCD-EFGH-JKLM."),
    )


def _private(response: ResponseReturnValue) -> ResponseReturnValue:
    """Certificates name a person: no shared cache may keep them, no search engine list them."""
    made = private(response)
    made.headers["X-Robots-Tag"] = "noindex"
    return made


@certificates_bp.get("/me/courses/<int:enrollment_id>/certificate.pdf")
@allow(Role.EMPLOYEE)
def download(enrollment_id: int) -> ResponseReturnValue:
    certificate = completion.certificate_for_employee(current_employee().id, enrollment_id)
    if certificate is None:
        abort(404)
    locale = participant_locale(certificate)
    response = make_response(render_certificate(certificate, locale))
    response.headers["Content-Type"] = "application/pdf"
    response.headers.set(
        "Content-Disposition", "attachment", filename=certificate_filename(certificate, locale)
    )
    return _private(response)


@certificates_bp.get("/verify")
@public
def verify_form() -> ResponseReturnValue:
    form = VerifyForm(formdata=request.args if "code" in request.args else None)
    if "code" in request.args and form.validate():
        code = form.code.data or ""
        return redirect(
            url_for("certificates.verify", code=completion.normalise_code(code) or code.strip())
        )
    status = 400 if form.errors else 200
    return _private((render_template("certificates/verify_form.html", form=form), status))


@certificates_bp.get("/verify/<code>")
@public
def verify(code: str) -> ResponseReturnValue:
    certificate = completion.find_by_code(code[:MAX_CODE_INPUT])
    if certificate is None:
        return _private((render_template("certificates/not_found.html", form=VerifyForm()), 404))
    stated = facts(certificate, current_language())
    return _private(render_template("certificates/verify.html", stated=stated))
