"""Institutes page (super_admin): create, extend a subscription, invite an admin, see counts."""

from sqlmodel import select

from app.core.roles import Role
from app.identity.models import Institute, User
from tests import factories as f
from tests.pages.apptest import app_as, by_label, errors, frame, shown


def test_super_admin_creates_institute_and_invites_admin(db):
    root = f.user(db, None, Role.SUPER_ADMIN, email="root@example.com")
    at = app_as(root.email).run()
    assert at.title[0].value == "Institutes"
    by_label(at.text_input, "Name").input("Kappa Classes")
    at.button(key="FormSubmitter:create_institute-Create institute").click().run()
    assert "Created Kappa Classes." in [shown(s.value) for s in at.success]
    assert "Kappa Classes" in set(frame(at, "Institute")["Institute"])

    at.text_input(key="admin_name").input("Kim Admin")
    at.text_input(key="admin_email").input("kim@kappa.example")
    at.button(key="FormSubmitter:invite_admin-Invite admin").click().run()
    assert not errors(at), errors(at)
    with db.scope(system=True) as s:
        kim = s.exec(select(User).where(User.email == "kim@kappa.example")).one()
        kappa = s.exec(select(Institute).where(Institute.name == "Kappa Classes")).one()
    assert (kim.role, kim.status, kim.institute_id) == ("admin", "invited", kappa.id)
    table = frame(at, "Institute").set_index("Institute")
    assert table.loc["Kappa Classes", "Admins"] == 1


def test_duplicate_institute_name_refused(db):
    root = f.user(db, None, Role.SUPER_ADMIN, email="root@example.com")
    f.institute(db, name="Kappa Classes")
    at = app_as(root.email).run()
    by_label(at.text_input, "Name").input("kappa classes")
    at.button(key="FormSubmitter:create_institute-Create institute").click().run()
    assert "An institute called 'kappa classes' already exists." in errors(at)
