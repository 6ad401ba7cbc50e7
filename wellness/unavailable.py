"""503 instead of 500 while the database cannot be reached.

When PostgreSQL restarts, fails over or runs out of connections, a request cannot be served, but
nothing is wrong with it: the client should retry. Such errors reach the edge as SQLAlchemy's
``OperationalError`` (connection refused, server shutting down, connection lost mid-query),
``InterfaceError`` (connection already closed) or the pool's ``TimeoutError`` (no connection
free in time). They answer 503 with ``Retry-After``, as problem details for API clients and a
plain page for people. The pool recovers by itself: ``pool_pre_ping`` (wellness/config.py)
replaces connections that died with the server before a request uses them.

The log line names the error class only: SQLAlchemy's message carries the statement and its
parameters, which may be health data.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from wellness.auth.guards import wants_json
from wellness.extensions import db

#: Seconds a client should wait before retrying; a fast PostgreSQL restart takes a few.
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: Exception) -> ResponseReturnValue:
    """No rollback here: it would expire every loaded row, and the after-request hooks (the
    request log reads the signed-in user) would then query the database that is down. The
    session is closed at the end of the request, which returns the dead connection to the
    pool, where it is discarded."""
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    # The language from the request alone: the user's own setting is in the database.
    with force_locale(request.accept_languages.best_match(("de", "en")) or "de"):
        title = _("Temporarily unavailable")
        detail = _("The service is briefly unavailable. Please try again in a minute.")
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": 503, "detail": detail}
        return jsonify(body), 503, {**headers, "Content-Type": "application/problem+json"}
    try:
        page = render_template("error.html", status=503, title=title, detail=detail)
    except Exception:  # noqa: BLE001 - the page needs the database too (signed-in user)
        from wellness.web import FALLBACK_ERROR_PAGE

        page = FALLBACK_ERROR_PAGE
    return page, 503, {**headers, "Content-Type": "text/html; charset=utf-8"}


def close_session(exc: BaseException | None) -> None:
    """End the request's session before Flask-SQLAlchemy does, tolerating a dead connection.

    Closing rolls back the open transaction; when the server went away since the last query,
    that rollback raises, after the response was made, and the client would get a 500.
    Invalidating the connection instead discards it (the pool opens a new one when needed).
    """
    try:
        db.session.remove()
    except (OperationalError, InterfaceError):
        db.session().invalidate()
        db.session.remove()


def init_unavailable(app: Flask) -> None:
    # Registered after Flask-SQLAlchemy's own teardown, so it runs before it.
    app.teardown_appcontext(close_session)
    # PendingRollbackError: the session was used again after its connection failed.
    for error in (OperationalError, InterfaceError, PendingRollbackError, PoolTimeoutError):
        app.register_error_handler(error, database_unavailable)
