"""Request access (public), the admins' Access requests page and the password reset journey."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.access.models import AccessRequest
from app.core.roles import Role
from app.identity.models import User
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, open_page, shown, texts

ROOT_URL_TOKEN = "?access_request="


@pytest.fixture
def alpha(db):
    inst = f.institute(db, name="Alpha Academy")
    f.institute(db, name="Beta Institute")
    admin = f.user(db, inst, Role.ADMIN, email="admin@alpha.example")
    return inst, admin


def request_form(*, name="Priya Shah", email="priya@example.com", website=""):
    at = app_as(None).run()
    open_page(at, "pages/public/request_access.py")
    assert at.title[0].value == "Request access"
    institute = by_label(at.selectbox, "Institute")
    assert institute.options == ["Alpha Academy", "Beta Institute"]
    # The options shown are names; the id behind each stays on the server.
    institute.set_value(_institute_id("Alpha Academy"))
    by_label(at.text_input, "Your name").input(name)
    by_label(at.text_input, "Email").input(email)
    by_label(at.radio, "I am a").set_value("teacher")
    by_label(at.text_area, "Message to the admins (optional)").input("Maths, evenings.")
    by_label(at.text_input, "Website").input(website)
    at.button(key="FormSubmitter:request_access-Send request").click()
    return at.run()


def _institute_id(name: str) -> int:
    from app.core.db import session_scope
    from app.identity.models import Institute

    with session_scope(system=True) as s:
        return s.exec(select(Institute.id).where(Institute.name == name)).one()


def status_page(token: str):
    at = app_as(None)
    at.query_params["access_request"] = token
    return at.run()


def test_request_then_approve_then_the_requester_sees_it(db, alpha):
    inst, admin = alpha
    at = request_form()
    assert not errors(at), errors(at)
    assert "Thank you: your request is with the institute's admins." in texts(at)
    link = at.code[0].value
    assert ROOT_URL_TOKEN in link
    token = link.split(ROOT_URL_TOKEN, 1)[1]

    pending = status_page(token)
    assert "Waiting for an admin" in texts(pending)
    assert "Alpha Academy" in texts(pending)

    admin_at = app_as(admin.email).run()
    open_page(admin_at, "pages/admin/access_requests.py")
    assert "Priya Shah" in texts(admin_at)
    (row,) = _requests(db)
    admin_at.button(key=f"approve_access_{row.id}").click()
    admin_at.run()
    assert not errors(admin_at), errors(admin_at)
    assert any(
        "Approved: Priya Shah is invited as teacher" in shown(s.value) for s in admin_at.success
    )
    assert "?set_password=" in admin_at.code[0].value
    with db.scope(system=True) as s:
        invited = s.exec(select(User).where(User.email == "priya@example.com")).one()
    assert (invited.role, invited.status) == ("teacher", "invited")

    assert "Approved." in texts(status_page(token))


def test_reject_needs_a_reason_on_the_page(db, alpha):
    inst, admin = alpha
    token = request_form().code[0].value.split(ROOT_URL_TOKEN, 1)[1]
    (row,) = _requests(db)
    at = app_as(admin.email).run()
    open_page(at, "pages/admin/access_requests.py")
    at.button(key=f"reject_access_{row.id}").click()
    at.run()
    assert "Give a reason: the requester will read it." in errors(at)
    at.text_input(key=f"reject_access_reason_{row.id}").input("Ask at the front desk first.")
    at.button(key=f"reject_access_{row.id}").click()
    at.run()
    assert not errors(at)
    after = status_page(token)
    assert "Not approved." in errors(after)
    assert "Ask at the front desk first." in [t.value for t in after.text]


def test_the_honeypot_stores_nothing(db, alpha):
    at = request_form(website="http://spam.example")
    assert "Thank you" in texts(at)
    assert _requests(db) == []


def test_unknown_status_link(db, alpha):
    at = status_page("not-a-token")
    assert "No access request has this link" in [shown(w.value) for w in at.warning][0]


def test_sign_in_page_links_to_request_access(db, alpha):
    at = app_as(None).run()
    assert any(link.label == "No account yet? Request access" for link in at.get("page_link"))


def test_password_reset_journey(db, alpha):
    inst, admin = alpha
    teacher = f.user(db, inst, Role.TEACHER, email="tara@alpha.example")
    me = app_as(teacher.email).run()
    open_page(me, "pages/common/my_account.py")
    me.button(key="ask_password_reset").click()
    me.run()
    assert not errors(me)
    assert "an admin will decide soon" in texts(me)

    admin_at = app_as(admin.email).run()
    open_page(admin_at, "pages/admin/access_requests.py")
    assert "Password requests (1)" in [t.label for t in admin_at.tabs]
    from app.access.models import PasswordChangeRequest

    with db.scope(system=True) as s:
        req = s.exec(select(PasswordChangeRequest)).one()
    admin_at.button(key=f"approve_password_{req.id}").click()
    admin_at.run()
    assert not errors(admin_at)
    assert any(
        "sets a new password at their next sign-in" in shown(s.value) for s in admin_at.success
    )

    me.run()  # the teacher's next click: nothing but the new password form
    assert me.title[0].value == "Choose a new password"
    by_label(me.text_input, "New password").input("a long new phrase")
    by_label(me.text_input, "Repeat it").input("a long new phrase")
    me.button(key="FormSubmitter:new_password-Save and continue").click()
    me.run()
    assert not errors(me)
    assert me.title[0].value == "Today"


def _requests(db) -> list[AccessRequest]:
    with db.scope(system=True) as s:
        return list(s.exec(select(AccessRequest)))
