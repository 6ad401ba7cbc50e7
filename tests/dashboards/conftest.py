"""Drive the Dash callbacks the way the browser does: POSTs to ``_dash-update-component``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wellness.analytics.grid import default_period
from wellness.auth.models import Role
from wellness.db import utcnow
from wellness.i18n import local_today
from wellness.tenants.models import Employer

FILTER_IDS = ("from", "to", "department", "site", "region")


def default_filters() -> dict[str, Any]:
    period = default_period(local_today(utcnow()))
    return {"from": f"{period.first:%Y-%m}", "to": f"{period.last:%Y-%m}", "region": "low_back"}


def render_body(path: str, tenant: object, **filters: Any) -> dict[str, Any]:
    values = {**default_filters(), **filters}
    return {
        "output": "..page-nav.children...content.children..",
        "outputs": [
            {"id": "page-nav", "property": "children"},
            {"id": "content", "property": "children"},
        ],
        "inputs": [
            {"id": "url", "property": "pathname", "value": path},
            *({"id": key, "property": "value", "value": values.get(key)} for key in FILTER_IDS),
        ],
        "state": [{"id": "tenant", "property": "data", "value": tenant}],
        "changedPropIds": ["url.pathname"],
    }


def download_body(chart: str, tenant: object, **filters: Any) -> dict[str, Any]:
    values = {**default_filters(), **filters}
    output_id = {"chart": chart, "type": "csv-file"}
    return {
        "output": '{"chart":["MATCH"],"type":"csv-file"}.data',
        "outputs": {"id": output_id, "property": "data"},
        "inputs": [{"id": {"chart": chart, "type": "csv"}, "property": "n_clicks", "value": 1}],
        "state": [
            *({"id": key, "property": "value", "value": values.get(key)} for key in FILTER_IDS),
            {"id": "tenant", "property": "data", "value": tenant},
        ],
        "changedPropIds": [f'{{"chart":"{chart}","type":"csv"}}.n_clicks'],
    }


@pytest.fixture
def dash_employer(make_employer: Callable[..., Employer]) -> Employer:
    return make_employer(locale="en", name="Dash GmbH")


@pytest.fixture
def hr_dash(dash_employer: Employer, make_user: Callable[..., Any], client: Any, login: Any) -> Any:
    login(client, make_user(Role.HR, employer=dash_employer, locale="en"))
    return client
