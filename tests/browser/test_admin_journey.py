"""The employer admin's journey in a real browser on the demo data (Musterfirma).

The admin lands on /admin/ and follows its "what to do next" list: decides a requested
ergonomic measure and opens a course offering (the list shrinks), imports an employee from a
CSV file (a file with one bad row first: the row error is shown and nothing is stored), finds
the new employee in the directory, adds a department and a site, opens a checklist, changes
the privacy settings (a group size below 5 is refused and changes nothing) and finds every
one of those actions in the audit log and in its CSV download. Every page and error state
passes axe in German; the start page and the settings read in English; every page fits a
375 px phone, including a measure titled with one long German compound.

Selectors use URLs, ids and structure rather than visible text, so the test does not depend
on the translations.
"""

from __future__ import annotations

import csv
import io
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
from wellness.health.models import ErgonomicMeasure, MeasureStatus
from wellness.tenants.models import Employer

ADMIN = "admin@musterfirma.example"
NEW_NUMBER = "MF-99001"
NEW_SURNAME = "Zimmermann-Testfall"
HEADER = "Personalnummer;Vorname;Nachname;E-Mail;Abteilung;Standort"
GOOD_ROW = f"{NEW_NUMBER};Jana;{NEW_SURNAME};jana.zt@musterfirma.example;IT;Zentrale Köln"
SAVE_SUBSIDY = "main form:has(input[name=form][value=subsidy]) button[type=submit]"
BAD_ROW = "MF-99002;Ole;Fehler;ole.fehler@musterfirma.example;IT;Werk Atlantis"


def _number(page: Any, selector: str) -> int:
    """The first whole number in an element's text (figures use German digit grouping)."""
    text = page.locator(selector).inner_text().replace(".", "")
    found = re.search(r"\d+", text)
    assert found, f"no number in {selector}: {text!r}"
    return int(found.group())


def _flash_success(page: Any) -> None:
    assert page.locator(".flash-success").count() == 1, page.url
    assert page.locator(".flash-error").count() == 0, page.url


def _upload(page: Any, name: str, rows: list[str]) -> None:
    content = "\n".join([HEADER, *rows]).encode("utf-8")
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    page.click("main form button[name=step][value=preview]")
    page.wait_for_load_state()


def _decide_a_measure(page: Any, base: str) -> None:
    """From the start page's to-do list to a requested measure, approved."""
    waiting = _number(page, "#todo-requested")
    page.click("#todo-requested a")
    page.wait_for_url(f"{base}/admin/measures?status=requested")
    assert page.locator("#filter-status").input_value() == "requested"
    assert _number(page, ".result-count") == waiting
    assert_accessible(page)
    href = page.locator("main table tbody tr td:nth-child(2) a").first.get_attribute("href")
    page.click(f'main table a[href="{href}"]')
    page.wait_for_url(f"{base}{href}")
    steps = page.locator("section[aria-labelledby=history-title] li").count()
    assert page.locator("main input[name=form][value=approved]").count() == 1
    assert_accessible(page)
    page.click("main form:has(input[name=form][value=approved]) button[type=submit]")
    page.wait_for_url(f"{base}{href}")
    _flash_success(page)
    assert page.locator("section[aria-labelledby=history-title] li").count() == steps + 1
    assert page.locator("main input[name=form][value=approved]").count() == 0
    assert page.locator("main input[name=form][value=ordered]").count() == 1
    assert_accessible(page)
    page.goto(f"{base}/admin/")
    assert _number(page, "#todo-requested") == waiting - 1


