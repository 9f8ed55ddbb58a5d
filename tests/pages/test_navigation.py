"""Each role sees exactly its pages; other pages cannot be opened; disabled users are signed out."""

import pytest

from app.core.roles import Role
from app.identity.models import UserStatus
from app.identity.service import NOT_AUTHORIZED, SUBSCRIPTION_EXPIRED
from app.ui.nav import NAVIGATION
from tests import factories as f
from tests.pages.apptest import ALL_PAGES, app_as, errors, open_page, texts


@pytest.fixture
def people(db):
    inst = f.institute(db, name="Alpha Academy")
    return {
        Role.SUPER_ADMIN: f.user(db, None, Role.SUPER_ADMIN, email="root@example.com"),
        Role.ADMIN: f.user(db, inst, Role.ADMIN, email="admin@alpha.example"),
        Role.TEACHER: f.user(db, inst, Role.TEACHER, email="teacher@alpha.example"),
        Role.COUNSELOR: f.user(db, inst, Role.COUNSELOR, email="counselor@alpha.example"),
        Role.STUDENT: f.user(db, inst, Role.STUDENT, email="student@alpha.example"),
    }


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_its_pages(db, people, role):
    at = app_as(people[role].email).run()
    assert not at.exception, at.exception
    allowed = {spec.path for spec in NAVIGATION[role]}
    # The landing page is the first page of the role's list.
    assert at.title[0].value in {NAVIGATION[role][0].title}
    for path in ALL_PAGES:
        if path in allowed:
            open_page(at, path)
            assert not at.exception, (path, at.exception)
            assert not errors(at), (path, errors(at))
        elif path != "pages/public/sign_in.py":
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(path)


def test_student_cannot_open_admin_page_even_by_path(db, people):
    at = app_as(people[Role.STUDENT].email).run()
    with pytest.raises(ValueError):
        at.switch_page("pages/admin/users.py")


def test_page_guards_itself_when_run_directly(db, people):
    """A page run outside the router still refuses a role it is not for."""
    from streamlit.testing.v1 import AppTest

    from tests.pages.apptest import ROOT

    at = AppTest.from_file(str(ROOT / "pages/admin/users.py"), default_timeout=30)
    at.user = {"is_logged_in": True, "email": people[Role.STUDENT].email, "email_verified": True}
    at.run()
    assert "You do not have access to this page." in errors(at)
    from sqlmodel import select

    from app.core.audit import AuditLog

    with db.scope(system=True) as s:
        actions = [(e.action, e.actor_user_id) for e in s.exec(select(AuditLog))]
    student = people[Role.STUDENT].id
    assert ("auth.permission_denied", student) in actions
    assert ("auth.sign_in", student) in actions


def test_disabled_user_is_signed_out_on_next_run(db, people):
    teacher = people[Role.TEACHER]
    at = app_as(teacher.email).run()
    assert at.title[0].value == "Today"
    with db.scope(system=True) as s:
        row = s.get(type(teacher), teacher.id)
        row.status = UserStatus.DISABLED.value
    at.run()
    assert NOT_AUTHORIZED in errors(at)
    assert "Dev sign-in" in texts(at) or at.title[0].value == "Cohort"


def test_expired_institute_reaches_nothing(db, people):
    from datetime import date

    from app.identity.models import Institute

    with db.scope(system=True) as s:
        inst = s.get(Institute, people[Role.ADMIN].institute_id)
        inst.subscription_end = date(2020, 1, 1)
    at = app_as(people[Role.ADMIN].email).run()
    assert SUBSCRIPTION_EXPIRED in errors(at)
    assert at.title[0].value == "Cohort"


def test_stranger_is_refused(db, people):
    at = app_as("nobody@example.com").run()
    assert NOT_AUTHORIZED in errors(at)
