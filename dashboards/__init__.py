"""The HR dashboard (Plotly Dash) mounted at ``/hr/`` inside the Flask app.

Every path below ``/hr/`` (layout, assets, callbacks) is protected by the one access guard;
the figures come only from the analytics layer, which a later issue fills.
"""

from __future__ import annotations

from dash import Dash, html
from flask import Flask
from flask_babel import gettext as _

from wellness.auth.guards import allow_prefix
from wellness.auth.models import Role
from wellness.extensions import csrf

PREFIX = "/hr/"


def layout() -> html.Div:
    """Built per request, so it speaks the HR user's language."""
    return html.Div(
        [
            html.Header(
                html.Div(
                    [
                        html.A("wellness", href="/", className="brand"),
                        html.A(_("Back to the overview"), href="/"),
                    ],
                    className="header-bar container",
                ),
                className="site-header",
            ),
            html.Main(
                [
                    html.H1(_("HR dashboard")),
                    html.P(
                        _(
                            "Anonymized figures on participation, pain trends, ergonomics and "
                            "budget will appear here. No figure will ever show a single person."
                        )
                    ),
                ],
                id="main",
                className="container",
            ),
        ]
    )


def init_dashboard(app: Flask) -> Dash:
    dash_app = Dash(
        __name__,
        server=False,
        url_base_pathname=PREFIX,
        title="wellness HR",
        update_title="",
        external_stylesheets=["/static/css/app.css"],
    )
    dash_app.layout = layout
    dash_app.init_app(app)
    allow_prefix(app, PREFIX, Role.HR)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX):
            # Dash posts JSON from its own scripts; the session cookie is SameSite=Lax and
            # the guard checks the role, so only Dash's routes go without a CSRF token.
            csrf.exempt(app.view_functions[rule.endpoint])
    return dash_app
