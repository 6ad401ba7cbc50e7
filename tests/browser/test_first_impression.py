"""A new employer's first five minutes: nothing is there yet, and every start page says why
and what to do next instead of showing blanks or zeros. The HR dashboard keeps the app's
header (navigation, language, account menu), so HR can sign out without leaving it first.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.journey import assert_accessible, sign_in
from tests.conftest import PASSWORD
from wellness.auth.models import Role


def _new_employer(make_employer: Any, make_user: Any) -> dict[str, str]:
    employer = make_employer(name="Neu GmbH", locale="de")
    people = {
        "employee": make_user(Role.EMPLOYEE, employer=employer),
        "hr": make_user(Role.HR, employer=employer),
        "admin": make_user(Role.ADMIN, employer=employer),
    }
    return {role: person.email for role, person in people.items()}


def test_a_new_employer_sees_what_to_do_next(
    live_server, new_page, make_employer, make_user
) -> None:
    emails = _new_employer(make_employer, make_user)
    base = live_server

    employee = new_page()
    sign_in(employee, base, emails["employee"], "/me", password=PASSWORD)
    for section in ("upcoming-title", "enrollments-title", "open-courses-title"):
        assert employee.locator(f"section[aria-labelledby={section}] .empty-state").count() == 1
    assert employee.locator("#last-checkin").count() == 1
    assert_accessible(employee)

    admin = new_page()
    sign_in(admin, base, emails["admin"], "/admin/", password=PASSWORD)
    assert admin.locator("#todo-employees a[href='/admin/employees/import']").count() == 1
    assert admin.locator("#todo-organisation a[href='/admin/organisation']").count() == 1
    assert_accessible(admin)

    hr = new_page()
    sign_in(hr, base, emails["hr"], "/hr/", password=PASSWORD)
    hr.wait_for_selector("#content .key-figures")
    # Every key figure stands for fewer than k people, and the page says why (no counts).
    assert hr.locator("#content .key-figures .stat-value").count() == 5
    hr.wait_for_selector("#nothing-to-show a[href='/transparency']")
    assert hr.locator("nav.main-nav a[aria-current=page][href='/hr/']").count() == 1
    assert_accessible(hr)

    hr.click("header details.user-menu summary")
    assert_accessible(hr)
    hr.click("header details.user-menu form[action='/logout'] button[type=submit]")
    hr.wait_for_url(f"{base}/login")
    hr.goto(f"{base}/hr/")
    hr.wait_for_url(re.compile(r"/login\?next="))
