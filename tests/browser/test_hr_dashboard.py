"""HR's journey through the Plotly Dash dashboard at /hr/ in a real browser, on the demo data,
for hr@musterfirma.example: every page draws its charts, each chart has its numbers as a table
next to it (its text alternative), the period, department and site filters redraw the figures,
suppressed cells are labelled "fewer than k" (never zero) in chart, table and CSV, and each
chart page downloads one chart's aggregate as CSV and its picture as PNG. Every page passes axe
(WCAG 2.1 AA) after its charts are drawn, also with a filter dropdown open, in German and (the
overview and one page) in English after the dashboard's own language switch; the transparency
page too; none scrolls sideways at 375 px. The filters work from the keyboard alone.

The screenshots hr-overview, hr-participation, hr-pain, hr-ergonomics, hr-course-effect and
hr-budget for README.md are taken here from the current code.

Selectors use URLs, ids and structure; German text is checked only for strings of the analytics
(not of this test's making), English where English is what is under test.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from dashboards.pages import CHARTS, PAGES, Page
from tests.browser.journey import (
    PHONE_WIDTH,
    assert_accessible,
    assert_fits_phone,
    screenshot,
    sign_in,
)
from wellness.analytics.measures import MEASURES
from wellness.analytics.privacy import k_for
from wellness.demo import seed
from wellness.health.models import PainCheckin
from wellness.tenants.models import Department, Employee, Employer

HR = "hr@musterfirma.example"
#: The first bytes of every PNG file.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: What a spreadsheet program would run as a formula (wellness.spreadsheet.FORMULA_PREFIXES).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The data of every chart on the page: changes whenever a filter redraws a figure.
FIGURES = """() => JSON.stringify([...document.querySelectorAll('#content .js-plotly-plot')]
    .map(graph => (graph.data || []).map(trace => [trace.x, trace.y])))"""
#: The chart of each page whose downloads are checked (the pain page's has a suppressed cell).
DOWNLOADED = {
    "participation": "participation-department",
    "pain": "pain-department",
    "ergonomics": "checklist-department",
    "course-effect": "course-effect",
    "budget": "budget-department",
}


def _charts_drawn(dashboard_page: Page) -> int:
    """How many charts the page draws (the overview shows key figures instead)."""
    return 0 if dashboard_page.key_figures else len(dashboard_page.charts)


def _wait_for_page(page: Any, charts: int) -> None:
    """Wait until the page's title and every chart section are there, each chart drawn (or
    refused with a notice in its place)."""
    page.wait_for_selector("#content .page-title")
    if charts:
        page.wait_for_function(
            """n => {
                const sections = document.querySelectorAll('#content section.chart');
                return sections.length >= n && [...sections].every(section =>
                    section.querySelector('.js-plotly-plot .main-svg, .notice'));
            }""",
            arg=charts,
        )


def _open(page: Any, base: str, dashboard_page: Page) -> None:
    page.goto(f"{base}/hr/{dashboard_page.path}")
    _wait_for_page(page, _charts_drawn(dashboard_page))


def _employer(db: Any) -> Employer:
    return db.session.scalars(select(Employer).where(Employer.slug == "musterfirma")).one()


def _small_department(db: Any) -> None:
    """Three people with check-ins in a department of their own: too few to be shown."""
    employer = _employer(db)
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


def _trace(page: Any, chart_id: str) -> dict[str, Any]:
    return dict(
        page.evaluate(
            "id => { const t = document.querySelector('#graph-' + id + ' .js-plotly-plot')"
            ".data[0]; return {x: t.x, y: t.y}; }",
            chart_id,
        )
    )


def _assert_tables_next_to_charts(
    page: Any, dashboard_page: Page, *, refused_ok: bool = False
) -> int:
    """Every chart's section holds the chart's numbers as a table: one row per group drawn and
    one for all (the chart's text alternative). With ``refused_ok`` a chart a filter may not
    show (privacy) says why in its place instead. Returns the number of charts drawn."""
    drawn = 0
    for chart in dashboard_page.charts if not dashboard_page.key_figures else ():
        section = page.locator(f"#content section.chart[aria-labelledby=title-{chart.id}]")
        assert section.count() == 1, f"no section for {chart.id}"
        if section.locator(f"#graph-{chart.id}").count() == 0:
            assert refused_ok, f"{chart.id} is not drawn: {section.inner_text()}"
            assert section.locator(".notice[role=status]").count() == 1, section.inner_text()
            continue
        drawn += 1
        rows = section.locator("table.aggregate-table tbody tr")
        groups = len(_trace(page, chart.id)["x"])
        assert rows.count() == groups + 1, f"{chart.id}: {rows.count()} rows for {groups} groups"
        assert section.locator("table.aggregate-table thead th[scope=col]").count() == 3
    return drawn


def _redrawn(page: Any, before: str, charts: int) -> None:
    """Wait until a filter has redrawn the figures (and all of them are drawn again)."""
    page.wait_for_function(f"before => ({FIGURES})() !== before", arg=before)
    _wait_for_page(page, charts)


def _choose(page: Any, dropdown: str, value: str) -> None:
    """Pick an option of a filter dropdown with the mouse."""
    page.click(f"#{dropdown}")
    page.click(f'.dash-dropdown-content label:has(input[value="{value}"])')
    page.wait_for_selector(f"#{dropdown}[aria-expanded=false]")


def _download_csv(page: Any, chart_id: str) -> list[list[str]]:
    with page.expect_download() as download:
        page.click(f'#content section:has(#graph-{chart_id}) button[id*=\'"type":"csv"\']')
    assert download.value.suggested_filename.startswith(f"{chart_id}_")
    assert download.value.suggested_filename.endswith(".csv")
    text = download.value.path().read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))  # German Excel's delimiter


def _is_number(text: str) -> bool:
    """A number as German Excel reads it: decimal comma, no point."""
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return "." not in text


def _check_csv(rows: list[list[str]], chart_id: str, k: int) -> int:
    """The aggregate as the chart shows it: header, one row per group and the total, a
    suppressed cell spelled out as "fewer than k people" rather than a number, and no text that
    a spreadsheet would run as a formula. Returns the number of suppressed rows."""
    header, *body = rows
    assert len(header) == 6, header
    assert header[1:] == [
        "Wert",
        "95-Prozent-Intervall von",
        "95-Prozent-Intervall bis",
        "Personen (n)",
        "Hinweis",
    ], header
    assert len(body) >= 2, f"{chart_id}: no groups in the CSV"
    assert body[-1][0] == "Alle"
    suppressed = 0
    for row in body:
        assert len(row) == 6, row
        value, _low, _high, people, note = row[1:]
        if value == "":
            assert note == f"weniger als {k} Personen", row
            assert people == "", row
            suppressed += 1
        else:
            assert _is_number(value), row
            assert int(people) >= k, row
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES) or _is_number(cell), cell
    return suppressed


def _download_png(page: Any, chart_id: str) -> None:
    with page.expect_download() as download:
        page.click(f'#content section:has(#graph-{chart_id}) button[id*=\'"type":"png"\']')
    assert download.value.suggested_filename == f"{chart_id}.png"
    picture = download.value.path().read_bytes()
    assert picture.startswith(PNG_MAGIC)
    assert len(picture) > 10_000, "the PNG is (nearly) empty"


def _check_filters(page: Any, base: str) -> None:
    """Site and period filters on the participation page redraw its figures."""
    participation = next(p for p in PAGES if p.path == "participation")
    charts = _charts_drawn(participation)
    _open(page, base, participation)

    before = page.evaluate(FIGURES)
    page.click("#site")
    page.wait_for_selector(".dash-dropdown-content input[type=radio]", state="attached")
    first_site = page.locator(".dash-dropdown-content input[type=radio]").first
    site_value = first_site.get_attribute("value")
    page.click(f'.dash-dropdown-content label:has(input[value="{site_value}"])')
    _redrawn(page, before, charts)
    # A chart whose filter would single out the few people outside it is refused, not drawn.
    assert _assert_tables_next_to_charts(page, participation, refused_ok=True) >= 1

    # The period, for all sites: only the newest month (a calendar month, so exact figures stay
    # available).
    _open(page, base, participation)
    page.click("#from")
    page.wait_for_selector(".dash-dropdown-content input[type=radio]:checked", state="attached")
    months = page.locator(".dash-dropdown-content input[type=radio]")
    values = [months.nth(i).get_attribute("value") for i in range(months.count())]
    chosen = page.locator(".dash-dropdown-content input[type=radio]:checked").get_attribute("value")
    page.keyboard.press("Escape")
    month = values[0] if values[0] != chosen else values[1]
    before = page.evaluate(FIGURES)
    _choose(page, "from", month)
    if month != values[0]:  # in January: last December alone
        _choose(page, "to", month)
    _redrawn(page, before, charts)
    assert len(_trace(page, "participation-month")["x"]) == 1
    _assert_tables_next_to_charts(page, participation)


def _check_english(page: Any, base: str) -> None:
    """The dashboard's own language switch: the page comes back in English."""
    page.goto(f"{base}/hr/participation")
    _wait_for_page(page, 5)
    page.click("form.language-switch button[name=locale][value=en]")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.url == f"{base}/hr/participation", "back on the page it was switched on"
    _wait_for_page(page, 5)
    assert page.locator("html").get_attribute("lang") == "en"
    assert (
        page.locator("#title-participation-month").inner_text()
        == "Share of employees enrolled in a course, per month"
    )
    assert page.locator("form.language-switch button[value=en]").get_attribute("aria-current")
    assert_accessible(page)
    page.goto(f"{base}/hr/")
    _wait_for_page(page, 0)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#content .page-title").inner_text() == "Overview"
    assert_accessible(page)


def test_hr_opens_every_page_filters_and_sees_labelled_suppression(
    app, db, live_server, new_page
) -> None:
    seed()
    db.session.commit()
    _small_department(db)
    base = live_server
    page = new_page()
    sign_in(page, base, HR, "/hr/")
    assert page.locator("html").get_attribute("lang") == "de"

    suppressed_rows = 0
    for dashboard_page in PAGES:
        _open(page, base, dashboard_page)
        if dashboard_page.key_figures:
            assert page.locator("#content .key-figures .stat").count() == len(dashboard_page.charts)
        _assert_tables_next_to_charts(page, dashboard_page)
        assert_accessible(page)
        screenshot(page, f"hr-{dashboard_page.path or 'overview'}")
        chart_id = DOWNLOADED.get(dashboard_page.path)
        if chart_id:
            assert CHARTS[chart_id] in dashboard_page.charts
            k = k_for(_employer(db), MEASURES[CHARTS[chart_id].measure].health)
            suppressed_rows += _check_csv(_download_csv(page, chart_id), chart_id, k)
            _download_png(page, chart_id)
    assert suppressed_rows >= 1, "the department of three is spelled out in its CSV"

    # The department of three is labelled in the chart and the table, never drawn as zero.
    page.goto(f"{base}/hr/pain")
    _wait_for_page(page, 3)
    labels = page.locator("#graph-pain-department .annotation-text").all_text_contents()
    assert "weniger als 10" in labels
    suppressed = page.locator("#content section:has(#graph-pain-department) td.suppressed")
    assert suppressed.count() >= 1

    # A filter: one department's subtree redraws the pain page for it.
    before = page.inner_text("#content")
    figures = page.evaluate(FIGURES)
    page.click("#department")
    page.wait_for_selector(".dash-dropdown-content [role=radiogroup]")
    assert_accessible(page)  # with the dropdown open
    production = page.get_by_role("radio", name="Produktion", exact=True)
    page.locator(".dash-dropdown-content label", has=production).click()
    page.wait_for_function(
        "text => document.querySelector('#content').innerText !== text", arg=before
    )
    _wait_for_page(page, 1)
    assert "Montage" in page.inner_text("#content")
    _redrawn(page, figures, 3)
    assert_accessible(page)

    _check_filters(page, base)

    page.goto(f"{base}/transparency")
    page.wait_for_selector("main h1")
    assert_accessible(page)

    page.set_viewport_size({"width": PHONE_WIDTH, "height": 800})
    for dashboard_page in PAGES:
        _open(page, base, dashboard_page)
        assert_fits_phone(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    _check_english(page, base)


def _active(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
                const e = document.activeElement;
                const style = getComputedStyle(e);
                return {
                    tag: e.tagName, id: e.id, className: e.className,
                    hidden: e.getAttribute('aria-hidden'),
                    label: e.id ? document.querySelectorAll(`label[for="${e.id}"]`).length : 0,
                    inFilters: !!e.closest('.dashboard-filters'),
                    outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                    shadow: style.boxShadow, expanded: e.getAttribute('aria-expanded'),
                    value: e.value === undefined ? null : e.value, checked: !!e.checked,
                };
            }"""
        )
    )


def test_dashboard_filters_work_from_the_keyboard(app, db, demo_site, new_page) -> None:
    base = demo_site
    page = new_page()
    sign_in(page, base, HR, "/hr/")
    page.goto(f"{base}/hr/participation")
    _wait_for_page(page, 5)
    months_before = len(_trace(page, "participation-month")["x"])

    for _ in range(40):
        page.keyboard.press("Tab")
        if _active(page)["inFilters"]:
            break
    focused = _active(page)
    # The labelled button, never Dash's aria-hidden focus proxy in front of it.
    assert focused["tag"] == "BUTTON", focused
    assert focused["id"] == "from", focused
    assert focused["label"] == 1, focused
    assert focused["hidden"] is None, focused
    assert "dash-dropdown-focus-target" not in focused["className"], focused
    assert focused["expanded"] == "false", focused
    # A visible focus indicator (WCAG 2.4.7).
    assert (focused["outline"] != "none" and focused["outlineWidth"] >= 2) or (
        focused["shadow"] != "none"
    ), focused

    page.keyboard.press("ArrowDown")
    page.wait_for_selector("#from[aria-expanded=true]")
    page.wait_for_function("() => document.activeElement.type === 'radio'")
    option = _active(page)
    assert option["checked"], "the open list starts at the chosen month"
    assert_accessible(page)
    radios = page.locator(".dash-dropdown-content input[type=radio]")
    values = [radios.nth(i).get_attribute("value") for i in range(radios.count())]
    index = values.index(option["value"])
    # Up to the newest month (down to the one before in January, when it is already chosen).
    step = -1 if index else 1
    for position in range(index + step, -1 if index else 2, step):
        page.keyboard.press("ArrowUp" if index else "ArrowDown")
        # One option per key press, as the user sees the focus move.
        page.wait_for_function(
            "value => document.activeElement.value === value", arg=values[position]
        )
    target = _active(page)["value"]
    assert target != option["value"]
    before = page.evaluate(FIGURES)
    page.keyboard.press("Enter")
    page.wait_for_selector("#from[aria-expanded=false]")
    page.wait_for_function(f"before => ({FIGURES})() !== before", arg=before)

    after = _active(page)
    assert after["id"] == "from", "the focus returns to the dropdown"
    assert after["outline"] != "none" or after["shadow"] != "none", after
    assert page.locator("#from-value").inner_text() != ""
    if index:  # the newest month alone, a calendar month: exact figures for one month
        _wait_for_page(page, 5)
        months_after = len(_trace(page, "participation-month")["x"])
        assert months_after == 1 != months_before
