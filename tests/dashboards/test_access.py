"""Every Dash route and callback: anonymous 401 or login, employee and provider 403, HR of
another employer 403 (the callbacks check the page's employer), HR and admin of the employer 200.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.dashboards.conftest import download_body, render_body
from wellness.auth.models import Role
from wellness.tenants.models import Employer

XHR_ROUTES = ["/hr/_dash-layout", "/hr/_dash-dependencies", "/hr/_reload-hash"]
PAGES = [
    "/hr/",
    "/hr/pain",
    "/hr/assets/charts.js",
    "/hr/_favicon.ico",
]
#: Dash's own scripts: refused before Dash looks for the file.
SCRIPT = "/hr/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m1.js"


@pytest.fixture
def other(make_employer: Callable[..., Employer]) -> Employer:
    return make_employer(locale="en", name="Andere AG")


def _signed_in(client: Any, login: Any, make_user: Any, role: Role, **fields: Any) -> Any:
    login(client, make_user(role, locale="en", **fields))
    return client


def _status(client: Any, url: str) -> int:
    """GET and close: asset responses hold an open file until closed."""
    response = client.get(url)
    response.close()
    return int(response.status_code)


def _callbacks(client: Any, tenant: object) -> list[int]:
    return [
        client.post("/hr/_dash-update-component", json=render_body("/hr/", tenant)).status_code,
        client.post(
            "/hr/_dash-update-component", json=download_body("pain-quarter", tenant)
        ).status_code,
    ]


def test_anonymous_gets_401_for_dash_routes_and_the_login_for_pages(client, dash_employer):
    for url in [*XHR_ROUTES, SCRIPT]:
        assert client.get(url).status_code == 401, url
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login"), url
    assert _callbacks(client, dash_employer.id) == [401, 401]


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.PROVIDER, Role.OPERATOR])
def test_other_roles_get_403_everywhere(
    client, login, make_user, make_provider, dash_employer, role
):
    fields: dict[str, Any] = {"employer": dash_employer}
    if role is Role.PROVIDER:
        fields = {"provider": make_provider()}
    elif role is Role.OPERATOR:
        fields = {}
    _signed_in(client, login, make_user, role, **fields)
    for url in [*XHR_ROUTES, *PAGES, SCRIPT]:
        assert _status(client, url) == 403, url
    assert _callbacks(client, dash_employer.id) == [403, 403]


def test_hr_of_another_employer_gets_403_from_callbacks_about_this_one(
    client, login, make_user, dash_employer, other
):
    _signed_in(client, login, make_user, Role.HR, employer=other)
    assert _callbacks(client, dash_employer.id) == [403, 403]
    # Their own dashboard works, and knows nothing of the other employer.
    assert _callbacks(client, other.id)[0] == 200
    layout = client.get("/hr/_dash-layout").get_data(as_text=True)
    assert "Dash GmbH" not in layout


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admin_of_the_employer_get_200(client, login, make_user, dash_employer, role):
    _signed_in(client, login, make_user, role, employer=dash_employer)
    scripts = re.findall(r'src="(/hr/_dash-component-suites/[^"]+)"', client.get("/hr/").text)
    assert scripts
    for url in [*XHR_ROUTES, *PAGES, *scripts]:
        assert _status(client, url) == 200, url
    assert _status(client, "/hr/_dash-component-suites/dash/nothing.v1m1.js") == 404
    assert _callbacks(client, dash_employer.id)[0] == 200


def test_crafted_filter_values_are_refused(hr_dash, dash_employer, other):
    from tests.analytics.test_measures import department

    foreign = department(other, "Foreign")
    for filters in ({"department": foreign.id}, {"site": 999_999}, {"from": "1999-01"}):
        body = render_body("/hr/pain", dash_employer.id, **filters)
        assert hr_dash.post("/hr/_dash-update-component", json=body).status_code == 400, filters
