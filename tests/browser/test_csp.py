"""The pages that run the most script (the HR dashboard, the pain trend, the API reference)
work in a real Chromium under the policy the app sends: nothing is refused, nothing fails."""

from __future__ import annotations

from typing import Any

from dashboards.pages import PAGES
from wellness.demo import DEMO_PASSWORD, seed

HR = "hr@musterfirma.example"
EMPLOYEE = "employee@musterfirma.example"

#: Counts CSP violations the page reports, so a refusal cannot hide behind a quiet console.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
  e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""


#: The browser asks for /favicon.ico on its own; we have none (a 404, not a policy matter).
IGNORED = "/favicon.ico"


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location['url']}")
            if (m.type == "error" and IGNORED not in m.location["url"])
            or (m.type == "warning" and "CSP" in m.text)
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and IGNORED not in r.url
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def _violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations"))


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_hr_dashboard_renders_every_page_under_the_csp(app, db, live_server, new_page) -> None:
    seed()
    db.session.commit()
    page = new_page()
    problems = _watch(page)
    _sign_in(page, live_server, HR)
    violations: list[str] = []
    for dashboard_page in PAGES:
        response = page.goto(f"{live_server}/hr/{dashboard_page.path}")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in policy
        assert "'unsafe-eval'" not in policy
        page.wait_for_selector("#content .page-title")
        if not dashboard_page.key_figures:
            page.wait_for_function(
                "n => document.querySelectorAll('#content .js-plotly-plot .main-svg').length >= n",
                arg=len(dashboard_page.charts),
            )
        page.wait_for_load_state("networkidle")
        violations += _violations(page)
    assert violations == []
    assert problems == []


def test_pain_trend_chart_renders_under_the_csp(app, db, live_server, new_page) -> None:
    seed()
    db.session.commit()
    page = new_page()
    problems = _watch(page)
    _sign_in(page, live_server, EMPLOYEE)
    response = page.goto(f"{live_server}/me/pain/trend")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.wait_for_load_state("networkidle")
    assert _violations(page) == []
    assert problems == []


def test_api_reference_renders_under_the_csp(app, live_server, new_page) -> None:
    page = new_page()
    problems = _watch(page)
    response = page.goto(f"{live_server}/api/v1/docs")
    assert "script-src 'self';" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock")
    page.wait_for_load_state("networkidle")
    assert _violations(page) == []
    assert problems == []
