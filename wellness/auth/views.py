"""Sign in and out, password reset, own account settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from wellness.auth import services
from wellness.auth.forms import (
    LANGUAGE_CODES,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
)
from wellness.auth.guards import allow, public, user
from wellness.auth.models import Role
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.forms import form_status

bp = Blueprint("auth", __name__)

ANY_ROLE = tuple(Role)


def _safe_next(target: str | None) -> str:
    """Only follow relative redirects after login, never to another host."""
    if (
        target
        and not urlsplit(target).netloc
        and target.startswith("/")
        and not target.startswith("//")
    ):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            found = services.authenticate(form.email.data or "", form.password.data or "")
        except DomainError as exc:
            db.session.commit()  # keep the failure count
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), 401
        login_user(found, remember=bool(form.remember.data))
        db.session.commit()
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), form_status()


@bp.route("/logout", methods=["POST"])
@allow(*ANY_ROLE)
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.send_password_reset(
            form.email.data or "",
            lambda token: url_for("auth.reset_password", token=token, _external=True),
        )
        db.session.commit()
        flash(
            _(
                "If the address belongs to an account, a reset link is on its way. "
                "It works for one hour."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), form_status()


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> ResponseReturnValue:
    if len(token) > 500:
        abort(404)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data or "")
        except DomainError as exc:
            db.session.rollback()
            form.password.errors.append(exc.message)
            return render_template("auth/reset.html", form=form), 400
        db.session.commit()
        flash(_("Your password is changed. Sign in with the new one."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), form_status()


@bp.route("/account", methods=["GET", "POST"])
@allow(*ANY_ROLE)
def account() -> ResponseReturnValue:
    me = user()
    profile = ProfileForm(prefix="profile", obj=me)
    if request.method == "GET":
        profile.locale.data = me.locale or session.get("locale") or "de"
    password = ChangePasswordForm(prefix="password")
    submitted = request.form.get("form")
    if submitted == "profile" and profile.validate_on_submit():
        me.name = (profile.name.data or "").strip()
        me.locale = profile.locale.data
        session["locale"] = me.locale
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.account"))
    if submitted == "password" and password.validate_on_submit():
        try:
            services.change_password(me, password.current.data or "", password.password.data or "")
        except DomainError as exc:
            db.session.rollback()
            password.current.errors.append(exc.message)
        else:
            db.session.commit()
            login_user(me)  # the session id changed with the password generation
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", profile=profile, password=password), form_status()


@bp.route("/language", methods=["POST"])
@public
def set_language() -> ResponseReturnValue:
    code = request.form.get("locale", "")
    if code not in LANGUAGE_CODES:
        abort(400)
    session["locale"] = code
    if current_user.is_authenticated:
        user().locale = code
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
