"""The employee's health tools in a real browser against a real server, on the demo data: fill
the workstation checklist, request a measure from an item to fix, log pain and a training
session, and see the trend chart drawn; then the demo admin takes the measure to "done".

Selectors use URLs, element ids, names and values rather than visible text, so the test does
not depend on the translations.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from wellness.auth.models import User
from wellness.demo import DEMO_PASSWORD, seed
from wellness.health.models import ErgonomicMeasure, MeasureStatus
from wellness.tenants.models import Employee

EMPLOYEE = "employee@musterfirma.example"
ADMIN = "admin@musterfirma.example"


def _sign_in(page: Any, base: str, email: str, lands_on: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


def _fill_checklist(page: Any, base: str) -> None:
    page.click('nav.main-nav a[href="/me/checklists"]')
    page.wait_for_url(f"{base}/me/checklists")
    page.goto(f"{base}/me/checklists/screen-workstation")
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


def test_employee_uses_the_health_tools_and_the_admin_completes_the_measure(
    app, db, live_server, new_page
) -> None:
    seed()
    db.session.commit()
    base = live_server
    page = new_page()
    _sign_in(page, base, EMPLOYEE, "/me")

    _fill_checklist(page, base)
    request_link = page.locator('main a[href$="/items/chair_height/measure"]')
    assert request_link.count() == 1, "the chair is listed as an item to fix"
    request_link.click()
    page.wait_for_url(re.compile(r"/items/chair_height/measure$"))
    page.click("main form.form button[type=submit]")
    page.wait_for_url(f"{base}/me/checklists/measures")
    assert page.locator(".flash-success").count() == 1

    page.click('nav.main-nav a[href="/me/pain"]')
    page.wait_for_url(f"{base}/me/pain")
    page.check('#region-low_back input[value="6"]')
    page.check('#region-neck input[value="3"]')
    page.click("#pain-checkin button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1

    page.goto(f"{base}/me/training/new")
    page.fill("#bridge_sets", "3")
    page.fill("#bridge_reps", "12")
    page.click("#training-log button[type=submit]")
    page.wait_for_url(re.compile(r"/me/pain/trend"))  # training is shown next to the pain
    assert page.locator(".flash-success").count() == 1
    page.wait_for_selector("#pain-trend-chart .main-svg")  # Plotly drew the chart
    assert page.locator("#trend-title ~ * table, #trend-title ~ table").count() >= 1, (
        "the chart has the same numbers as a table next to it"
    )

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
    for step in ("approved", "ordered", "done"):
        admin.goto(f"{base}/admin/measures/{measure_id}")
        form = admin.locator(f'main form:has(input[name=form][value="{step}"])')
        form.locator("button[type=submit]").click()
        admin.wait_for_load_state()
        assert admin.locator(".flash-success").count() == 1, step
    db.session.expire_all()
    assert db.session.get(ErgonomicMeasure, measure_id).status == MeasureStatus.DONE.value
