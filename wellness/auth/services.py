"""Accounts: sign-in with lockout, password reset by signed token, user creation, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from wellness.audit.services import record
from wellness.auth.models import ApiToken, Role, User, UserRole
from wellness.auth.passwords import check_policy, hash_password, verify_password
from wellness.auth.scopes import allowed_scopes
from wellness.db import utcnow
from wellness.errors import DomainError, NotFound
from wellness.extensions import db
from wellness.i18n import locale_for
from wellness.notifications.mail import queue_mail

#: Failed sign-ins in a row before the account is locked for LOCKOUT.
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
RESET_TOKEN_MAX_AGE = 3600
#: How stale ``ApiToken.last_used_at`` may get before a request writes it again.
LAST_USED_PRECISION = timedelta(minutes=5)


def user_context() -> tuple[LoaderOption, ...]:
    """Loader options for what nearly every request reads about the signed-in user."""
    return selectinload(User.roles), joinedload(User.employer), joinedload(User.employee)


TOKEN_PREFIX = "wl_"  # noqa: S105 - a public marker, not a secret  # nosec B105
#: The longest a token lives: a forgotten integration token stops by itself.
TOKEN_MAX_LIFETIME_SECONDS = 365 * 86400
#: ``api_tokens.name`` holds at most this many characters.
TOKEN_NAME_LENGTH = 120


class LoginError(DomainError):
    status_code = 401


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def authenticate(email: str, password: str, now: datetime | None = None) -> User:
    """Check credentials; count failures and lock the account after MAX_FAILED_LOGINS.

    The error does not say whether the address exists.
    """
    now = now or utcnow()
    user = find_user(email)
    generic = LoginError(_("E-mail address or password is not correct."))
    if user is None:
        raise generic
    if user.locked_until is not None and user.locked_until > now:
        raise LoginError(
            _(
                "Too many failed attempts. Try again in %(minutes)d minutes "
                "or reset your password.",
                minutes=LOCKOUT.seconds // 60,
            )
        )
    if not user.is_enabled:
        raise generic
    if user.employer is not None and not user.employer.password_login_enabled:
        raise LoginError(_("Your employer uses single sign-on; password login is turned off."))
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            record("auth.locked", actor_id=user.id, employer_id=user.employer_id)
            _notify_lockout(user, user.locked_until)
        record("auth.login_failed", actor_id=user.id, employer_id=user.employer_id)
        db.session.flush()
        raise generic
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(
        "auth.login", actor_id=user.id, employer_id=user.employer_id, provider_id=user.provider_id
    )
    return user


def _notify_lockout(user: User, until: datetime) -> None:
    """Tell the account holder, once per lockout: someone else may be guessing the password.

    The dedupe key names the lockout, so a retried request or a concurrent one does not mail
    twice; the next lockout mails again.
    """
    with force_locale(locale_for(user)):
        subject = _("Your wellness account was locked")
        body = _(
            "Hello %(name)s,\n\nyour wellness account was locked for %(minutes)d minutes "
            "after %(count)d failed sign-in attempts in a row.\n\n"
            "If that was you, wait and sign in again, or choose a new password with "
            "\u201cForgot your password?\u201d on the sign-in page.\n"
            "If it was not you, someone may be guessing your password: choose a new one and "
            "tell your administrator.",
            name=user.name,
            minutes=LOCKOUT.seconds // 60,
            count=MAX_FAILED_LOGINS,
        )
    queue_mail(
        user.email,
        subject,
        body,
        "account_locked",
        user.id,
        dedupe_key=f"account-locked:{user.id}:{until.isoformat()}",
    )


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    """Changes with the password, so a reset link works once."""
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "pw": _password_fingerprint(user)})


def send_password_reset(email: str, link_for_token: Callable[[str], str]) -> None:
    """Mail a reset link if the address belongs to an enabled account; silent otherwise."""
    user = find_user(email)
    if user is None or not user.is_enabled:
        return
    link = link_for_token(make_reset_token(user))
    with force_locale(locale_for(user)):
        body = _(
            "Hello %(name)s,\n\nsomeone asked to reset the password of your wellness account. "
            "Open this link within one hour to choose a new password:\n\n%(link)s\n\n"
            "If it was not you, ignore this mail; your password stays as it is.",
            name=user.name,
            link=link,
        )
        subject = _("Reset your wellness password")
    queue_mail(user.email, subject, body, "password_reset", user.id)
    record("auth.password_reset_requested", actor_id=user.id, employer_id=user.employer_id)


def reset_password(token: str, new_password: str) -> User:
    try:
        data = _reset_serializer().loads(token, max_age=RESET_TOKEN_MAX_AGE)
    except SignatureExpired as exc:
        raise DomainError(_("This reset link has expired. Ask for a new one.")) from exc
    except BadSignature as exc:
        raise DomainError(_("This reset link is not valid. Ask for a new one.")) from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or data.get("pw") != _password_fingerprint(user):
        raise DomainError(_("This reset link was already used. Ask for a new one."))
    set_password(user, new_password)
    user.failed_logins = 0
    user.locked_until = None
    record("auth.password_reset", actor_id=user.id, employer_id=user.employer_id)
    return user


def set_password(user: User, password: str) -> None:
    check_policy(password, user.email)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise DomainError(_("The current password is not correct."))
    set_password(user, new)
    record("auth.password_changed", actor_id=user.id, employer_id=user.employer_id)


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    roles: tuple[Role, ...]
    employer_id: int | None = None
    provider_id: int | None = None
    password: str | None = None


def create_user(spec: NewUser) -> User:
    """Create an account whose roles fit its scope (employer roles need an employer, ...)."""
    roles = set(spec.roles)
    if not roles:
        raise DomainError("A user needs at least one role.")
    employer_roles = {Role.EMPLOYEE, Role.HR, Role.ADMIN}
    if roles & employer_roles and spec.employer_id is None:
        raise DomainError("Employee, HR and admin users need an employer.")
    if Role.PROVIDER in roles and spec.provider_id is None:
        raise DomainError("Provider users need a provider.")
    if (
        len(
            [
                s
                for s in (roles & employer_roles, roles & {Role.PROVIDER}, roles & {Role.OPERATOR})
                if s
            ]
        )
        > 1
    ):
        raise DomainError("A user belongs to one employer, one provider or the platform.")
    email = normalize_email(spec.email)
    if find_user(email) is not None:
        raise DomainError(f"A user with the e-mail address {email} already exists.")
    user = User(
        email=email,
        name=spec.name.strip(),
        employer_id=spec.employer_id,
        provider_id=spec.provider_id,
    )
    user.roles = [UserRole(role=r.value) for r in sorted(roles)]
    db.session.add(user)
    if spec.password is not None:
        set_password(user, spec.password)
    db.session.flush()
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    user: User, name: str, scopes: Iterable[str] | None = None, expires_in: int | None = None
) -> str:
    """Return a new bearer token; only its hash is stored. Its scopes must be ones the user's
    roles may hold (:mod:`wellness.auth.scopes`; None: all of those): a token without a scope
    could call nothing. Every token expires, after a year at the latest (the default)."""
    expires_in = TOKEN_MAX_LIFETIME_SECONDS if expires_in is None else expires_in
    if not 0 < expires_in <= TOKEN_MAX_LIFETIME_SECONDS:
        raise DomainError(
            _(
                "The expiry must be between 1 and %(max)d seconds (a year).",
                max=TOKEN_MAX_LIFETIME_SECONDS,
            )
        )
    allowed = {scope.value for scope in allowed_scopes(user)}
    scopes = allowed if scopes is None else set(scopes)
    if not scopes or not scopes <= allowed:
        raise DomainError(
            _(
                "Choose at least one scope this account may hold: %(allowed)s.",
                allowed=", ".join(sorted(allowed)) or _("none (this account cannot have tokens)"),
            )
        )
    name = name.strip()
    if not name or len(name) > TOKEN_NAME_LENGTH:
        raise DomainError(_("Give the token a name of 1 to %(n)d characters.", n=TOKEN_NAME_LENGTH))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_hash_token(token),
            prefix=token[:10],
            scopes=" ".join(sorted(set(scopes))),
            expires_at=utcnow() + timedelta(seconds=expires_in),
        )
    )
    db.session.flush()
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they show when and what)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; another user's token does not exist for them."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound(_("There is no such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
    return token


def user_for_token(token: str, now: datetime | None = None) -> tuple[User, ApiToken] | None:
    """The enabled user behind a valid, unexpired, unrevoked token; records its last use.

    One query loads the token with everything a request needs about its user. The last use is
    written at most every LAST_USED_PRECISION, in its own short transaction: the request's
    transaction may be read-only (and rolled back), and must not hold the token's row lock.
    """
    now = now or utcnow()
    found = (
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.token_hash == _hash_token(token))
            .options(
                joinedload(ApiToken.user).joinedload(User.roles),
                joinedload(ApiToken.user).joinedload(User.employer),
                joinedload(ApiToken.user).joinedload(User.employee),
            )
        )
        .unique()
        .first()
    )  # joined collection (roles): rows repeat per role
    if found is None or found.state(now) != "active":
        return None
    if not found.user.is_enabled:
        return None
    if found.last_used_at is None or now - found.last_used_at > LAST_USED_PRECISION:
        with db.engine.begin() as connection:
            connection.execute(
                update(ApiToken).where(ApiToken.id == found.id).values(last_used_at=now)
            )
    return found.user, found
