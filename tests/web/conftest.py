"""The whole platform for browser tests: the built web app served by a real API process, with
MockPass (its persona page) for Singpass, localstripe for payments, and Debian's chromium
driven by Playwright (never a browser Playwright downloads).

`make test` builds the web app first (src/frontend/dist); .ci/run installs chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from medbook.identity.sessions import SESSION_COOKIE
from medbook.settings import REPO_ROOT
from tests.auth import SignedIn
from tests.stack import Stack, start_stack, stop_stack

CHROMIUM_PATHS = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
DIST = REPO_ROOT / "src" / "frontend" / "dist"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Seconds a hold lasts in these tests' server, so a test can watch one run out.
HOLD_TTL_SECONDS = 300


def chromium_path() -> str:
    for candidate in (os.environ.get("MEDBOOK_CHROMIUM"), *CHROMIUM_PATHS):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    pytest.fail(
        "Debian's chromium is needed for the browser tests: apt-get install -y chromium "
        "(.ci/run does it), or set MEDBOOK_CHROMIUM."
    )


# The package's, not the session's: its worker runs the hold-expiry announcer, which must not
# outlive the browser tests into tests that age holds by hand (under `make test`'s parallel
# workers, other files run after these on the same worker).
@pytest.fixture(scope="package")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (DIST / "index.html").is_file():
        pytest.fail("The web app is not built: run `make web` (make test does it first).")
    started = start_stack(
        database_url,
        tmp_path_factory.mktemp("web"),
        persona_page=True,
        worker=True,
        MEDBOOK_WEB_DIST_DIR=str(DIST),
    )
    yield started
    stop_stack(started)
    assert started.worker is not None
    for log in (started.server.log_path.read_text(), started.worker.log):
        assert "Traceback" not in log, log[-5000:]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        await launched.close()


@pytest.fixture
async def new_context(browser: Browser) -> AsyncIterator[object]:
    """Open as many independent browsers (people) as a test needs; all closed afterwards."""
    opened: list[BrowserContext] = []

    async def open_context(viewport: dict[str, int] | None = None) -> BrowserContext:
        context = await browser.new_context(
            viewport=viewport or {"width": 1280, "height": 900}, locale="en-SG"
        )
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        await context.close()


async def signed_in(context: BrowserContext, stack: Stack, who: SignedIn) -> None:
    """Give a browser a session made in the database (for tests about what comes after)."""
    await context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": who.token,
                # Host-only (no leading dot), as a __Host- cookie must be; Playwright refuses
                # "url" with Secure over http, though the browser keeps it for localhost.
                "domain": "localhost",
                "path": "/",
                "secure": True,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )


async def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for docs/screenshots (shown in the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
