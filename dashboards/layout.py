"""The dashboard's frame, built per request so it speaks the HR user's language and offers
only their own employer's departments and sites: header, page navigation and the filters."""

from __future__ import annotations

from datetime import date
from typing import Any

from dash import dcc, html
from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from dashboards.pages import PAGES, Page
from wellness.analytics import calendar_periods
from wellness.analytics.grid import MAX_MONTHS, add_months, month_start
from wellness.analytics.measures import DEFAULT_REGION
from wellness.auth.guards import current_employer_id, tenant_select
from wellness.auth.scopes import allowed_scopes
from wellness.db import utcnow
from wellness.extensions import db
from wellness.health.checkins import REGION_LABELS
from wellness.i18n import current_language, local_today
from wellness.navigation import navigation_for
from wellness.tenants.models import Department, Site

PREFIX = "/hr/"


def attrs(**values: str) -> Any:
    """Dashed attributes (``aria_label`` -> ``aria-label``), which Dash takes only as ``**``."""
    return {key.replace("_", "-"): value for key, value in values.items()}


def months(today: date) -> list[date]:
    """The months a period may start or end in, newest first."""
    latest = month_start(today)
    return [add_months(latest, -i) for i in range(MAX_MONTHS)]


def _month_options(today: date) -> list[dict[str, str]]:
    return [{"label": format_date(m, "MMMM y"), "value": f"{m:%Y-%m}"} for m in months(today)]


def _department_options() -> list[dict[str, str | int]]:
    """The department tree flattened in reading order, children indented under their parent."""
    departments = list(db.session.scalars(tenant_select(Department)))
    children: dict[int | None, list[Department]] = {}
    for dept in sorted(departments, key=lambda d: (d.name, d.id)):
        children.setdefault(dept.parent_id, []).append(dept)
    options: list[dict[str, str | int]] = []

    def walk(parent: int | None, depth: int, seen: set[int]) -> None:
        for dept in children.get(parent, []):
            if dept.id in seen:
                continue
            seen.add(dept.id)
            options.append({"label": "\u2003" * depth + dept.name, "value": dept.id})
            walk(dept.id, depth + 1, seen)

    walk(None, 0, set())
    return options


def _site_options() -> list[dict[str, str | int]]:
    sites = db.session.scalars(tenant_select(Site).order_by(Site.name, Site.id))
    return [{"label": site.name, "value": site.id} for site in sites]


def page_href(path: str) -> str:
    return PREFIX + path


def navigation(pathname: str | None) -> list[html.Li]:
    """Links that keep the filters (``dcc.Link`` navigates without reloading); ``dcc.Link``
    takes no ``aria-current``, so the current page says so in hidden text."""
    current = (pathname or PREFIX).removeprefix(PREFIX).strip("/")

    def label(page: Page) -> list[str | html.Span]:
        if page.path != current:
            return [str(page.name)]
        return [str(page.name), html.Span(_(" (current page)"), className="visually-hidden")]

    return [
        html.Li(
            dcc.Link(
                label(page),
                href=page_href(page.path),
                className="current" if page.path == current else "",
            )
        )
        for page in PAGES
    ]


def _dropdown_labels() -> dcc.Dropdown.Labels:
    """The dropdown's own texts (its search field, "no options"), which Dash has only in
    English."""
    return {
        "select_all": _("Select all"),
        "deselect_all": _("Deselect all"),
        "selected_count": _("{num_selected} selected"),
        "search": _("Search"),
        "clear_search": _("Clear search"),
        "clear_selection": _("Clear selection"),
        "no_options_found": _("No options found"),
    }


def _filter(label: str, name: str, **dropdown: Any) -> html.Div:
    # The label's id names the dropdown's popup too (dashboards/assets/dropdowns.js).
    return html.Div(
        [
            html.Label(label, htmlFor=name, id=f"{name}-label"),
            dcc.Dropdown(id=name, labels=_dropdown_labels(), **dropdown),
        ],
        className="field",
    )


LANGUAGES = (("de", "Deutsch"), ("en", "English"))


def language_switch() -> html.Form:
    """The same language switch as every other page's header (templates/base.html); ``next``
    follows the dashboard page shown (a clientside callback, dashboards/assets/charts.js)."""
    current = current_language()
    return html.Form(
        [
            _csrf_field(),
            dcc.Input(type="hidden", name="next", id="language-next", value=PREFIX),
            html.Span(_("Language"), id="language-label", className="visually-hidden"),
            html.Div(
                [
                    html.Button(
                        [
                            html.Span(code.upper(), **attrs(aria_hidden="true")),
                            html.Span(label, className="visually-hidden"),
                        ],
                        type="submit",
                        name="locale",
                        value=code,
                        lang=code,
                        title=label,
                        className="language-option",
                        **(attrs(aria_current="true") if code == current else {}),
                    )
                    for code, label in LANGUAGES
                ],
                className="language-options",
                role="group",
                **attrs(aria_labelledby="language-label"),
            ),
        ],
        method="post",
        action=url_for("auth.set_language"),
        className="language-switch",
    )


