"""Browser-test fixtures: one Chromium per session, a fresh page per test, a live app per test.

`live_app` runs on every backend of the `db` fixture (SQLite and PostgreSQL): the database is
clean and migrated, the small demo data is seeded into it, then a real `streamlit run` serves it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest

from app.demo.seed import SeedResult, seed_demo
from tests.e2e.harness import StreamlitServer, launch_chromium, screenshot

VIEWPORT = {"width": 1280, "height": 900}
DEFAULT_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, shared by every browser test of the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A new browser context and page for one test (viewport 1280x900)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember the test's outcome; on failure, screenshot the page while the app still runs."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    item.rep_call = report
    page = getattr(item, "funcargs", {}).get("page")
    if report.failed and page is not None:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
        with contextlib.suppress(Exception):  # a screenshot must not hide the real failure
            screenshot(page, f"FAILED-{name}")


@pytest.fixture
def demo(db) -> SeedResult:
    """The small demo data (two institutes and their people) in this test's clean database."""
    return seed_demo(size="small", engine=db.engine)


@pytest.fixture
def live_app(db, demo, request) -> Iterator[StreamlitServer]:
    """A real `streamlit run` of the app against this test's seeded database.

    When the test fails, the server's output is printed (pytest shows it with the failure).
    """
    db.engine.dispose()  # leave no pooled connections holding the database open
    with StreamlitServer(db.url) as server:
        yield server
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"--- streamlit output ({server.url}) ---\n{server.log()}")
