"""README.md shows only pictures the browser tests take from the current code, and every
picture they keep in docs/screenshots/ is shown or linked there."""

from __future__ import annotations

import re
from pathlib import Path

from dashboards.pages import PAGES

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
BROWSER_TESTS = ROOT / "tests" / "browser"


def _shown_in_readme() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"docs/screenshots/([\w-]+)\.png", readme))


def _taken_by_tests() -> set[str]:
    """Names passed to ``journey.screenshot`` as literals, and the HR dashboard's pages."""
    taken = {f"hr-{page.path or 'overview'}" for page in PAGES}
    for module in BROWSER_TESTS.glob("test_*.py"):
        taken |= set(re.findall(r'screenshot\(\s*\w+,\s*"([\w-]+)"', module.read_text()))
    return taken


def test_readme_pictures_exist_and_are_taken_by_browser_tests() -> None:
    shown = _shown_in_readme()
    assert shown, "README.md shows no screenshots"
    assert not shown - _taken_by_tests(), "README shows pictures no browser test takes"
    missing = {name for name in shown if not (SCREENSHOTS / f"{name}.png").is_file()}
    assert not missing, f"run the browser tests to take {sorted(missing)}"


def test_no_stale_pictures_are_kept() -> None:
    kept = {path.stem for path in SCREENSHOTS.glob("*.png")}
    assert not kept - _shown_in_readme(), "pictures in docs/screenshots/ that README omits"
