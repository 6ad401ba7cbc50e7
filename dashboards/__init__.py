"""The HR dashboard (Plotly Dash) mounted at ``/hr/`` inside the Flask app.

Every path below ``/hr/`` (layout, assets, callbacks) is protected by the one access guard, and
the callbacks check again (:func:`dashboards.data.employer_for`). Figures come only from the
analytics layer's privacy releases; scripts and styles are served from our own server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dash import Dash
from dash.exceptions import DependencyException
from flask import Flask
from werkzeug.exceptions import NotFound

from dashboards import callbacks
from dashboards.data import DASHBOARD_ROLES
from dashboards.layout import PREFIX, layout
from wellness.auth.guards import allow_prefix
from wellness.extensions import csrf
from wellness.i18n import current_language


class _Dashboard(Dash):
    """Dash whose page states its language, as every page of ours does (screen readers choose
    their voice by it; WCAG 3.1.1)."""

    def interpolate_index(self, *args: Any, **kwargs: Any) -> str:
        page = str(super().interpolate_index(*args, **kwargs))
        return page.replace("<html>", f'<html lang="{current_language()}">', 1)


def init_dashboard(app: Flask) -> Dash:
    dash_app = _Dashboard(
        __name__,
        server=False,
        url_base_pathname=PREFIX,
        title="wellness HR",
        update_title="",
        assets_folder=str(Path(__file__).parent / "assets"),
        external_stylesheets=["/static/css/app.css"],
        suppress_callback_exceptions=True,
    )
    dash_app.layout = layout
    callbacks.register(dash_app)
    dash_app.init_app(app)
    # Dash sets itself up on a worker's first request and marks that done before it has
    # registered its script paths, so parallel first requests got 404s for component scripts.
    # Set up now, once, before any request (the frame needs no user, see layout()).
    with app.test_request_context(PREFIX):
        dash_app._setup_server()
    # Dash raises (a 500) for a script path it does not know; that is a 404.
    app.register_error_handler(
        DependencyException, lambda error: app.handle_user_exception(NotFound())
    )
    allow_prefix(app, PREFIX, *DASHBOARD_ROLES)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX):
            # Dash posts JSON from its own scripts; the session cookie is SameSite=Lax and
            # the guard checks the role, so only Dash's routes go without a CSRF token.
            csrf.exempt(app.view_functions[rule.endpoint])
    return dash_app
