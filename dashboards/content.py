"""The body of each dashboard page, from the charts' releases (see :mod:`dashboards.data`).

Every chart section carries its title (what it shows), the chart with axis units, a sentence on
group sizes and noise, the numbers as a table, and downloads of the aggregate (CSV) and the
chart (PNG). A refused chart says why in its place.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html
from dash.development.base_component import Component
from flask import url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from dashboards.data import Budget, Shown
from dashboards.figures import Trend, arrow, cell_text, figure, format_value, table, trend
from dashboards.layout import attrs, page_href
from dashboards.pages import PAGES, Page
from wellness.analytics.grid import GroupBy
from wellness.analytics.measures import MEASURES
from wellness.analytics.privacy import Release
from wellness.i18n import current_language, money
from wellness.tenants.models import Employer

GRAPH_CONFIG: Any = {
    "displaylogo": False,
    "responsive": True,
    # Plotly's own PNG export (the camera) is blocked by our Content-Security-Policy; the
    # "Download chart (PNG)" button below each chart does it (dashboards/assets/charts.js).
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"],
}


def group_label(group_by: GroupBy) -> str:
    labels = {
        GroupBy.DEPARTMENT: _("Department"),
        GroupBy.SITE: _("Site"),
        GroupBy.MONTH: _("Month"),
        GroupBy.QUARTER: _("Quarter"),
        GroupBy.FIELD: _("Field of action"),
        GroupBy.PARTICIPATION: _("Group"),
    }
    return labels.get(group_by, _("Group"))


def _explanation(release: Release) -> str:
    parts = [
        _(
            "Groups with fewer than %(k)s people are not shown, nor is any group from which "
            "they could be worked out.",
            k=release.k,
        )
    ]
    if release.noisy:
        parts.append(
            _(
                "The figures carry deliberate random noise (differential privacy), so no single "
                "person can be recognised in them; the whiskers show where the true value lies "
                "with 95 percent confidence."
            )
        )
    return " ".join(parts)


def reference_line(measure: str, employer: Employer) -> tuple[float, str] | None:
    """Budget charts show what each employee may receive per year (the tax-free limit the
    employer set), so "used" is seen against "available"."""
    if measure != "budget_used":
        return None
    allowance = employer.budget_per_employee_cents
    return allowance / 100, _("Budget per employee and year: %(amount)s", amount=money(allowance))


def chart_section(shown: Shown, employer: Employer) -> html.Section:
    chart = shown.chart
    title = shown.title
    heading = html.H2(title, id=f"title-{chart.id}")
    if shown.release is None:
        return html.Section(
            [heading, html.P(shown.refused, className="notice notice-error", role="status")],
            className="panel chart",
            **attrs(aria_labelledby=f"title-{chart.id}"),
        )
    unit = MEASURES[chart.measure].unit
    release = shown.release
    return html.Section(
        [
            heading,
            dcc.Graph(
                id=f"graph-{chart.id}",
                figure=figure(
                    release,
                    unit,
                    title,
                    over_time=chart.group_by.over_time,
                    language=current_language(),
                    reference=reference_line(chart.measure, employer),
                ),
                config=GRAPH_CONFIG,
                className="chart-graph",
            ),
            html.P(
                [
                    html.Strong(_("All: ")),
                    cell_text(release.total, unit, release.k),
                    ". ",
                    _explanation(release),
                ],
                className="small muted",
            ),
            html.Details(
                [
                    html.Summary(_("Show the numbers as a table")),
                    html.Div(
                        table(release, unit, group_label(chart.group_by)), className="table-wrap"
                    ),
                ]
            ),
            html.Div(
                [
                    html.Button(
                        _("Download data (CSV)"),
                        id={"type": "csv", "chart": chart.id},
                        className="button button-secondary",
                    ),
                    html.Button(
                        _("Download chart (PNG)"),
                        id={"type": "png", "chart": chart.id},
                        className="button button-secondary",
                    ),
                    dcc.Download(id={"type": "csv-file", "chart": chart.id}),
                ],
                className="actions-row",
            ),
        ],
        className="panel chart",
        **attrs(aria_labelledby=f"title-{chart.id}"),
    )


def budget_notice(budget: Budget | None) -> html.P | None:
    if budget is None:
        return None
    text = _(
        "Privacy budget for new health figures in %(period)s: %(left)s of %(total)s left. "
        "Figures already shown stay available without cost.",
        period=budget.period,
        left=format_decimal(budget.left, "#,##0.##"),
        total=format_decimal(budget.total, "#,##0.##"),
    )
    return html.P(text, className="small muted budget-status")


def _shown_latest(shown: Shown) -> Trend | None:
    """The key figure's trend when its latest cell has a value to show (not refused, not
    fewer than k)."""
    if shown.release is None:
        return None
    latest = trend(shown.release.cells)
    current = latest.current
    return None if current is None or current.suppressed or current.value is None else latest


def key_figure(shown: Shown) -> html.Li:
    chart = shown.chart
    label = html.Span(shown.title, className="stat-label")
    if shown.release is None:
        return html.Li([label, html.Span(shown.refused, className="small")], className="stat")
    unit = MEASURES[chart.measure].unit
    release = shown.release
    latest = _shown_latest(shown)
    if latest is None or latest.current is None:
        return html.Li(
            [label, html.Span(_("fewer than %(k)s people", k=release.k), className="stat-value")],
            className="stat",
        )
    current = latest.current
    parts = [
        label,
        html.Span(format_value(current.value or 0.0, unit), className="stat-value"),
        html.Span(
            _(
                "%(quarter)s, n = %(n)s",
                quarter=current.group.name if current.group else "",
                n=format_decimal(current.n or 0, "#,##0"),
            ),
            className="small muted",
        ),
    ]
    change = latest.change
    if change is not None and latest.previous is not None:
        previous = latest.previous.group.name if latest.previous.group else ""
        parts.append(
            html.Span(
                [
                    html.Span(arrow(change), **attrs(aria_hidden="true")),
                    " ",
                    _(
                        "%(change)s since %(quarter)s",
                        change=format_value(change, "NRS change" if unit == "NRS" else unit)
                        if unit != "share"
                        else format_decimal(change * 100, "+0;-0") + " " + _("points"),
                        quarter=previous,
                    ),
                ],
                className="trend",
            )
        )
    if current.ci is not None:
        parts.append(
            html.Span(
                _(
                    "95%% interval %(low)s to %(high)s",
                    low=format_value(current.ci[0], unit),
                    high=format_value(current.ci[1], unit),
                ),
                className="small muted",
            )
        )
    return html.Li(parts, className="stat")


def overview(figures: list[Shown]) -> list[html.Section]:
    pages = [page for page in PAGES if page.path]
    return [
        html.Section(
            [
                html.H2(_("Key figures")),
                html.Ul([key_figure(shown) for shown in figures], className="stats key-figures"),
                *([] if any(map(_shown_latest, figures)) else [_nothing_to_show_yet()]),
            ],
            className="panel",
        ),
        html.Section(
            [
                html.H2(_("More detail")),
                html.Ul(
                    [
                        html.Li(
                            [
                                dcc.Link(str(page.name), href=page_href(page.path)),
                                ": ",
                                str(page.intro),
                            ]
                        )
                        for page in pages
                    ],
                    className="plain-list",
                ),
            ],
            className="panel",
        ),
    ]


def _nothing_to_show_yet() -> html.P:
    """Why a new or small employer's overview is all "fewer than k": not an error, and what
    changes it. Says nothing a suppressed cell hides (no counts)."""
    return html.P(
        [
            _(
                "No key figure can be shown yet: each stands for fewer people than the minimum "
                "group size. That is usual while few employees have taken part or reported; "
                "the figures appear once enough people are behind them."
            ),
            " ",
            html.A(_("How the figures are protected"), href=url_for("transparency.index")),
        ],
        className="empty-state",
        id="nothing-to-show",
    )


def page_body(
    page: Page, shown: list[Shown], budget: Budget | None, employer: Employer
) -> list[Component]:
    body: list[Component] = [
        html.H2(str(page.name), className="page-title"),
        html.P(str(page.intro), className="lead"),
    ]
    health = any(MEASURES[chart.measure].health for chart in page.charts)
    notice = budget_notice(budget) if health else None
    if notice is not None:
        body.append(notice)
    if page.key_figures:
        body.extend(overview(shown))
    else:
        body.extend(chart_section(item, employer) for item in shown)
    return body
