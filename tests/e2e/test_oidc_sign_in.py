"""Google-style sign-in end to end: st.login against a real local OIDC provider, in Chromium."""

from __future__ import annotations

import os
import secrets

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from app.core.roles import Role
from app.identity.models import User
from app.identity.service import NOT_AUTHORIZED
from tests.e2e.harness import StreamlitServer, auth_secrets, free_port, screenshot, set_oidc_claims

pytestmark = pytest.mark.browser

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback only


@pytest.fixture
def provider():
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def oidc_app(db, demo, provider, tmp_path):
    port = free_port()
    secrets_file = auth_secrets(tmp_path / "secrets.toml", app_port=port, provider_url=provider)
    with db.scope(system=True) as s:
        teacher = s.exec(select(User).where(User.id == demo.first(Role.TEACHER))).one()
    db.engine.dispose()
    with StreamlitServer(
        db.url, secrets_file=secrets_file, port=port, extra_env={"AUTHLIB_INSECURE_TRANSPORT": "1"}
    ) as server:
        yield server, teacher


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


def sign_in_at_provider(page, app_url: str, sub: str) -> None:
    page.goto(app_url)
    page.get_by_role("button", name="Sign in with Google").click()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


# The browser journeys run on PostgreSQL; this one runs on SQLite (the UI is the same).
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_allowlisted_teacher_signs_in_and_out(oidc_app, provider, page):
    server, teacher = oidc_app
    only_loopback(page)
    set_oidc_claims(provider, "google-teacher-1", {"email": teacher.email, "email_verified": True})
    sign_in_at_provider(page, server.url, "google-teacher-1")
    expect(page.get_by_role("heading", name="Today")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(teacher.name).first).to_be_visible()
    screenshot(page, "oidc-teacher-home")

    page.get_by_role("button", name="Sign out").click()
    end_session = page.get_by_role("button", name="End session")
    end_session.wait_for(timeout=30_000)
    end_session.click()
    page.goto(server.url)
    expect(page.get_by_role("button", name="Sign in with Google")).to_be_visible(timeout=30_000)


# The browser journeys run on PostgreSQL; this one runs on SQLite (the UI is the same).
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_stranger_is_refused_by_the_app(oidc_app, provider, page):
    server, _ = oidc_app
    only_loopback(page)
    set_oidc_claims(
        provider, "google-stranger", {"email": "stranger@example.org", "email_verified": True}
    )
    sign_in_at_provider(page, server.url, "google-stranger")
    expect(page.get_by_text(NOT_AUTHORIZED)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Today")).to_have_count(0)
    screenshot(page, "oidc-stranger-refused")


# A production start on an empty database (no demo): the operator named in SUPER_ADMIN_EMAILS
# signs in with Google and reaches the institutes, with no SQL run by hand.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_a_production_start_lets_the_named_super_admin_sign_in(db, provider, page, tmp_path):
    port = free_port()
    secrets_file = auth_secrets(tmp_path / "secrets.toml", app_port=port, provider_url=provider)
    db.engine.dispose()
    production = {
        "APP_ENV": "prod",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "APP_BASE_URL": f"http://localhost:{port}",
        "SUPER_ADMIN_EMAILS": "owner@example.org",
        "EMBEDDED_WORKER": "0",
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    }
    with StreamlitServer(
        db.url, secrets_file=secrets_file, port=port, extra_env=production
    ) as server:
        only_loopback(page)
        set_oidc_claims(
            provider, "google-owner", {"email": "owner@example.org", "email_verified": True}
        )
        sign_in_at_provider(page, server.url, "google-owner")
        expect(page.get_by_role("heading", name="Welcome to Cohort")).to_be_visible(timeout=30_000)
        page.get_by_text("I have read this and I agree").click()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="Institutes")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Dev sign-in")).to_have_count(0)
    with db.scope(system=True) as s:
        owner = s.exec(select(User).where(User.email == "owner@example.org")).one()
    assert owner.role == Role.SUPER_ADMIN.value and owner.institute_id is None
