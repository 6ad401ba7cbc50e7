"""The HR dashboard (Plotly Dash) mounted at ``/hr/`` inside the Flask app.

Every path below ``/hr/`` (layout, assets, callbacks) is protected by the one access guard;
the figures come only from the analytics layer, which a later issue fills.
"""

from __future__ import annotations

from dash import Dash, html
from flask import Flask

from wellness.auth.guards import allow_prefix
from wellness.auth.models import Role
from wellness.extensions import csrf

PREFIX = "/hr/"


def layout() -> html.Main:
    return html.Main(
        [
            html.H1("HR-Dashboard"),
            html.P(
                "Anonymisierte Auswertungen (Teilnahme, Schmerztrends, Ergonomie, Budget) "
                "erscheinen hier, sobald die Analyseschicht fertig ist. "
                "Anonymized figures appear here once the analytics layer is built."
            ),
            html.A("Zurück / Back", href="/"),
        ],
        id="hr-dashboard",
        className="container",
    )


def init_dashboard(app: Flask) -> Dash:
    dash_app = Dash(
        __name__,
        server=False,
        url_base_pathname=PREFIX,
        title="wellness HR",
        update_title="",
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