def _manage_an_offering(page: Any, base: str) -> None:
    """Change an open offering's subsidy, close it (the to-do list asks to open it) and open
    it again from the to-do list. In the demo every offering starts open."""
    assert page.locator("#todo-offerings").count() == 0
    page.click('nav.main-nav a[href="/admin/offerings/"]')
    page.wait_for_url(f"{base}/admin/offerings/")
    assert_accessible(page)
    href = page.locator("main table tbody tr td:first-child a").first.get_attribute("href")
    page.click(f'main table td:first-child a[href="{href}"]')
    page.wait_for_url(f"{base}{href}")
    assert_accessible(page)
    subsidy = "25,00" if page.locator("#subsidy-subsidy_eur").input_value() == "20,00" else "20,00"
    page.fill("#subsidy-subsidy_eur", subsidy)
    page.click(SAVE_SUBSIDY)
    page.wait_for_url(f"{base}{href}")
    _flash_success(page)
    assert page.locator("#subsidy-subsidy_eur").input_value() == subsidy

    # More than the price is refused at the field.
    page.fill("#subsidy-subsidy_eur", "100000,00")
    page.click(SAVE_SUBSIDY)
    page.wait_for_load_state()
    assert page.locator("#subsidy-subsidy_eur[aria-invalid=true]").count() == 1
    assert page.locator("#subsidy-subsidy_eur-errors").count() == 1
    assert_accessible(page)

    page.goto(f"{base}{href}")
    page.click("main form:has(input[name=form][value=close]) button[type=submit]")
    page.wait_for_url(f"{base}{href}")
    _flash_success(page)
    assert page.locator("main input[name=form][value=close]").count() == 0
    assert_accessible(page)

    page.goto(f"{base}/admin/")
    assert _number(page, "#todo-offerings") == 1
    page.click("#todo-offerings a")
    page.wait_for_url(f"{base}/admin/offerings/?open=not_open")
    assert page.locator("#filter-open").input_value() == "not_open"
    assert page.locator("main table tbody tr").count() == 1
    assert page.locator(f'main table td:first-child a[href="{href}"]').count() == 1
    assert_accessible(page)
    page.click(f'main table td:first-child a[href="{href}"]')
    page.wait_for_url(f"{base}{href}")
    page.fill("#subsidy-subsidy_eur", subsidy)
    page.click(SAVE_SUBSIDY)
    page.wait_for_url(f"{base}{href}")
    _flash_success(page)
    assert page.locator("main input[name=form][value=close]").count() == 1
    page.goto(f"{base}/admin/")
    assert page.locator("#todo-offerings").count() == 0


def _import_an_employee(page: Any, base: str) -> None:
    page.click('nav.main-nav a[href="/admin/employees"]')
    page.wait_for_url(f"{base}/admin/employees")
    total = _number(page, ".result-count")
    assert_accessible(page)
    page.click('main a[href="/admin/employees/import"]')
    page.wait_for_url(f"{base}/admin/employees/import")
    assert_accessible(page)

    _upload(page, "mitarbeitende.csv", [GOOD_ROW, BAD_ROW])
    errors = page.locator("section.panel-error table tbody tr")
    assert errors.count() == 1
    assert errors.first.locator("td").nth(0).inner_text().strip() == "3"
    assert errors.first.locator("td").nth(1).inner_text().strip() == "Standort"
    assert "Werk Atlantis" in errors.first.locator("td").nth(2).inner_text()
    assert page.locator("main button[name=step][value=confirm]").count() == 0
    assert_accessible(page)

    _upload(page, "mitarbeitende.csv", [GOOD_ROW])
    preview = page.locator("section[aria-labelledby=preview-title] table tbody")
    assert NEW_NUMBER in preview.inner_text()
    assert_accessible(page)
    page.click("main button[name=step][value=confirm]")
    page.wait_for_url(f"{base}/admin/employees")
    _flash_success(page)
    assert _number(page, ".result-count") == total + 1

    page.fill("#q", NEW_SURNAME)
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/employees\?q="))
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1
    assert NEW_SURNAME in rows.first.inner_text()
    assert NEW_NUMBER in rows.first.inner_text()
    assert_accessible(page)


def _extend_the_organisation(page: Any, base: str) -> None:
    page.click('nav.main-nav a[href="/admin/organisation"]')
    page.wait_for_url(f"{base}/admin/organisation")
    assert_accessible(page)
    parent = page.locator("#department-parent_id option").filter(has_text="Produktion").first
    page.fill("#department-name", "Qualitätssicherung")
    page.select_option("#department-parent_id", parent.get_attribute("value"))
    page.click("main form:has(input[name=form][value=department]) button[type=submit]")
    page.wait_for_url(f"{base}/admin/organisation")
    _flash_success(page)
    assert page.locator("ul.tree li", has_text="Qualitätssicherung").count() == 1

    page.fill("#site-name", "Werk Leipzig")
    page.fill("#site-city", "Leipzig")
    page.click("main form:has(input[name=form][value=site]) button[type=submit]")
    page.wait_for_url(f"{base}/admin/organisation")
    _flash_success(page)
    assert page.locator("section[aria-labelledby=sites-title] li", has_text="Werk Leipzig").count()

    # A duplicate name is refused at the field and stored nowhere.
    page.fill("#site-name", "Werk Leipzig")
    page.fill("#site-city", "Leipzig")
    page.click("main form:has(input[name=form][value=site]) button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#site-name[aria-invalid=true]").count() == 1
    assert page.locator("#site-name-errors").count() == 1
    assert page.locator("section[aria-labelledby=sites-title] li", has_text="Werk Leipzig").count()
    assert_accessible(page)


