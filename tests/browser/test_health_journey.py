"""The employee's health tools in a real browser against a real server, on the demo data: fill
the workstation checklist (first sent empty, to see the errors), read the result, request a
measure from an item to fix, log pain and a training session, see the trend chart drawn with a
table of the same figures as its text alternative, and find the session in the training log;
then the demo admin takes the measure to "done". Every page passes axe (WCAG 2.1 AA) and the
employee's pages do not scroll sideways at 375 px. Takes the README screenshots
employee-checklist and employee-pain.

Selectors use URLs, element ids, names and values rather than visible text, so the test does
not depend on the translations.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from tests.browser.journey import (
    PHONE_WIDTH,
    assert_accessible,
    assert_fits_phone,
    screenshot,
    sign_in,
)
from wellness.auth.models import User
from wellness.db import utcnow
from wellness.health.models import ErgonomicMeasure, MeasureStatus
from wellness.i18n import local_today
from wellness.tenants.models import Employee

EMPLOYEE = "employee@musterfirma.example"
ADMIN = "admin@musterfirma.example"


def _sign_in(page: Any, base: str, email: str, lands_on: str) -> None:
    sign_in(page, base, email, lands_on)


def _fill_checklist(page: Any, base: str) -> None:
    page.click('nav.main-nav a[href="/me/checklists"]')
    page.wait_for_url(f"{base}/me/checklists")
    assert_accessible(page)
    page.goto(f"{base}/me/checklists/screen-workstation")
    assert_accessible(page)
    page.click("main form.form button[type=submit]")  # nothing answered yet
    page.wait_for_selector("#form-problems")
    assert page.url == f"{base}/me/checklists/screen-workstation"
    assert page.locator("#form-problems li a").count() >= 1, "each problem links to its question"
    assert page.locator(".field-invalid").count() >= 1
    assert_accessible(page)  # the form showing its errors
    page.locator("#workplace input[type=radio]").first.check()
    questions = page.locator('main form fieldset[id^="q-"]')
    for n in range(questions.count()):
        question = questions.nth(n)
        yes = question.locator('input[type=radio][value="yes"]')
        (yes if yes.count() else question.locator("input[type=radio]").first).check()
    page.check("#answer-chair_height-no")  # the chair cannot be adjusted: something to fix
    page.fill("#answer-screen_diagonal", "24")
    page.fill("#answer-viewing_distance", "65")
    page.click("main form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/me/checklists/results/\d+$"))


def _number(text: str) -> float:
    """A figure as the German page writes it: ``5,5`` or ``1.234,5``."""
    return float(text.strip().replace(".", "").replace(",", "."))


def _check_trend_table_matches_chart(page: Any) -> None:
    """The table next to the chart is its text alternative: the same figures, row by row."""
    chart = page.locator("#pain-trend-chart")
    assert chart.get_attribute("role") == "img"
    assert chart.get_attribute("aria-label"), "the chart is named and points to the table"
    table = page.locator("#pain-trend-chart ~ .table-wrap table")
    assert table.count() == 1, "the chart has the same numbers as a table next to it"
    figure = json.loads(page.locator("#pain-trend-data").text_content())
    bars, *lines = figure["data"]
    assert lines, "the chart draws pain per region"
    assert table.locator("thead th").count() == 1 + len(lines) + 1
    body = table.locator("tbody tr")
    assert body.count() == len(bars["x"]) > 0
    for i in range(body.count()):
        cells = body.nth(i).locator("td")
        assert cells.count() == len(lines) + 1
        for j, line in enumerate(lines):
            expected = line["y"][i]
            cell = cells.nth(j)
            if expected is None:
                assert cell.locator(".visually-hidden").count() == 1, "a gap is named, not 0"
            else:
                assert abs(_number(cell.inner_text()) - expected) < 0.051, (i, line["name"])
        assert abs(_number(cells.nth(len(lines)).inner_text()) - bars["y"][i]) < 0.051


def test_employee_uses_the_health_tools_and_the_admin_completes_the_measure(
    db, demo_site, new_page
) -> None:
    base = demo_site
    page = new_page()
    _sign_in(page, base, EMPLOYEE, "/me")

    _fill_checklist(page, base)
    result_url = page.url
    assert page.locator(".flash-success").count() == 1
    assert page.locator(".result-stats .stat").count() == 2
    assert_accessible(page)
    request_link = page.locator('main a[href$="/items/chair_height/measure"]')
    assert request_link.count() == 1, "the chair is listed as an item to fix"
    screenshot(page, "employee-checklist")
    request_link.click()
    page.wait_for_url(re.compile(r"/items/chair_height/measure$"))
    assert_accessible(page)
    page.click("main form.form button[type=submit]")
    page.wait_for_url(f"{base}/me/checklists/measures")
    assert page.locator(".flash-success").count() == 1
    assert page.locator("main .card-list .card .badge-warning").count() >= 1, "requested"
    assert_accessible(page)
    page.goto(result_url)
    chair = page.locator("main .card", has=page.locator('a[href$="/items/chair_height/measure"]'))
    assert chair.locator(".badge-warning").count() == 1, "the result shows the open request"

    page.click('nav.main-nav a[href="/me/pain"]')
    page.wait_for_url(f"{base}/me/pain")
    assert_accessible(page)
    page.check('#region-low_back input[value="6"]')
    page.check('#region-neck input[value="3"]')
    page.click("#pain-checkin button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1
    page.wait_for_url(re.compile(r"/me/pain/trend"))
    page.wait_for_selector("#pain-trend-chart .main-svg")
    today = local_today(utcnow()).isoformat()  # the day in Germany, as the server counts
    recent = page.locator(f'#recent-title ~ .table-wrap tbody th time[datetime="{today}"]')
    assert recent.count() == 1, "today's check-in heads the recent check-ins"
    _check_trend_table_matches_chart(page)
    assert_accessible(page)
    screenshot(page, "employee-pain")

    page.goto(f"{base}/me/training/new")
    assert_accessible(page)
    page.fill("#bridge_sets", "3")
    page.fill("#bridge_reps", "12")
    page.click("#training-log button[type=submit]")
    page.wait_for_url(re.compile(r"/me/pain/trend"))  # training is shown next to the pain
    assert page.locator(".flash-success").count() == 1
    page.wait_for_selector("#pain-trend-chart .main-svg")  # Plotly drew the chart
    assert page.locator("#trend-title ~ * table, #trend-title ~ table").count() >= 1, (
        "the chart has the same numbers as a table next to it"
    )
    _check_trend_table_matches_chart(page)
    page.click('main a[href="/me/pain/trend?period=week"]')
    page.wait_for_url(re.compile(r"period=week"))
    page.wait_for_selector("#pain-trend-chart .main-svg")
    _check_trend_table_matches_chart(page)
    assert_accessible(page)

    page.goto(f"{base}/me/training")
    logged = page.locator(
        "#log-title ~ .table-wrap tbody tr", has=page.locator(f'time[datetime="{today}"]')
    )
    assert logged.count() == 1, "the session is in the training log"
    assert "3" in logged.locator("td").first.inner_text()
    assert "12" in logged.locator("td").first.inner_text()
    assert_accessible(page)

    phone = new_page(width=PHONE_WIDTH, height=800)
    _sign_in(phone, base, EMPLOYEE, "/me")
    measure_url = result_url + "/items/chair_height/measure"
    for url in (
        f"{base}/me/checklists",
        f"{base}/me/checklists/screen-workstation",
        result_url,
        measure_url,
        f"{base}/me/checklists/measures",
        f"{base}/me/pain",
        f"{base}/me/pain/trend",
        f"{base}/me/training/new",
        f"{base}/me/training",
    ):
        phone.goto(url)
        assert phone.url == url
        if "/pain/trend" in url:
            phone.wait_for_selector("#pain-trend-chart .main-svg")
        assert_fits_phone(phone)

    employee_id = db.session.scalar(
        select(Employee.id).join(User, User.id == Employee.user_id).where(User.email == EMPLOYEE)
    )
    measure_id = db.session.scalar(
        select(ErgonomicMeasure.id)
        .where(ErgonomicMeasure.employee_id == employee_id)
        .order_by(ErgonomicMeasure.id.desc())
    )
    admin = new_page()
    _sign_in(admin, base, ADMIN, "/admin/")
    admin.click('nav.main-nav a[href="/admin/measures"]')
    admin.wait_for_url(f"{base}/admin/measures")
    assert_accessible(admin)
    for step in ("approved", "ordered", "done"):
        admin.goto(f"{base}/admin/measures/{measure_id}")
        form = admin.locator(f'main form:has(input[name=form][value="{step}"])')
        form.locator("button[type=submit]").click()
        admin.wait_for_load_state()
        assert admin.locator(".flash-success").count() == 1, step
    assert_accessible(admin)
    db.session.expire_all()
    assert db.session.get(ErgonomicMeasure, measure_id).status == MeasureStatus.DONE.value
