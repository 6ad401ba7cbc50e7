"""Wiring of the web edge: blueprints, the access guard, error pages, health probes."""

from __future__ import annotations

import re

from flask import Flask, Response, abort, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from wellness.audit.labels import action_label
from wellness.auth.guards import init_guards, public, wants_json
from wellness.errors import DomainError
from wellness.extensions import db
from wellness.navigation import navigation_for
from wellness.notifications.mail import deliver_after_request
from wellness.unavailable import init_unavailable

#: Shown when even the error page cannot be drawn; needs no database, session or template.
FALLBACK_ERROR_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>wellness</title></head>
<body><main><h1>Vorübergehend nicht verfügbar / Temporarily unavailable</h1>
<p>Bitte versuchen Sie es in einigen Minuten erneut. Please try again in a few minutes.</p>
</main></body></html>"""


def private(response: ResponseReturnValue) -> Response:
    """A response about one person (health data, certificates, calendars, exports): no shared
    cache or browser history may keep a copy."""
    made = make_response(response)
    made.headers["Cache-Control"] = "private, no-store"
    return made


def _error_response(status: int, title: str, detail: str) -> ResponseReturnValue:
    """Problem details (RFC 9457) for API clients, a styled page for people."""
    if wants_json():
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        return jsonify(body), status, {"Content-Type": "application/problem+json"}
    return render_template("error.html", status=status, title=title, detail=detail), status


def register_error_handlers(app: Flask) -> None:
    from flask_babel import gettext as _

    messages = {
        400: lambda: (
            _("Bad request"),
            _("The request could not be understood. Check the form and try again."),
        ),
        401: lambda: (_("Sign-in needed"), _("Please sign in to continue.")),
        403: lambda: (_("Not allowed"), _("Your account does not have access to this page.")),
        404: lambda: (
            _("Page not found"),
            _("This page does not exist or is not available to you."),
        ),
        405: lambda: (_("Not allowed"), _("This action is not possible here.")),
        413: lambda: (_("File too large"), _("The upload is larger than allowed.")),
        429: lambda: (_("Too many attempts"), _("Please wait a moment and try again.")),
        500: lambda: (
            _("Something went wrong"),
            _("We could not complete the request. Please try again later."),
        ),
    }

    def handle_http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        title, detail = messages.get(status, messages[500])()
        return _error_response(status, title, detail)

    def handle_csrf(exc: CSRFError) -> ResponseReturnValue:
        return _error_response(
            400,
            _("Form expired"),
            _(
                "The form was open too long or came from elsewhere. "
                "Reload the page and send it again."
            ),
        )

    def handle_domain(exc: DomainError) -> ResponseReturnValue:
        db.session.rollback()
        return _error_response(exc.status_code, _("Not possible"), exc.message)

    def handle_unexpected(exc: Exception) -> ResponseReturnValue:
        db.session.rollback()
        # The route template, not the path: paths can carry reset tokens or e-mail addresses.
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        app.logger.exception("unhandled error on %s %s", request.method, route)
        try:
            title, detail = messages[500]()
            return _error_response(500, title, detail)
        except Exception:  # noqa: BLE001 - the error page itself failed (e.g. database down)
            db.session.rollback()
            return FALLBACK_ERROR_PAGE, 500, {"Content-Type": "text/html; charset=utf-8"}

    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    app.register_error_handler(Exception, handle_unexpected)


#: C0 control characters other than tab, line feed and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def refuse_control_characters() -> None:
    """No form or query value may carry control characters (PostgreSQL rejects NUL, and
    nobody types them): refuse them once here instead of in every form. A multipart part
    without a name (no browser sends one) is refused likewise."""
    if not request.path.startswith("/hr/_dash"):
        for values in (request.args, request.form):
            for key, items in values.lists():
                if key is None or any(CONTROL_CHARACTERS.search(text) for text in (key, *items)):
                    abort(400)


@public
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@public
def readyz() -> ResponseReturnValue:
    """Readiness: the database answers, and Redis when ``REDIS_URL`` is set."""
    from wellness.observability.readiness import redis_reachable

    checks = {"database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means not ready
        db.session.rollback()
        checks["database"] = "unreachable"
    redis = redis_reachable()
    if redis is not None:
        checks["redis"] = "ok" if redis else "unreachable"
    if "unreachable" in checks.values():
        return jsonify(status="unavailable", **checks), 503
    return jsonify(status="ok", **checks)


def register_web(app: Flask) -> None:
    from wellness.analytics.transparency_views import transparency_bp
    from wellness.api import bp as api_bp
    from wellness.attendance.certificate_views import certificates_bp
    from wellness.attendance.roster_views import roster_bp
    from wellness.attendance.upload_views import upload_bp
    from wellness.auth.sso_views import bp as sso_bp
    from wellness.auth.token_views import tokens_bp
    from wellness.auth.views import bp as auth_bp
    from wellness.courses.calendar_views import calendar_bp
    from wellness.courses.employee_views import bp as courses_bp
    from wellness.courses.views import provider_bp
    from wellness.health.checkin_views import checkins_bp
    from wellness.health.checklist_views import checklists_bp
    from wellness.health.measure_views import measures_bp
    from wellness.health.privacy_views import privacy_bp
    from wellness.health.training_views import training_bp
    from wellness.home import bp as home_bp
    from wellness.notifications.views import bp as outbox_bp
    from wellness.observability import init_observability
    from wellness.scim.views import bp as scim_bp
    from wellness.tenants.import_views import bp as employee_import_bp
    from wellness.tenants.offering_views import bp as admin_offerings_bp
    from wellness.tenants.views import admin_bp, operator_bp

    init_observability(app)
    init_guards(app)
    app.before_request(refuse_control_characters)
    for blueprint in (
        api_bp,
        auth_bp,
        tokens_bp,
        sso_bp,
        home_bp,
        admin_bp,
        operator_bp,
        admin_offerings_bp,
        employee_import_bp,
        provider_bp,
        outbox_bp,
        calendar_bp,
        courses_bp,
        roster_bp,
        upload_bp,
        certificates_bp,
        checklists_bp,
        measures_bp,
        checkins_bp,
        training_bp,
        privacy_bp,
        transparency_bp,
        scim_bp,
    ):
        app.register_blueprint(blueprint)
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    register_error_handlers(app)
    init_unavailable(app)
    app.context_processor(lambda: {"navigation": navigation_for()})
    app.jinja_env.filters["audit_action"] = action_label

    app.after_request(deliver_after_request)

    from wellness.security_headers import init_security_headers

    init_security_headers(app)
