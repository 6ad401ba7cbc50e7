"""The JSON API at ``/api/v1``: the same services as the web pages, for scripts and apps.

Clients authenticate with a bearer token (``Authorization: Bearer wl_...``) or, from our own
pages, with the session cookie plus the CSRF token in an ``X-CSRFToken`` header. Every view
declares its operation (:mod:`wellness.api.openapi`), which validates the request and makes up
the OpenAPI document at ``/api/v1/openapi.json``; every error is an RFC 9457 problem.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.exceptions import MethodNotAllowed

from wellness.api.problems import domain_problem
from wellness.errors import DomainError
from wellness.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def uses_bearer_token() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


@bp.before_request
def protect_cookie_sessions() -> None:
    """Bearer tokens cannot be sent by another site, cookies can: only they need CSRF."""
    if request.method not in SAFE_METHODS and not uses_bearer_token():
        csrf.protect()


@bp.after_app_request
def allow_header(response: Response) -> Response:
    """A 405 must say which methods the path has (RFC 9110); the app's problem handler builds
    a new response without the exception's ``Allow`` header."""
    routing = request.routing_exception
    if (
        response.status_code == 405
        and isinstance(routing, MethodNotAllowed)
        and routing.valid_methods
        and request.path.startswith(bp.url_prefix or "")
    ):
        response.headers.setdefault("Allow", ", ".join(sorted(routing.valid_methods)))
    return response


@bp.url_value_preprocessor
def refuse_huge_ids(endpoint: str | None, values: dict[str, object] | None) -> None:
    """An id beyond SQL's integer range exists nowhere (PostgreSQL would refuse the query):
    404, not 500."""
    from wellness.api.schemas import MAX_ID

    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        abort(404)


csrf.exempt(bp)
bp.register_error_handler(DomainError, domain_problem)

from wellness.api import (  # noqa: E402,F401  (registers the routes)
    analytics,
    attendance,
    me_checklists,
    me_health,
    me_privacy,
    offerings,
    openapi,
    provider,
)

openapi.register(bp)
