"""The HR dashboard in a real browser on the demo data: every page draws its charts, a filter
changes them, suppressed cells are labelled, and the pages are photographed for README.md.

The screenshots in ``docs/screenshots/`` are written by this test from the current code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from dashboards.pages import PAGES
from wellness.demo import DEMO_PASSWORD, seed
from wellness.health.models import PainCheckin
from wellness.tenants.models import Department, Employee, Employer

HR = "hr@musterfirma.example"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", HR)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/hr/")


def _wait_for_page(page: Any, charts: int) -> None:
    page.wait_for_selector("#content .page-title")
    if charts:
        page.wait_for_function(
            "n => document.querySelectorAll('#content .js-plotly-plot .main-svg').length >= n",
            arg=charts,
        )


def _small_department(db: Any) -> None:
    """Three people with check-ins in a department of their own: too few to be shown."""
    employer = db.session.scalars(select(Employer).where(Employer.slug == "musterfirma")).one()
    board = Department(employer_id=employer.id, name="Betriebsrat")
    db.session.add(board)
    db.session.flush()
    reporting = select(PainCheckin.employee_id).distinct()
    people = db.session.scalars(
        select(Employee)
        .where(Employee.employer_id == employer.id, Employee.id.in_(reporting))
        .order_by(Employee.id)
        .limit(3)
    )
    for person in people:
        person.department_id = board.id
    db.session.commit()


def test_hr_opens_every_page_filters_and_sees_labelled_suppression(
    app, db, live_server, new_page
) -> None:
    seed()
    db.session.commit()
    _small_department(db)
    base = live_server
    page = new_page()
    _sign_in(page, base)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    for dashboard_page in PAGES:
        page.goto(f"{base}/hr/{dashboard_page.path}")
        charts = 0 if dashboard_page.key_figures else len(dashboard_page.charts)
        _wait_for_page(page, charts)
        if dashboard_page.key_figures:
            assert page.locator("#content .key-figures .stat").count() == len(dashboard_page.charts)
        name = dashboard_page.path or "overview"
        page.screenshot(path=str(SCREENSHOTS / f"hr-{name}.png"), full_page=True)

    # The department of three is labelled in the chart and the table, never drawn as zero.
    page.goto(f"{base}/hr/pain")
    _wait_for_page(page, 3)
    labels = page.locator("#graph-pain-department .annotation-text").all_text_contents()
    assert "weniger als 10" in labels
    suppressed = page.locator("#content section:has(#graph-pain-department) td.suppressed")
    assert suppressed.count() >= 1

    # A filter: one department's subtree redraws the pain page for it.
    before = page.inner_text("#content")
    page.click("#department")
    page.get_by_role("option", name="Produktion").click()
    page.wait_for_function(
        "text => document.querySelector('#content').innerText !== text", arg=before
    )
    _wait_for_page(page, 1)
    assert "Montage" in page.inner_text("#content")
