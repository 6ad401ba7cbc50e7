"""What every browser journey does: sign in, check a page with axe-core, photograph it, make
sure it fits a small phone.

axe-core (``vendor/axe.min.js``, MPL-2.0, from the npm package ``axe-core``) is vendored so
the checks need neither npm nor the network. It is evaluated through the DevTools protocol,
which our Content-Security-Policy does not govern, so the page under test keeps its real CSP.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
#: WCAG 2.1 level A and AA, the bar of the European Accessibility Act and BITV 2.0.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: Impacts that fail a test; "minor" and "moderate" findings are reported by axe but tolerated.
BLOCKING = {"serious", "critical"}
#: Findings in third-party markup we cannot change, by rule and a fragment of the element. Dash
#: 4's dropdown puts an aria-hidden, zero-opacity input before its labelled button as a focus
#: proxy: on focus it hands focus straight to the button (dcc's async-dropdown.js), so neither
#: keyboard nor screen-reader users ever rest on it
#: (``test_hr_dashboard.py::test_dashboard_filters_work_from_the_keyboard`` shows it). The
#: dropdown's open popup is fixed rather than tolerated (dashboards/assets/dropdowns.js).
TOLERATED = {("aria-hidden-focus", 'class="dash-dropdown-focus-target"')}
PHONE_WIDTH = 375
PASSWORD = "wellness-demo"


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def sign_in(page: Any, base: str, email: str, lands_on: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the role's start page."""
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}{lands_on}")


def axe_violations(page: Any) -> list[str]:
    """Serious and critical WCAG 2.1 AA violations on the page as it is now, one line per rule
    with the elements it found (empty when the page passes)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    found = []
    for violation in result["violations"]:
        targets = [
            " ".join(node["target"])
            for node in violation["nodes"]
            if not any(
                rule == violation["id"] and fragment in node["html"] for rule, fragment in TOLERATED
            )
        ]
        if violation["impact"] in BLOCKING and targets:
            found.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']} -> "
                + "; ".join(targets[:5])
            )
    return found


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe on {page.url}:\n" + "\n".join(violations)


def assert_fits_phone(page: Any) -> None:
    """The page does not scroll sideways at the width of a small phone (375 px)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways at {PHONE_WIDTH} px: {width} px"


def screenshot(page: Any, name: str) -> None:
    """A picture for README.md, written from the current code on the demo data."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
