"""Fixtures of the console tests: a migrated database with staff accounts, the console server, Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot.db.session import get_engine, upgrade
from tests.support.console import CHROMIUM_ARGS, chromium_path, make_staff, running_console


@pytest.fixture(scope="module")
def console_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated SQLite database with one staff account per role (shared by a module's tests)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('console') / 'console.db'}"
    upgrade(url)
    make_staff(url)
    yield url
    get_engine(url).dispose()


@pytest.fixture(scope="module")
def console_url(console_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The console running on ``console_db``."""
    with running_console(console_db, Path(tmp_path_factory.mktemp("console-run"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (one per test module).

    Module scope, not session: Playwright's sync API keeps an event loop running while it is
    open, and asyncio tests collected after the browser tests could not start their own.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) and page, in Vietnamese, a laptop-sized window."""
    context = browser.new_context(locale="vi-VN", viewport={"width": 1366, "height": 860},
                                  timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def accounts() -> Dict[str, str]:
    """Role → username of the accounts :func:`console_db` made."""
    return {role: f"{role}1" for role in ("admin", "editor", "trainer", "agent", "analyst")}
