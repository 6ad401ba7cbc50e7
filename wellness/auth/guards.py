"""The one access-control mechanism.

Every view declares who may call it with :func:`allow` (or :func:`public`). A single
``before_request`` hook enforces the declaration, so a route without one is refused (deny by
default), and the authorization-matrix test checks that every route declares one. Tenant data is
read through :func:`tenant_select` / :func:`get_for_tenant`, which scope by the logged-in user's
employer: the tenant never comes from request input, so cross-tenant access cannot be expressed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Flask, abort, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, select

from wellness.auth.models import Role, User
from wellness.auth.scopes import token_may_call
from wellness.errors import DomainError
from wellness.extensions import db

if TYPE_CHECKING:
    from wellness.tenants.models import Employee

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

ACCESS_ATTR = "_wellness_access"


@dataclass(frozen=True)
class Access:
    """Who may call a view: nobody-in-particular (public) or holders of one of ``roles``."""

    roles: frozenset[Role]
    public: bool = False


def allow(*roles: Role) -> Callable[[F], F]:
    """Let logged-in users holding any of ``roles`` call the view."""
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for open views")

    def mark(view: F) -> F:
        setattr(view, ACCESS_ATTR, Access(frozenset(roles)))
        return view

    return mark


def public(view: F) -> F:
    """Let anyone, logged in or not, call the view."""
    setattr(view, ACCESS_ATTR, Access(frozenset(), public=True))
    return view


PREFIX_RULES = "wellness_access_prefixes"


def allow_prefix(app: Flask, prefix: str, *roles: Role) -> None:
    """Protect every path below ``prefix`` (layout, assets and callbacks of a Dash app)."""
    app.extensions.setdefault(PREFIX_RULES, []).append((prefix, Access(frozenset(roles))))


def access_for(endpoint: str | None, app: Flask, path: str) -> Access | None:
    """The declared access for a request; ``None`` when nothing was declared (deny)."""
    for prefix, rule in app.extensions.get(PREFIX_RULES, []):
        if path.startswith(prefix):
            return rule
    if endpoint is None:
        return None
    if endpoint == "static":
        return Access(frozenset(), public=True)
    view = app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None)


def wants_json() -> bool:
    """API clients and XHR get status codes; browsers get redirects and pages."""
    if request.path.startswith(("/api/", "/scim/", "/hr/_dash", "/hr/_reload")):
        return True
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def enforce_access(app: Flask) -> ResponseReturnValue | None:
    """``before_request`` hook: apply the view's declared access, deny when undeclared."""
    if request.routing_exception is not None:
        return None  # let Flask answer 404/405 as usual
    rule = access_for(request.endpoint, app, request.path)
    if rule is None:
        abort(403)
    if rule.public:
        return None
    if not current_user.is_authenticated:
        if wants_json():
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not current_user.has_role(*rule.roles):
        abort(403)
    token = g.get("api_token")
    if token is not None and not token_may_call(token.scope_set, request.endpoint, user()):
        raise ScopeMissing(
            _(
                "This API token may not call this endpoint: it lacks the scope for it, or its "
                "account no longer has the role the scope needs. Create a token with the right "
                "scope under My account, API tokens."
            )
        )
    return None


class ScopeMissing(DomainError):
    status_code = 403


def init_guards(app: Flask) -> None:
    app.before_request(lambda: enforce_access(app))


def user() -> User:
    """The logged-in user, typed; only valid inside a guarded view."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def current_employee() -> Employee:
    """The signed-in person's employee record: the only person employee pages and the
    ``/me`` API ever act on (never an id from the request). 403 for accounts without one."""
    employee = user().employee
    if employee is None:
        abort(403)
    return employee


def current_employer_id() -> int:
    employer_id = getattr(current_user, "employer_id", None)
    if employer_id is None:
        abort(403)
    return int(employer_id)


def current_provider_id() -> int:
    provider_id = getattr(current_user, "provider_id", None)
    if provider_id is None:
        abort(403)
    return int(provider_id)


def tenant_select(model: type[T]) -> Select[Any]:
    """``select(model)`` restricted to the logged-in user's employer."""
    employer_column = model.employer_id  # type: ignore[attr-defined]
    return select(model).where(employer_column == current_employer_id())


def get_for_tenant(model: type[T], ident: int) -> T:
    """One row of the current employer, or 404 (another tenant's row does not exist for you)."""
    found = db.session.scalar(tenant_select(model).where(model.id == ident))  # type: ignore[attr-defined]
    if found is None:
        abort(404)
    return cast(T, found)
