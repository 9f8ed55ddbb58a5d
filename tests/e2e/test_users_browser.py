"""In a real browser: dev sign-in as the demo admin, open Users, invite a teacher, see it listed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlmodel import func, select

from app.core.roles import Role
from app.identity.models import Institute, User
from tests.e2e.harness import screenshot

pytestmark = pytest.mark.browser

RERUN_MS = 15_000  # a Streamlit rerun against a cold server, with room to spare


def _admin(db, demo) -> tuple[str, str]:
    """The demo admin's name and institute name, as the dev sign-in list shows them."""
    with db.scope(system=True) as s:
        admin = s.get(User, demo.first(Role.ADMIN))
        institute = s.get(Institute, admin.institute_id)
        return admin.name, institute.name


def _user_count(db) -> int:
    with db.scope(system=True) as s:
        return s.exec(select(func.count()).select_from(User)).one()


def choose(page: Page, label: str, option: str, *, within: Locator | Page | None = None) -> None:
    """Pick an option of a Streamlit selectbox (a combobox): type to filter, click the option."""
    box = (within or page).get_by_role("combobox", name=label, exact=True)
    if box.input_value() == option:
        return  # already chosen; typing the same text again would not reopen the list
    box.click()
    box.fill(option)
    choice = page.get_by_role("option", name=option, exact=True)
    try:
        choice.wait_for(state="visible", timeout=3_000)
    except PlaywrightTimeoutError:
        box.press("ArrowDown")  # the list closed (or never opened): open it from the keyboard
    choice.click()
    expect(box).to_have_value(option)


def sign_in_as_admin(page: Page, url: str, admin_name: str, institute: str) -> None:
    page.goto(url)
    expect(page.get_by_text("Dev sign-in").first).to_be_visible(timeout=RERUN_MS)
    dev_tab = page.get_by_role("tab", name="Dev sign-in")
    if dev_tab.count():  # the sign-in page offers several methods as tabs
        dev_tab.click()
    choose(page, "Sign in as", f"{admin_name} · Admin · {institute}")
    screenshot(page, "users-01-sign-in")
    # Only the dev sign-in button is visible: other methods' "Sign in" sit in hidden tabs.
    page.get_by_role("button", name="Sign in", exact=True).filter(visible=True).click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_test_id("stSidebar").get_by_text(admin_name)).to_be_visible()


def open_users(page: Page) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible(timeout=RERUN_MS)
    expect(page).to_have_url(re.compile(r"/users$"))


def idle(page: Page) -> None:
    """Wait until no script run is in progress (the running-man icon in the header is gone).

    A click that lands while the page is still rerunning (a busy machine) can be folded into that
    run and lost; tests click the next thing only once the app is idle."""
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=RERUN_MS)


def invite(page: Page, *, name: str, email: str, role: str) -> None:
    idle(page)
    page.get_by_text("Invite someone").click()
    form = page.get_by_test_id("stForm")
    expect(form).to_be_visible()
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Email", exact=True).fill(email)
    choose(page, "Role", role, within=form)
    screenshot(page, f"users-02-invite-form-{role.lower()}")
    idle(page)
    form.get_by_role("button", name="Invite").click()


# On SQLite only: test_journeys.py runs this flow end to end on PostgreSQL.
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_admin_invites_a_teacher_and_sees_them_listed(page: Page, live_app, db, demo):
    admin_name, institute = _admin(db, demo)
    sign_in_as_admin(page, live_app.url, admin_name, institute)
    open_users(page)

    invite(page, name="Tessa Teacher", email="tessa.teacher@example.com", role="Teacher")
    expect(
        page.get_by_text("Invited Tessa Teacher as teacher. They can sign in now.")
    ).to_be_visible(timeout=RERUN_MS)
    screenshot(page, "users-03-invited")

    search = page.get_by_label("Search name, email or phone")
    search.fill("Tessa")
    search.press("Enter")
    # Filtered to the new person: the grid (a canvas with an accessible table inside) has one
    # row, and the "Change a user" picker offers that row with its invited status.
    grid = page.get_by_test_id("stDataFrame").first.locator("table[role=grid]")
    expect(grid).to_have_attribute("aria-rowcount", "2", timeout=RERUN_MS)
    expect(grid).to_contain_text("Tessa Teacher")
    expect(grid).to_contain_text("tessa.teacher@example.com")
    expect(grid).to_contain_text("Teacher")
    expect(grid).to_contain_text("Invited")
    expect(page.get_by_role("combobox", name="User", exact=True)).to_have_value(
        "Tessa Teacher · tessa.teacher@example.com · invited"
    )
    screenshot(page, "users-04-listed")

    with db.scope(system=True) as s:
        tessa = s.exec(select(User).where(User.email == "tessa.teacher@example.com")).one()
        assert (tessa.role, tessa.status, tessa.name) == ("teacher", "invited", "Tessa Teacher")


# The browser journeys run on PostgreSQL; this one runs on SQLite (the UI is the same).
@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_invite_with_an_invalid_email_shows_an_error_and_adds_nobody(
    page: Page, live_app, db, demo
):
    admin_name, institute = _admin(db, demo)
    before = _user_count(db)
    sign_in_as_admin(page, live_app.url, admin_name, institute)
    open_users(page)

    invite(page, name="Nadia Nobody", email="not-an-email", role="Teacher")
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_contain_text("'not-an-email' is not a valid email address", timeout=RERUN_MS)
    screenshot(page, "users-05-invalid-email")
    expect(page.get_by_text("Invited Nadia Nobody")).to_have_count(0)

    search = page.get_by_label("Search name, email or phone")
    search.fill("Nadia")
    search.press("Enter")
    expect(page.get_by_text("Nothing to show yet.").first).to_be_visible(timeout=RERUN_MS)
    expect(page.get_by_role("combobox", name="User", exact=True)).to_have_count(0)
    assert _user_count(db) == before


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_on_a_phone_the_table_toolbar_covers_nothing_above_the_table(browser, live_app, db, demo):
    """On a touch screen a table's toolbar is always shown above the grid; it gets room of its
    own instead of covering the filter (or caption) right above the table."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        admin_name, institute = _admin(db, demo)
        sign_in_as_admin(phone, live_app.url, admin_name, institute)
        phone.get_by_role("button", name="Open sidebar").or_(
            phone.get_by_test_id("stExpandSidebarButton")
        ).first.click()
        open_users(phone)
        toolbar = phone.get_by_test_id("stElementToolbar").first
        expect(toolbar).to_be_visible(timeout=RERUN_MS)
        status = phone.get_by_role("combobox", name="Status", exact=True)
        above, bar = status.bounding_box(), toolbar.bounding_box()
        assert above and bar
        assert bar["y"] >= above["y"] + above["height"], (above, bar)
        screenshot(phone, "users-04-phone-table-toolbar")
    finally:
        context.close()
