"""Browser-test fixtures: one Chromium per session, a fresh page per test, a live app per test.

`live_app` runs on every backend of the `db` fixture (SQLite and PostgreSQL): the database is
clean and migrated, the small demo data is seeded into it, then a real `streamlit run` serves it.
`oidc_provider` is one local OIDC provider (oidc-provider-mock) for the session; with
`auth_secrets` a server's st.login ("Sign in with Google") signs in through it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.demo.seed import SeedResult, seed_demo
from tests.e2e.harness import (
    StreamlitServer,
    free_port,
    launch_chromium,
    screenshot,
    set_oidc_claims,
)

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
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("page") or funcargs.get("phone")
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


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[str]:
    """A real local OIDC provider (oidc-provider-mock) for the whole session; returns its URL."""
    from oidc_provider_mock import run_server_in_thread

    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback only
    with run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}"


def only_loopback(page) -> None:
    """The provider's page asks a CDN for a stylesheet; nothing may leave this machine."""
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://localhost", "http://127.0.0.1"))
            else route.abort()
        ),
    )


def sign_in_with_google(page, app_url: str, provider: str, email: str) -> None:
    """Click "Sign in with Google" and sign in at the provider as the user with this email."""
    sub = "google-" + re.sub(r"[^a-z0-9]+", "-", email.lower())
    set_oidc_claims(provider, sub, {"email": email, "email_verified": True})
    only_loopback(page)
    page.goto(app_url)
    page.get_by_role("button", name="Sign in with Google").click()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def sign_in_with_password(page, app_url: str, email: str, password: str, timeout_ms: int) -> None:
    """Fill the password form at `app_url` and wait until the app shows "Sign out" and the
    browser holds the session cookie."""
    page.goto(app_url)
    form = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("textbox", name="Password", exact=True)
    )
    expect(form).to_be_visible(timeout=timeout_ms)
    form.get_by_label("Email or phone", exact=True).fill(email)
    form.get_by_role("textbox", name="Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=timeout_ms)
    page.wait_for_function("document.cookie.includes('cohort_session=')", timeout=timeout_ms)