def _csrf_field() -> dcc.Input:
    return dcc.Input(type="hidden", name="csrf_token", value=generate_csrf())


def _user_menu() -> list[html.Details]:
    """The account menu of every other page's header (templates/base.html): account, API
    tokens, mails and signing out, which HR would otherwise have to leave the dashboard for."""
    if not current_user.is_authenticated:
        return []
    links = [(_("My account"), url_for("auth.account"))]
    if allowed_scopes(current_user):
        links.append((_("API tokens"), url_for("tokens.index")))
    links.append((_("Mails"), url_for("outbox.index")))
    sign_out = html.Form(
        [_csrf_field(), html.Button(_("Sign out"), type="submit", className="link-button")],
        method="post",
        action=url_for("auth.logout"),
    )
    return [
        html.Details(
            [
                html.Summary(
                    [
                        html.Span(_("Account menu for") + " ", className="visually-hidden"),
                        current_user.name,
                    ]
                ),
                html.Ul(
                    [html.Li(html.A(label, href=href)) for label, href in links]
                    + [html.Li(sign_out)],
                    className="user-menu-list",
                ),
            ],
            className="user-menu",
        )
    ]


def _main_navigation() -> list[html.Nav]:
    """The role's navigation, as on every other page, with the dashboard marked current."""
    items = navigation_for()
    if not items:
        return []
    return [
        html.Nav(
            html.Ul(
                [
                    html.Li(
                        html.A(
                            str(item.label),
                            href=item.url,
                            **(attrs(aria_current="page") if item.prefix == PREFIX else {}),
                        )
                    )
                    for item in items
                ],
                className="container",
            ),
            className="main-nav",
            **attrs(aria_label=_("Main navigation")),
        )
    ]


def _header() -> html.Header:
    return html.Header(
        [
            html.Div(
                [
                    html.A("wellness", href="/", className="brand"),
                    html.Div([language_switch(), *_user_menu()], className="header-tools"),
                ],
                className="header-bar container",
            ),
            *_main_navigation(),
        ],
        className="site-header",
    )


def layout() -> html.Div:
    """The frame; Dash also builds it once outside any user's request to check the callbacks'
    ids, and then gets it without departments, sites or employer."""
    employer_id = getattr(current_user, "employer_id", None)
    today = local_today(utcnow())
    # Exact figures (participation, budget) are given for calendar periods only.
    period = calendar_periods.current_year(today)
    month_options = _month_options(today)
    filters = html.Section(
        [
            html.H2(_("Filters"), className="visually-hidden"),
            _filter(
                _("From"),
                "from",
                options=month_options,
                value=f"{period.first:%Y-%m}",
                clearable=False,
            ),
            _filter(
                _("To"),
                "to",
                options=month_options,
                value=f"{period.last:%Y-%m}",
                clearable=False,
            ),
            _filter(
                _("Department (with its sub-departments)"),
                "department",
                options=_department_options() if employer_id else [],
                placeholder=_("All departments"),
            ),
            _filter(
                _("Site"),
                "site",
                options=_site_options() if employer_id else [],
                placeholder=_("All sites"),
            ),
            _filter(
                _("Body region (pain figures)"),
                "region",
                options=[
                    {"label": str(label), "value": region.value}
                    for region, label in REGION_LABELS.items()
                ],
                value=DEFAULT_REGION.value,
                clearable=False,
            ),
        ],
        className="dashboard-filters filter-grid panel",
        **attrs(aria_label=_("Filters")),
    )
    return html.Div(
        [
            dcc.Location(id="url"),
            # The employer this page was built for: every callback checks it is still the
            # signed-in user's, so a page (or a crafted request) cannot ask about another.
            dcc.Store(id="tenant", data=employer_id),
            html.A(_("Skip to content"), href="#content", className="skip-link"),
            _header(),
            html.Main(
                [
                    html.H1(_("HR dashboard")),
                    html.Nav(
                        html.Ul(id="page-nav", className="dashboard-nav"),
                        **attrs(aria_label=_("Dashboard pages")),
                    ),
                    filters,
                    dcc.Loading(html.Div(id="content", tabIndex="-1"), type="dot"),
                ],
                className="container dashboard",
            ),
        ]
    )


def known_months(today: date) -> set[str]:
    return {f"{m:%Y-%m}" for m in months(today)}


def department_ids() -> set[int]:
    return set(
        db.session.scalars(
            select(Department.id).where(Department.employer_id == current_employer_id())
        )
    )


def site_ids() -> set[int]:
    return set(db.session.scalars(select(Site.id).where(Site.employer_id == current_employer_id())))
