"""In Chromium: a password sign-in survives a reload (a new websocket session, as when the
connection moves to another web process) through the session cookie; sign-out ends it for good."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.core.roles import Role
from tests import factories as f
from tests.e2e.conftest import sign_in_with_password

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
RERUN_MS = 15_000


def test_a_password_sign_in_survives_a_reload_until_sign_out(db, live_app, page):
    teacher = f.user(db, f.institute(db), Role.TEACHER, password=PASSWORD)
    sign_in_with_password(page, live_app.url, teacher.email, PASSWORD, RERUN_MS)

    page.reload()  # a brand-new Streamlit session: only the cookie can say who this is
    expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=RERUN_MS)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible(timeout=RERUN_MS)
    page.reload()
    expect(page.get_by_role("textbox", name="Password", exact=True)).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
