"""Signing in as a person would: password, Telegram code, onboarding first, sessions ending."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.core import clock
from app.core.roles import Role
from app.identity.bootstrap import BOOTSTRAP_WARNING
from app.identity.credentials import WRONG_CREDENTIALS
from app.identity.models import Institute, User
from app.identity.service import NOT_AUTHORIZED
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, shown, texts

GOOD = "correct horse battery"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def alpha(db):
    inst = f.institute(db, name="Alpha Academy")
    admin = f.user(db, inst, Role.ADMIN, email="admin@alpha.example", password=GOOD)
    teacher = f.user(
        db,
        inst,
        Role.TEACHER,
        email="tara@alpha.example",
        phone="9876543210",
        password=GOOD,
        telegram_chat_id="555001",
    )
    return inst, admin, teacher


def password_sign_in(at, identifier, password):
    by_label(at.text_input, "Email or phone").input(identifier)
    by_label(at.text_input, "Password").input(password)
    at.button(key="FormSubmitter:password_sign_in-Sign in").click()
    at.run()
    if not errors(at):
        # AppTest drops the first widget event after a run that switched navigation; settle first.
        at.run()
    return at


def test_password_sign_in_lands_on_home_and_sign_out_works(db, alpha):
    at = app_as(None).run()
    password_sign_in(at, "tara@alpha.example", GOOD)
    assert not errors(at)
    assert at.title[0].value == "Today"
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "Cohort" and "You have signed out." in texts(at)


def test_wrong_password_and_unknown_user_look_the_same(db, alpha):
    at = app_as(None).run()
    password_sign_in(at, "tara@alpha.example", "wrong wrong")
    first = errors(at)
    password_sign_in(at, "nobody@alpha.example", "wrong wrong")
    assert first == errors(at) == [WRONG_CREDENTIALS]


def test_telegram_code_sign_in(db, alpha, telegram_fake):
    at = app_as(None).run()
    by_label(at.text_input, "Phone").input("98765 43210")
    at.button(key="FormSubmitter:otp_request-Send me a code").click().run()
    assert len(telegram_fake.messages) == 1
    code = re.search(r"\b(\d{6})\b", telegram_fake.messages[0]["text"]).group(1)
    by_label(at.text_input, "6-digit code").input(code)
    at.button(key="FormSubmitter:otp_verify-Sign in").click().run()
    assert not errors(at), errors(at)
    assert at.title[0].value == "Today"


def test_unknown_phone_gets_no_code_and_the_same_page(db, alpha, telegram_fake):
    """The page after asking for a code reads the same for an allowlisted and an unknown number."""
    pages = []
    for phone in ("98765 43210", "9000000000"):
        at = app_as(None).run()
        by_label(at.text_input, "Phone").input(phone)
        at.button(key="FormSubmitter:otp_request-Send me a code").click().run()
        assert not errors(at)
        pages.append(texts(at))
    assert pages[0] == pages[1] and "If this number may sign in" in pages[0]
    assert len(telegram_fake.messages) == 1  # only the allowlisted number got a code


def test_new_consent_version_forces_acceptance_before_any_page(db, alpha):
    inst, _, _ = alpha
    student = f.user(db, inst, Role.STUDENT, email="stu@alpha.example", consent_version="2025-01")
    at = app_as(student.email).run()
    assert at.title[0].value == "Welcome to Cohort"
    assert "How Cohort uses your data has changed" in texts(at)
    with pytest.raises(ValueError):
        at.switch_page("pages/common/my_account.py")
    at.button(key="FormSubmitter:onboarding-Continue").click().run()
    assert any("accept" in e for e in errors(at))
    at.checkbox(key="onb_accept").check()
    at.button(key="FormSubmitter:onboarding-Continue").click().run()
    assert at.title[0].value == "My dashboard"  # the student's landing page, now reachable
    with db.scope(system=True) as s:
        assert s.get(User, student.id).consent_version != "2025-01"


def test_idle_session_ends_with_a_message(db, alpha):
    with clock.frozen(T0):
        at = app_as(None).run()
        password_sign_in(at, "admin@alpha.example", GOOD)
        assert at.title[0].value == "Overview"
        clock.advance(timedelta(minutes=31))
        at.run()
    assert at.title[0].value == "Cohort"
    assert any("30 minutes without activity" in e for e in errors(at))


def test_disabling_ends_an_open_session_on_the_next_click(db, alpha):
    _, _, teacher = alpha
    at = app_as(None).run()
    password_sign_in(at, "tara@alpha.example", GOOD)
    assert at.title[0].value == "Today"
    with db.scope(system=True) as s:
        s.get(User, teacher.id).status = "disabled"
    at.run()
    assert at.title[0].value == "Cohort" and NOT_AUTHORIZED in errors(at)


def test_bootstrap_warning_on_overview_until_dismissed(db, alpha):
    inst, admin, _ = alpha
    with db.scope(system=True) as s:
        s.get(Institute, inst.id).bootstrap_warning = True
    at = app_as(admin.email).run().run()
    assert BOOTSTRAP_WARNING in [shown(w.value) for w in at.warning]
    at.button(key="dismiss_bootstrap").click().run()
    assert BOOTSTRAP_WARNING not in [shown(w.value) for w in at.warning]


def test_password_link_from_users_page_lets_invitee_set_password(db, alpha):
    _, admin, _ = alpha
    at = app_as(admin.email).run()
    at.switch_page("pages/admin/users.py").run()
    by_label(at.text_input, "Name").input("Nia Counselor")
    by_label(at.text_input, "Email").input("nia@alpha.example")
    by_label(at.selectbox, "Role").set_value("counselor")
    at.button(key="FormSubmitter:invite_user-Invite").click().run()
    link = next(c.value for c in at.code if "set_password=" in c.value)
    token = link.split("set_password=")[1]

    invitee = app_as(None)
    invitee.query_params["set_password"] = token
    invitee.run()
    assert "Welcome, Nia Counselor" in " ".join(s.value for s in invitee.subheader)
    by_label(invitee.text_input, "New password").input("a long enough phrase")
    by_label(invitee.text_input, "Repeat it").input("a long enough phrase")
    invitee.button(key="FormSubmitter:set_password-Set password and sign in").click().run()
    assert not errors(invitee), errors(invitee)
    assert invitee.title[0].value == "Welcome to Cohort"  # first sign-in: onboarding


def _sign_in_tabs(at) -> list[str]:
    return [t.label for t in at.tabs]


@pytest.fixture
def env(monkeypatch):
    from app.core.config import reset_settings_cache

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_settings_cache()

    yield set_env
    reset_settings_cache()


def test_dev_sign_in_is_on_by_the_dev_default_and_says_so(db, alpha, env):
    env(APP_ENV="dev")
    at = app_as(None).run()
    assert "Dev sign-in" in _sign_in_tabs(at)
    assert any("Dev sign-in is on" in shown(w.value) for w in at.warning)


def test_dev_sign_in_off_unless_dev_sign_in_is_set(db, alpha, env):
    env(APP_ENV="dev", DEV_SIGN_IN="0")
    at = app_as(None).run()
    assert "Dev sign-in" not in _sign_in_tabs(at) and not at.exception


def test_dev_sign_in_off_when_the_server_listens_beyond_loopback(db, alpha, env, monkeypatch):
    from app.ui import auth

    env(APP_ENV="dev", DEV_SIGN_IN="1")
    monkeypatch.setattr(auth, "listen_address", lambda: "0.0.0.0")
    assert "Dev sign-in" not in _sign_in_tabs(app_as(None).run())
    env(DEV_SIGN_IN_BEYOND_LOOPBACK="1")  # explicitly allowed
    assert "Dev sign-in" in _sign_in_tabs(app_as(None).run())
