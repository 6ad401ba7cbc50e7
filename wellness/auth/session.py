"""Flask-Login wiring. The session id embeds the password generation, so a password change
or reset logs out every other session of the account."""

from __future__ import annotations

from flask import Flask, Request, g
from flask_babel import lazy_gettext as _l

from wellness.auth.models import User
from wellness.extensions import db, login_manager


def load_user(ident: str) -> User | None:
    user_id, _, _stamp = ident.partition(":")
    if not user_id.isdigit():
        return None
    from wellness.auth.services import user_context

    user = db.session.get(User, int(user_id), options=user_context())
    if user is None or user.get_id() != ident:
        return None
    return user


def load_user_from_bearer(request: Request) -> User | None:
    """API clients send ``Authorization: Bearer <token>`` instead of a session cookie."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        return None
    from wellness.auth.services import user_for_token

    found = user_for_token(token.strip())
    if found is None:
        return None
    g.api_token = found[1]  # the guard lets a token reach only its scopes' endpoints
    return found[0]


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_bearer)
