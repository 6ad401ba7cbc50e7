"""What the dashboard pages show: only released figures, suppressed cells labelled "fewer than
k" (never zero), refusals in place of the chart, downloads of the same release, every look
audited."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from dashboards.figures import csv_rows, figure, table
from dashboards.pages import CHARTS, PAGES
from tests.analytics.test_measures import department, pain, people
from tests.dashboards.conftest import download_body, render_body
from wellness.analytics.models import PrivacyRelease
from wellness.analytics.privacy import CellOut, Group, Release
from wellness.audit.models import AuditEvent
from wellness.extensions import db
from wellness.health.models import BodyRegion
from wellness.tenants.models import Employer

pytestmark = pytest.mark.usefixtures("english")


def _render(client: Any, path: str, tenant: int, **filters: Any) -> str:
    response = client.post("/hr/_dash-update-component", json=render_body(path, tenant, **filters))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def _staff(employer: Employer) -> tuple[Any, Any]:
    big = department(employer, "Assembly")
    small = department(employer, "Board")
    pain(people(employer, 30, big), 4)
    pain(people(employer, 3, small), 9)
    return big, small


def test_every_page_renders_and_labels_the_small_department(hr_dash, dash_employer):
    _staff(dash_employer)
    for page in PAGES:
        html = _render(hr_dash, f"/hr/{page.path}", dash_employer.id)
        assert str(page.name) in html
        for chart in page.charts:
            assert chart.heading(BodyRegion.LOW_BACK) in html
    pain_page = _render(hr_dash, "/hr/pain", dash_employer.id)
    assert "fewer than 10 people" in pain_page
    assert "Board" in pain_page


def test_a_refused_filter_says_why_and_keeps_what_was_released_before(hr_dash, dash_employer):
    big, _ = _staff(dash_employer)
    html = _render(hr_dash, "/hr/pain", dash_employer.id, department=big.id)
    assert "leave fewer than 10 people outside" in html
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "hr.analytics_viewed")
    ).all()
    details = [json.loads(event.details or "{}") for event in events]
    assert {d["channel"] for d in details} == {"dashboard"}
    assert all(d.get("refused") for d in details if d["department"] == big.id)


def test_releases_are_stored_once_and_reused_on_the_next_view(hr_dash, dash_employer):
    _staff(dash_employer)
    _render(hr_dash, "/hr/pain", dash_employer.id)
    count = select(func.count()).select_from(PrivacyRelease)
    stored = db.session.scalar(count)
    assert stored == 3
    _render(hr_dash, "/hr/pain", dash_employer.id)
    assert db.session.scalar(count) == stored


def test_budget_spent_is_explained_in_place_of_the_chart(hr_dash, dash_employer):
    _staff(dash_employer)
    dash_employer.dp_epsilon_per_period = 1.0
    db.session.commit()
    html = _render(hr_dash, "/hr/pain", dash_employer.id)
    assert "privacy budget for new health figures is used up" in html


def test_csv_download_is_the_shown_release_formula_safe_and_audited(hr_dash, dash_employer):
    company = department(dash_employer, "=HYPERLINK(1)")
    pain(people(dash_employer, 12, company), 5)
    pain(people(dash_employer, 3), 5)
    body = download_body("pain-department", dash_employer.id)

    response = hr_dash.post("/hr/_dash-update-component", json=body)

    assert response.status_code == 200
    data = response.get_json()["response"][
        json.dumps({"chart": "pain-department", "type": "csv-file"}, separators=(",", ":"))
    ]["data"]
    assert data["filename"].startswith("pain-department_")
    text = base64.b64decode(data["content"]).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    assert "fewer than 10 people" in text
    assert "No department" in text
    channels = [
        json.loads(event.details or "{}")["channel"]
        for event in db.session.scalars(select(AuditEvent))
        if event.action == "hr.analytics_viewed"
    ]
    assert channels == ["download"]


def _release(*cells: CellOut) -> Release:
    total = CellOut(None, 40, 4.0, False, (3.0, 5.0))
    return Release(10, total, list(cells), True, 1.0, False, 5.0)


def test_a_suppressed_cell_is_never_drawn_as_zero():
    shown = CellOut(Group("1", "Assembly"), 30, 4.2, False, (3.5, 4.9))
    hidden = CellOut(Group("2", "Board"), None, None, True, None)
    release = _release(shown, hidden)
    fig = figure(release, "NRS", "Pain", over_time=False, language="en")
    rows = csv_rows(release, "Department")
    html = str(table(release, "NRS", "Department"))
    assert list(fig.data[0].y) == [4.2, None]
    assert [a.text for a in fig.layout.annotations] == ["fewer than 10"]
    assert rows[2] == ["Board", None, None, None, None, "fewer than 10 people"]
    assert "fewer than 10" in html
    assert fig.layout.yaxis.title.text == "Pain (NRS 0-10)"


def test_every_chart_is_on_exactly_one_page():
    ids = [chart.id for page in PAGES for chart in page.charts if not page.key_figures]
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(CHARTS)
