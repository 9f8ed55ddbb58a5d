"""The Users page as an admin uses it: invite, see the list, change people, read the refusals."""

import pytest
from sqlmodel import func, select

from app.core.roles import Role
from app.identity.models import User
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, open_page, shown


@pytest.fixture
def admin_app(db):
    inst = f.institute(db, name="Alpha Academy", max_teachers=1)
    admin = f.user(db, inst, Role.ADMIN, email="admin@alpha.example")
    at = app_as(admin.email).run()
    open_page(at, "pages/admin/users.py")
    return at, inst


def invite(at, *, name, email="", phone="", role="teacher"):
    by_label(at.text_input, "Name").input(name)
    by_label(at.text_input, "Email").input(email)
    by_label(at.text_input, "Phone").input(phone)
    by_label(at.selectbox, "Role").set_value(role)
    at.button(key="FormSubmitter:invite_user-Invite").click()
    return at.run()


def count_users(db) -> int:
    with db.scope(system=True) as s:
        return s.exec(select(func.count()).select_from(User)).one()


def test_invite_then_listed_as_invited_with_audit(db, admin_app):
    at, _ = admin_app
    invite(at, name="Tara Teacher", email="tara@alpha.example")
    assert not errors(at)
    assert "Invited Tara Teacher as teacher. They can sign in now." in [
        shown(s.value) for s in at.success
    ]
    listed = frame(at, "Last sign-in")
    row = listed[listed["Name"] == "Tara Teacher"].iloc[0]
    assert (row["Email"], row["Status"], row["Role"]) == (
        "tara@alpha.example",
        "Invited",
        "Teacher",
    )
    changes = frame(at, "Action")
    assert "user.invite" in set(changes["Action"])


def test_admin_is_not_offered_admin_roles(db, admin_app):
    at, _ = admin_app
    assert by_label(at.selectbox, "Role").options == ["Teacher", "Counselor", "Student"]


def test_teacher_over_the_cap_is_refused_on_the_form(db, admin_app):
    at, _ = admin_app
    invite(at, name="First", email="first@alpha.example")
    before = count_users(db)
    invite(at, name="Second", email="second@alpha.example")
    assert any("at most 1 teachers" in e for e in errors(at))
    assert count_users(db) == before


@pytest.mark.parametrize(
    ("email", "phone", "message"),
    [("nope", "", "is not a valid email address"), ("", "abc", "is not a phone number")],
)
def test_bad_input_shows_message_and_writes_nothing(db, admin_app, email, phone, message):
    at, _ = admin_app
    before = count_users(db)
    invite(at, name="Bad Input", email=email, phone=phone, role="student")
    assert any(message in e for e in errors(at)), errors(at)
    assert count_users(db) == before
    # The typed values stay on the form to be corrected.
    assert by_label(at.text_input, "Name").value == "Bad Input"


def test_duplicate_email_refused_on_the_form(db, admin_app):
    at, _ = admin_app
    invite(at, name="Once", email="same@alpha.example", role="student")
    before = count_users(db)
    invite(at, name="Twice", email="SAME@alpha.example", role="student")
    assert any("already on this institute's allowlist" in e for e in errors(at))
    assert count_users(db) == before


def test_deactivate_and_change_role_from_the_page(db, admin_app):
    at, inst = admin_app
    invite(at, name="Cora Counselor", email="cora@alpha.example", role="counselor")
    by_label(at.selectbox, "User").set_value(
        next(o for o in by_label(at.selectbox, "User").options if o.startswith("Cora"))
    )
    at.run()
    at.button(key="deactivate_user").click().run()
    assert "Cora Counselor is deactivated and signed out everywhere." in [
        shown(s.value) for s in at.success
    ]
    at.selectbox(key="new_role").set_value("student")
    at.button(key="change_role").click().run()
    with db.scope(system=True) as s:
        cora = s.exec(select(User).where(User.email == "cora@alpha.example")).one()
    assert (cora.status, cora.role) == ("disabled", "student")
    assert {"user.deactivate", "user.change_role"} <= set(frame(at, "Action")["Action"])


def test_teacher_sees_students_only(db):
    inst = f.institute(db)
    teacher = f.user(db, inst, Role.TEACHER, email="teach@x.example")
    f.user(db, inst, Role.STUDENT, name="Stu Dent")
    f.user(db, inst, Role.COUNSELOR, name="Coun Selor")
    at = app_as(teacher.email).run()
    open_page(at, "pages/admin/users.py")
    assert at.title[0].value == "Students"
    names = set(frame(at, "Last sign-in")["Name"])
    assert names == {"Stu Dent"}
    assert by_label(at.selectbox, "Role").options == ["Student"]


def test_overview_counts_users_by_role_and_status(db):
    inst = f.institute(db)
    admin = f.user(db, inst, Role.ADMIN, email="boss@x.example")
    for _ in range(3):
        f.user(db, inst, Role.STUDENT)
    f.user(db, inst, Role.STUDENT, status="invited")
    f.user(db, f.institute(db), Role.STUDENT)  # another institute: never counted
    at = app_as(admin.email).run()
    assert at.title[0].value == "Overview"
    counts = frame(at, "Total").set_index("Role")
    assert counts.loc["Student", "Active"] == 3 and counts.loc["Student", "Invited"] == 1
    assert counts.loc["Student", "Total"] == 4 and counts.loc["Admin", "Total"] == 1
