"""Flask-Login wiring. The session id embeds the password generation, so a password change
or reset logs out every other session of the account."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from wellness.auth.models import User
from wellness.extensions import db, login_manager


def load_user(ident: str) -> User | None:
    user_id, _, _stamp = ident.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.get_id() != ident:
        return None
    return user


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