def _open_a_checklist(page: Any, base: str) -> None:
    page.click('nav.main-nav a[href="/admin/checklists"]')
    page.wait_for_url(f"{base}/admin/checklists")
    assert page.locator("section[aria-labelledby=shipped-title] tbody tr").count() >= 1
    assert_accessible(page)
    href = page.locator("section[aria-labelledby=shipped-title] tbody a").first.get_attribute(
        "href"
    )
    page.click(f'section[aria-labelledby=shipped-title] a[href="{href}"]')
    page.wait_for_url(f"{base}{href}")
    assert page.locator("main h1").count() == 1
    assert_accessible(page)


def _change_privacy_settings(page: Any, base: str, db: Any) -> None:
    page.click('nav.main-nav a[href="/admin/settings"]')
    page.wait_for_url(f"{base}/admin/settings")
    assert page.locator("#k_participation").input_value() == "5"
    k_health = int(page.locator("#k_health").input_value())
    noise = page.locator("#dp_enabled").is_checked()
    assert_accessible(page)
    screenshot(page, "admin-settings")  # as the demo ships it
    page.fill("#k_health", str(k_health + 2))
    page.set_checked("#dp_enabled", not noise)
    page.click("main form.form button[type=submit]")
    page.wait_for_url(f"{base}/admin/settings")
    _flash_success(page)
    assert page.locator("#k_health").input_value() == str(k_health + 2)
    assert page.locator("#dp_enabled").is_checked() is (not noise)
    assert_accessible(page)

    # Below the legal minimum of 5: refused at the field, and nothing of the form is stored.
    page.fill("#k_participation", "4")
    page.fill("#k_health", "50")
    page.click("main form.form button[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{base}/admin/settings"
    assert page.locator(".flash-success").count() == 0
    assert page.locator("#k_participation[aria-invalid=true]").count() == 1
    message = page.locator("#k_participation-errors").inner_text()
    assert re.search(r"\b5\b", message), message
    assert "k_participation-errors" in (
        page.locator("#k_participation").get_attribute("aria-describedby") or ""
    )
    assert page.locator("#k_health-errors").count() == 0
    assert_accessible(page)

    page.goto(f"{base}/admin/settings")
    assert page.locator("#k_participation").input_value() == "5"
    assert page.locator("#k_health").input_value() == str(k_health + 2)
    db.session.expire_all()
    employer = db.session.scalars(select(Employer).where(Employer.slug == "musterfirma")).one()
    assert (employer.k_participation, employer.k_health) == (5, k_health + 2)
    assert employer.dp_enabled is (not noise)


DONE_HERE = {
    "admin.measure_approved",
    "admin.subsidy_changed",
    "admin.offering_closed",
    "admin.offering_opened",
    "admin.employees_imported",
    "admin.department_created",
    "admin.site_created",
    "admin.settings_changed",
}


def _read_the_audit_log(page: Any, base: str) -> None:
    page.click('nav.main-nav a[href="/admin/audit"]')
    page.wait_for_url(f"{base}/admin/audit")
    codes = set(page.locator("main table tbody td:nth-child(3) code").all_inner_texts())
    assert DONE_HERE <= codes, DONE_HERE - codes
    # Newest first: the last thing done (the settings change) heads the log.
    assert page.locator("main table tbody tr").first.locator("code").inner_text() == (
        "admin.settings_changed"
    )
    assert_accessible(page)
    screenshot(page, "admin-audit")

    with page.expect_download() as download_info:
        page.click('main a[href="/admin/audit.csv"]')
    download = download_info.value
    assert download.suggested_filename == "audit-log.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(io.StringIO(handle.read()), delimiter=";"))
    header, events = rows[0], rows[1:]
    assert len(header) == 7
    assert all(len(row) == 7 for row in events)
    code_column = 3
    assert DONE_HERE <= {row[code_column] for row in events}
    settings_rows = [row for row in events if row[code_column] == "admin.settings_changed"]
    assert "k_health" in settings_rows[-1][6]
    assert "Andreas Keller" in {row[1] for row in events}
    # The download is itself logged.
    page.reload()
    assert page.locator("main table tbody tr").first.locator("code").inner_text() == (
        "audit.exported"
    )


def test_admin_works_through_the_to_dos_settings_and_audit_log(demo_site, new_page, db) -> None:
    base = demo_site
    page = new_page()
    sign_in(page, base, ADMIN, "/admin/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("#todo-requested a").count() == 1
    assert page.locator("#todo-none").count() == 0
    assert_accessible(page)
    screenshot(page, "admin-home")

    _decide_a_measure(page, base)
    _manage_an_offering(page, base)
    _import_an_employee(page, base)
    _extend_the_organisation(page, base)
    _open_a_checklist(page, base)
    _change_privacy_settings(page, base, db)
    _read_the_audit_log(page, base)


def _long_titled_measures(db: Any) -> list[int]:
    """A requested and a done "screen glasses" measure: in German its title is one 28-letter
    word ("Bildschirmarbeitsplatzbrille"), the widest heading an admin meets."""
    employer = db.session.scalars(select(Employer).where(Employer.slug == "musterfirma")).one()
    found = []
    for status in (MeasureStatus.REQUESTED, MeasureStatus.DONE):
        found.append(
            db.session.scalars(
                select(ErgonomicMeasure.id).where(
                    ErgonomicMeasure.employer_id == employer.id,
                    ErgonomicMeasure.title == "screen_glasses",
                    ErgonomicMeasure.status == status.value,
                )
            ).first()
        )
    assert all(found), found
    return [measure_id for measure_id in found if measure_id is not None]


def test_admin_pages_fit_a_phone_and_read_in_english(demo_site, new_page, db) -> None:
    base = demo_site
    page = new_page(width=PHONE_WIDTH, height=800)
    sign_in(page, base, ADMIN, "/admin/")
    page.goto(f"{base}/admin/measures")
    measure = page.locator("main table tbody td:nth-child(2) a").first.get_attribute("href")
    page.goto(f"{base}/admin/offerings/")
    offering = page.locator("main table tbody td:first-child a").first.get_attribute("href")
    page.goto(f"{base}/admin/checklists")
    checklist = page.locator("main table tbody a").first.get_attribute("href")
    paths = [
        "/admin/",
        "/admin/employees",
        f"/admin/employees?q={NEW_SURNAME}",
        "/admin/employees/import",
        "/admin/offerings/",
        "/admin/offerings/?open=not_open",
        offering,
        "/admin/measures",
        "/admin/measures?status=requested",
        measure,
        *(f"/admin/measures/{m}" for m in _long_titled_measures(db)),
        "/admin/checklists",
        checklist,
        "/admin/organisation",
        "/admin/settings",
        "/admin/audit",
    ]
    for path in paths:
        page.goto(base + path)
        assert_fits_phone(page)

    # The error states fit too: a refused import and a refused group size.
    page.goto(f"{base}/admin/employees/import")
    _upload(page, "mitarbeitende.csv", [BAD_ROW])
    assert page.locator("section.panel-error table tbody tr").count() == 1
    assert_fits_phone(page)
    page.goto(f"{base}/admin/settings")
    page.fill("#k_health", "3")
    page.click("main form.form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#k_health[aria-invalid=true]").count() == 1
    assert_fits_phone(page)

    # English: the start page and the settings, remembered across pages.
    page.goto(f"{base}/admin/")
    page.click("form.language-switch button[name=locale][value=en]")
    page.wait_for_url(f"{base}/admin/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Administration" in page.locator("main h1").inner_text()
    assert "What to do next" in page.locator("#todo-title").inner_text()
    assert_accessible(page)
    assert_fits_phone(page)
    page.click("#todo-requested a")  # the to-do links carry on in English
    page.wait_for_url(re.compile(r"/admin/measures\?status=requested"))
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{base}/admin/settings")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("main h1").inner_text().strip() == "Settings"
    assert page.locator("label[for=k_participation]").inner_text().startswith("Minimum group size")
    page.fill("#k_participation", "2")
    page.click("main form.form button[type=submit]")
    page.wait_for_load_state()
    assert re.search(r"\b5\b", page.locator("#k_participation-errors").inner_text())
    assert_accessible(page)
    assert_fits_phone(page)
