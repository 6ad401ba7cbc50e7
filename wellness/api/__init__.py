"""The JSON API at ``/api/v1``: the same services as the web pages, for scripts and apps.

Clients authenticate with a bearer token (``Authorization: Bearer wl_...``) or, from our own
pages, with the session cookie plus the CSRF token in an ``X-CSRFToken`` header.
"""

from __future__ import annotations

from flask import Blueprint, request

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


csrf.exempt(bp)

from wellness.api import (  # noqa: E402,F401  (registers the routes)
    analytics,
    attendance,
    me_checklists,
    me_health,
    me_privacy,
    offerings,
    provider,
)
