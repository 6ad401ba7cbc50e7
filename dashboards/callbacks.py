"""The dashboard's callbacks: thin. They check access (:func:`dashboards.data.employer_for`),
read the filters, ask the analytics layer and hand the releases to :mod:`dashboards.content`."""

from __future__ import annotations

from dash import MATCH, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component
from flask import abort
from flask_babel import gettext as _

from dashboards.content import group_label, page_body
from dashboards.data import BadFilter, employer_for, filters, privacy_budget, show, show_page
from dashboards.figures import csv_rows
from dashboards.layout import PREFIX, navigation
from dashboards.pages import CHARTS, PAGES
from wellness.extensions import db
from wellness.i18n import current_language
from wellness.spreadsheet import CSV_DELIMITER, csv_bytes

FILTERS = [
    State("from", "value"),
    State("to", "value"),
    State("department", "value"),
    State("site", "value"),
    State("region", "value"),
    State("tenant", "data"),
]


def render(
    pathname: str | None,
    first: object,
    last: object,
    department: object,
    site: object,
    region: object,
    tenant: object,
) -> tuple[list[html.Li], list[Component]]:
    employer = employer_for(tenant)
    nav = navigation(pathname)
    path = (pathname or PREFIX).removeprefix(PREFIX).strip("/")
    page = next((page for page in PAGES if page.path == path), None)
    if page is None:
        return nav, [
            html.H2(_("Page not found")),
            html.P(dcc.Link(_("Back to the overview"), href=PREFIX)),
        ]
    try:
        chosen = filters(first, last, department, site, region)
    except BadFilter as bad:
        return nav, [html.P(str(bad), className="notice notice-error", role="alert")]
    shown = show_page(employer, page.charts, chosen, channel="dashboard")
    db.session.commit()
    return nav, page_body(page, shown, privacy_budget(employer), employer)


def download_csv(
    clicks: int | None,
    first: object,
    last: object,
    department: object,
    site: object,
    region: object,
    tenant: object,
) -> object:
    """The chart's aggregate as CSV: the same release the chart shows (a stored one for noisy
    figures, so a download costs no privacy budget and shows no fresh noise)."""
    employer = employer_for(tenant)
    if not clicks:
        return no_update
    chart = CHARTS.get(str((ctx.triggered_id or {}).get("chart")))
    if chart is None:
        abort(400)
    try:
        chosen = filters(first, last, department, site, region)
    except BadFilter:
        return no_update
    shown = show(employer, chart, chosen, channel="download")
    db.session.commit()
    if shown.release is None:
        return no_update
    rows = csv_rows(shown.release, group_label(chart.group_by))
    content = csv_bytes(rows, delimiter=CSV_DELIMITER[current_language()])
    filename = f"{chart.id}_{chosen.period.key().replace('..', '_')}.csv"
    return dcc.send_bytes(content, filename, type="text/csv")


def register(app: Dash) -> None:
    app.callback(
        Output("page-nav", "children"),
        Output("content", "children"),
        Input("url", "pathname"),
        Input("from", "value"),
        Input("to", "value"),
        Input("department", "value"),
        Input("site", "value"),
        Input("region", "value"),
        State("tenant", "data"),
    )(render)
    app.callback(
        Output({"type": "csv-file", "chart": MATCH}, "data"),
        Input({"type": "csv", "chart": MATCH}, "n_clicks"),
        *FILTERS,
        prevent_initial_call=True,
    )(download_csv)
    # The PNG is drawn in the browser from the chart (dashboards/assets/charts.js).
    app.clientside_callback(
        ClientsideFunction("wellness", "downloadPng"),
        Output({"type": "png", "chart": MATCH}, "title"),
        Input({"type": "png", "chart": MATCH}, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("wellness", "languageNext"),
        Output("language-next", "value"),
        Input("url", "pathname"),
    )
