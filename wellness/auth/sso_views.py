"""Single sign-on pages: start at the employer's provider, the callback, and the admin's
configuration page. The rules are in :mod:`wellness.auth.oidc`."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from wellness.auth import oidc
from wellness.auth.guards import allow, current_employer_id, public, user
from wellness.auth.models import Role
from wellness.auth.views import _safe_next
from wellness.extensions import db
from wellness.forms import form_status
from wellness.tenants.models import Employer

bp = Blueprint("sso", __name__)

#: Session key for where to go after a successful SSO sign-in.
NEXT_KEY = "sso_next"


class SsoStartForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


class SsoConfigForm(FlaskForm):
    issuer = StringField(
        _l("Issuer URL"),
        validators=[Optional(), Length(max=300)],
        description=_l(
            "The address of your identity provider, e.g. "
            "https://login.microsoftonline.com/<tenant>/v2.0. Leave all three fields empty "
            "to turn single sign-on off."
        ),
    )
    client_id = StringField(_l("Client ID"), validators=[Optional(), Length(max=200)])
    client_secret = PasswordField(
        _l("Client secret"),
        validators=[Optional(), Length(max=300)],
        description=_l("Leave blank to keep the stored secret. It is never shown again."),
    )
    password_login_enabled = BooleanField(_l("Allow sign-in with a password"))


def _allow_loopback_http() -> bool:
    """Plain http to loopback providers for development and tests, never in production."""
    return current_app.config.get("ENV_NAME") != "production"


def _redirect_to_provider(employer: Employer, login_hint: str | None) -> ResponseReturnValue:
    session[NEXT_KEY] = _safe_next(request.args.get("next"))
    callback = url_for("sso.callback", slug=employer.slug, _external=True)
    return redirect(oidc.start_url(employer, callback, login_hint))


@bp.route("/sso/start", methods=["GET", "POST"])
@public
def start() -> ResponseReturnValue:
    """From the login page: the account of the typed address decides the employer."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SsoStartForm(prefix="sso")  # the login page has a password form with "email" too
    if form.validate_on_submit():
        employer = oidc.employer_for_email(form.email.data or "")
        if employer is not None:
            return _redirect_to_provider(employer, form.email.data)
        form.email.errors.append(
            _(
                "There is no company sign-in for this address. Sign in with your password, "
                "or use the sign-in link your employer gave you."
            )
        )
    return render_template("auth/sso_start.html", form=form), form_status()


@bp.route("/sso/<slug>")
@public
def start_for_employer(slug: str) -> ResponseReturnValue:
    """The sign-in link an employer can publish: ``/sso/<its short name>``."""
    employer = oidc.employer_for_slug(slug)
    if employer is None:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    return _redirect_to_provider(employer, None)


@bp.route("/sso/<slug>/callback")
@public
def callback(slug: str) -> ResponseReturnValue:
    employer = oidc.employer_for_slug(slug)
    if employer is None:
        abort(404)
    try:
        identity = oidc.finish(employer)
        found = oidc.match_user(employer, identity)
        oidc.record_sso_login(found)
    except oidc.SsoError as exc:
        db.session.rollback()
        return render_template(
            "auth/sso_error.html", message=exc.message, employer=employer
        ), exc.status_code
    login_user(found)
    db.session.commit()
    return redirect(_safe_next(session.pop(NEXT_KEY, None)))


@bp.route("/admin/sso", methods=["GET", "POST"])
@allow(Role.ADMIN)
def configure() -> ResponseReturnValue:
    employer = db.session.get(Employer, current_employer_id())
    if employer is None:
        abort(403)
    form = SsoConfigForm(obj=employer)  # the password switch; the secret is never filled in
    if request.method == "GET":
        form.issuer.data = employer.oidc_issuer
        form.client_id.data = employer.oidc_client_id
    if form.validate_on_submit():
        settings = oidc.SsoSettings(
            issuer=form.issuer.data or "",
            client_id=form.client_id.data or "",
            client_secret=form.client_secret.data or None,
            password_login_enabled=bool(form.password_login_enabled.data),
        )
        try:
            oidc.configure_sso(
                employer, settings, user().id, allow_loopback_http=_allow_loopback_http()
            )
        except oidc.SsoConfigError as exc:
            db.session.rollback()
            form[exc.field].errors = [*form[exc.field].errors, exc.message]
        else:
            db.session.commit()
            flash(_("Single sign-on settings saved."), "success")
            return redirect(url_for("sso.configure"))
    return render_template(
        "admin/sso.html",
        form=form,
        employer=employer,
        configured=oidc.sso_configured(employer),
        has_secret=bool(employer.oidc_client_secret),
        redirect_uri=url_for("sso.callback", slug=employer.slug, _external=True),
        start_link=url_for("sso.start_for_employer", slug=employer.slug, _external=True),
    ), form_status()
