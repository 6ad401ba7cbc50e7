"""A real headless Chromium (Debian's package) driven by Playwright's sync API.

Playwright's own browser download does not work on our machines, so the tests launch
``/usr/bin/chromium`` (``apt-get install chromium``). Without it the browser tests are skipped
locally, and fail on CI (``CI`` set), where a missing browser is a broken set-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
#: Milliseconds Playwright waits for a page or element before the test fails.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = (
            f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing. "
            "Install Debian's Chromium with `apt-get install chromium`."
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(width=375)``: a page in a fresh browser context (own cookies), German."""
    contexts: list[Any] = []

    def build(width: int = 1280, height: int = 900) -> Any:
        context = chromium.new_context(
            viewport={"width": width, "height": height},
            locale="de-DE",
            timezone_id="Europe/Berlin",
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield build
    for context in contexts:
        context.close()


@pytest.fixture
def demo_site(app: Any, db: Any, live_server: str) -> str:
    """The demo employer seeded and committed, served by a real gunicorn: its base URL."""
    from wellness.demo import seed

    seed()
    db.session.commit()
    return live_server
