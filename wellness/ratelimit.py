"""Rate limits (Flask-Limiter): in memory by default, in Redis when ``REDIS_URL`` is set.

Flask-Limiter keeps its settings on the instance, so every app gets its own limiter; limits are
attached to endpoints here, in one place, rather than with decorators at import time.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

#: Endpoints that take guesses at secrets: throttled per IP, on top of the account lockout.
CREDENTIAL_ENDPOINTS = ("auth.login", "auth.forgot_password", "auth.reset_password", "sso.start")
#: Public certificate checks: a code is the only secret, so guessing is throttled per IP.
VERIFY_ENDPOINTS = ("certificates.verify_form", "certificates.verify")


def _credential_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _verify_limit() -> str:
    return str(current_app.config["VERIFY_RATE_LIMIT"])


#: Blueprints of token-authenticated APIs: limited per token and, on top, per address.
API_BLUEPRINTS = ("api", "scim")


def _api_limit() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def _api_address_limit() -> str:
    return str(current_app.config["API_ADDRESS_RATE_LIMIT"])


def token_or_address() -> str:
    """The caller's API token (hashed: the key may sit in Redis), else their address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme == "Bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "address:" + get_remote_address()


def init_rate_limits(app: Flask) -> Limiter:
    limiter = Limiter(key_func=get_remote_address, app=app, default_limits=[])
    for endpoint in CREDENTIAL_ENDPOINTS:
        view = app.view_functions[endpoint]
        limited = limiter.limit(_credential_limit, methods=["POST"])(view)
        app.view_functions[endpoint] = limited  # type: ignore[assignment]
    # One shared budget for the form and the code page: redirecting from one to the other
    # must not double what a guesser gets.
    verify_limit = limiter.shared_limit(_verify_limit, scope="certificate-verify", methods=["GET"])
    for endpoint in VERIFY_ENDPOINTS:
        limited = verify_limit(app.view_functions[endpoint])
        app.view_functions[endpoint] = limited  # type: ignore[assignment]
    # One budget per token (a runaway script) and one per address (many tokens, or guesses).
    for name in API_BLUEPRINTS:
        blueprint = app.blueprints.get(name)
        if isinstance(blueprint, Blueprint):
            limiter.limit(_api_limit, key_func=token_or_address, scope=f"{name}-token")(blueprint)
            limiter.limit(_api_address_limit, scope=f"{name}-address")(blueprint)
    # Flask-Limiter only holds weak references to itself; the app keeps it alive.
    app.extensions["wellness_limiter"] = limiter
    return limiter
